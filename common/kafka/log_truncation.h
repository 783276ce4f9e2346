// ParseLogTruncation: what librdkafka's consumer says when KIP-320 finds
// that the log it was reading diverged from the partition leader's.
//
// After a leader change the consumer (librdkafka >= 2.1) asks the new leader
// for the end offset of the leader epoch of its position
// (OffsetForLeaderEpoch). When that end lies below the position, the records
// read from there on were truncated away (an unclean election, or a leader
// lost with records only it had). With auto.offset.reset=error, as the
// verifier runs, librdkafka stops the partition and hands over an error
// whose code is the generic _AUTO_OFFSET_RESET; the divergence point Kafka
// named is only in its text, e.g. (librdkafka 2.8.0, src/rdkafka_offset.c):
//
//   Partition log truncation detected at offset 95 (leader epoch 3): broker
//   end offset is 80 (offset leader epoch 3). Reset to INVALID.: Local:
//   Partition log truncation detected (broker 2)
//
// kcanary links the librdkafka pinned in deps/librdkafka.pin, so this text is
// fixed for a build; tests/unit/kafka pins it too. A text it cannot read is
// no truncation event: the verifier then treats the error as an out-of-range
// position, as it did before KIP-320.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace kcanary {

struct LogTruncation {
  /// The consumer's position when it found the divergence.
  int64_t position = -1;
  /// The first offset whose record the leader's log no longer shares with
  /// what was read: records read at [divergence, position) are gone.
  int64_t divergence = -1;
  /// The broker that answered (the new leader), -1 if not named.
  int32_t broker = -1;
};

std::optional<LogTruncation> ParseLogTruncation(std::string_view error_text);

}  // namespace kcanary
