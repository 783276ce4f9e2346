// Where the canary topic's replicas go (SPEC §7), as pure functions: broker
// ids and the topic's current layout in, replica lists out. The topic
// manager applies them through the Admin API.
//
// A canary partition tells about the brokers that hold it, and loss on a
// partition shows only where the canary writes. So every broker must be
// the preferred leader (first replica) of at least one partition, and the
// followers are spread over the other brokers in turn:
//
//   brokers {1,2,3,4} -> rf 3, min.isr 2,
//   partitions [1,2,3] [2,3,4] [3,4,1] [4,1,2]
#pragma once

#include <cstdint>
#include <vector>

namespace kcanary {

using Replicas = std::vector<int32_t>;

struct CanaryTopicPlan {
  int32_t replication_factor = 0;  // min(3, brokers)
  // 2 capped below the replication factor (1 when that is 1 or 2): one
  // replica may be down and acks=all writes still succeed.
  int32_t min_insync_replicas = 0;
  std::vector<Replicas> assignment;  // partition -> replicas, one partition per broker
};

/// The canary topic for a cluster of `brokers` (ids, any order, no
/// duplicates). Empty assignment when there is no broker.
CanaryTopicPlan PlanCanaryTopic(std::vector<int32_t> brokers);

/// Partitions to add to a topic laid out as `existing` (replica lists by
/// partition) so that every one of `brokers` is the preferred leader of at
/// least one partition; each new partition has `replication_factor`
/// replicas (fewer if there are fewer brokers), followers chosen from the
/// brokers after it in id order. Empty when every broker leads one already.
std::vector<Replicas> PlanAddedPartitions(std::vector<int32_t> brokers,
                                          const std::vector<Replicas>& existing,
                                          int32_t replication_factor);

/// Brokers of `brokers` that are not the preferred leader of any partition.
std::vector<int32_t> BrokersWithoutPartition(std::vector<int32_t> brokers,
                                             const std::vector<Replicas>& existing);

}  // namespace kcanary
