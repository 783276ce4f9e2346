// VerifierPipeline: the verifier's per-batch path, minus the consumer.
//
// Verifier::ProcessBatch is private and takes rd_kafka_message_t from a live
// consumer, so this is a line-for-line copy of its Kafka-free part: decode
// with the real codec, feed the real PartitionDetector (through a real
// DetectorHub, outcome summaries deduplicated as the verifier does), then
// store the touched partitions' PartitionState in one RocksDB WriteBatch
// under the verifier's keys. What differs: no offset commit (there is no
// Kafka), seeks are handed back to the caller instead of to librdkafka, and
// metrics are synced after every batch (kcanary syncs them on each scrape).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics/metrics.h"
#include "common/store/state_keys.h"
#include "common/store/state_store.h"
#include "verifier/detector_hub.h"
#include "verifier/record_feed.h"
#include "verifier/state_writes.h"

namespace kcanary::bench {

/// One record as the consumer would hand it over.
struct Message {
  int32_t partition;
  int64_t offset;
  std::string_view value;
};

class VerifierPipeline {
 public:
  VerifierPipeline(std::string state_namespace, StateStore* store, Metrics* metrics,
                   DetectorHub* hub);

  /// A fresh partition read from `offset` (the verifier's first start at the
  /// log end); stored at once, as the verifier does.
  bool Start(int32_t partition, int64_t offset);
  /// Decode, detect, store. Returns the partitions that must be re-read from
  /// the returned offset (the detector asked for a rewind); the seek counts as
  /// done once the caller moves its reader there.
  std::map<int32_t, int64_t> Process(const std::vector<Message>& batch);
  /// As the verifier does every prune_interval: drop history outside the window.
  void PruneAll(int64_t log_start);
  /// Writes every partition's state (e.g. before measuring or closing).
  bool StoreAll();
  void set_store(StateStore* store) { store_ = store; }

  /// Sum of the serialized PartitionState sizes: the detector state itself.
  uint64_t StateBytes();
  uint64_t store_failures() const { return store_failures_; }
  uint64_t Lost(int32_t partition);

 private:
  bool StoreStates(const std::set<int32_t>& partitions);
  void SyncMetrics(const std::set<int32_t>& partitions);

  StateKeys keys_;
  StateStore* store_;
  Metrics* metrics_;
  DetectorHub* hub_;
  std::set<int32_t> started_;
  RecordFeed feed_;
  uint64_t store_failures_ = 0;
};

}  // namespace kcanary::bench
