// SimulatedPartition: one canary partition and its log, without Kafka.
//
// The canary side is the real one: every record is a wire::CanaryRecord with
// the in-band outcome summary of the real OutcomeLog (acked offsets of earlier
// sequences), framed by the real EncodeRecord. The broker side is a log of
// encoded values at consecutive offsets. Anomalies are written into the log
// the way Kafka would show them to a verifier:
//   - Loss at seq s: s is acked at offset o, then vanishes (an unclean
//     election truncated it) and s+1 lands at o.
//   - Duplicate at seq s: s is appended twice (a retried produce without
//     idempotence) at o and o+1, and the retry's ack names o+1.
//
// Only the newest `ring` offsets stay readable: enough for the detector's
// rewind (DetectorOptions::rewind_margin) plus a fetch chunk, so the
// benchmark's own memory does not grow with the record count.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "canary/outcome_log.h"

namespace kcanary::bench {

enum class Anomaly { kNone, kLoss, kDuplicate };

class SimulatedPartition {
 public:
  SimulatedPartition(int32_t partition, uint64_t run_id, size_t message_size, size_t ring);

  /// Produces the next sequence, with `anomaly`, and returns the offset at
  /// which the proof of the anomaly (or the record itself) sits.
  int64_t Append(Anomaly anomaly);

  /// One past the last offset written.
  int64_t end() const { return end_; }
  /// Sequences produced (lost ones included).
  int64_t sequences() const { return next_seq_; }
  /// The value at `offset`; it must be within the newest `ring` offsets.
  std::string_view At(int64_t offset) const;
  bool Readable(int64_t offset) const;

 private:
  std::string Encode(int64_t seq);
  void Put(const std::string& value);

  int32_t partition_;
  uint64_t run_id_;
  size_t message_size_;
  std::vector<std::string> ring_;
  int64_t end_ = 0;
  int64_t next_seq_ = 0;
  OutcomeLog outcomes_;
};

}  // namespace kcanary::bench
