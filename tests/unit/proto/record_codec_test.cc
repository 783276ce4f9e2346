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

}  // namespace
}  // namespace kcanary
