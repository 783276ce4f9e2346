#include "canary/outcome_log.h"

#include <gtest/gtest.h>

namespace kcanary {
namespace {

DeliveryOutcome Acked(int64_t offset) { return {Delivery::kPersisted, offset, "", -1}; }

TEST(OutcomeLogTest, ContiguousAcksAreOneEntry) {
  OutcomeLog log;
  for (int64_t s = 0; s < 1000; ++s) log.Add(s, 1, Acked(500 + s));
  ASSERT_EQ(log.entries().size(), 1u);
  EXPECT_EQ(log.entries()[0].count(), 1000u);
  EXPECT_EQ(log.entries()[0].first_offset(), 500);
  EXPECT_EQ(log.resolved_end(), 1000);
}

TEST(OutcomeLogTest, OffsetJumpOrFailureStartsAnEntry) {
  OutcomeLog log;
  log.Add(0, 1, Acked(10));
  log.Add(1, 1, Acked(12));  // a duplicate took offset 11
  log.Add(2, 1, {Delivery::kPossibly, -1, "REQUEST_TIMED_OUT", 4});
  log.Add(3, 1, {Delivery::kPossibly, -1, "REQUEST_TIMED_OUT", 6});
  log.Add(4, 1, {Delivery::kNotPersisted, -1, "MSG_SIZE_TOO_LARGE", 6});
  ASSERT_EQ(log.entries().size(), 4u);
  EXPECT_EQ(log.entries()[2].count(), 2u);
  EXPECT_EQ(log.entries()[2].fence_sequence(), 6u);  // merged failures keep the later fence
  EXPECT_EQ(log.entries()[3].error(), "MSG_SIZE_TOO_LARGE");
}

TEST(OutcomeLogTest, KeepsTheNewestEntries) {
  OutcomeLog log(8);
  for (int64_t s = 0; s < 100; ++s) log.Add(s, 1, Acked(s * 2));  // never contiguous
  ASSERT_EQ(log.entries().size(), 8u);
  EXPECT_EQ(log.entries().front().first_sequence(), 92u);
  EXPECT_EQ(log.resolved_end(), 100);
}

TEST(OutcomeLogTest, SummaryTakesNewestThatFitAtLeastOne) {
  OutcomeLog log;
  for (int64_t s = 0; s < 20; ++s) log.Add(s, 1, Acked(s * 2));
  wire::CanaryRecord small;
  log.AppendSummary(&small, 1);
  ASSERT_EQ(small.outcomes_size(), 1);
  EXPECT_EQ(small.outcomes(0).first_sequence(), 19u);
  wire::CanaryRecord roomy;
  log.AppendSummary(&roomy, 100);
  EXPECT_GT(roomy.outcomes_size(), 3);
  EXPECT_LT(roomy.outcomes_size(), 20);
  EXPECT_LE(roomy.ByteSizeLong(), 110u);
  EXPECT_EQ(roomy.outcomes(roomy.outcomes_size() - 1).first_sequence(), 19u);  // oldest first
}

TEST(OutcomeLogTest, SaveLoadRoundTrip) {
  OutcomeLog log;
  log.Add(0, 5, Acked(0));
  log.Add(5, 1, {Delivery::kNotPersisted, -1, "NOT_ENOUGH_REPLICAS", 7});
  google::protobuf::RepeatedPtrField<wire::Outcome> saved;
  log.SaveTo(&saved);
  OutcomeLog loaded;
  loaded.LoadFrom(saved);
  EXPECT_EQ(loaded.resolved_end(), 6);
  ASSERT_EQ(loaded.entries().size(), 2u);
  EXPECT_EQ(OutcomeFromWire(loaded.entries()[1]).error, "NOT_ENOUGH_REPLICAS");
  EXPECT_EQ(OutcomeFromWire(loaded.entries()[0]).offset, 0);
}

}  // namespace
}  // namespace kcanary
