#include "proto/record_codec.h"

#include <zlib.h>

namespace kcanary {
namespace {

uint32_t Crc32(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

size_t VarintSize(size_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// The padding field (number 15, length-delimited) costs one tag byte, its
// length varint and the bytes themselves.
size_t PaddingFor(size_t unpadded_body, size_t target_size) {
  const size_t fixed = kEnvelopeSize + unpadded_body + 1;
  if (target_size <= fixed + 1) return 0;
  for (size_t len_bytes = 1; len_bytes <= 5; ++len_bytes) {
    if (target_size < fixed + len_bytes) break;
    const size_t len = target_size - fixed - len_bytes;
    if (VarintSize(len) == len_bytes) return len;
  }
  return 0;  // no exact fit (a varint size boundary): send slightly shorter
}

}  // namespace

std::string_view InvalidReasonName(InvalidReason reason) {
  switch (reason) {
    case InvalidReason::kTooShort:
      return "too_short";
    case InvalidReason::kBadMagic:
      return "bad_magic";
    case InvalidReason::kUnknownVersion:
      return "unknown_version";
    case InvalidReason::kBadChecksum:
      return "bad_checksum";
    case InvalidReason::kUndecodable:
      return "undecodable";
    case InvalidReason::kPartitionMismatch:
      return "partition_mismatch";
  }
  return "undecodable";
}

std::string EncodeRecord(const wire::CanaryRecord& record, size_t target_size) {
  std::string body;
  const size_t padding = PaddingFor(record.ByteSizeLong(), target_size);
  if (padding > 0) {
    wire::CanaryRecord padded = record;
    padded.set_padding(std::string(padding, '\0'));
    padded.SerializeToString(&body);
  } else {
    record.SerializeToString(&body);
  }
  const uint32_t crc = Crc32(body);
  std::string value;
  value.reserve(kEnvelopeSize + body.size());
  value.append(kRecordMagic);
  value.push_back(static_cast<char>(kWireSchemaVersion));
  for (int shift = 24; shift >= 0; shift -= 8) value.push_back(static_cast<char>(crc >> shift));
  value.append(body);
  return value;
}

DecodeResult DecodeRecord(std::string_view value) {
  DecodeResult result;
  if (value.size() < kEnvelopeSize) {
    result.reason = InvalidReason::kTooShort;
    return result;
  }
  if (value.substr(0, kRecordMagic.size()) != kRecordMagic) {
    result.reason = InvalidReason::kBadMagic;
    return result;
  }
  if (static_cast<uint8_t>(value[4]) != kWireSchemaVersion) {
    result.reason = InvalidReason::kUnknownVersion;
    return result;
  }
  uint32_t crc = 0;
  for (int i = 5; i < 9; ++i) crc = (crc << 8) | static_cast<uint8_t>(value[i]);
  const std::string_view body = value.substr(kEnvelopeSize);
  if (Crc32(body) != crc) {
    result.reason = InvalidReason::kBadChecksum;
    return result;
  }
  wire::CanaryRecord record;
  if (!record.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    result.reason = InvalidReason::kUndecodable;
    return result;
  }
  result.record = std::move(record);
  return result;
}

}  // namespace kcanary
