#include "canary/send_rounds.h"

#include <gtest/gtest.h>

namespace kcanary {
namespace {

using std::chrono::microseconds;

TEST(SendRoundsTest, TenRecordsPerRound) {
  // One partition at 500 records/s: a round every 20 ms.
  EXPECT_EQ(SendRoundInterval(500, 1), microseconds(20'000));
  EXPECT_EQ(SendRoundInterval(2'000, 1), microseconds(5'000));
}

TEST(SendRoundsTest, FewPartitionsNeverWaitLongerThan100Ms) {
  // The default 10 records/s on 3 partitions, and slow canaries: records keep
  // their spacing to within 100 ms.
  EXPECT_EQ(SendRoundInterval(10, 3), microseconds(100'000));
  EXPECT_EQ(SendRoundInterval(0.1, 1), microseconds(100'000));
  EXPECT_EQ(SendRoundInterval(10, 0), microseconds(100'000));  // no partitions yet
  EXPECT_EQ(SendRoundInterval(0, 3), microseconds(100'000));
}

TEST(SendRoundsTest, ManyPartitionsSendToAtMost64PartitionsASecond) {
  // The sidecar profile, 64 partitions x 10 records/s: a round a second with
  // ten records on each partition, not ten rounds of one.
  EXPECT_EQ(SendRoundInterval(10, 64), microseconds(1'000'000));
  EXPECT_EQ(SendRoundInterval(10, 16), microseconds(250'000));
  // Never more than ten records of one partition in a round ...
  EXPECT_EQ(SendRoundInterval(50, 64), microseconds(200'000));
  EXPECT_EQ(SendRoundInterval(1'000, 64), microseconds(10'000));
  // ... and never more than a second between rounds.
  EXPECT_EQ(SendRoundInterval(10, 1'000), microseconds(1'000'000));
  // Three partitions at 100 records/s would send to 90 partitions a second.
  EXPECT_EQ(SendRoundInterval(100, 3), microseconds(46'875));
  EXPECT_EQ(SendRoundInterval(0.1, 1'000), microseconds(1'000'000));
}

TEST(SendRoundsTest, NeverShorterThan1Ms) {
  EXPECT_EQ(SendRoundInterval(1'000'000, 3), microseconds(1'000));
  EXPECT_EQ(SendRoundInterval(20'000, 1), microseconds(1'000));
  EXPECT_EQ(SendRoundInterval(1'000'000, 256), microseconds(1'000));
}

}  // namespace
}  // namespace kcanary
