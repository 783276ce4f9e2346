// Kafka Admin API calls kcanary makes (topic management, the durability
// audit), synchronous and bounded, with librdkafka's errors turned into
// Status values that name the resource and, for authorization errors, the
// ACL that is missing. Any client handle works (producer or consumer).
//
//   Status s = CreateTopic(rk, "kcanary", {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}},
//                          {{"min.insync.replicas", "2"}}, 10000);
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace kcanary {

using ReplicaAssignment = std::vector<std::vector<int32_t>>;  // partition -> broker ids

/// Creates `topic` with one partition per entry of `assignment` (explicit
/// replica placement) and the given topic configs. AlreadyExists comes back
/// as FailedPrecondition, so a caller racing another instance can tell.
Status CreateTopic(rd_kafka_t* rk, const std::string& topic, const ReplicaAssignment& assignment,
                   const std::map<std::string, std::string>& configs, int timeout_ms);

/// Grows `topic` to `current + added.size()` partitions, placing the new
/// ones as `added` says.
Status CreatePartitions(rd_kafka_t* rk, const std::string& topic, int32_t current,
                        const ReplicaAssignment& added, int timeout_ms);

struct ConfigValue {
  std::string value;
  rd_kafka_ConfigSource_t source = RD_KAFKA_CONFIG_SOURCE_UNKNOWN_CONFIG;
};
using ConfigValues = std::map<std::string, ConfigValue>;

struct ConfigResource {
  rd_kafka_ResourceType_t type = RD_KAFKA_RESOURCE_TOPIC;
  std::string name;  // topic name, or a broker id as a decimal string
};

/// Describes every resource in one request; each entry of the result is
/// that resource's effective configs or why they could not be read. The
/// outer Status fails only when the request as a whole did.
StatusOr<std::vector<StatusOr<ConfigValues>>> DescribeConfigs(
    rd_kafka_t* rk, const std::vector<ConfigResource>& resources, int timeout_ms);

}  // namespace kcanary
