#include "proto/crc32.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include <zlib.h>

namespace kcanary {
namespace {

uint32_t Zlib(uint32_t crc, std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

TEST(Crc32Test, KnownValues) {
  EXPECT_EQ(Crc32Update(0, ""), 0u);
  EXPECT_EQ(Crc32Update(0, "123456789"), 0xCBF43926u);  // the CRC-32 check value
  EXPECT_EQ(Crc32Update(0, "The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

// Every length from 0 to 300 (all alignments of the 8-byte steps and their
// byte tails), from every starting CRC, split anywhere: as zlib computes it.
TEST(Crc32Test, MatchesZlibOnRandomInput) {
  std::mt19937_64 rng(7);
  std::string bytes(320, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  for (size_t length = 0; length <= 300; ++length) {
    const std::string_view data(bytes.data() + length % 8, length);  // every alignment
    const auto start = static_cast<uint32_t>(rng());
    ASSERT_EQ(Crc32Update(start, data), Zlib(start, data)) << length;
    const size_t split = data.size() / 3;
    ASSERT_EQ(Crc32Update(Crc32Update(0, data.substr(0, split)), data.substr(split)), Zlib(0, data))
        << length;
  }
}

// Zeros appended by stepping (short runs) and by zlib's combination (long
// runs), on both sides of the switch between them and for a length that
// changes back and forth (the cache of the last length).
TEST(Crc32Test, AppendZerosMatchesZerosRead) {
  std::mt19937_64 rng(11);
  for (size_t zeros : {0, 1, 7, 8, 9, 63, 64, 65, 1000, 4095, 4096, 4097, 70000, 4096, 70000}) {
    const std::string prefix = "summary-" + std::to_string(rng());
    const std::string whole = prefix + std::string(zeros, '\0');
    EXPECT_EQ(Crc32AppendZeros(Crc32Update(0, prefix), zeros), Zlib(0, whole)) << zeros;
  }
}

// Every run length up to past the switch to zlib's combination: each bit of
// the length in 8-byte words (one lookup step per set bit), the 2 KiB steps
// of runs longer than the largest, and the byte tails.
TEST(Crc32Test, AppendZerosMatchesZerosReadForEveryLength) {
  std::mt19937_64 rng(13);
  const std::string zeros(4200, '\0');
  for (size_t length = 0; length <= zeros.size(); ++length) {
    const auto start = static_cast<uint32_t>(rng());
    ASSERT_EQ(Crc32AppendZeros(start, length),
              Zlib(start, std::string_view(zeros).substr(0, length)))
        << length;
  }
}

}  // namespace
}  // namespace kcanary
