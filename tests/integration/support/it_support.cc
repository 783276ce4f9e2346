#include "tests/integration/support/it_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "app/service.h"
#include "common/kafka/kafka_client.h"
#include "common/store/state_store.h"
#include "detector/partition_detector.h"
#include "proto/record_codec.h"

extern char** environ;

namespace kcanary::it {
namespace {

using Clock = std::chrono::steady_clock;

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Includes(const std::map<std::string, std::string>& labels,
              const std::map<std::string, std::string>& match) {
  for (const auto& [k, v] : match) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

KafkaHandle NewClient(rd_kafka_type_t type, const std::map<std::string, std::string>& props,
                      void (*dr)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr,
                      void* opaque = nullptr) {
  StatusOr<rd_kafka_conf_t*> conf = BuildKafkaConf(props);
  if (!conf.ok()) {
    ADD_FAILURE() << conf.status().message();
    return nullptr;
  }
  if (dr != nullptr) rd_kafka_conf_set_dr_msg_cb(*conf, dr);
  if (opaque != nullptr) rd_kafka_conf_set_opaque(*conf, opaque);
  StatusOr<KafkaHandle> client = CreateKafkaClient(type, *conf);
  if (!client.ok()) {
    ADD_FAILURE() << client.status().message();
    return nullptr;
  }
  return std::move(*client);
}

}  // namespace

// ------------------------------------------------------------------ basics

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base != nullptr && *base ? base : "/tmp") + "/kcanary-it-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << templ << ": " << std::strerror(errno);
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// ------------------------------------------------------------------ HTTP

HttpReply HttpGet(int port, const std::string& path, int timeout_ms,
                  const std::string& extra_headers) {
  HttpReply reply;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return reply;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return reply;
  }
  const std::string request = "GET " + path +
                              " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                              extra_headers + "\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return reply;
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[8192];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      close(fd);
      return reply;  // timed out: no answer
    }
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      close(fd);
      return reply;
    }
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || header_end == std::string::npos) return reply;
  const size_t space = raw.find(' ');
  reply.status = std::atoi(raw.c_str() + space + 1);
  reply.headers = raw.substr(0, header_end);
  reply.body = raw.substr(header_end + 4);
  return reply;
}

// ------------------------------------------------------------- Prometheus

std::vector<Sample> ParseMetrics(const std::string& text, std::vector<std::string>* bad) {
  std::vector<Sample> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    bool ok = !s.name.empty();
    if (ok && i < line.size() && line[i] == '{') {
      ++i;
      while (ok && i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          ok = false;
          break;
        }
        const std::string key = line.substr(i, eq - i);
        std::string value;
        size_t j = eq + 2;
        while (j < line.size() && line[j] != '"') {
          if (line[j] == '\\' && j + 1 < line.size()) ++j;
          value.push_back(line[j++]);
        }
        if (j >= line.size()) {
          ok = false;
          break;
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) ok = false;
      ++i;  // '}'
    }
    if (ok) {
      while (i < line.size() && line[i] == ' ') ++i;
      const std::string value = line.substr(i, line.find(' ', i) - i);
      char* end = nullptr;
      s.value = std::strtod(value.c_str(), &end);
      ok = !value.empty() && end != nullptr && *end == '\0';
    }
    if (ok) {
      samples.push_back(std::move(s));
    } else if (bad != nullptr) {
      bad->push_back(line);
    }
  }
  return samples;
}

double SumOf(const std::vector<Sample>& samples, const std::string& name,
             const std::map<std::string, std::string>& match) {
  double sum = 0;
  for (const Sample& s : samples) {
    if (s.name == name && Includes(s.labels, match)) sum += s.value;
  }
  return sum;
}

int CountOf(const std::vector<Sample>& samples, const std::string& name,
            const std::map<std::string, std::string>& match) {
  int n = 0;
  for (const Sample& s : samples) {
    if (s.name == name && Includes(s.labels, match)) ++n;
  }
  return n;
}

