#include "app/audit_facts.h"

#include <algorithm>
#include <regex>

#include "common/kafka/admin.h"
#include "common/kafka/kafka_client.h"

namespace kcanary {
namespace {

audit::ConfigSource SourceOf(rd_kafka_ConfigSource_t source) {
  switch (source) {
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG:
      return audit::ConfigSource::kTopicOverride;
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG:
      return audit::ConfigSource::kDynamicBroker;
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG:
      return audit::ConfigSource::kDynamicClusterDefault;
    case RD_KAFKA_CONFIG_SOURCE_STATIC_BROKER_CONFIG:
      return audit::ConfigSource::kStaticBroker;
    case RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG:
      return audit::ConfigSource::kDefault;
    default:
      return audit::ConfigSource::kUnknown;
  }
}

audit::ConfigMap ToAudit(const ConfigValues& values) {
  audit::ConfigMap out;
  for (const auto& [name, v] : values) out[name] = {v.value, SourceOf(v.source)};
  return out;
}

audit::TopicFacts TopicLayout(const std::string& name, const TopicInfo& info) {
  audit::TopicFacts t;
  t.name = name;
  t.partitions = static_cast<int32_t>(info.partitions.size());
  for (const PartitionInfo& p : info.partitions) {
    const int32_t rf = static_cast<int32_t>(p.replicas.size());
    t.min_replication_factor =
        t.min_replication_factor == 0 ? rf : std::min(t.min_replication_factor, rf);
    t.max_replication_factor = std::max(t.max_replication_factor, rf);
  }
  return t;
}

// Metadata of the topics the audit needs: every topic only when --topics
// asks to match names (the periodic audit runs every minute, and a cluster
// may have thousands of topics).
StatusOr<ClusterInfo> Metadata(rd_kafka_t* rk, const Config& config, int timeout_ms) {
  if (!config.audit_topics.empty()) return DescribeCluster(rk, timeout_ms);
  StatusOr<TopicInfo> canary = DescribeTopic(rk, config.topic, timeout_ms);
  if (canary.ok()) {
    ClusterInfo cluster;
    cluster.brokers = canary->brokers;
    cluster.topics[config.topic] = *canary;
    return cluster;
  }
  if (canary.status().code() != Status::Code::kNotFound) return canary.status();
  return DescribeCluster(rk, timeout_ms);  // no such topic: the brokers still count
}

}  // namespace

StatusOr<audit::AuditInput> GatherAuditInput(rd_kafka_t* rk, const Config& config, int timeout_ms) {
  StatusOr<ClusterInfo> cluster = Metadata(rk, config, timeout_ms);
  if (!cluster.ok()) return cluster.status();
  if (cluster->brokers.empty()) return Status::Unavailable("the cluster reports no broker");

  audit::AuditInput input;
  input.canary_topic = config.topic;
  input.client.producer = config.ProducerConfig();
  input.client.consumer = config.ConsumerConfig();

  std::vector<std::string> names;
  if (cluster->topics.count(config.topic)) names.push_back(config.topic);
  if (!config.audit_topics.empty()) {
    const std::regex pattern(config.audit_topics);
    size_t matched = 0;
    for (const auto& [name, info] : cluster->topics) {
      if (!std::regex_match(name, pattern)) continue;
      ++matched;
      if (name != config.topic) names.push_back(name);
    }
    if (matched == 0) {
      return Status::NotFound("--topics '" + config.audit_topics + "' matches none of the " +
                              std::to_string(cluster->topics.size()) + " topics kcanary may see");
    }
  }

  std::vector<ConfigResource> resources;
  for (const std::string& name : names) resources.push_back({RD_KAFKA_RESOURCE_TOPIC, name});
  for (int32_t id : cluster->brokers) {
    resources.push_back({RD_KAFKA_RESOURCE_BROKER, std::to_string(id)});
  }
  StatusOr<std::vector<StatusOr<ConfigValues>>> configs =
      DescribeConfigs(rk, resources, timeout_ms);
  if (!configs.ok()) return configs.status();

  size_t i = 0;
  for (const std::string& name : names) {
    audit::TopicFacts t = TopicLayout(name, cluster->topics.at(name));
    const StatusOr<ConfigValues>& got = (*configs)[i++];
    if (got.ok()) {
      t.configs = ToAudit(*got);
    } else {
      t.configs_error = got.status().message();
    }
    input.topics.push_back(std::move(t));
  }
  for (int32_t id : cluster->brokers) {
    audit::BrokerFacts b;
    b.id = id;
    const StatusOr<ConfigValues>& got = (*configs)[i++];
    if (got.ok()) {
      b.configs = ToAudit(*got);
    } else {
      b.configs_error = got.status().message();
    }
    input.brokers.push_back(std::move(b));
  }
  return input;
}

}  // namespace kcanary
