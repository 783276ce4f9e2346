// OutcomeLog: the canary's recent delivery outcomes for one partition, run-
// length encoded, and the summary of them that every record carries.
//
// In a healthy partition the whole history is one entry ("sequences 0..N-1
// persisted at offsets o..o+N-1"), so every record tells any verifier the acked
// offsets of all earlier records, including ones that expired before it read
// them. Failures add entries; the oldest are dropped beyond `max_entries`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "canary.pb.h"
#include "detector/types.h"
#include "google/protobuf/repeated_field.h"

namespace kcanary {

class OutcomeLog {
 public:
  explicit OutcomeLog(size_t max_entries = 64) : max_entries_(max_entries) {}

  /// Records the outcome of sequences [seq, seq+count).
  void Add(int64_t seq, int64_t count, const DeliveryOutcome& outcome);
  /// One past the highest sequence with a known outcome (0 when none).
  int64_t resolved_end() const { return resolved_end_; }
  const std::deque<wire::Outcome>& entries() const { return entries_; }

  /// Appends the newest entries whose encoded size fits in `max_bytes` (at
  /// least the newest one) to `record`, oldest first.
  void AppendSummary(wire::CanaryRecord* record, size_t max_bytes) const;

  void SaveTo(google::protobuf::RepeatedPtrField<wire::Outcome>* out) const;
  void LoadFrom(const google::protobuf::RepeatedPtrField<wire::Outcome>& in);

 private:
  size_t max_entries_;
  std::deque<wire::Outcome> entries_;
  int64_t resolved_end_ = 0;
};

/// Conversions between the detector's and the wire's view of an outcome.
wire::DeliveryStatus ToWire(Delivery d);
Delivery FromWire(wire::DeliveryStatus s);
DeliveryOutcome OutcomeFromWire(const wire::Outcome& o);

}  // namespace kcanary
