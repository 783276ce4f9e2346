#include "proto/crc32.h"

#include <zlib.h>

#include <array>
#include <bit>
#include <cstring>

namespace kcanary {
namespace {

constexpr uint32_t kPolynomial = 0xEDB88320;  // 0x04C11DB7, bit-reversed

using Tables = std::array<std::array<uint32_t, 256>, 8>;

// tables[0] is the classic byte-at-a-time table; tables[k][b] is the register
// after byte b is followed by k zero bytes, so one step can fold eight bytes
// at eight different distances from the end of the step.
constexpr Tables MakeTables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t r = b;
    for (int bit = 0; bit < 8; ++bit) r = (r & 1) ? (r >> 1) ^ kPolynomial : r >> 1;
    t[0][b] = r;
  }
  for (size_t k = 1; k < t.size(); ++k) {
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  }
  return t;
}

constexpr Tables kTables = MakeTables();

// One step over eight bytes whose little-endian value is `word`.
inline uint32_t Step8(uint32_t r, uint64_t word) {
  const auto lo = static_cast<uint32_t>(word) ^ r;
  const auto hi = static_cast<uint32_t>(word >> 32);
  return kTables[7][lo & 0xFF] ^ kTables[6][(lo >> 8) & 0xFF] ^ kTables[5][(lo >> 16) & 0xFF] ^
         kTables[4][lo >> 24] ^ kTables[3][hi & 0xFF] ^ kTables[2][(hi >> 8) & 0xFF] ^
         kTables[1][(hi >> 16) & 0xFF] ^ kTables[0][hi >> 24];
}

inline uint32_t Step1(uint32_t r, uint8_t byte) { return (r >> 8) ^ kTables[0][(r ^ byte) & 0xFF]; }

// Appending zero bytes is linear in the register: what a register becomes
// after D zeros is the XOR of what each of its four bytes alone becomes. So
// "append D zeros" is four lookups in a ZeroOp, whatever D is. kZeroOps[j]
// appends 8 * 2^j zeros; a run of zeros takes one lookup step per set bit
// of its length in 8-byte words (a 200-byte padding: 3 steps, not 25). The
// operators are powers of the one-byte step, so their order does not matter.
using ZeroOp = std::array<std::array<uint32_t, 256>, 4>;
constexpr size_t kZeroOpCount = 9;  // 8, 16, ..., 2048 zero bytes

constexpr uint32_t Apply(const ZeroOp& op, uint32_t r) {
  return op[0][r & 0xFF] ^ op[1][(r >> 8) & 0xFF] ^ op[2][(r >> 16) & 0xFF] ^ op[3][r >> 24];
}

constexpr std::array<ZeroOp, kZeroOpCount> MakeZeroOps() {
  std::array<ZeroOp, kZeroOpCount> ops{};
  // Eight zeros are Step8 with a zero word: tables 7..4 on the register's
  // bytes 0..3 (the data's tables see only zero bytes, and map 0 to 0).
  for (size_t k = 0; k < 4; ++k) ops[0][k] = kTables[7 - k];
  // Twice as many zeros: the previous operator applied twice.
  for (size_t j = 1; j < kZeroOpCount; ++j) {
    for (size_t k = 0; k < 4; ++k) {
      for (size_t b = 0; b < 256; ++b) ops[j][k][b] = Apply(ops[j - 1], ops[j - 1][k][b]);
    }
  }
  return ops;
}

constexpr std::array<ZeroOp, kZeroOpCount> kZeroOps = MakeZeroOps();

// From this many zeros on, appending them costs one multiplication modulo the
// polynomial (zlib's crc32_combine_op, ~50 ns) instead of a step per 2 KiB.
constexpr size_t kCombineFrom = 4096;

uint32_t StepZeros(uint32_t crc, size_t zeros) {
  uint32_t r = ~crc;
  for (; zeros % 8 != 0; --zeros) r = Step1(r, 0);
  size_t words = zeros / 8;
  constexpr size_t kLargest = size_t{1} << (kZeroOpCount - 1);  // words kZeroOps.back() appends
  for (; words >= kLargest; words -= kLargest) r = Apply(kZeroOps.back(), r);
  for (size_t j = 0; words != 0; ++j, words >>= 1) {
    if (words & 1) r = Apply(kZeroOps[j], r);
  }
  return ~r;
}

}  // namespace

uint32_t Crc32Update(uint32_t crc, std::string_view bytes) {
  uint32_t r = ~crc;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t n = bytes.size();
  if constexpr (std::endian::native == std::endian::little) {
    for (; n >= 8; n -= 8, p += 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof(word));
      r = Step8(r, word);
    }
  }
  for (; n > 0; --n) r = Step1(r, *p++);
  return ~r;
}

uint32_t Crc32AppendZeros(uint32_t crc, size_t zeros) {
#if ZLIB_VERNUM >= 0x12c0
  if (zeros >= kCombineFrom) {
    // The zero run's CRC and combine operator, for the last length seen
    // (records of one canary have nearly the same padding).
    struct ZeroRun {
      size_t length = 0;
      uLong crc = 0;
      uLong combine_op = 0;
    };
    thread_local ZeroRun cached;
    if (cached.length != zeros) {
      cached.crc = StepZeros(0, zeros);
      cached.combine_op = crc32_combine_gen(static_cast<z_off_t>(zeros));
      cached.length = zeros;
    }
    return static_cast<uint32_t>(crc32_combine_op(crc, cached.crc, cached.combine_op));
  }
#endif
  return StepZeros(crc, zeros);
}

}  // namespace kcanary
