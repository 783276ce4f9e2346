#include "common/audit/topic_checks.h"

#include <algorithm>
#include <cstdint>

#include "common/audit/config_value.h"
#include "common/status.h"

namespace kcanary::audit {
namespace {

constexpr int64_t kSafeReplicationFactor = 3;
constexpr int64_t kSafeMinIsr = 2;
constexpr int64_t kKafkaDefaultMinIsr = 1;
constexpr bool kKafkaDefaultUnclean = false;
constexpr char kMinIsrKey[] = "min.insync.replicas";
constexpr char kUncleanKey[] = "unclean.leader.election.enable";

CheckResult Row(const TopicFacts& topic, const char* check) {
  CheckResult row;
  row.topic = topic.name;
  row.check = check;
  return row;
}

void Judge(CheckResult& row, bool pass, std::string value) {
  row.verdict = pass ? Verdict::kPass : Verdict::kFail;
  row.value = std::move(value);
}

void Unknown(CheckResult& row, std::string value) {
  row.verdict = Verdict::kUnknown;
  row.value = std::move(value);
}

std::string AlterTopicConfig(const std::string& topic, const std::string& setting) {
  return "kafka-configs.sh --bootstrap-server <host:port> --alter --entity-type topics "
         "--entity-name " +
         topic + " --add-config " + setting;
}

std::string Reassign(const std::string& topic, int64_t replicas) {
  const std::string n = std::to_string(replicas);
  return "kafka-reassign-partitions.sh --bootstrap-server <host:port> --execute "
         "--reassignment-json-file " +
         topic + "-rf" + n + ".json (" + n + " replicas per partition)";
}

// The fewest replicas of any partition; unknown without partition metadata.
StatusOr<int64_t> ReplicationFactor(const TopicFacts& topic) {
  if (topic.partitions <= 0 || topic.min_replication_factor <= 0) {
    return Status::Unavailable("no partition metadata");
  }
  return static_cast<int64_t>(topic.min_replication_factor);
}

StatusOr<IntSetting> MinIsr(const TopicFacts& topic) {
  if (!topic.configs) return Status::Unavailable(ConfigsError(topic.configs_error, "topic"));
  return ReadInt(*topic.configs, kMinIsrKey, kKafkaDefaultMinIsr);
}

std::string RfText(const TopicFacts& topic) {
  if (topic.max_replication_factor > topic.min_replication_factor) {
    return std::to_string(topic.min_replication_factor) + ".." +
           std::to_string(topic.max_replication_factor);
  }
  return std::to_string(topic.min_replication_factor);
}

}  // namespace

CheckResult CheckReplicationFactor(const TopicFacts& topic) {
  CheckResult row = Row(topic, "replication_factor");
  row.why =
      "With fewer than 3 replicas, one broker down leaves no second in-sync copy, so one more "
      "failure loses acknowledged messages.";
  row.fix = Reassign(topic.name, kSafeReplicationFactor);
  const StatusOr<int64_t> rf = ReplicationFactor(topic);
  if (!rf.ok()) {
    Unknown(row, rf.status().message());
  } else {
    Judge(row, *rf >= kSafeReplicationFactor, RfText(topic));
  }
  return row;
}

CheckResult CheckMinInsyncReplicas(const TopicFacts& topic) {
  CheckResult row = Row(topic, "min_insync_replicas");
  row.why =
      "With min.insync.replicas=1 an acks=all write is acknowledged by the leader alone, so "
      "losing that leader loses it.";
  row.fix = AlterTopicConfig(topic.name, "min.insync.replicas=2");
  const StatusOr<IntSetting> isr = MinIsr(topic);
  if (!isr.ok()) {
    Unknown(row, isr.status().message());
  } else {
    Judge(row, isr->value >= kSafeMinIsr, isr->shown);
  }
  return row;
}

CheckResult CheckRfExceedsMinIsr(const TopicFacts& topic) {
  CheckResult row = Row(topic, "rf_exceeds_min_isr");
  row.why =
      "Unless replicas outnumber min.insync.replicas, one broker down rejects acks=all writes "
      "(NOT_ENOUGH_REPLICAS), which invites weakening acks or min.insync.replicas.";
  row.fix = Reassign(topic.name, kSafeReplicationFactor);
  const StatusOr<int64_t> rf = ReplicationFactor(topic);
  const StatusOr<IntSetting> isr = MinIsr(topic);
  if (!rf.ok()) {
    Unknown(row, rf.status().message());
    return row;
  }
  if (!isr.ok()) {
    Unknown(row, isr.status().message());
    return row;
  }
  const int64_t r = *rf;
  const int64_t m = isr->value;
  const char* relation = r > m ? " > " : (r == m ? " = " : " < ");
  std::string value = "rf " + std::to_string(r) + relation + "min.isr " + std::to_string(m);
  if (topic.max_replication_factor > topic.min_replication_factor) {
    value += " (fewest replicas of any partition)";
  }
  Judge(row, r > m, std::move(value));
  // With enough replicas a too-high min.isr is the thing to lower (not below
  // 2); otherwise add replicas until they exceed it.
  if (r <= m && r >= kSafeReplicationFactor) {
    row.fix = AlterTopicConfig(
        topic.name, "min.insync.replicas=" + std::to_string(std::max(kSafeMinIsr, r - 1)));
  } else if (r <= m) {
    row.fix = Reassign(topic.name, std::max(kSafeReplicationFactor, m + 1));
  }
  return row;
}

CheckResult CheckUncleanLeaderElection(const TopicFacts& topic,
                                       const std::vector<BrokerFacts>& brokers) {
  CheckResult row = Row(topic, "unclean_leader_election");
  row.why =
      "An unclean election makes an out-of-sync replica leader, truncating acknowledged messages; "
      "without a topic override broker defaults decide (in KRaft the controller's static config, "
      "invisible to the Admin API).";
  row.fix = AlterTopicConfig(topic.name, "unclean.leader.election.enable=false");
  if (!topic.configs) {
    Unknown(row, ConfigsError(topic.configs_error, "topic"));
    return row;
  }
  const StatusOr<BoolSetting> effective =
      ReadBool(*topic.configs, kUncleanKey, kKafkaDefaultUnclean);
  if (effective.ok() && effective->value) {
    Judge(row, false, effective->shown);
    return row;
  }
  const auto it = topic.configs->find(kUncleanKey);
  const bool overridden =
      it != topic.configs->end() && it->second.source == ConfigSource::kTopicOverride;
  if (overridden) {
    // A topic override beats every broker default, so brokers do not matter.
    if (effective.ok()) {
      Judge(row, true, effective->shown);
    } else {
      Unknown(row, effective.status().message());
    }
    return row;
  }

  // No override: the topic's effective value only reflects the broker that
  // answered DescribeConfigs, and defaults may differ per broker.
  std::string enabled_on;  // "broker 2 (broker (static)), broker 3 (...)"
  std::string unknown_on;  // "broker 2: <why>; broker 3: <why>"
  for (const BrokerFacts& broker : brokers) {
    const std::string name = "broker " + std::to_string(broker.id);
    if (!broker.configs) {
      if (!unknown_on.empty()) unknown_on += "; ";
      unknown_on += name + ": " + ConfigsError(broker.configs_error, "broker");
      continue;
    }
    const StatusOr<BoolSetting> value = ReadBool(*broker.configs, kUncleanKey, false);
    if (!value.ok()) {
      if (!unknown_on.empty()) unknown_on += "; ";
      unknown_on += name + ": " + value.status().message();
    } else if (value->value) {
      if (!enabled_on.empty()) enabled_on += ", ";
      enabled_on += ShowWithSource(name, value->source);
    }
  }
  if (!enabled_on.empty()) {
    Judge(row, false, "true on " + enabled_on);
  } else if (!effective.ok()) {
    Unknown(row, effective.status().message());
  } else if (!unknown_on.empty()) {
    Unknown(row, unknown_on);
  } else if (brokers.empty()) {
    Unknown(row, "no broker configs read; topic shows " + effective->shown);
  } else {
    Judge(row, true,
          effective->shown + "; false on all " + std::to_string(brokers.size()) + " brokers");
  }
  return row;
}

CheckResult CheckTopicMissing(const std::string& topic, size_t broker_count) {
  // SPEC §7: at least one partition per broker, so every broker leads one.
  const std::string partitions = broker_count > 0 ? std::to_string(broker_count) : "<brokers>";
  return CheckResult{
      .topic = topic,
      .check = "topic_exists",
      .verdict = Verdict::kFail,
      .value = "missing",
      .why = "Without the canary topic nothing is produced or verified, so no loss can be seen.",
      .fix =
          "start kcanary run/canary (it creates it) or create it with kafka-topics.sh "
          "--bootstrap-server <host:port> --create --topic " +
          topic + " --partitions " + partitions +
          " --replication-factor 3 --config min.insync.replicas=2 "
          "--config unclean.leader.election.enable=false",
  };
}

}  // namespace kcanary::audit
