// SimulatedConsumer: hands the pipeline batches the way the verifier's
// consumer would, from SimulatedPartition logs that are filled on demand.
//
// Fetch model: librdkafka returns per-partition chunks (max.partition.fetch
// .bytes, 1 MiB by default, is about 4096 records of 256 bytes) and the
// verifier polls until it has batch_max records. So a batch is a run of
// per-partition chunks, round-robin over the partitions, with the verifier
// always behind the log end (a backlog, the pipeline's top speed). A log is
// extended by one chunk when its reader reaches the end, until the sequence
// budget (SetBudget) is spent.
//
// Live model (`live`): the verifier has caught up and the canary trickles, so
// a batch is one pass over the partitions with one new record each; a
// partition being re-read still gives a whole chunk.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "bench/inprocess/pipeline.h"
#include "bench/inprocess/simulated_log.h"

namespace kcanary::bench {

class SimulatedConsumer {
 public:
  /// Chooses the anomaly of each new sequence; told where its proof sits.
  using Planner = std::function<Anomaly(int32_t partition, int64_t seq)>;
  using OnAnomaly = std::function<void(int32_t partition, Anomaly anomaly, int64_t offset)>;

  SimulatedConsumer(int partitions, size_t message_size, size_t ring, size_t chunk, bool live,
                    Planner planner, OnAnomaly on_anomaly);

  /// New sequences may be produced until `total` have been, over all partitions.
  void SetBudget(int64_t total) { budget_ = total; }
  int64_t produced() const { return produced_; }
  /// Fills `batch` with up to `max` records; false when there is nothing left
  /// to read within the budget.
  bool NextBatch(size_t max, std::vector<Message>* batch);
  /// The detector asked to re-read `partition` from `offset`.
  void Seek(int32_t partition, int64_t offset) { positions_[partition] = offset; }
  int partitions() const { return static_cast<int>(logs_.size()); }

 private:
  void Extend(int32_t partition, size_t count);

  std::vector<std::unique_ptr<SimulatedPartition>> logs_;
  std::vector<int64_t> positions_;
  size_t chunk_;
  bool live_;
  Planner planner_;
  OnAnomaly on_anomaly_;
  int64_t budget_ = 0;
  int64_t produced_ = 0;
  int next_ = 0;  // round-robin start of the next batch
};

}  // namespace kcanary::bench