// ------------------------------------------------------------- detector

ClassCounts Totals(DetectorHub& hub, int64_t* unseen, int64_t* pending) {
  ClassCounts total;
  int64_t u = 0;
  int64_t p = 0;
  hub.WithAll([&](std::map<int32_t, PartitionDetector>& all) {
    for (auto& [id, d] : all) {
      total += d.counts();
      u += d.Unseen();
      p += static_cast<int64_t>(d.PendingChecks());
    }
  });
  if (unseen != nullptr) *unseen = u;
  if (pending != nullptr) *pending = p;
  return total;
}

ClassCounts CountsOf(DetectorHub& hub, int32_t partition) {
  return hub.With(partition, [](PartitionDetector& d) { return d.counts(); });
}

uint64_t SumOf(const std::map<std::string, uint64_t>& labeled) {
  uint64_t n = 0;
  for (const auto& [k, v] : labeled) n += v;
  return n;
}

uint64_t Labeled(const std::map<std::string, uint64_t>& labeled, const std::string& key) {
  auto it = labeled.find(key);
  return it == labeled.end() ? 0 : it->second;
}

std::string Describe(const ClassCounts& c) {
  std::ostringstream s;
  s << "received=" << c.received << " lost=" << c.lost << " expired=" << c.expired
    << " recovered=" << c.recovered << " failed_but_visible=" << c.failed_but_visible
    << " duplicated=" << c.duplicated << " redelivered=" << c.redelivered
    << " reordered=" << c.reordered << " offset_inconsistencies=" << c.offset_inconsistencies
    << " unexpected=" << c.unexpected;
  auto labeled = [&](const char* name, const std::map<std::string, uint64_t>& m) {
    s << " " << name << "={";
    bool first = true;
    for (const auto& [k, v] : m) {
      s << (first ? "" : ",") << k << ":" << v;
      first = false;
    }
    s << "}";
  };
  labeled("not_committed", c.not_committed);
  labeled("indeterminate", c.indeterminate);
  labeled("invalid", c.invalid);
  return s.str();
}

bool NoAnomaly(const ClassCounts& c) {
  return c.lost == 0 && c.duplicated == 0 && c.reordered == 0 && c.offset_inconsistencies == 0 &&
         c.unexpected == 0 && SumOf(c.invalid) == 0;
}

// ------------------------------------------------------------- config

Config MakeConfig(Command command, const std::string& brokers, const std::string& topic,
                  const std::string& state_dir, double rate) {
  Config c;
  c.command = command;
  c.brokers = brokers;
  c.topic = topic;
  c.state_dir = state_dir;
  c.listen = "none";
  c.rate = rate;
  c.message_size = 200;
  c.embedded_partitions = 3;
  c.log_level = "info";
  return c;
}

// ------------------------------------------------------------- Kafka

