#include "proto/record_codec.h"

#include <gtest/gtest.h>

#include <random>

#include <zlib.h>

namespace kcanary {
namespace {

wire::CanaryRecord Sample() {
  wire::CanaryRecord r;
  r.set_run_id(0x1234567890abcdefULL);
  r.set_partition(3);
  r.set_sequence(42);
  r.set_produce_time_us(1'700'000'000'000'000);
  wire::Outcome* o = r.add_outcomes();
  o->set_first_sequence(0);
  o->set_count(41);
  o->set_status(wire::PERSISTED);
  o->set_first_offset(1000);
  return r;
}

TEST(RecordCodecTest, RoundTrip) {
  const std::string value = EncodeRecord(Sample(), 0);
  DecodeResult d = DecodeRecord(value);
  ASSERT_TRUE(d.record);
  EXPECT_EQ(d.record->sequence(), 42u);
  EXPECT_EQ(d.record->outcomes(0).first_offset(), 1000);
}

TEST(RecordCodecTest, PadsToTheTargetSize) {
  for (size_t size : {64u, 100u, 127u, 128u, 129u, 256u, 1000u, 16384u, 16385u, 100000u}) {
    const std::string value = EncodeRecord(Sample(), size);
    EXPECT_NEAR(static_cast<double>(value.size()), static_cast<double>(size), 1.0) << size;
    EXPECT_TRUE(DecodeRecord(value).record) << size;
  }
}

// The wire format as first specified: protobuf's own serialization of the
// record with its padding field set, framed with zlib's CRC-32 of the body.
std::string ReferenceEncoding(const wire::CanaryRecord& record, size_t padding) {
  wire::CanaryRecord padded = record;
  if (padding > 0) padded.set_padding(std::string(padding, '\0'));
  const std::string body = padded.SerializeAsString();
  const auto crc = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  std::string value(kRecordMagic);
  value.push_back(static_cast<char>(kWireSchemaVersion));
  for (int shift = 24; shift >= 0; shift -= 8) value.push_back(static_cast<char>(crc >> shift));
  return value + body;
}

// The encoder writes the padding and its CRC without protobuf or a pass over
// the zeros: the bytes must be exactly those of the reference, at every size
// (varint boundaries of the padding length included) and summary shape.
TEST(RecordCodecTest, EncodingIsByteIdenticalToTheReference) {
  wire::CanaryRecord many = Sample();
  for (int i = 0; i < 20; ++i) {
    wire::Outcome* o = many.add_outcomes();
    o->set_first_sequence(100 + i);
    o->set_count(1);
    o->set_status(wire::NOT_PERSISTED);
    o->set_error("NOT_ENOUGH_REPLICAS");
    o->set_fence_sequence(200 + i);
  }
  for (const wire::CanaryRecord& record : {Sample(), many, wire::CanaryRecord()}) {
    const size_t fields = record.ByteSizeLong();
    for (size_t size : {0u, 64u, 70u, 100u, 127u, 128u, 129u, 130u, 131u, 200u, 256u, 1000u, 16384u,
                        16385u, 16386u, 100000u}) {
      const std::string value = EncodeRecord(record, size);
      const size_t body = value.size() - kEnvelopeSize;
      const size_t padding_field = body - fields;
      // padding_field = tag + varint(len) + len; recover len from the size
      size_t padding = 0;
      for (size_t len_bytes = 1; padding_field > 0 && len_bytes <= 5; ++len_bytes) {
        if (padding_field > len_bytes + 1) padding = padding_field - 1 - len_bytes;
        if (padding < (size_t{1} << (7 * len_bytes))) break;
      }
      EXPECT_EQ(value, ReferenceEncoding(record, padding)) << "size " << size;
      // Decoding skips the padding: every other field comes back as it was.
      DecodeResult decoded = DecodeRecord(value);
      ASSERT_TRUE(decoded.record) << "size " << size;
      EXPECT_EQ(decoded.record->SerializeAsString(), record.SerializeAsString()) << "size " << size;
    }
  }
}

// The decoder's CRC skips trailing zeros the same way: zeros that are not
// padding (a body that ends in them) and damage inside the padding must both
// be judged as a plain CRC over every byte would.
TEST(RecordCodecTest, ChecksumCoversThePaddingZeros) {
  std::string value = EncodeRecord(Sample(), 256);
  ASSERT_TRUE(DecodeRecord(value).record);
  for (size_t at : {value.size() - 1, value.size() - 64, value.size() - 100}) {
    std::string damaged = value;
    damaged[at] = '\x01';
    EXPECT_EQ(DecodeRecord(damaged).reason, InvalidReason::kBadChecksum) << at;
  }
  // One zero byte more or less at the end changes the CRC too.
  EXPECT_EQ(DecodeRecord(value + std::string(1, '\0')).reason, InvalidReason::kBadChecksum);
  EXPECT_EQ(DecodeRecord(value.substr(0, value.size() - 1)).reason, InvalidReason::kBadChecksum);
}

// A body that ends in zeros that are not a padding field is parsed whole.
TEST(RecordCodecTest, TrailingZerosThatAreNotPaddingAreParsedWhole) {
  wire::CanaryRecord record = Sample();
  record.set_padding(std::string(100, '\0'));
  wire::Outcome* o = record.add_outcomes();
  o->set_error(std::string("x\0\0\0", 4));  // outcomes come before the padding (15)
  const wire::CanaryRecord no_padding_field = [&] {
    wire::CanaryRecord r = Sample();
    r.add_outcomes()->set_error(std::string("x\0\0\0", 4));
    return r;
  }();
  for (const wire::CanaryRecord& r : {record, no_padding_field}) {
    const std::string body = r.SerializeAsString();
    const auto crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
    std::string value(kRecordMagic);
    value.push_back(static_cast<char>(kWireSchemaVersion));
    for (int shift = 24; shift >= 0; shift -= 8) value.push_back(static_cast<char>(crc >> shift));
    DecodeResult decoded = DecodeRecord(value + body);
    ASSERT_TRUE(decoded.record);
    EXPECT_EQ(decoded.record->outcomes_size(), 2);
    EXPECT_EQ(decoded.record->outcomes(1).error(), std::string("x\0\0\0", 4));
  }
}

TEST(RecordCodecTest, RejectsDamagedInputWithAReason) {
  const std::string good = EncodeRecord(Sample(), 128);
  EXPECT_EQ(DecodeRecord("").reason, InvalidReason::kTooShort);
  EXPECT_EQ(DecodeRecord(good.substr(0, 5)).reason, InvalidReason::kTooShort);
  EXPECT_EQ(DecodeRecord("hello world, not a canary").reason, InvalidReason::kBadMagic);
  std::string v = good;
  v[4] = 9;
  EXPECT_EQ(DecodeRecord(v).reason, InvalidReason::kUnknownVersion);
  v = good;
  v[40] ^= 0x55;
  EXPECT_EQ(DecodeRecord(v).reason, InvalidReason::kBadChecksum);
  v = good.substr(0, good.size() - 3);
  EXPECT_EQ(DecodeRecord(v).reason, InvalidReason::kBadChecksum);
}

TEST(RecordCodecTest, ValidChecksumOverGarbageBodyIsUndecodable) {
  // Build an envelope whose CRC matches a body that is not a valid protobuf.
  const std::string body = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
  std::string good = EncodeRecord(Sample(), 0);
  std::string v = good.substr(0, 5);
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  for (int shift = 24; shift >= 0; shift -= 8) v.push_back(static_cast<char>(crc >> shift));
  v += body;
  EXPECT_EQ(DecodeRecord(v).reason, InvalidReason::kUndecodable);
}

TEST(RecordCodecTest, RandomBytesNeverCrashAndAreRejected) {
  std::mt19937 rng(1);
  for (int i = 0; i < 20000; ++i) {
    std::string v(rng() % 64, '\0');
    for (char& ch : v) ch = static_cast<char>(rng());
    if (i % 2) v.replace(0, std::min<size_t>(4, v.size()), "KCNY");
    EXPECT_FALSE(DecodeRecord(v).record);
  }
}

// The verifier decodes every record into one reused CanaryRecord: nothing of
// an earlier record (more outcomes, an error string, a failed decode) may
// show through in a later one.
TEST(RecordCodecTest, DecodingIntoAReusedRecordLeavesNothingOfTheLastOne) {
  wire::CanaryRecord big = Sample();
  for (int i = 0; i < 5; ++i) {
    wire::Outcome* o = big.add_outcomes();
    o->set_first_sequence(100 + i);
    o->set_count(1);
    o->set_status(wire::NOT_PERSISTED);
    o->set_error("MSG_TIMED_OUT");
  }
  wire::CanaryRecord small;
  small.set_run_id(7);
  small.set_partition(1);
  small.set_sequence(1);

  wire::CanaryRecord reused;
  ASSERT_FALSE(DecodeRecordInto(EncodeRecord(big, 256), &reused));
  EXPECT_EQ(reused.SerializeAsString(), big.SerializeAsString());
  ASSERT_FALSE(DecodeRecordInto(EncodeRecord(small, 256), &reused));
  EXPECT_EQ(reused.SerializeAsString(), small.SerializeAsString());

  std::string damaged = EncodeRecord(big, 256);
  damaged[20] ^= 0x01;
  EXPECT_EQ(DecodeRecordInto(damaged, &reused), InvalidReason::kBadChecksum);
  ASSERT_FALSE(DecodeRecordInto(EncodeRecord(small, 0), &reused));
  EXPECT_EQ(reused.SerializeAsString(), small.SerializeAsString());
}

}  // namespace
}  // namespace kcanary
