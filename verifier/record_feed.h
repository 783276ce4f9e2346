// RecordFeed: one read canary record into its partition's detector.
//
// Decodes the value (bytes that are not a canary record of this partition are
// counted as invalid), tells the detector what was read at the offset, and
// applies the delivery-outcome summary the record carries. Every record
// repeats its predecessors' summary, so an entry already applied is skipped
// (applying it again changes nothing but costs a walk over its range).
//
// The verifier feeds every record it consumes through one RecordFeed; the
// benchmarks (bench/inprocess) feed theirs through the same code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>

#include "canary.pb.h"
#include "detector/partition_detector.h"

namespace kcanary {

class RecordFeed {
 public:
  /// Feeds the record read at `offset` of `partition` to `detector`; `now` is
  /// the wall clock in seconds. Returns the end-to-end latency (seconds from
  /// the record's produce time) of a first read, nothing otherwise.
  std::optional<double> Feed(PartitionDetector& detector, int32_t partition, int64_t offset,
                             std::string_view value, double now);

 private:
  using OutcomeKey = std::tuple<int32_t, uint64_t, uint64_t, uint64_t, int, int64_t, std::string>;
  struct OutcomeKeyHash {
    size_t operator()(const OutcomeKey& key) const;
  };
  std::unordered_set<OutcomeKey, OutcomeKeyHash> applied_outcomes_;  // bounded: cleared past a cap
  wire::CanaryRecord record_;  // reused: decoding allocates nothing once warm
};

}  // namespace kcanary
