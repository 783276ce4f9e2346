#include "canary/send_rounds.h"

#include <gtest/gtest.h>

namespace kcanary {
namespace {

using std::chrono::microseconds;

TEST(SendRoundsTest, AboutTenRecordsPerRound) {
  // 64 partitions x 10 records/s: 640/s, a round every 15.6 ms (~64 store
  // writes a second instead of one per record).
  EXPECT_EQ(SendRoundInterval(10, 64), microseconds(15'625));
  EXPECT_EQ(SendRoundInterval(100, 10), microseconds(10'000));
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
