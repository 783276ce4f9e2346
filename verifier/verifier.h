// Verifier: reads the canary topic and feeds every record to the detector.
//
// For each batch it reads, it writes the detector state of the partitions it
// touched (receipts, verdicts and the consumed position) to the state store in
// one atomic write; only stored positions are committed to Kafka, at most once
// per commit_interval (and when it stops). On restart it
// resumes from its own stored positions, so a kill -9 at any moment neither
// loses a receipt nor counts one twice. The consumer runs with
// auto.offset.reset=error: a position that falls off the log is classified
// (expired below the log start, truncated above its end), never skipped; a
// divergence that librdkafka's leader-epoch validation (KIP-320) finds after
// a leader change is handed to the detector as a truncation event.
//
// Threading: Run() owns the consumer. handle() may be used concurrently for
// metadata requests; lag() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/config/config.h"
#include "common/kafka/kafka_client.h"
#include "common/kafka/log_truncation.h"
#include "common/metrics/metrics.h"
#include "common/status.h"
#include "common/store/state_keys.h"
#include "common/store/state_store.h"
#include "common/store/write_failure_log.h"
#include "verifier/detector_hub.h"
#include "verifier/record_feed.h"
#include "verifier/state_writes.h"

namespace kcanary {

struct VerifierOptions {
  std::string topic;
  /// Keys in the state store live under "verifier/<state_namespace>/" (default: the topic).
  std::string state_namespace;
  Properties consumer_config;
  size_t batch_max = 10'000;
  std::chrono::milliseconds batch_window{100};
  std::chrono::milliseconds metadata_refresh{30'000};
  std::chrono::milliseconds prune_interval{10'000};
  /// Stored positions are committed to the group at most this often: a
  /// commit per batch wrote as many records to __consumer_offsets as the
  /// canary wrote to its topic. The group's offsets are for other tools
  /// (lag monitors); kcanary resumes from its own stored positions.
  std::chrono::milliseconds commit_interval{1'000};
};

class Verifier {
 public:
  /// Loads stored state into `hub` and creates the consumer. `store`,
  /// `metrics` and `hub` must outlive the verifier.
  static StatusOr<std::unique_ptr<Verifier>> Create(const VerifierOptions& options,
                                                    StateStore* store, Metrics* metrics,
                                                    DetectorHub* hub);
  ~Verifier();

  /// Assigns every partition of the topic (at its stored position, or at
  /// the log end on first start) and consumes until `stop`.
  void Run(const std::atomic<bool>& stop);

  rd_kafka_t* handle() const { return consumer_.get(); }
  bool ready() const { return ready_.load(); }
  /// Records between the position and the high watermark, per partition.
  std::map<int32_t, int64_t> lag() const;
  /// Stores every partition's detector state (e.g. after the canary's last
  /// outcomes reached the detector at shutdown). Call after Run() returned.
  void StoreAll();

 private:
  Verifier(VerifierOptions options, StateStore* store, Metrics* metrics, DetectorHub* hub);
  Status LoadState();
  Status CreateConsumer();
  void RefreshAssignment();
  /// A consumed message and the wall-clock second it was handed to us.
  struct Received {
    rd_kafka_message_t* message;
    double at;
  };
  /// Collects messages until the batch window closes or the batch is full.
  void CollectBatch(std::vector<Received>& batch);
  void ProcessBatch(const std::vector<Received>& batch);
  void HandleOutOfRange(int32_t partition);
  void HandleTruncation(int32_t partition, const LogTruncation& truncation);
  bool StoreStates(const std::set<int32_t>& partitions);
  /// Stores the touched partitions' states and notes their positions for
  /// the next commit (nothing is noted if the store failed).
  void Persist(const std::set<int32_t>& touched);
  /// Commits the stored positions not committed yet, if the interval has
  /// passed (or `now` is true). Run() calls it once per batch loop.
  void CommitStored(bool now);
  void PerformSeeks(const std::set<int32_t>& touched);
  void UpdateLag();
  void Prune();

  VerifierOptions options_;
  StateKeys keys_;
  StateStore* store_;
  Metrics* metrics_;
  DetectorHub* hub_;
  KafkaHandle consumer_;
  std::set<int32_t> assigned_;
  // Partitions given a start offset in memory whose start is not stored yet.
  std::set<int32_t> unstored_starts_;
  bool initial_assignment_done_ = false;
  std::chrono::steady_clock::time_point next_metadata_;
  std::chrono::steady_clock::time_point next_prune_;
  std::chrono::steady_clock::time_point next_error_log_;
  std::chrono::steady_clock::time_point next_commit_;
  std::map<int32_t, int64_t> stored_not_committed_;  // partition -> stored position
  RecordFeed feed_;
  mutable std::mutex lag_mu_;
  std::map<int32_t, int64_t> lag_;
  std::atomic<bool> ready_{false};
  WriteFailureLog store_failure_log_{"verifier", "offsets not committed"};
};

}  // namespace kcanary
