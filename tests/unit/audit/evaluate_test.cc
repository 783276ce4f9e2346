// Evaluate(): which rows appear, in what order, and the verdict they add up to.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/audit/checks.h"
#include "tests/unit/audit/audit_facts.h"

namespace kcanary::audit {
namespace {

using testing::Find;
using testing::SafeInput;
using testing::SafeTopic;

const std::vector<std::string> kTopicChecks = {"replication_factor", "min_insync_replicas",
                                               "rf_exceeds_min_isr", "unclean_leader_election"};
const std::vector<std::string> kCanaryChecks = {
    "replication_factor", "min_insync_replicas", "rf_exceeds_min_isr",    "unclean_leader_election",
    "producer_acks",      "producer_retries",    "consumer_manual_commit"};

std::vector<std::string> TopicAndCheck(const std::vector<CheckResult>& rows) {
  std::vector<std::string> out;
  for (const CheckResult& row : rows) out.push_back(row.topic + "/" + row.check);
  return out;
}

std::vector<std::string> Expected(const std::string& topic,
                                  const std::vector<std::string>& checks) {
  std::vector<std::string> out;
  for (const std::string& check : checks) out.push_back(topic + "/" + check);
  return out;
}

CheckResult Row(Verdict verdict) {
  return CheckResult{
      .topic = "t", .check = "c", .verdict = verdict, .value = "v", .why = "w", .fix = "f"};
}

TEST(EvaluateTest, SafeCanaryTopicPassesEveryCheckInSpecOrder) {
  const std::vector<CheckResult> rows = Evaluate(SafeInput());
  EXPECT_EQ(TopicAndCheck(rows), Expected("kcanary", kCanaryChecks));
  for (const CheckResult& row : rows) {
    EXPECT_EQ(row.verdict, Verdict::kPass) << row.check << ": " << row.value;
    EXPECT_FALSE(row.value.empty()) << row.check;
    EXPECT_FALSE(row.why.empty()) << row.check;
    EXPECT_FALSE(row.fix.empty()) << row.check;
  }
  EXPECT_TRUE(AllPass(rows));
  EXPECT_EQ(ExitCode(rows), 0);
}

TEST(EvaluateTest, CanaryTopicFirstThenByNameWithClientChecksOnlyOnCanary) {
  AuditInput input = SafeInput();
  input.topics = {SafeTopic("orders"), SafeTopic("kcanary"), SafeTopic("audit-log")};
  std::vector<std::string> expected = Expected("kcanary", kCanaryChecks);
  for (const char* topic : {"audit-log", "orders"}) {
    const std::vector<std::string> more = Expected(topic, kTopicChecks);
    expected.insert(expected.end(), more.begin(), more.end());
  }
  EXPECT_EQ(TopicAndCheck(Evaluate(input)), expected);
}

TEST(EvaluateTest, CanaryOrderedFirstEvenIfItSortsLast) {
  AuditInput input = SafeInput();
  input.canary_topic = "zz-canary";
  input.topics = {SafeTopic("aa"), SafeTopic("zz-canary")};
  const std::vector<CheckResult> rows = Evaluate(input);
  ASSERT_EQ(rows.size(), 11u);
  EXPECT_EQ(rows.front().topic, "zz-canary");
  EXPECT_EQ(rows.back().topic, "aa");
}

TEST(EvaluateTest, TopicListedTwiceIsJudgedOnce) {
  AuditInput input = SafeInput();
  input.topics.push_back(SafeTopic("orders"));
  input.topics.push_back(SafeTopic("orders"));
  input.topics.push_back(SafeTopic("kcanary"));
  EXPECT_EQ(Evaluate(input).size(), 7u + 4u);
}

TEST(EvaluateTest, MissingCanaryTopicFailsTopicExistsAndStillJudgesClients) {
  AuditInput input = SafeInput();
  input.topics = {SafeTopic("orders")};
  input.client.producer = {{"acks", "1"}};
  const std::vector<CheckResult> rows = Evaluate(input);

  std::vector<std::string> expected = Expected(
      "kcanary", {"topic_exists", "producer_acks", "producer_retries", "consumer_manual_commit"});
  const std::vector<std::string> orders = Expected("orders", kTopicChecks);
  expected.insert(expected.end(), orders.begin(), orders.end());
  EXPECT_EQ(TopicAndCheck(rows), expected);

  const CheckResult missing = rows[0];
  EXPECT_EQ(missing.verdict, Verdict::kFail);
  EXPECT_EQ(missing.value, "missing");
  EXPECT_NE(missing.fix.find("kcanary run/canary"), std::string::npos) << missing.fix;
  EXPECT_NE(missing.fix.find("--topic kcanary --partitions 3 --replication-factor 3"),
            std::string::npos)
      << missing.fix;
  EXPECT_EQ(Find(rows, "kcanary", "producer_acks").verdict, Verdict::kFail);
  EXPECT_EQ(ExitCode(rows), 1);
}

TEST(EvaluateTest, EmptyCanaryNameMeansNoClientChecks) {
  AuditInput input = SafeInput();
  input.canary_topic.clear();
  input.topics = {SafeTopic("orders")};
  EXPECT_EQ(TopicAndCheck(Evaluate(input)), Expected("orders", kTopicChecks));
}

TEST(EvaluateTest, DeniedDescribeConfigsIsUnknownAndExitTwo) {
  AuditInput input = SafeInput();
  input.topics[0].configs.reset();
  input.topics[0].configs_error = "DescribeConfigs denied (TOPIC_AUTHORIZATION_FAILED)";
  const std::vector<CheckResult> rows = Evaluate(input);
  for (const char* check :
       {"min_insync_replicas", "rf_exceeds_min_isr", "unclean_leader_election"}) {
    const CheckResult row = Find(rows, "kcanary", check);
    EXPECT_EQ(row.verdict, Verdict::kUnknown) << check;
    EXPECT_EQ(row.value, "DescribeConfigs denied (TOPIC_AUTHORIZATION_FAILED)") << check;
  }
  // Replication factor comes from metadata, not DescribeConfigs.
  EXPECT_EQ(Find(rows, "kcanary", "replication_factor").verdict, Verdict::kPass);
  EXPECT_FALSE(AllPass(rows));
  EXPECT_EQ(ExitCode(rows), 2);
}

TEST(EvaluateTest, OneUnsafeTopicAmongSafeOnesFails) {
  AuditInput input = SafeInput();
  TopicFacts risky = SafeTopic("orders");
  risky.min_replication_factor = risky.max_replication_factor = 1;
  input.topics.push_back(risky);
  const std::vector<CheckResult> rows = Evaluate(input);
  EXPECT_EQ(Find(rows, "orders", "replication_factor").verdict, Verdict::kFail);
  EXPECT_EQ(Find(rows, "kcanary", "replication_factor").verdict, Verdict::kPass);
  EXPECT_FALSE(AllPass(rows));
  EXPECT_EQ(ExitCode(rows), 1);
}

TEST(ExitCodeTest, FailBeatsUnknown) {
  EXPECT_EQ(ExitCode({Row(Verdict::kPass), Row(Verdict::kUnknown), Row(Verdict::kFail)}), 1);
  EXPECT_EQ(ExitCode({Row(Verdict::kUnknown), Row(Verdict::kPass)}), 2);
  EXPECT_EQ(ExitCode({Row(Verdict::kPass), Row(Verdict::kPass)}), 0);
  EXPECT_EQ(ExitCode({}), 0);
}

TEST(AllPassTest, OnlyWhenEveryRowPasses) {
  EXPECT_TRUE(AllPass({Row(Verdict::kPass)}));
  EXPECT_TRUE(AllPass({}));
  EXPECT_FALSE(AllPass({Row(Verdict::kPass), Row(Verdict::kUnknown)}));
  EXPECT_FALSE(AllPass({Row(Verdict::kFail), Row(Verdict::kPass)}));
}

TEST(VerdictNameTest, EveryValue) {
  EXPECT_EQ(VerdictName(Verdict::kPass), "PASS");
  EXPECT_EQ(VerdictName(Verdict::kFail), "FAIL");
  EXPECT_EQ(VerdictName(Verdict::kUnknown), "UNKNOWN");
}

}  // namespace
}  // namespace kcanary::audit
