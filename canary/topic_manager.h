// Keeps the canary topic covering every broker (SPEC §7): creates it when
// missing and adds a partition for each broker that joined and leads none.
// Called with fresh metadata from the service's cluster probe; it never
// removes or moves anything (Kafka cannot remove partitions, and moving
// replicas is the operator's call).
//
//   TopicManager manager("kcanary", /*manage=*/true);
//   manager.Reconcile(admin_handle, DescribeTopic(admin_handle, "kcanary", 2000));
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/kafka/kafka_client.h"
#include "common/status.h"

namespace kcanary {

class TopicManager {
 public:
  using Clock = std::chrono::steady_clock;

  // `join_grace`: how long a new broker must stay in the metadata before a
  // partition is added for it. Partitions cannot be removed again, so a
  // broker that flaps into the cluster for a moment must not get one.
  TopicManager(std::string topic, bool manage,
               std::chrono::seconds join_grace = std::chrono::seconds(30),
               int admin_timeout_ms = 10000);

  /// One pass over the topic's metadata (`info`: DescribeTopic's result).
  /// Returns what failed, if anything; failures are retried on the next pass.
  Status Reconcile(rd_kafka_t* rk, const StatusOr<TopicInfo>& info);

 private:
  Status Create(rd_kafka_t* rk, const std::vector<int32_t>& brokers);
  Status Cover(rd_kafka_t* rk, const TopicInfo& info, Clock::time_point now);

  std::string topic_;
  bool manage_;
  std::chrono::seconds join_grace_;
  int admin_timeout_ms_;
  std::map<int32_t, Clock::time_point> first_seen_;  // brokers in the latest metadata
  bool warned_missing_ = false;
  std::string last_uncovered_;  // logged once per change
};

}  // namespace kcanary
