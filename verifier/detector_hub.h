// DetectorHub: the per-partition detectors of one topic behind one mutex.
//
// In `kcanary run` the canary's delivery callbacks and the verifier's consume
// loop feed the same detectors from two threads; the hub serializes them. In
// `kcanary verify` only the verifier uses it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "detector/partition_detector.h"

namespace kcanary {

/// Where the canary reports what it sent and how each delivery ended.
class DeliverySink {
 public:
  virtual ~DeliverySink() = default;
  virtual void OnSent(uint64_t run_id, int32_t partition, int64_t seq) = 0;
  virtual void OnOutcome(uint64_t run_id, int32_t partition, int64_t first_seq, int64_t count,
                         const DeliveryOutcome& outcome) = 0;
};

class DetectorHub : public DeliverySink {
 public:
  explicit DetectorHub(DetectorOptions options) : options_(options) {}

  void OnSent(uint64_t run_id, int32_t partition, int64_t seq) override {
    std::lock_guard lock(mu_);
    Get(partition).OnSent(run_id, seq);
  }
  void OnOutcome(uint64_t run_id, int32_t partition, int64_t first_seq, int64_t count,
                 const DeliveryOutcome& outcome) override {
    std::lock_guard lock(mu_);
    Get(partition).OnOutcome(run_id, first_seq, count, outcome);
  }

  /// Runs fn(PartitionDetector&) for `partition` under the lock.
  template <typename F>
  auto With(int32_t partition, F&& fn) {
    std::lock_guard lock(mu_);
    return fn(Get(partition));
  }
  /// Runs fn(std::map<int32_t, PartitionDetector>&) under the lock.
  template <typename F>
  auto WithAll(F&& fn) {
    std::lock_guard lock(mu_);
    return fn(partitions_);
  }
  /// For a batch of calls under one lock acquisition.
  std::unique_lock<std::mutex> Lock() { return std::unique_lock(mu_); }
  /// Requires Lock() held.
  PartitionDetector& Get(int32_t partition) {
    auto it = partitions_.find(partition);
    if (it == partitions_.end()) {
      it = partitions_.emplace(partition, PartitionDetector(partition, options_)).first;
    }
    return it->second;
  }

 private:
  DetectorOptions options_;
  std::mutex mu_;
  std::map<int32_t, PartitionDetector> partitions_;
};

}  // namespace kcanary
