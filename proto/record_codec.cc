#include "proto/record_codec.h"

#include <cstring>

#include "proto/crc32.h"

namespace kcanary {
namespace {

// CRC-32 of `bytes` followed by `zeros` zero bytes: most of a record is its
// zero padding, folded in without being read.
uint32_t Crc32ZeroTail(std::string_view bytes, size_t zeros) {
  return Crc32AppendZeros(Crc32Update(0, bytes), zeros);
}

// How many zero bytes `body` ends with (most of them are the padding).
size_t TrailingZeros(std::string_view body) {
  size_t end = body.size();
  while (end >= 8) {
    uint64_t word;
    std::memcpy(&word, body.data() + end - 8, sizeof(word));
    if (word != 0) break;
    end -= 8;
  }
  while (end > 0 && body[end - 1] == '\0') --end;
  return body.size() - end;
}

uint8_t* WriteVarint(size_t v, uint8_t* out) {
  while (v >= 0x80) {
    *out++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<uint8_t>(v);
  return out;
}

size_t VarintSize(size_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// The padding field's tag: number 15, wire type 2 (length-delimited).
constexpr uint8_t kPaddingTag = (15 << 3) | 2;

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

// Where the padding field starts if `body` ends with one whose bytes are its
// `zeros` trailing zeros; npos otherwise.
size_t PaddingFieldStart(std::string_view body, size_t zeros) {
  if (zeros == 0) return std::string_view::npos;
  uint8_t length[10];
  const auto length_size = static_cast<size_t>(WriteVarint(zeros, length) - length);
  if (body.size() < zeros + length_size + 1) return std::string_view::npos;
  const size_t start = body.size() - zeros - length_size - 1;
  if (static_cast<uint8_t>(body[start]) != kPaddingTag ||
      std::memcmp(body.data() + start + 1, length, length_size) != 0) {
    return std::string_view::npos;
  }
  return start;
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

void EncodeRecordInto(const wire::CanaryRecord& record, size_t target_size, std::string* value) {
  if (!record.padding().empty()) {  // padded already (not by the canary): padded anew
    wire::CanaryRecord copy = record;
    copy.clear_padding();
    EncodeRecordInto(copy, target_size, value);
    return;
  }
  // One buffer, zero-filled: the envelope, the serialized fields, then the
  // padding field (number 15, the highest, where protobuf would put it too)
  // whose bytes are the buffer's zeros.
  const size_t fields = record.ByteSizeLong();
  const size_t padding = PaddingFor(fields, target_size);
  const size_t padding_field = padding > 0 ? 1 + VarintSize(padding) + padding : 0;
  value->assign(kEnvelopeSize + fields + padding_field, '\0');
  auto* body = reinterpret_cast<uint8_t*>(value->data() + kEnvelopeSize);
  uint8_t* end = record.SerializeWithCachedSizesToArray(body);
  if (padding > 0) {
    *end++ = kPaddingTag;
    end = WriteVarint(padding, end);
  }
  const auto prefix = static_cast<size_t>(end - body);
  const uint32_t crc = Crc32ZeroTail(std::string_view(reinterpret_cast<const char*>(body), prefix),
                                     fields + padding_field - prefix);
  value->replace(0, kRecordMagic.size(), kRecordMagic);
  (*value)[4] = static_cast<char>(kWireSchemaVersion);
  for (int i = 0; i < 4; ++i) (*value)[5 + i] = static_cast<char>(crc >> (24 - 8 * i));
}

std::string EncodeRecord(const wire::CanaryRecord& record, size_t target_size) {
  std::string value;
  EncodeRecordInto(record, target_size, &value);
  return value;
}

std::optional<InvalidReason> DecodeRecordInto(std::string_view value, wire::CanaryRecord* record) {
  if (value.size() < kEnvelopeSize) return InvalidReason::kTooShort;
  if (value.substr(0, kRecordMagic.size()) != kRecordMagic) return InvalidReason::kBadMagic;
  if (static_cast<uint8_t>(value[4]) != kWireSchemaVersion) return InvalidReason::kUnknownVersion;
  uint32_t crc = 0;
  for (int i = 5; i < 9; ++i) crc = (crc << 8) | static_cast<uint8_t>(value[i]);
  const std::string_view body = value.substr(kEnvelopeSize);
  const size_t zeros = TrailingZeros(body);
  if (Crc32ZeroTail(body.substr(0, body.size() - zeros), zeros) != crc) {
    return InvalidReason::kBadChecksum;
  }
  // Nobody reads the padding: parse the fields before it, when the body ends
  // as the encoder ends it (the padding field's tag, its length, that many
  // zeros), so the zeros are not copied into the record. Anything else is
  // parsed whole. (ParseFromArray clears the record first.)
  const size_t padding_field = PaddingFieldStart(body, zeros);
  if (padding_field != std::string_view::npos &&
      record->ParseFromArray(body.data(), static_cast<int>(padding_field))) {
    return std::nullopt;
  }
  if (!record->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return InvalidReason::kUndecodable;
  }
  return std::nullopt;
}

DecodeResult DecodeRecord(std::string_view value) {
  DecodeResult result;
  wire::CanaryRecord record;
  if (std::optional<InvalidReason> invalid = DecodeRecordInto(value, &record)) {
    result.reason = *invalid;
    return result;
  }
  result.record = std::move(record);
  return result;
}

}  // namespace kcanary
