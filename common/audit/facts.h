// Facts for the durability audit (SPEC §6): what the caller read from the
// Kafka Admin API (DescribeTopics, DescribeConfigs) and kcanary's own client
// configs, as plain values. The audit judges only these, so it needs no
// librdkafka and every rule can be tested on hand-built facts.
//
//   TopicFacts topic;
//   topic.name = "kcanary";
//   topic.partitions = 6;
//   topic.min_replication_factor = topic.max_replication_factor = 3;
//   topic.configs = ConfigMap{{"min.insync.replicas", {"2", ConfigSource::kTopicOverride}}};
//   AuditInput input;
//   input.canary_topic = "kcanary";
//   input.topics.push_back(topic);
//   input.client.producer = config.ProducerConfig();
//   std::vector<CheckResult> rows = Evaluate(input);  // checks.h
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kcanary::audit {

// Where a config value comes from (librdkafka's rd_kafka_ConfigSource_t, mapped
// by the caller). Shown next to each value because the fix depends on it: a
// topic override is changed on the topic, a broker default on the broker.
enum class ConfigSource {
  kUnknown,
  kTopicOverride,          // DYNAMIC_TOPIC_CONFIG
  kDynamicBroker,          // DYNAMIC_BROKER_CONFIG (this broker only)
  kDynamicClusterDefault,  // DYNAMIC_DEFAULT_BROKER_CONFIG (all brokers)
  kStaticBroker,           // STATIC_BROKER_CONFIG (server.properties)
  kDefault,                // DEFAULT_CONFIG (Kafka's built-in default)
};

// "topic override", "broker (dynamic)", "cluster-wide default (dynamic)",
// "broker (static)", "Kafka default" or "unknown".
std::string_view ConfigSourceName(ConfigSource source);

struct ConfigEntry {
  std::string value;
  ConfigSource source = ConfigSource::kUnknown;
};

// Config name -> effective value, as DescribeConfigs returns it.
using ConfigMap = std::map<std::string, ConfigEntry>;

struct TopicFacts {
  std::string name;
  int32_t partitions = 0;
  int32_t min_replication_factor = 0;  // fewest replicas of any partition
  int32_t max_replication_factor = 0;  // most replicas of any partition
  // DescribeConfigs(TOPIC): effective values (broker defaults included, each
  // with its source); nullopt if it could not be read.
  std::optional<ConfigMap> configs;
  // Why configs is nullopt, shown as the value of the checks it leaves UNKNOWN,
  // e.g. "DescribeConfigs denied (TOPIC_AUTHORIZATION_FAILED): grant
  // DescribeConfigs on the topic".
  std::string configs_error;
};

struct BrokerFacts {
  int32_t id = 0;
  std::optional<ConfigMap> configs;  // DescribeConfigs(BROKER id); nullopt if unreadable
  std::string configs_error;         // why configs is nullopt
};

// kcanary's own effective librdkafka client configs (Config::ProducerConfig()
// and ConsumerConfig()); judged only on the canary topic's rows.
struct ClientFacts {
  std::map<std::string, std::string>
      producer;  // e.g. {"acks","all"}, {"enable.idempotence","true"}
  std::map<std::string, std::string> consumer;  // e.g. {"enable.auto.commit","false"}
};

struct AuditInput {
  std::string canary_topic;        // its rows include the three client checks
  std::vector<TopicFacts> topics;  // the canary topic (if it exists) and the --topics matches
  std::vector<BrokerFacts> brokers;
  ClientFacts client;
};

}  // namespace kcanary::audit
