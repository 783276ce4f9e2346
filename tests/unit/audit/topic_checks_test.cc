// The four topic checks, each on a safe cluster broken in one way.
#include <gtest/gtest.h>

#include "common/audit/checks.h"
#include "tests/unit/audit/audit_facts.h"

namespace kcanary::audit {
namespace {

using testing::Canary;
using testing::SafeInput;

constexpr char kDenied[] =
    "DescribeConfigs denied (TOPIC_AUTHORIZATION_FAILED): grant DescribeConfigs on the topic";

AuditInput WithReplicas(int32_t min_rf, int32_t max_rf) {
  AuditInput input = SafeInput();
  input.topics[0].min_replication_factor = min_rf;
  input.topics[0].max_replication_factor = max_rf;
  return input;
}

AuditInput WithTopicConfig(const std::string& key, ConfigEntry entry) {
  AuditInput input = SafeInput();
  (*input.topics[0].configs)[key] = std::move(entry);
  return input;
}

AuditInput WithTopicConfigsDenied() {
  AuditInput input = SafeInput();
  input.topics[0].configs.reset();
  input.topics[0].configs_error = kDenied;
  return input;
}

// --- replication_factor ---

TEST(ReplicationFactorTest, ThreeReplicasPass) {
  const CheckResult row = Canary(SafeInput(), "replication_factor");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "3");
}

TEST(ReplicationFactorTest, MoreThanThreePass) {
  EXPECT_EQ(Canary(WithReplicas(5, 5), "replication_factor").verdict, Verdict::kPass);
}

TEST(ReplicationFactorTest, OneReplicaFails) {
  const CheckResult row = Canary(WithReplicas(1, 1), "replication_factor");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "1");
  EXPECT_NE(row.fix.find("kafka-reassign-partitions.sh"), std::string::npos) << row.fix;
  EXPECT_NE(row.fix.find("kcanary-rf3.json"), std::string::npos) << row.fix;
}

TEST(ReplicationFactorTest, TwoReplicasFail) {
  const CheckResult row = Canary(WithReplicas(2, 2), "replication_factor");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "2");
}

TEST(ReplicationFactorTest, OnePartitionWithTwoReplicasFailsTheTopic) {
  const CheckResult row = Canary(WithReplicas(2, 3), "replication_factor");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "2..3");
}

TEST(ReplicationFactorTest, NoPartitionMetadataIsUnknown) {
  AuditInput input = SafeInput();
  input.topics[0].partitions = 0;
  const CheckResult row = Canary(input, "replication_factor");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, "no partition metadata");
}

// --- min_insync_replicas ---

TEST(MinInsyncReplicasTest, TwoAsTopicOverridePasses) {
  const CheckResult row = Canary(SafeInput(), "min_insync_replicas");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "2 (topic override)");
}

TEST(MinInsyncReplicasTest, TwoAsClusterDefaultPasses) {
  const CheckResult row =
      Canary(WithTopicConfig("min.insync.replicas", {"2", ConfigSource::kDynamicClusterDefault}),
             "min_insync_replicas");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "2 (cluster-wide default (dynamic))");
}

TEST(MinInsyncReplicasTest, OneFromBrokerDefaultFails) {
  const CheckResult row =
      Canary(WithTopicConfig("min.insync.replicas", {"1", ConfigSource::kStaticBroker}),
             "min_insync_replicas");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "1 (broker (static))");
  EXPECT_EQ(row.fix,
            "kafka-configs.sh --bootstrap-server <host:port> --alter --entity-type topics "
            "--entity-name kcanary --add-config min.insync.replicas=2");
}

TEST(MinInsyncReplicasTest, OneAsTopicOverrideFails) {
  const CheckResult row =
      Canary(WithTopicConfig("min.insync.replicas", {"1", ConfigSource::kTopicOverride}),
             "min_insync_replicas");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "1 (topic override)");
}

TEST(MinInsyncReplicasTest, AbsentKeyIsKafkaDefaultOneAndFails) {
  AuditInput input = SafeInput();
  input.topics[0].configs->erase("min.insync.replicas");
  const CheckResult row = Canary(input, "min_insync_replicas");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "1 (Kafka default)");
}

TEST(MinInsyncReplicasTest, GarbageValueIsUnknown) {
  const CheckResult row =
      Canary(WithTopicConfig("min.insync.replicas", {"2 ", ConfigSource::kTopicOverride}),
             "min_insync_replicas");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, "not an integer: min.insync.replicas=\"2 \" (topic override)");
}

TEST(MinInsyncReplicasTest, DeniedConfigsAreUnknownWithTheReason) {
  const CheckResult row = Canary(WithTopicConfigsDenied(), "min_insync_replicas");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, kDenied);
}

