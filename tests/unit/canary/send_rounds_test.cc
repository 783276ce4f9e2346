#include "canary/send_rounds.h"

#include <gtest/gtest.h>

namespace kcanary {
namespace {

using std::chrono::microseconds;

TEST(SendRoundsTest, TenRecordsAndOnePerPartitionPerRound) {
  // Ten records in all: 3 partitions x 100 records/s, a round every 33 ms.
  EXPECT_EQ(SendRoundInterval(100, 3), microseconds(33'333));
  // One record per partition: 64 partitions x 10 records/s, a round every
  // 100 ms (10 store writes a second of 64 partitions each, instead of one
  // write per record).
  EXPECT_EQ(SendRoundInterval(10, 64), microseconds(100'000));
  EXPECT_EQ(SendRoundInterval(50, 64), microseconds(20'000));
}

TEST(SendRoundsTest, NeverLongerThan100Ms) {
  // The default 10 records/s on 3 partitions, and slow canaries: records keep
  // their spacing to within 100 ms.
  EXPECT_EQ(SendRoundInterval(10, 3), microseconds(100'000));
  EXPECT_EQ(SendRoundInterval(0.1, 1), microseconds(100'000));
  EXPECT_EQ(SendRoundInterval(10, 0), microseconds(100'000));  // no partitions yet
  EXPECT_EQ(SendRoundInterval(0, 3), microseconds(100'000));
}

TEST(SendRoundsTest, NeverShorterThan1Ms) {
  EXPECT_EQ(SendRoundInterval(1'000'000, 3), microseconds(1'000));
  EXPECT_EQ(SendRoundInterval(5'000, 2), microseconds(1'000));
}

}  // namespace
}  // namespace kcanary