std::vector<LogRecord> ReadTopic(const std::string& bootstrap, const std::string& topic,
                                 std::chrono::milliseconds timeout) {
  std::vector<LogRecord> out;
  KafkaHandle rk = NewClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                 {"group.id", "it-ground-truth-reader"},
                                                 {"enable.auto.commit", "false"},
                                                 {"enable.partition.eof", "false"},
                                                 {"auto.offset.reset", "earliest"},
                                                 {"client.id", "it-ground-truth-reader"}});
  if (!rk) return out;
  rd_kafka_poll_set_consumer(rk.get());
  StatusOr<TopicInfo> info = DescribeTopic(rk.get(), topic, 10'000);
  if (!info.ok()) {
    ADD_FAILURE() << "ground truth: " << info.status().message();
    return out;
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
  std::map<int32_t, int64_t> high;
  for (const PartitionInfo& p : info->partitions) {
    StatusOr<Watermarks> w = QueryWatermarks(rk.get(), topic, p.id, 10'000);
    if (!w.ok()) {
      ADD_FAILURE() << "ground truth: " << w.status().message();
      rd_kafka_topic_partition_list_destroy(list);
      return out;
    }
    if (w->high > w->low) {
      high[p.id] = w->high;
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p.id)->offset = w->low;
    }
  }
  rd_kafka_assign(rk.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  std::map<int32_t, int64_t> next;
  auto done = [&] {
    for (const auto& [p, h] : high) {
      if (next[p] < h) return false;
    }
    return true;
  };
  const auto deadline = Clock::now() + timeout;
  while (!done() && Clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && high.count(m->partition) &&
        m->offset < high[m->partition]) {
      out.push_back({m->partition, m->offset,
                     std::string(static_cast<const char*>(m->payload), m->payload ? m->len : 0)});
      next[m->partition] = std::max(next[m->partition], m->offset + 1);
    }
    rd_kafka_message_destroy(m);
  }
  if (!done()) ADD_FAILURE() << "ground truth: could not read the whole topic " << topic;
  rd_kafka_consumer_close(rk.get());
  std::sort(out.begin(), out.end(), [](const LogRecord& a, const LogRecord& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  return out;
}

std::map<int32_t, std::pair<int64_t, int64_t>> CommittedAndHigh(const std::string& bootstrap,
                                                                const std::string& group,
                                                                const std::string& topic) {
  std::map<int32_t, std::pair<int64_t, int64_t>> out;
  // A client of the group that never joins it: it only asks for the offsets.
  KafkaHandle rk = NewClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                 {"group.id", group},
                                                 {"enable.auto.commit", "false"},
                                                 {"client.id", "it-committed-reader"}});
  if (!rk) {
    ADD_FAILURE() << "committed offsets: no client";
    return out;
  }
  StatusOr<TopicInfo> info = DescribeTopic(rk.get(), topic, 10'000);
  if (!info.ok()) {
    ADD_FAILURE() << "committed offsets: " << info.status().message();
    return out;
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
  for (const PartitionInfo& p : info->partitions) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p.id);
    StatusOr<Watermarks> w = QueryWatermarks(rk.get(), topic, p.id, 10'000);
    if (!w.ok()) ADD_FAILURE() << "committed offsets: " << w.status().message();
    out[p.id] = {-1, w.ok() ? w->high : -1};
  }
  if (const rd_kafka_resp_err_t err = rd_kafka_committed(rk.get(), list, 10'000); err) {
    ADD_FAILURE() << "committed offsets: " << rd_kafka_err2str(err);
  }
  for (int i = 0; i < list->cnt; ++i) {
    const int64_t offset = list->elems[i].offset;  // RD_KAFKA_OFFSET_INVALID (-1001): none
    out[list->elems[i].partition].first = offset >= 0 ? offset : -1;
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(rk.get());
  return out;
}

namespace {
void CountDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++*static_cast<std::atomic<int>*>(opaque);
}
}  // namespace

int ProduceRaw(const std::string& bootstrap, const std::string& topic, int32_t partition,
               const std::vector<std::string>& values) {
  std::atomic<int> delivered{0};
  KafkaHandle rk = NewClient(RD_KAFKA_PRODUCER,
                             {{"bootstrap.servers", bootstrap},
                              {"client.id", "it-garbage-producer"},
                              {"acks", "all"},
                              {"linger.ms", "0"}},
                             &CountDelivery, &delivered);
  if (!rk) return 0;
  for (const std::string& v : values) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) ADD_FAILURE() << "produce: " << rd_kafka_err2str(err);
  }
  rd_kafka_flush(rk.get(), 10'000);
  return delivered.load();
}

int32_t LeaderOf(const std::string& bootstrap, const std::string& topic, int32_t partition) {
  KafkaHandle rk = NewClient(RD_KAFKA_PRODUCER,
                             {{"bootstrap.servers", bootstrap}, {"client.id", "it-metadata"}});
  if (!rk) return -1;
  StatusOr<TopicInfo> info = DescribeTopic(rk.get(), topic, 10'000);
  if (!info.ok()) return -1;
  for (const PartitionInfo& p : info->partitions) {
    if (p.id == partition) return p.leader;
  }
  return -1;
}

// ------------------------------------------------------------- ground truth

std::map<int32_t, state::CanaryPartitionState> ReadCanaryState(const std::string& state_dir,
                                                               const std::string& ns) {
  std::map<int32_t, state::CanaryPartitionState> out;
  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(state_dir, {});
  if (!store.ok()) {
    ADD_FAILURE() << store.status().message();
    return out;
  }
  auto rows = (*store)->ScanPrefix("canary/" + ns + "/p/");
  if (!rows.ok()) {
    ADD_FAILURE() << rows.status().message();
    return out;
  }
  for (const auto& [key, value] : *rows) {
    state::CanaryPartitionState ps;
    if (!ps.ParseFromString(value)) {
      ADD_FAILURE() << "canary state at " << key << " does not parse";
      continue;
    }
    out[ps.partition()] = ps;
  }
  return out;
}

uint64_t ReadRunId(const std::string& state_dir, const std::string& ns) {
  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(state_dir, {});
  if (!store.ok()) {
    ADD_FAILURE() << store.status().message();
    return 0;
  }
  auto value = (*store)->Get("canary/" + ns + "/run");
  if (!value.ok() || !value->has_value()) return 0;
  state::CanaryState run;
  if (!run.ParseFromString(**value)) return 0;
  return run.run_id();
}

std::map<int32_t, ClassCounts> ReadVerifierCounts(const std::string& state_dir,
                                                  const std::string& ns,
                                                  std::map<int32_t, int64_t>* unseen) {
  std::map<int32_t, ClassCounts> out;
  StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(state_dir, {});
  if (!store.ok()) {
    ADD_FAILURE() << store.status().message();
    return out;
  }
  auto rows = (*store)->ScanPrefix("verifier/" + ns + "/p/");
  if (!rows.ok()) {
    ADD_FAILURE() << rows.status().message();
    return out;
  }
  for (const auto& [key, value] : *rows) {
    state::PartitionState ps;
    if (!ps.ParseFromString(value)) {
      ADD_FAILURE() << "verifier state at " << key << " does not parse";
      continue;
    }
    PartitionDetector d(ps.partition(), DetectorOptions{});
    if (Status s = d.LoadFrom(ps); !s.ok()) {
      ADD_FAILURE() << key << ": " << s.message();
      continue;
    }
    out[ps.partition()] = d.counts();
    if (unseen != nullptr) (*unseen)[ps.partition()] = d.Unseen();
  }
  return out;
}

Expected Expect(const std::vector<LogRecord>& log, int32_t partition, uint64_t run_id,
                const state::CanaryPartitionState& canary) {
  Expected e;
  std::map<std::pair<uint64_t, int64_t>, int> copies;
  std::map<uint64_t, int64_t> max_seq;
  const auto next = static_cast<int64_t>(canary.next_sequence());
  for (const LogRecord& r : log) {
    if (r.partition != partition) continue;
    DecodeResult d = DecodeRecord(r.value);
    if (d.record && d.record->partition() != partition) {
      d.record.reset();
      d.reason = InvalidReason::kPartitionMismatch;
    }
    if (!d.record) {
      ++e.counts.invalid[std::string(InvalidReasonName(d.reason))];
      continue;
    }
    ++e.canary_records;
    const uint64_t run = d.record->run_id();
    const auto seq = static_cast<int64_t>(d.record->sequence());
    if (run == run_id && seq >= next) {
      ++e.counts.unexpected;  // a sequence this canary never handed to its producer
      continue;
    }
    const auto key = std::make_pair(run, seq);
    int& n = copies[key];
    if (n == 0) {
      ++e.counts.received;
      auto it = max_seq.find(run);
      if (it != max_seq.end() && seq < it->second) ++e.counts.reordered;
    } else if (n == 1) {
      ++e.counts.duplicated;
    }
    ++n;
    e.at_offset[r.offset] = key;
    auto [it, inserted] = max_seq.emplace(run, seq);
    if (!inserted) it->second = std::max(it->second, seq);
  }

  std::vector<wire::Outcome> outcomes(canary.outcomes().begin(), canary.outcomes().end());
  std::sort(outcomes.begin(), outcomes.end(), [](const wire::Outcome& a, const wire::Outcome& b) {
    return a.first_sequence() < b.first_sequence();
  });
  int64_t cursor = 0;
  for (const wire::Outcome& o : outcomes) {
    const auto first = static_cast<int64_t>(o.first_sequence());
    if (first != cursor) {
      e.problem = "outcomes of partition " + std::to_string(partition) + " jump from seq " +
                  std::to_string(cursor) + " to " + std::to_string(first);
    }
    cursor = std::max(cursor, first + static_cast<int64_t>(o.count()));
    for (int64_t seq = first; seq < first + static_cast<int64_t>(o.count()); ++seq) {
      const bool present = copies.count({run_id, seq}) > 0;
      switch (o.status()) {
        case wire::PERSISTED: {
          ++e.acked;
          if (!present) ++e.counts.lost;
          if (o.first_offset() >= 0) {
            auto it = e.at_offset.find(o.first_offset() + (seq - first));
            if (it == e.at_offset.end() || it->second != std::make_pair(run_id, seq)) {
              ++e.acked_not_at_offset;
            }
          }
          break;
        }
        case wire::NOT_PERSISTED:
          if (present) {
            ++e.counts.failed_but_visible;
          } else {
            ++e.counts.not_committed[o.error()];
          }
          break;
        case wire::POSSIBLY_PERSISTED:
          if (present) {
            ++e.counts.recovered;
            if (o.error() == "canary_restart") ++e.restart_recovered;
          } else {
            ++e.counts.indeterminate[o.error()];
          }
          break;
        default:
          e.problem = "outcome with unknown status for seq " + std::to_string(seq);
      }
    }
  }
  if (cursor != next) {
    e.problem = "outcomes of partition " + std::to_string(partition) + " end at seq " +
                std::to_string(cursor) + ", next sequence is " + std::to_string(next);
  }
  return e;
}

namespace {

// Names the first records of the log that the detector never counted
// received, so a short `received` count says which reads went missing (a
// record the log holds twice is named at each of its offsets).
std::string NotReceived(DetectorHub& hub, int32_t partition, const Expected& e) {
  std::string out;
  size_t missing = 0;
  hub.With(partition, [&](PartitionDetector& d) {
    for (const auto& [offset, key] : e.at_offset) {
      if (d.WasReceived(key.first, key.second)) continue;
      if (++missing <= 20) {
        out += "\n  not received: run " + std::to_string(key.first) + " seq " +
               std::to_string(key.second) + " at offset " + std::to_string(offset);
      }
    }
  });
  if (missing > 20) out += "\n  ... " + std::to_string(missing - 20) + " more";
  return out;
}

}  // namespace

Expected CheckAgainstGroundTruth(DetectorHub& hub, const std::string& bootstrap,
                                 const std::string& topic, const std::string& canary_state_dir,
                                 const std::string& ns) {
  Expected total;
  const std::vector<LogRecord> log = ReadTopic(bootstrap, topic);
  const uint64_t run_id = ReadRunId(canary_state_dir, ns);
  EXPECT_NE(run_id, 0u) << "no canary run stored in " << canary_state_dir;
  const std::map<int32_t, state::CanaryPartitionState> canary =
      ReadCanaryState(canary_state_dir, ns);
  EXPECT_FALSE(canary.empty());
  for (const auto& [p, ps] : canary) {
    const Expected e = Expect(log, p, run_id, ps);
    EXPECT_EQ(e.problem, "") << "partition " << p;
    // The mock keeps one log per partition: it cannot lose an acked record.
    EXPECT_EQ(e.counts.lost, 0u) << "ground truth: partition " << p << " lost acked records";
    EXPECT_EQ(e.acked_not_at_offset, 0u) << "ground truth: partition " << p;
    ClassCounts got = CountsOf(hub, p);
    got.redelivered = 0;
    ClassCounts want = e.counts;
    // A delivery report that reached the in-process detector (and its store)
    // just before a kill -9 that the canary's own store missed: the restarted
    // canary declares the record in doubt, the detector keeps the ack it saw
    // ("the first outcome stands") and counts the record received, not
    // recovered. Only such records may make up the difference.
    if (got.recovered < want.recovered && want.recovered - got.recovered <= e.restart_recovered) {
      want.recovered = got.recovered;
    }
    EXPECT_EQ(Describe(got), Describe(want))
        << "partition " << p << " (detector vs ground truth)" << NotReceived(hub, p, e);
    total.counts += e.counts;
    total.acked += e.acked;
    total.acked_not_at_offset += e.acked_not_at_offset;
    total.canary_records += e.canary_records;
  }
  return total;
}

// ------------------------------------------------------------- pipelines

SplitPipeline::SplitPipeline(std::string bootstrap, std::string topic, std::string base_dir,
                             double rate, Properties producer_props)
    : bootstrap_(std::move(bootstrap)),
      topic_(std::move(topic)),
      base_dir_(std::move(base_dir)),
      rate_(rate),
      producer_props_(std::move(producer_props)) {}

SplitPipeline::~SplitPipeline() {
  if (canary_) canary_->Stop();
  if (verifier_) verifier_->Stop();
}

void SplitPipeline::StartVerifier() {
  ASSERT_FALSE(verifier_);
  auto service =
      Service::Start(MakeConfig(Command::kVerify, bootstrap_, topic_, verifier_dir(), rate_));
  ASSERT_TRUE(service.ok()) << service.status().message();
  verifier_ = std::move(*service);
  // Ready is kcanary's own health; the pipeline also needs the verifier's
  // start offsets stored before the canary writes.
  ASSERT_TRUE(WaitUntil([&] { return verifier_->consuming(); }, 20s)) << "verifier not consuming";
}

void SplitPipeline::StartCanary() {
  ASSERT_FALSE(canary_);
  Config config = MakeConfig(Command::kCanary, bootstrap_, topic_, canary_dir(), rate_);
  config.producer_props = producer_props_;
  auto service = Service::Start(config);
  ASSERT_TRUE(service.ok()) << service.status().message();
  canary_ = std::move(*service);
  ASSERT_TRUE(WaitUntil([&] { return canary_->ready(); }, 20s)) << "canary not ready";
}

void SplitPipeline::StopVerifier() {
  ASSERT_TRUE(verifier_);
  verifier_->Stop();
  verifier_.reset();
}

void SplitPipeline::StopCanary() {
  ASSERT_TRUE(canary_);
  canary_->Stop();
  acked_before_ += RunningCanaryAcks();
  canary_.reset();
}

uint64_t SplitPipeline::RunningCanaryAcks() {
  if (!canary_) return 0;
  return static_cast<uint64_t>(
      SumOf(ParseMetrics(canary_->metrics().Serialize()), "kcanary_messages_acked_total"));
}

uint64_t SplitPipeline::acked() { return acked_before_ + RunningCanaryAcks(); }

ClassCounts SplitPipeline::VerifierTotals(int64_t* unseen) {
  if (!verifier_) {
    if (unseen != nullptr) *unseen = 0;
    return {};
  }
  return Totals(verifier_->hub(), unseen);
}

void SplitPipeline::WaitForReads(uint64_t n, std::chrono::milliseconds timeout) {
  const uint64_t target = VerifierTotals().received + n;
  ASSERT_TRUE(WaitUntil([&] { return VerifierTotals().received >= target; }, timeout))
      << "verifier stuck: " << Describe(VerifierTotals());
}

void SplitPipeline::WaitForAcks(uint64_t n, std::chrono::milliseconds timeout) {
  const uint64_t target = acked() + n;
  ASSERT_TRUE(WaitUntil([&] { return acked() >= target; }, timeout))
      << "canary stuck at " << acked() << " acks";
}

std::unique_ptr<Service> CatchUp(const std::string& bootstrap, const std::string& topic,
                                 const std::string& state_dir) {
  std::map<int32_t, int64_t> end;
  {
    KafkaHandle rk = NewClient(RD_KAFKA_PRODUCER,
                               {{"bootstrap.servers", bootstrap}, {"client.id", "it-watermarks"}});
    if (!rk) return nullptr;
    StatusOr<TopicInfo> info = DescribeTopic(rk.get(), topic, 10'000);
    if (!info.ok()) {
      ADD_FAILURE() << info.status().message();
      return nullptr;
    }
    for (const PartitionInfo& p : info->partitions) {
      StatusOr<Watermarks> w = QueryWatermarks(rk.get(), topic, p.id, 10'000);
      if (!w.ok()) {
        ADD_FAILURE() << w.status().message();
        return nullptr;
      }
      end[p.id] = w->high;
    }
  }
  auto service = Service::Start(MakeConfig(Command::kVerify, bootstrap, topic, state_dir, 1));
  if (!service.ok()) {
    ADD_FAILURE() << service.status().message();
    return nullptr;
  }
  int64_t unseen = -1;
  int64_t pending = -1;
  const bool done = WaitUntil(
      [&] {
        Totals((*service)->hub(), &unseen, &pending);
        if (unseen != 0 || pending != 0) return false;
        for (const auto& [p, high] : end) {
          const int64_t position =
              (*service)->hub().With(p, [](PartitionDetector& d) { return d.position(); });
          if (position < high) return false;
        }
        return true;
      },
      30s);
  (*service)->Stop();
  EXPECT_TRUE(done) << "verifier did not catch up: unseen=" << unseen << " pending=" << pending;
  return std::move(*service);
}

// ------------------------------------------------------------- processes

Child::Child(std::vector<std::string> argv, const std::string& log_dir) {
  static std::atomic<int> counter{0};
  const int n = counter++;
  out_path_ = log_dir + "/child-" + std::to_string(n) + ".out";
  err_path_ = log_dir + "/child-" + std::to_string(n) + ".err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  // The child must not inherit a blocked signal mask from a test thread.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const int rc = posix_spawn(&pid_, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
  }
}

Child::~Child() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    Wait(10s);
  }
}

void Child::Signal(int signal) {
  if (pid_ > 0 && !status_) kill(pid_, signal);
}

std::optional<int> Child::Wait(std::chrono::milliseconds timeout) {
  if (status_ || pid_ <= 0) return status_;
  WaitUntil(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
        return status_.has_value();
      },
      timeout, 20ms);
  return status_;
}

bool Child::running() { return pid_ > 0 && !Wait(0ms).has_value(); }

std::string Child::Stdout() const { return ReadFileOrEmpty(out_path_); }
std::string Child::Stderr() const { return ReadFileOrEmpty(err_path_); }

RunResult RunToExit(std::vector<std::string> argv, const std::string& log_dir,
                    std::chrono::milliseconds timeout) {
  RunResult result;
  Child child(std::move(argv), log_dir);
  std::optional<int> status = child.Wait(timeout);
  if (!status) {
    ADD_FAILURE() << "did not exit within " << timeout.count() << " ms";
    child.Signal(SIGKILL);
    status = child.Wait(10s);
  }
  if (status && WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  result.out = child.Stdout();
  result.err = child.Stderr();
  return result;
}

std::string KcanaryBinary() { return KCANARY_BINARY; }

}  // namespace kcanary::it