TEST(MinInsyncReplicasTest, UnreadableConfigsWithoutReasonSaySo) {
  AuditInput input = WithTopicConfigsDenied();
  input.topics[0].configs_error.clear();
  EXPECT_EQ(Canary(input, "min_insync_replicas").value, "topic configs not read");
}

// --- rf_exceeds_min_isr ---

TEST(RfExceedsMinIsrTest, ThreeOverTwoPasses) {
  const CheckResult row = Canary(SafeInput(), "rf_exceeds_min_isr");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "rf 3 > min.isr 2");
}

TEST(RfExceedsMinIsrTest, EqualFails) {
  const CheckResult row = Canary(WithReplicas(2, 2), "rf_exceeds_min_isr");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "rf 2 = min.isr 2");
  EXPECT_NE(row.fix.find("kcanary-rf3.json (3 replicas per partition)"), std::string::npos)
      << row.fix;
}

TEST(RfExceedsMinIsrTest, EqualWithThreeReplicasSuggestsLoweringMinIsr) {
  const CheckResult row =
      Canary(WithTopicConfig("min.insync.replicas", {"3", ConfigSource::kTopicOverride}),
             "rf_exceeds_min_isr");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "rf 3 = min.isr 3");
  EXPECT_NE(row.fix.find("--add-config min.insync.replicas=2"), std::string::npos) << row.fix;
}

TEST(RfExceedsMinIsrTest, FewerReplicasThanMinIsrFails) {
  const CheckResult row = Canary(WithReplicas(1, 1), "rf_exceeds_min_isr");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "rf 1 < min.isr 2");
}

TEST(RfExceedsMinIsrTest, JudgesThePartitionWithFewestReplicas) {
  const CheckResult row = Canary(WithReplicas(2, 3), "rf_exceeds_min_isr");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "rf 2 = min.isr 2 (fewest replicas of any partition)");
}

TEST(RfExceedsMinIsrTest, PassesWithDefaultMinIsrOfOne) {
  // min.isr 1 is failed by min_insync_replicas; this check only compares.
  AuditInput input = WithReplicas(2, 2);
  input.topics[0].configs->erase("min.insync.replicas");
  const CheckResult row = Canary(input, "rf_exceeds_min_isr");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "rf 2 > min.isr 1");
}

TEST(RfExceedsMinIsrTest, DeniedConfigsAreUnknown) {
  const CheckResult row = Canary(WithTopicConfigsDenied(), "rf_exceeds_min_isr");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, kDenied);
}

TEST(RfExceedsMinIsrTest, GarbageMinIsrIsUnknown) {
  const CheckResult row =
      Canary(WithTopicConfig("min.insync.replicas", {"x", ConfigSource::kDynamicBroker}),
             "rf_exceeds_min_isr");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, "not an integer: min.insync.replicas=\"x\" (broker (dynamic))");
}

TEST(RfExceedsMinIsrTest, NoPartitionMetadataIsUnknown) {
  const CheckResult row = Canary(WithReplicas(0, 0), "rf_exceeds_min_isr");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, "no partition metadata");
}

// --- unclean_leader_election ---

constexpr char kUnclean[] = "unclean.leader.election.enable";

// The topic does not override unclean election: it shows broker 1's default.
AuditInput WithoutUncleanOverride() {
  AuditInput input = SafeInput();
  (*input.topics[0].configs)[kUnclean] = {"false", ConfigSource::kDefault};
  return input;
}

void SetBrokerUnclean(AuditInput& input, size_t index, ConfigEntry entry) {
  (*input.brokers[index].configs)[kUnclean] = std::move(entry);
}

