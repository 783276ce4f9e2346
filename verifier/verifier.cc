#include "verifier/verifier.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <thread>
#include <vector>

#include "common/kafka/hand_over.h"
#include "state.pb.h"

namespace kcanary {
namespace {

using Clock = std::chrono::steady_clock;

// How long a stop waits for its last offset commit to be confirmed.
constexpr int kFinalCommitWaitMs = 5'000;

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

}  // namespace

Verifier::Verifier(VerifierOptions options, StateStore* store, Metrics* metrics, DetectorHub* hub)
    : options_(std::move(options)),
      keys_("verifier",
            options_.state_namespace.empty() ? options_.topic : options_.state_namespace),
      store_(store),
      metrics_(metrics),
      hub_(hub) {}

Verifier::~Verifier() {
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
}

StatusOr<std::unique_ptr<Verifier>> Verifier::Create(const VerifierOptions& options,
                                                     StateStore* store, Metrics* metrics,
                                                     DetectorHub* hub) {
  std::unique_ptr<Verifier> v(new Verifier(options, store, metrics, hub));
  if (Status s = v->LoadState(); !s.ok()) return s;
  if (Status s = v->CreateConsumer(); !s.ok()) return s;
  return v;
}

Status Verifier::LoadState() {
  StatusOr<std::vector<std::pair<std::string, std::string>>> rows =
      store_->ScanPrefix(keys_.PartitionPrefix());
  if (!rows.ok()) return rows.status();
  for (const auto& [key, value] : *rows) {
    state::PartitionState ps;
    if (!ps.ParseFromString(value)) {
      return Status::Corruption("verifier state at " + key + " in " + store_->dir() +
                                " does not parse; move the state directory away to reset");
    }
    Status s = hub_->With(ps.partition(), [&](PartitionDetector& d) { return d.LoadFrom(ps); });
    if (!s.ok()) return Status::Corruption(s.message() + " (" + key + ")");
    metrics_->AddPartition(ps.partition());
    spdlog::info("verifier: {}/{} resumes at offset {}", options_.topic, ps.partition(),
                 ps.position());
  }
  return Status::Ok();
}

Status Verifier::CreateConsumer() {
  StatusOr<rd_kafka_conf_t*> conf = BuildKafkaConf(options_.consumer_config);
  if (!conf.ok()) return conf.status();
  StatusOr<KafkaHandle> consumer = CreateKafkaClient(RD_KAFKA_CONSUMER, *conf);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);
  rd_kafka_poll_set_consumer(consumer_.get());
  return Status::Ok();
}

