// Value types of the detector: what was read at an offset, what is known of a
// sequence, and the per-partition class totals.
//
// All of them are plain values with no librdkafka, RocksDB or clock inside, so
// the detector can be driven from hand-built event histories in tests.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace kcanary {

/// What the verifier saw at an offset.
struct RecordRef {
  enum class Kind : uint8_t { kRecord, kInvalid, kExpired };
  Kind kind = Kind::kRecord;
  uint64_t run_id = 0;
  int64_t seq = 0;

  static RecordRef Record(uint64_t run_id, int64_t seq) { return {Kind::kRecord, run_id, seq}; }
  static RecordRef Invalid() { return {Kind::kInvalid, 0, 0}; }
  static RecordRef Expired() { return {Kind::kExpired, 0, 0}; }

  bool operator==(const RecordRef&) const = default;
  RecordRef Advanced(int64_t n) const {
    RecordRef r = *this;
    if (kind == Kind::kRecord) r.seq += n;
    return r;
  }
};

/// What an ack says sits at an offset, and in which read pass it was learned:
/// a read in a later pass (fetched after a seek made once the ack was known)
/// settles a disagreement; a read in the same pass may have been fetched
/// before the ack was written and needs a re-read.
struct AckRef {
  RecordRef record;
  uint64_t epoch = 0;

  bool operator==(const AckRef&) const = default;
  AckRef Advanced(int64_t n) const { return {record.Advanced(n), epoch}; }
};

/// The producer's verdict on a delivery (rd_kafka_message_status()).
enum class Delivery : uint8_t { kUnknown = 0, kPersisted = 1, kNotPersisted = 2, kPossibly = 3 };

struct DeliveryOutcome {
  Delivery status = Delivery::kUnknown;
  int64_t offset = -1;  // kPersisted: offset of the first sequence (-1: broker gave none)
  std::string error;    // failures: librdkafka error name
  int64_t fence = -1;   // failures: highest sequence sent when the failure was reported
};

/// The one final class of a sequence (kNone while undecided). `received` is an
/// observation kept in SeqInfo::flags, not a verdict.
enum class Verdict : uint8_t {
  kNone = 0,
  kVerified,          // committed and read at its acked offset
  kLost,              // committed and proven missing
  kExpired,           // committed, deleted by retention before it was read
  kNotCommitted,      // NOT_PERSISTED and never seen
  kIndeterminate,     // POSSIBLY_PERSISTED and never seen
  kRecovered,         // POSSIBLY_PERSISTED, then read
  kFailedButVisible,  // NOT_PERSISTED, then read
  kUnjudged,          // acked below the offsets this verifier has history for
};

/// What is known of one sequence of a run.
struct SeqInfo {
  static constexpr uint8_t kReceived = 1;
  static constexpr uint8_t kDuplicated = 2;
  static constexpr uint8_t kReordered = 4;

  Delivery delivery = Delivery::kUnknown;
  Verdict verdict = Verdict::kNone;
  uint8_t flags = 0;
  uint16_t error = 0;       // index into the partition's error-name table
  int64_t ack_offset = -1;  // kPersisted: where the broker put it
  int64_t fence = -1;

  bool received() const { return flags & kReceived; }
  bool operator==(const SeqInfo&) const = default;
  SeqInfo Advanced(int64_t n) const {
    SeqInfo s = *this;
    if (ack_offset >= 0) s.ack_offset += n;
    return s;
  }
};

/// Cumulative class totals of one partition. Persisted with the state, so
/// exported counters continue across restarts instead of starting over.
struct ClassCounts {
  uint64_t received = 0;
  uint64_t lost = 0;
  uint64_t expired = 0;
  uint64_t recovered = 0;
  uint64_t failed_but_visible = 0;
  uint64_t duplicated = 0;
  uint64_t redelivered = 0;
  uint64_t reordered = 0;
  uint64_t offset_inconsistencies = 0;
  uint64_t unexpected = 0;
  std::map<std::string, uint64_t> not_committed;  // by error
  std::map<std::string, uint64_t> indeterminate;  // by error
  std::map<std::string, uint64_t> invalid;        // by reason

  bool operator==(const ClassCounts&) const = default;
  /// Adds another partition's totals (for topic-wide sums).
  ClassCounts& operator+=(const ClassCounts& o) {
    received += o.received;
    lost += o.lost;
    expired += o.expired;
    recovered += o.recovered;
    failed_but_visible += o.failed_but_visible;
    duplicated += o.duplicated;
    redelivered += o.redelivered;
    reordered += o.reordered;
    offset_inconsistencies += o.offset_inconsistencies;
    unexpected += o.unexpected;
    for (const auto& [k, n] : o.not_committed) not_committed[k] += n;
    for (const auto& [k, n] : o.indeterminate) indeterminate[k] += n;
    for (const auto& [k, n] : o.invalid) invalid[k] += n;
    return *this;
  }
};

}  // namespace kcanary
