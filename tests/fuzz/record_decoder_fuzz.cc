// libFuzzer target: any bytes as a record value read from the canary topic.
//
// The verifier decodes whatever the topic holds (other producers' records,
// garbage, truncated or future-schema records). Decoding must never crash,
// hang or read out of bounds, and must agree with itself:
//   - DecodeRecord and DecodeRecordInto (into a record reused across inputs,
//     as the verifier does) give the same verdict and the same record;
//   - a value that decodes re-encodes, at its own size, to a value that
//     decodes to the same record (the padding is not part of the record).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/record_codec.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "record_decoder_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  static kcanary::wire::CanaryRecord reused;  // keeps the last input's allocations
  const kcanary::DecodeResult fresh = kcanary::DecodeRecord(value);
  const std::optional<kcanary::InvalidReason> invalid = kcanary::DecodeRecordInto(value, &reused);
  Check(fresh.record.has_value() == !invalid.has_value(), "the two decoders disagree");
  if (!fresh.record) {
    Check(fresh.reason == *invalid, "the two decoders give different reasons");
    Check(!kcanary::InvalidReasonName(*invalid).empty(), "an invalid reason without a name");
    return 0;
  }
  kcanary::wire::CanaryRecord expected = *fresh.record;
  expected.clear_padding();
  kcanary::wire::CanaryRecord got = reused;
  got.clear_padding();
  Check(got.SerializeAsString() == expected.SerializeAsString(),
        "a reused record decodes differently");
  const std::string again = kcanary::EncodeRecord(expected, size);
  const kcanary::DecodeResult round = kcanary::DecodeRecord(again);
  Check(round.record.has_value(), "a decoded record does not re-encode to a valid value");
  kcanary::wire::CanaryRecord back = *round.record;
  back.clear_padding();
  Check(back.SerializeAsString() == expected.SerializeAsString(),
        "a decoded record does not survive re-encoding");
  return 0;
}
