#include "common/audit/schedule.h"

#include <gtest/gtest.h>

#include <chrono>

namespace kcanary::audit {
namespace {

using std::chrono::seconds;

TEST(AuditScheduleTest, ACompleteAuditIsRepeatedEveryMinute) {
  AuditSchedule schedule;
  EXPECT_EQ(schedule.After(AuditOutcome::kComplete), seconds(60));
  EXPECT_EQ(schedule.After(AuditOutcome::kComplete), seconds(60));
}

TEST(AuditScheduleTest, NothingToJudgeIsLookedAtAgainSoon) {
  AuditSchedule schedule;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(schedule.After(AuditOutcome::kNothingToJudge), seconds(5));
}

// A topic just created: the broker asked for its configs may not know it yet.
// The minute-long period would leave its checks unreported for a minute.
TEST(AuditScheduleTest, APartialAuditIsRetriedSoonThenBacksOffToTheMinute) {
  AuditSchedule schedule;
  EXPECT_EQ(schedule.After(AuditOutcome::kPartial), seconds(5));
  EXPECT_EQ(schedule.After(AuditOutcome::kPartial), seconds(10));
  EXPECT_EQ(schedule.After(AuditOutcome::kPartial), seconds(20));
  EXPECT_EQ(schedule.After(AuditOutcome::kPartial), seconds(40));
  // Denied by an ACL for good: once a minute, not every 5 s.
  EXPECT_EQ(schedule.After(AuditOutcome::kPartial), seconds(60));
  EXPECT_EQ(schedule.After(AuditOutcome::kPartial), seconds(60));
}

TEST(AuditScheduleTest, ACompleteAuditResetsTheBackOff) {
  AuditSchedule schedule;
  schedule.After(AuditOutcome::kPartial);
  schedule.After(AuditOutcome::kPartial);
  EXPECT_EQ(schedule.After(AuditOutcome::kComplete), seconds(60));
  EXPECT_EQ(schedule.After(AuditOutcome::kPartial), seconds(5));
}

// Nothing to judge (the topic deleted and not yet re-created) says nothing
// about why checks were unknown before, so it leaves the back-off alone.
TEST(AuditScheduleTest, NothingToJudgeLeavesThePartialBackOffAlone) {
  AuditSchedule schedule;
  schedule.After(AuditOutcome::kPartial);
  EXPECT_EQ(schedule.After(AuditOutcome::kNothingToJudge), seconds(5));
  EXPECT_EQ(schedule.After(AuditOutcome::kPartial), seconds(10));
}

}  // namespace
}  // namespace kcanary::audit
