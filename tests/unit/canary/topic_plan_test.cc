#include "canary/topic_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace kcanary {
namespace {

using Assignment = std::vector<Replicas>;

// Every broker is the first replica of some partition, and no partition
// names a broker twice or one outside the cluster.
void ExpectCovers(const std::vector<int32_t>& brokers, const Assignment& a) {
  std::set<int32_t> leaders;
  for (const Replicas& r : a) {
    ASSERT_FALSE(r.empty());
    leaders.insert(r.front());
    EXPECT_EQ(std::set<int32_t>(r.begin(), r.end()).size(), r.size()) << "repeated broker";
    for (int32_t b : r) {
      EXPECT_NE(std::find(brokers.begin(), brokers.end(), b), brokers.end()) << b;
    }
  }
  EXPECT_EQ(leaders, std::set<int32_t>(brokers.begin(), brokers.end()));
}

TEST(TopicPlanTest, ThreeBrokersGetRf3MinIsr2AndALeaderEach) {
  const CanaryTopicPlan plan = PlanCanaryTopic({3, 1, 2});
  EXPECT_EQ(plan.replication_factor, 3);
  EXPECT_EQ(plan.min_insync_replicas, 2);
  EXPECT_EQ(plan.assignment, (Assignment{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}));
}

TEST(TopicPlanTest, ManyBrokersSpreadFollowersInTurn) {
  const CanaryTopicPlan plan = PlanCanaryTopic({10, 20, 30, 40, 50});
  EXPECT_EQ(plan.replication_factor, 3);
  EXPECT_EQ(plan.min_insync_replicas, 2);
  EXPECT_EQ(plan.assignment,
            (Assignment{{10, 20, 30}, {20, 30, 40}, {30, 40, 50}, {40, 50, 10}, {50, 10, 20}}));
  ExpectCovers({10, 20, 30, 40, 50}, plan.assignment);
  // each broker holds exactly rf replicas: load is even
  std::map<int32_t, int> load;
  for (const Replicas& r : plan.assignment) {
    for (int32_t b : r) ++load[b];
  }
  for (const auto& [b, n] : load) EXPECT_EQ(n, 3) << b;
}

TEST(TopicPlanTest, SmallClustersCapMinIsrBelowTheReplicationFactor) {
  const CanaryTopicPlan two = PlanCanaryTopic({1, 2});
  EXPECT_EQ(two.replication_factor, 2);
  EXPECT_EQ(two.min_insync_replicas, 1);  // 2 would stop writes with one broker down
  EXPECT_EQ(two.assignment, (Assignment{{1, 2}, {2, 1}}));
  const CanaryTopicPlan one = PlanCanaryTopic({7});
  EXPECT_EQ(one.replication_factor, 1);
  EXPECT_EQ(one.min_insync_replicas, 1);
  EXPECT_EQ(one.assignment, (Assignment{{7}}));
}

TEST(TopicPlanTest, NoBrokerNoPlanAndDuplicateIdsCountOnce) {
  EXPECT_TRUE(PlanCanaryTopic({}).assignment.empty());
  EXPECT_EQ(PlanCanaryTopic({2, 1, 2, 1}).assignment, (Assignment{{1, 2}, {2, 1}}));
}

TEST(TopicPlanTest, AJoiningBrokerGetsAPartitionItLeads) {
  const Assignment existing = {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}};
  const std::vector<Replicas> added = PlanAddedPartitions({1, 2, 3, 4}, existing, 3);
  EXPECT_EQ(added, (Assignment{{4, 1, 2}}));
  Assignment all = existing;
  all.insert(all.end(), added.begin(), added.end());
  ExpectCovers({1, 2, 3, 4}, all);
}

TEST(TopicPlanTest, NothingToAddWhenEveryBrokerLeadsOne) {
  EXPECT_TRUE(PlanAddedPartitions({1, 2, 3}, {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, 3).empty());
  // a broker that left does not matter: the rest still lead one each
  EXPECT_TRUE(PlanAddedPartitions({1, 2}, {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, 3).empty());
}

TEST(TopicPlanTest, AForeignTopicWithOnePartitionIsCoveredWithItsReplicationFactor) {
  // created by hand: one partition, rf 2
  const std::vector<Replicas> added = PlanAddedPartitions({1, 2, 3}, {{2, 1}}, 2);
  EXPECT_EQ(added, (Assignment{{1, 2}, {3, 1}}));
  EXPECT_EQ(BrokersWithoutPartition({1, 2, 3}, {{2, 1}}), (std::vector<int32_t>{1, 3}));
}

TEST(TopicPlanTest, ReplicationFactorIsCappedByTheBrokersThere) {
  // rf 3 topic, but only 2 brokers alive plus a new one: followers are what exists
  EXPECT_EQ(PlanAddedPartitions({1, 5}, {{1, 2, 3}}, 3), (Assignment{{5, 1}}));
}

}  // namespace
}  // namespace kcanary