void Verifier::RefreshAssignment() {
  StatusOr<TopicInfo> info = DescribeTopic(consumer_.get(), options_.topic, 2000);
  if (!info.ok()) {
    spdlog::warn("verifier: {}", info.status().message());
    next_metadata_ = Clock::now() + std::chrono::seconds(2);
    return;
  }
  PartitionList add(rd_kafka_topic_partition_list_new(4));
  bool complete = true;
  for (const PartitionInfo& p : info->partitions) {
    if (assigned_.count(p.id)) continue;
    int64_t start = hub_->With(p.id, [](PartitionDetector& d) { return d.position(); });
    if (start < 0) {
      // No history: at first start begin at the log end (the canary's older
      // records are not ours to judge); a partition added later is read from
      // its beginning, since everything in it is new.
      StatusOr<Watermarks> w = QueryWatermarks(consumer_.get(), options_.topic, p.id, 5000);
      if (!w.ok()) {
        spdlog::warn("verifier: {}", w.status().message());
        complete = false;  // the others still start, and store their start
        continue;
      }
      start = initial_assignment_done_ ? w->low : w->high;
      hub_->With(p.id, [&](PartitionDetector& d) { d.StartAt(start); });
      unstored_starts_.insert(p.id);
    }
    metrics_->AddPartition(p.id);
    rd_kafka_topic_partition_list_add(add.get(), options_.topic.c_str(), p.id)->offset = start;
  }
  // The start offset is stored before anything is read (or the canary writes):
  // after a crash the verifier must resume there, not at a newer log end that
  // would leave the records in between in no class at all. A start that a
  // failed write (or an earlier pass) left unstored is retried here: once
  // set, the partition no longer looks new to the loop above.
  if (!unstored_starts_.empty()) {
    if (!StoreStates(unstored_starts_)) {
      next_metadata_ = Clock::now() + std::chrono::seconds(2);
      return;
    }
    unstored_starts_.clear();
  }
  // Said once the start is stored: a verifier killed after this line resumes
  // there (the kill -9 tests rely on it).
  for (int i = 0; i < add->cnt; ++i) {
    spdlog::info("verifier: reading {}/{} from offset {}", options_.topic, add->elems[i].partition,
                 add->elems[i].offset);
  }
  if (add->cnt > 0) {
    rd_kafka_error_t* error = rd_kafka_incremental_assign(consumer_.get(), add.get());
    if (error != nullptr) {
      spdlog::error("verifier: assign failed: {}", rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
      next_metadata_ = Clock::now() + std::chrono::seconds(2);
      return;
    }
    for (int i = 0; i < add->cnt; ++i) assigned_.insert(add->elems[i].partition);
  }
  if (!complete) {
    // Not ready until every partition has a start: one found later would
    // otherwise count as added later and be read from its beginning.
    next_metadata_ = Clock::now() + std::chrono::seconds(2);
    return;
  }
  initial_assignment_done_ = true;
  ready_ = true;
  next_metadata_ = Clock::now() + options_.metadata_refresh;
}

void Verifier::Run(const std::atomic<bool>& stop) {
  std::vector<Received> batch;
  batch.reserve(options_.batch_max);
  while (!stop.load()) {
    const auto now = Clock::now();
    if (now >= next_metadata_) RefreshAssignment();
    if (!ready_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    CollectBatch(batch);
    ProcessBatch(batch);
    for (const Received& r : batch) rd_kafka_message_destroy(r.message);
    batch.clear();
    CommitStored(false);
    if (Clock::now() >= next_prune_) {
      Prune();
      UpdateLag();
      next_prune_ = Clock::now() + options_.prune_interval;
    }
  }
  CommitStored(true);
}

void Verifier::CollectBatch(std::vector<Received>& batch) {
  const auto deadline = Clock::now() + options_.batch_window;
  while (batch.size() < options_.batch_max) {
    const auto before = Clock::now();
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - before).count();
    if (left <= 0) break;
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(consumer_.get(), static_cast<int>(left));
    if (msg == nullptr) break;
    // Stamped when it was handed over, not when the batch is processed: the
    // end-to-end latency must not include kcanary's own batching. What
    // arrives during a gather is stamped at its end: never earlier than it
    // arrived, at most kHandOverGather later.
    double at = WallSeconds();
    batch.push_back({msg, at});
    if (GatherAfterWait(before)) at = WallSeconds();
    while (batch.size() < options_.batch_max &&
           (msg = rd_kafka_consumer_poll(consumer_.get(), 0)) != nullptr) {
      batch.push_back({msg, at});
    }
  }
}

void Verifier::ProcessBatch(const std::vector<Received>& batch) {
  std::set<int32_t> touched;
  std::set<int32_t> out_of_range;
  std::map<int32_t, LogTruncation> truncated;
  std::vector<std::pair<double, double>> latencies;  // (latency, read at)
  {
    auto lock = hub_->Lock();
    int32_t run_partition = -1;
    PartitionDetector* run_detector = nullptr;
    for (const auto& [msg, at] : batch) {
      const int32_t partition = msg->partition;
      if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
          msg->err == RD_KAFKA_RESP_ERR__LOG_TRUNCATION ||
          msg->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        // KIP-320: a divergence Kafka named is a truncation event; any other
        // stopped position is judged against the watermarks.
        if (std::optional<LogTruncation> t = ParseLogTruncation(rd_kafka_message_errstr(msg))) {
          truncated[partition] = *t;
        } else {
          out_of_range.insert(partition);
        }
        continue;
      }
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (Clock::now() >= next_error_log_) {
          spdlog::warn("verifier: consumer error: {}", rd_kafka_message_errstr(msg));
          next_error_log_ = Clock::now() + std::chrono::seconds(10);
        }
        continue;
      }
      if (msg->rkt == nullptr || partition < 0 || !assigned_.count(partition)) continue;
      // A fetch response hands over a partition's records in a run: look
      // its detector up once per run, not once per record.
      if (partition != run_partition) {
        run_detector = &hub_->Get(partition);
        touched.insert(partition);
        run_partition = partition;
      }
      const std::optional<double> latency = feed_.Feed(
          *run_detector, partition, msg->offset,
          std::string_view(static_cast<const char*>(msg->payload), msg->payload ? msg->len : 0),
          at);
      if (latency) latencies.emplace_back(*latency, at);
    }
  }
  metrics_->FirstReads(latencies);
  for (const auto& [partition, truncation] : truncated) {
    HandleTruncation(partition, truncation);
    out_of_range.erase(partition);
    touched.insert(partition);
  }
  for (int32_t partition : out_of_range) {
    HandleOutOfRange(partition);
    touched.insert(partition);
  }
  if (touched.empty()) return;
  Persist(touched);
  PerformSeeks(touched);
}

void Verifier::HandleOutOfRange(int32_t partition) {
  StatusOr<Watermarks> w = QueryWatermarks(consumer_.get(), options_.topic, partition, 5000);
  if (!w.ok()) {
    // Try again on the next round: ask for a seek to where we are.
    spdlog::warn("verifier: {}/{} out of range, {}", options_.topic, partition,
                 w.status().message());
    hub_->With(partition,
               [&](PartitionDetector& d) { d.OnOffsetOutOfRange(d.position(), d.position()); });
    return;
  }
  hub_->With(partition, [&](PartitionDetector& d) {
    const int64_t from = d.position();
    const int64_t to = d.OnOffsetOutOfRange(w->low, w->high);
    spdlog::warn("verifier: {}/{} position {} outside the log [{}, {}): continuing at {}",
                 options_.topic, partition, from, w->low, w->high, to);
  });
}

