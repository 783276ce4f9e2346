#include "bench/inprocess/consumer.h"

#include <algorithm>

namespace kcanary::bench {

SimulatedConsumer::SimulatedConsumer(int partitions, size_t message_size, size_t ring, size_t chunk,
                                     bool live, Planner planner, OnAnomaly on_anomaly)
    : positions_(static_cast<size_t>(partitions), 0),
      chunk_(chunk),
      live_(live),
      planner_(std::move(planner)),
      on_anomaly_(std::move(on_anomaly)) {
  // One run id for the whole benchmark, as one canary incarnation.
  constexpr uint64_t kRunId = 0x6b63616e61727931ULL;
  for (int p = 0; p < partitions; ++p) {
    logs_.push_back(std::make_unique<SimulatedPartition>(p, kRunId, message_size, ring));
  }
}

void SimulatedConsumer::Extend(int32_t partition, size_t count) {
  SimulatedPartition& log = *logs_[static_cast<size_t>(partition)];
  for (size_t i = 0; i < count && produced_ < budget_; ++i) {
    const Anomaly anomaly = planner_(partition, log.sequences());
    const int64_t offset = log.Append(anomaly);
    ++produced_;
    if (anomaly != Anomaly::kNone) on_anomaly_(partition, anomaly, offset);
  }
}

bool SimulatedConsumer::NextBatch(size_t max, std::vector<Message>* batch) {
  batch->clear();
  const int n = partitions();
  int idle = 0;  // partitions in a row that had nothing to give
  int visited = 0;
  for (int i = next_; batch->size() < max && idle < n; i = (i + 1) % n) {
    if (live_ && visited++ == n) break;
    const auto p = static_cast<size_t>(i);
    SimulatedPartition& log = *logs_[p];
    if (positions_[p] >= log.end()) Extend(i, live_ ? 1 : chunk_);
    const int64_t take =
        std::min<int64_t>({static_cast<int64_t>(chunk_), static_cast<int64_t>(max - batch->size()),
                           log.end() - positions_[p]});
    if (take <= 0) {
      ++idle;
      continue;
    }
    idle = 0;
    for (int64_t k = 0; k < take; ++k) {
      const int64_t offset = positions_[p]++;
      batch->push_back(Message{i, offset, log.At(offset)});
    }
    next_ = (i + 1) % n;
  }
  return !batch->empty();
}

}  // namespace kcanary::bench
