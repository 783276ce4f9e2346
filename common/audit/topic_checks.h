// Internal to kcanary::audit: the checks judged on a topic's own facts and the
// brokers' defaults (replication_factor, min_insync_replicas,
// rf_exceeds_min_isr, unclean_leader_election) and topic_exists. Evaluate()
// (checks.h) calls them in SPEC order; each returns one row.
#pragma once

#include <string>
#include <vector>

#include "common/audit/checks.h"
#include "common/audit/facts.h"

namespace kcanary::audit {

CheckResult CheckReplicationFactor(const TopicFacts& topic);
CheckResult CheckMinInsyncReplicas(const TopicFacts& topic);
CheckResult CheckRfExceedsMinIsr(const TopicFacts& topic);
CheckResult CheckUncleanLeaderElection(const TopicFacts& topic,
                                       const std::vector<BrokerFacts>& brokers);

// The row for a canary topic that does not exist. broker_count (0 if unknown)
// sizes the partitions in the suggested kafka-topics.sh command (SPEC §7).
CheckResult CheckTopicMissing(const std::string& topic, size_t broker_count);

}  // namespace kcanary::audit
