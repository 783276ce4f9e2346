// CRC-32 as zlib's crc32() computes it (IEEE 802.3 polynomial, reflected,
// pre- and post-inverted), eight bytes per step.
//
// Every record the canary writes and the verifier reads is checksummed, and
// Debian's zlib 1.2.13 takes one table step per byte: about 1 ns a byte on
// our machine, the largest single cost per record on both sides. Slicing by
// eight (eight 256-entry tables, one 64-bit load per step) gives the same
// value in a fraction of that. The wire format does not change: it is the
// same checksum (tests compare with zlib's on random input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kcanary {

/// zlib's crc32(crc, bytes, size): `crc` is the CRC-32 of what came before
/// (0 to start), the result that of it followed by `bytes`.
uint32_t Crc32Update(uint32_t crc, std::string_view bytes);

/// The CRC-32 of `zeros` zero bytes appended to data whose CRC-32 is `crc`.
uint32_t Crc32AppendZeros(uint32_t crc, size_t zeros);

}  // namespace kcanary