TEST(UncleanLeaderElectionTest, TopicOverrideFalsePasses) {
  const CheckResult row = Canary(SafeInput(), "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "false (topic override)");
}

TEST(UncleanLeaderElectionTest, TopicOverrideTrueFails) {
  const CheckResult row = Canary(WithTopicConfig(kUnclean, {"true", ConfigSource::kTopicOverride}),
                                 "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "true (topic override)");
  EXPECT_EQ(row.fix,
            "kafka-configs.sh --bootstrap-server <host:port> --alter --entity-type topics "
            "--entity-name kcanary --add-config unclean.leader.election.enable=false");
}

TEST(UncleanLeaderElectionTest, ComparesCaseInsensitively) {
  EXPECT_EQ(Canary(WithTopicConfig(kUnclean, {"TRUE", ConfigSource::kTopicOverride}),
                   "unclean_leader_election")
                .verdict,
            Verdict::kFail);
  EXPECT_EQ(Canary(WithTopicConfig(kUnclean, {"False", ConfigSource::kTopicOverride}),
                   "unclean_leader_election")
                .verdict,
            Verdict::kPass);
}

TEST(UncleanLeaderElectionTest, EffectiveTrueFromClusterDefaultFails) {
  const CheckResult row =
      Canary(WithTopicConfig(kUnclean, {"true", ConfigSource::kDynamicClusterDefault}),
             "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "true (cluster-wide default (dynamic))");
}

TEST(UncleanLeaderElectionTest, AllBrokersFalseWithoutOverridePasses) {
  const CheckResult row = Canary(WithoutUncleanOverride(), "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "false (Kafka default); false on all 3 brokers");
}

TEST(UncleanLeaderElectionTest, AbsentKeysMeanKafkaDefaultFalse) {
  AuditInput input = SafeInput();
  input.topics[0].configs->erase(kUnclean);
  for (BrokerFacts& broker : input.brokers) broker.configs->erase(kUnclean);
  const CheckResult row = Canary(input, "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "false (Kafka default); false on all 3 brokers");
}

TEST(UncleanLeaderElectionTest, OneOfThreeBrokersDefaultingToTrueFails) {
  AuditInput input = WithoutUncleanOverride();
  SetBrokerUnclean(input, 1, {"true", ConfigSource::kStaticBroker});
  const CheckResult row = Canary(input, "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "true on broker 2 (broker (static))");
  EXPECT_NE(row.why.find("Admin API"), std::string::npos) << row.why;
}

TEST(UncleanLeaderElectionTest, ListsEveryBrokerDefaultingToTrue) {
  AuditInput input = WithoutUncleanOverride();
  SetBrokerUnclean(input, 0, {"true", ConfigSource::kDynamicBroker});
  SetBrokerUnclean(input, 2, {"true", ConfigSource::kStaticBroker});
  const CheckResult row = Canary(input, "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kFail);
  EXPECT_EQ(row.value, "true on broker 1 (broker (dynamic)), broker 3 (broker (static))");
}

TEST(UncleanLeaderElectionTest, TopicOverrideFalseBeatsBrokerDefaultTrue) {
  AuditInput input = SafeInput();
  SetBrokerUnclean(input, 1, {"true", ConfigSource::kStaticBroker});
  input.brokers[2].configs.reset();
  input.brokers[2].configs_error = "DescribeConfigs denied";
  const CheckResult row = Canary(input, "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.value, "false (topic override)");
}

TEST(UncleanLeaderElectionTest, UnreadableBrokerWithoutOverrideIsUnknown) {
  AuditInput input = WithoutUncleanOverride();
  input.brokers[2].configs.reset();
  input.brokers[2].configs_error = "DescribeConfigs denied (CLUSTER_AUTHORIZATION_FAILED)";
  const CheckResult row = Canary(input, "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, "broker 3: DescribeConfigs denied (CLUSTER_AUTHORIZATION_FAILED)");
}

TEST(UncleanLeaderElectionTest, BrokerTrueFailsEvenIfAnotherIsUnreadable) {
  AuditInput input = WithoutUncleanOverride();
  input.brokers[2].configs.reset();
  SetBrokerUnclean(input, 0, {"true", ConfigSource::kStaticBroker});
  EXPECT_EQ(Canary(input, "unclean_leader_election").verdict, Verdict::kFail);
}

TEST(UncleanLeaderElectionTest, GarbageBrokerValueIsUnknown) {
  AuditInput input = WithoutUncleanOverride();
  SetBrokerUnclean(input, 0, {"yes", ConfigSource::kStaticBroker});
  const CheckResult row = Canary(input, "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value,
            "broker 1: not a boolean: unclean.leader.election.enable=\"yes\" (broker (static))");
}

TEST(UncleanLeaderElectionTest, GarbageTopicOverrideIsUnknown) {
  const CheckResult row = Canary(WithTopicConfig(kUnclean, {"1", ConfigSource::kTopicOverride}),
                                 "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, "not a boolean: unclean.leader.election.enable=\"1\" (topic override)");
}

TEST(UncleanLeaderElectionTest, NoBrokerFactsWithoutOverrideIsUnknown) {
  AuditInput input = WithoutUncleanOverride();
  input.brokers.clear();
  const CheckResult row = Canary(input, "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, "no broker configs read; topic shows false (Kafka default)");
}

TEST(UncleanLeaderElectionTest, DeniedTopicConfigsAreUnknown) {
  const CheckResult row = Canary(WithTopicConfigsDenied(), "unclean_leader_election");
  EXPECT_EQ(row.verdict, Verdict::kUnknown);
  EXPECT_EQ(row.value, kDenied);
}

}  // namespace
}  // namespace kcanary::audit
