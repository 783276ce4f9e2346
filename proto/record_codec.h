// Record codec: frames a CanaryRecord into a Kafka record value and back.
//
// A value is "KCNY" | schema version (1 byte) | CRC-32 of the body (big
// endian) | protobuf body. Decoding never throws and never trusts its input:
// anything that is not a well-formed record of a known version comes back as
// an InvalidReason, which the verifier counts in kcanary_records_invalid_total.
//
//   std::string value = EncodeRecord(record, /*target_size=*/256);
//   DecodeResult r = DecodeRecord(value);
//   if (!r.record) Count(InvalidReasonName(r.reason));
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "canary.pb.h"

namespace kcanary {

inline constexpr std::string_view kRecordMagic = "KCNY";
inline constexpr uint8_t kWireSchemaVersion = 1;
inline constexpr size_t kEnvelopeSize = 9;

/// Why bytes in the canary topic are not a canary record. Names are metric
/// label values (kcanary_records_invalid_total{reason}), a bounded set.
enum class InvalidReason {
  kTooShort,
  kBadMagic,
  kUnknownVersion,
  kBadChecksum,
  kUndecodable,
  kPartitionMismatch,  // decodes, but names another partition than it was read from
};
std::string_view InvalidReasonName(InvalidReason reason);

/// Serializes `record` and pads it so the value is `target_size` bytes long
/// (or the minimum size the record needs, when that is larger).
std::string EncodeRecord(const wire::CanaryRecord& record, size_t target_size);
/// As EncodeRecord, into `*value` (replacing what it held): a reused buffer
/// keeps its capacity, so the canary encodes without allocating.
void EncodeRecordInto(const wire::CanaryRecord& record, size_t target_size, std::string* value);

struct DecodeResult {
  std::optional<wire::CanaryRecord> record;
  InvalidReason reason = InvalidReason::kUndecodable;  // meaningful when !record
};
DecodeResult DecodeRecord(std::string_view value);

/// As DecodeRecord, into `*record` (which may hold a previous record): a
/// reused record keeps its allocations, so the verifier's hot path decodes
/// without allocating. Returns why `value` is not a record, or nothing when
/// `*record` now holds it; on a failure `*record` is unspecified.
std::optional<InvalidReason> DecodeRecordInto(std::string_view value, wire::CanaryRecord* record);

}  // namespace kcanary