void Verifier::HandleTruncation(int32_t partition, const LogTruncation& t) {
  hub_->With(partition, [&](PartitionDetector& d) {
    const int64_t to = d.OnLogTruncated(t.divergence);
    spdlog::warn(
        "verifier: {}/{}: Kafka reports the log truncated at offset {} (leader now broker {}): "
        "records read at [{}, {}) are gone from it; re-reading from {}",
        options_.topic, partition, t.divergence, t.broker, t.divergence, t.position, to);
  });
}

bool Verifier::StoreStates(const std::set<int32_t>& partitions) {
  if (Status s = StoreDetectorStates(*hub_, keys_, *store_, partitions); !s.ok()) {
    metrics_->StateWriteFailed();
    store_failure_log_.Failed(s);
    return false;
  }
  store_failure_log_.Succeeded();
  return true;
}

void Verifier::Persist(const std::set<int32_t>& touched) {
  // Not stored, so not committed: a restart re-reads from the stored state.
  if (!StoreStates(touched)) return;
  hub_->WithAll([&](std::map<int32_t, PartitionDetector>& all) {
    for (int32_t partition : touched) {
      const int64_t position = all.at(partition).position();
      if (position >= 0) stored_not_committed_[partition] = position;
    }
  });
}

void Verifier::CommitStored(bool now) {
  if (stored_not_committed_.empty()) return;
  if (!now && Clock::now() < next_commit_) return;
  next_commit_ = Clock::now() + options_.commit_interval;
  PartitionList offsets(
      rd_kafka_topic_partition_list_new(static_cast<int>(stored_not_committed_.size())));
  for (const auto& [partition, position] : stored_not_committed_) {
    rd_kafka_topic_partition_list_add(offsets.get(), options_.topic.c_str(), partition)->offset =
        position;
  }
  stored_not_committed_.clear();
  if (!now) {
    rd_kafka_commit(consumer_.get(), offsets.get(), /*async=*/1);
    return;
  }
  // At shutdown the commit should reach the group before the consumer
  // closes, but a stop must not hang on an unreachable coordinator: wait for
  // the result a bounded time (the stored positions are what counts).
  rd_kafka_queue_t* result = rd_kafka_queue_new(consumer_.get());
  rd_kafka_commit_queue(consumer_.get(), offsets.get(), result, nullptr, nullptr);
  rd_kafka_event_t* event = rd_kafka_queue_poll(result, kFinalCommitWaitMs);
  if (event == nullptr) {
    spdlog::warn("verifier: final offset commit not confirmed within {} ms", kFinalCommitWaitMs);
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::warn("verifier: final offset commit failed: {}", rd_kafka_event_error_string(event));
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(result);
}

void Verifier::StoreAll() {
  if (!assigned_.empty()) StoreStates(assigned_);
}

void Verifier::PerformSeeks(const std::set<int32_t>& touched) {
  PartitionList seeks(rd_kafka_topic_partition_list_new(1));
  hub_->WithAll([&](std::map<int32_t, PartitionDetector>& all) {
    for (int32_t partition : touched) {
      PartitionDetector& d = all.at(partition);
      if (!d.seek_pending()) continue;
      rd_kafka_topic_partition_list_add(seeks.get(), options_.topic.c_str(), partition)->offset =
          d.position();
    }
  });
  if (seeks->cnt == 0) return;
  // Re-assigning at the new offset works in every fetch state; a plain seek
  // is refused for a partition stopped by auto.offset.reset=error.
  rd_kafka_error_t* error = rd_kafka_incremental_unassign(consumer_.get(), seeks.get());
  if (error == nullptr) error = rd_kafka_incremental_assign(consumer_.get(), seeks.get());
  if (error != nullptr) {
    spdlog::warn("verifier: seek failed: {}", rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return;  // still pending: reads stay ignored until a seek succeeds
  }
  for (int i = 0; i < seeks->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = seeks->elems[i];
    spdlog::info("verifier: re-reading {}/{} from offset {}", options_.topic, tp.partition,
                 tp.offset);
    hub_->With(tp.partition, [](PartitionDetector& d) { d.OnSeekDone(); });
  }
}

void Verifier::UpdateLag() {
  std::map<int32_t, int64_t> lag;
  for (int32_t partition : assigned_) {
    int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(consumer_.get(), options_.topic.c_str(), partition, &low,
                                       &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    const int64_t position =
        hub_->With(partition, [](PartitionDetector& d) { return d.position(); });
    lag[partition] = std::max<int64_t>(0, high - position);
    metrics_->SetConsumerLag(partition, lag[partition]);
  }
  std::lock_guard lock(lag_mu_);
  lag_ = std::move(lag);
}

std::map<int32_t, int64_t> Verifier::lag() const {
  std::lock_guard lock(lag_mu_);
  return lag_;
}

void Verifier::Prune() {
  for (int32_t partition : assigned_) {
    int64_t low = -1, high = -1;
    rd_kafka_get_watermark_offsets(consumer_.get(), options_.topic.c_str(), partition, &low, &high);
    hub_->With(partition, [&](PartitionDetector& d) { d.Prune(low); });
  }
}

}  // namespace kcanary
