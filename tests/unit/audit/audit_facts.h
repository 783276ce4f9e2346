// Builders of hand-made audit facts for tests: a cluster that passes every
// check, which each test then breaks in exactly one way.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/audit/checks.h"
#include "common/audit/facts.h"

namespace kcanary::audit::testing {

// 3 replicas, min.insync.replicas=2 and unclean election off as topic overrides.
inline TopicFacts SafeTopic(const std::string& name) {
  return TopicFacts{
      .name = name,
      .partitions = 6,
      .min_replication_factor = 3,
      .max_replication_factor = 3,
      .configs =
          ConfigMap{
              {"min.insync.replicas", {"2", ConfigSource::kTopicOverride}},
              {"unclean.leader.election.enable", {"false", ConfigSource::kTopicOverride}},
              {"retention.ms", {"604800000", ConfigSource::kDefault}},
          },
      .configs_error = "",
  };
}

inline BrokerFacts SafeBroker(int32_t id) {
  return BrokerFacts{
      .id = id,
      .configs =
          ConfigMap{
              {"min.insync.replicas", {"2", ConfigSource::kStaticBroker}},
              {"unclean.leader.election.enable", {"false", ConfigSource::kDefault}},
          },
      .configs_error = "",
  };
}

// kcanary's own defaults (Config::ProducerConfig / ConsumerConfig).
inline ClientFacts SafeClient() {
  return ClientFacts{
      .producer = {{"acks", "all"}, {"enable.idempotence", "true"}, {"linger.ms", "5"}},
      .consumer = {{"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"}},
  };
}

// A three-broker cluster holding the canary topic "kcanary", all safe.
inline AuditInput SafeInput() {
  return AuditInput{
      .canary_topic = "kcanary",
      .topics = {SafeTopic("kcanary")},
      .brokers = {SafeBroker(1), SafeBroker(2), SafeBroker(3)},
      .client = SafeClient(),
  };
}

// The row for (topic, check); fails the test and returns an empty row if
// there is not exactly one.
inline CheckResult Find(const std::vector<CheckResult>& rows, const std::string& topic,
                        const std::string& check) {
  const CheckResult* found = nullptr;
  int count = 0;
  for (const CheckResult& row : rows) {
    if (row.topic == topic && row.check == check) {
      found = &row;
      ++count;
    }
  }
  EXPECT_EQ(count, 1) << "rows for " << topic << "/" << check;
  return found ? *found : CheckResult{};
}

inline CheckResult Canary(const AuditInput& input, const std::string& check) {
  return Find(Evaluate(input), input.canary_topic, check);
}

}  // namespace kcanary::audit::testing
