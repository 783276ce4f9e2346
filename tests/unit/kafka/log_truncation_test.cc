#include "common/kafka/log_truncation.h"

#include <gtest/gtest.h>

namespace kcanary {
namespace {

// The text librdkafka 2.8.0 (deps/librdkafka.pin) hands over with
// _AUTO_OFFSET_RESET when KIP-320 validation finds a divergence under
// auto.offset.reset=error: rd_kafka_toppar_handle_OffsetForLeaderEpoch's
// reason, then rd_kafka_offset_reset's ": <error string> (broker N)".
constexpr std::string_view kTruncated =
    "Partition log truncation detected at offset 95 (leader epoch 3): broker end offset is 80 "
    "(offset leader epoch 3). Reset to INVALID.: Local: Partition log truncation detected "
    "(broker 2)";

TEST(LogTruncationTest, ReadsThePositionTheDivergenceAndTheBroker) {
  const std::optional<LogTruncation> t = ParseLogTruncation(kTruncated);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->position, 95);
  EXPECT_EQ(t->divergence, 80);
  EXPECT_EQ(t->broker, 2);
}

TEST(LogTruncationTest, LargeOffsets) {
  const std::optional<LogTruncation> t = ParseLogTruncation(
      "Partition log truncation detected at offset 9000000000123 (leader epoch 71): broker end "
      "offset is 9000000000000 (offset leader epoch 70). Reset to INVALID.: Local: Partition "
      "log truncation detected (broker 1003)");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->position, 9'000'000'000'123);
  EXPECT_EQ(t->divergence, 9'000'000'000'000);
  EXPECT_EQ(t->broker, 1003);
}

TEST(LogTruncationTest, WithoutTheBrokerStillAnEvent) {
  const std::optional<LogTruncation> t = ParseLogTruncation(
      "Partition log truncation detected at offset 12 (leader epoch 1): broker end offset is 7 "
      "(offset leader epoch 1). Reset to INVALID.: Local: Partition log truncation detected");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->divergence, 7);
  EXPECT_EQ(t->broker, -1);
}

TEST(LogTruncationTest, NoDivergencePointIsNoEvent) {
  // The leader has no epoch at or below ours: no offset is named, so the
  // verifier falls back to reading the watermarks.
  EXPECT_FALSE(ParseLogTruncation(
      "No epoch found less or equal to offset 95 (leader epoch 3): broker end offset is -1 "
      "(offset leader epoch -1). Reset using configured policy.: Local: Partition log "
      "truncation detected (broker 2)"));
}

TEST(LogTruncationTest, OtherErrorsAreNoEvent) {
  EXPECT_FALSE(ParseLogTruncation(
      "Fetch position offset 500 (leader epoch 0) is out of range for partition: Broker: "
      "Offset out of range (broker 1)"));
  EXPECT_FALSE(ParseLogTruncation(""));
  EXPECT_FALSE(ParseLogTruncation("log truncation detected at offset "));
  EXPECT_FALSE(ParseLogTruncation("log truncation detected at offset x: broker end offset is 3"));
  // Only a divergence below the position truncates anything that was read.
  EXPECT_FALSE(ParseLogTruncation(
      "Partition log truncation detected at offset 80 (leader epoch 3): broker end offset is 80 "
      "(offset leader epoch 3)."));
}

}  // namespace
}  // namespace kcanary
