#include "canary/send_rounds.h"

#include <gtest/gtest.h>

namespace kcanary {
namespace {

using std::chrono::microseconds;

TEST(SendRoundsTest, TenRecordsPerRound) {
  // One partition at 200 records/s: a round every 50 ms.
  EXPECT_EQ(SendRoundInterval(200, 1), microseconds(50'000));
  EXPECT_EQ(SendRoundInterval(250, 1), microseconds(40'000));
}

TEST(SendRoundsTest, FewPartitionsNeverWaitLongerThan100Ms) {
  // The default 10 records/s on 3 partitions, and slow canaries: records keep
  // their spacing to within 100 ms.
  EXPECT_EQ(SendRoundInterval(10, 3), microseconds(100'000));
  EXPECT_EQ(SendRoundInterval(0.1, 1), microseconds(100'000));
  EXPECT_EQ(SendRoundInterval(10, 0), microseconds(100'000));  // no partitions yet
  EXPECT_EQ(SendRoundInterval(0, 3), microseconds(100'000));
}

TEST(SendRoundsTest, ManyPartitionsSendToAtMost32PartitionsASecond) {
  // The sidecar profile, 64 partitions x 10 records/s: a round every 2 s with
  // twenty records on each partition, not twenty rounds of one.
  EXPECT_EQ(SendRoundInterval(10, 64), microseconds(2'000'000));
  EXPECT_EQ(SendRoundInterval(10, 16), microseconds(500'000));
  // Never more than twenty records of one partition in a round ...
  EXPECT_EQ(SendRoundInterval(50, 64), microseconds(400'000));
  EXPECT_EQ(SendRoundInterval(1'000, 64), microseconds(20'000));
  EXPECT_EQ(SendRoundInterval(2'000, 1), microseconds(10'000));
  // ... and never more than 2 s between rounds.
  EXPECT_EQ(SendRoundInterval(10, 1'000), microseconds(2'000'000));
  // Three partitions at 100 records/s would send to 90 partitions a second.
  EXPECT_EQ(SendRoundInterval(100, 3), microseconds(93'750));
  EXPECT_EQ(SendRoundInterval(0.1, 1'000), microseconds(2'000'000));
}

TEST(SendRoundsTest, NeverShorterThan1Ms) {
  EXPECT_EQ(SendRoundInterval(1'000'000, 3), microseconds(1'000));
  EXPECT_EQ(SendRoundInterval(20'000, 1), microseconds(1'000));
  EXPECT_EQ(SendRoundInterval(1'000'000, 256), microseconds(1'000));
}

}  // namespace
}  // namespace kcanary
