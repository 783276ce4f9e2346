// kcanary-bench-mock-cluster: a librdkafka mock cluster in a process of its
// own, so a `kcanary verify` pointed at it can be killed and restarted while
// the topic (and its offsets) stay. kcanary's embedded cluster cannot serve
// here: it starts empty with every start, and kcanary forgets the state it
// keeps for it.
//
//   kcanary-bench-mock-cluster --topic T --partitions 256 [--prefill FILE] [--max-seconds 900]
//
// --prefill names a file of "partition count" lines: each partition gets that
// many (empty) records first, so a verifier state whose positions are those
// counts resumes at the log end. Prints "bootstrap=HOST:PORT,..." once the
// topic is ready, then waits for SIGTERM/SIGINT or --max-seconds.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

[[noreturn]] void Fail(const std::string& why) {
  std::fprintf(stderr, "kcanary-bench-mock-cluster: %s\n", why.c_str());
  std::exit(1);
}

rd_kafka_t* NewProducer(const std::vector<std::pair<std::string, std::string>>& props) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      Fail(err);
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) Fail(err);
  return rk;
}

// Appends `count` empty records to each listed partition, acks=all.
void Prefill(const std::string& bootstrap, const std::string& topic,
             const std::vector<std::pair<int32_t, int64_t>>& counts) {
  rd_kafka_t* rk = NewProducer({{"bootstrap.servers", bootstrap},
                                {"linger.ms", "50"},
                                {"queue.buffering.max.messages", "1000000"},
                                {"enable.idempotence", "false"},
                                {"log_level", "3"}});
  for (const auto& [partition, count] : counts) {
    for (int64_t i = 0; i < count; ++i) {
      rd_kafka_resp_err_t e;
      while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                                    RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_END)) ==
             RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
      }
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) Fail(std::string("prefill: ") + rd_kafka_err2str(e));
    }
  }
  if (rd_kafka_flush(rk, 120'000) != RD_KAFKA_RESP_ERR_NO_ERROR) Fail("prefill: flush timed out");
  rd_kafka_destroy(rk);
}

}  // namespace

int main(int argc, char** argv) {
  std::string topic = "kcanary-bench";
  int partitions = 16;
  int max_seconds = 900;
  std::string prefill_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--topic") {
      topic = value;
    } else if (flag == "--partitions") {
      partitions = std::atoi(value);
    } else if (flag == "--max-seconds") {
      max_seconds = std::atoi(value);
    } else if (flag == "--prefill") {
      prefill_file = value;
    } else {
      Fail("unknown flag " + flag);
    }
  }
  if (argc % 2 != 1 || partitions < 1 || max_seconds < 1) {
    Fail("usage: --topic T --partitions N [--prefill FILE] [--max-seconds S]");
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);

  rd_kafka_t* owner = NewProducer({{"client.id", "kcanary-bench-mock"}, {"log_level", "3"}});
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(owner, 3);
  if (cluster == nullptr) Fail("cannot start the mock cluster");
  if (rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, 3) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    Fail("cannot create topic " + topic);
  }
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  if (!prefill_file.empty()) {
    std::vector<std::pair<int32_t, int64_t>> counts;
    std::ifstream in(prefill_file);
    int32_t p = 0;
    int64_t n = 0;
    while (in >> p >> n) counts.emplace_back(p, n);
    Prefill(bootstrap, topic, counts);
  }
  std::printf("bootstrap=%s\n", bootstrap.c_str());
  std::fflush(stdout);
  // Bounded: a harness that died without a SIGTERM does not leave it behind for long.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
  while (!g_stop.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(owner);
  return 0;
}
