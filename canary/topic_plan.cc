#include "canary/topic_plan.h"

#include <algorithm>
#include <set>

namespace kcanary {
namespace {

std::vector<int32_t> SortedUnique(std::vector<int32_t> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// brokers[index] first, then the next rf-1 brokers in id order, wrapping.
Replicas Ring(const std::vector<int32_t>& brokers, size_t index, int32_t rf) {
  Replicas replicas;
  const size_t n = std::min(brokers.size(), static_cast<size_t>(std::max(rf, 1)));
  for (size_t k = 0; k < n; ++k) replicas.push_back(brokers[(index + k) % brokers.size()]);
  return replicas;
}

}  // namespace

CanaryTopicPlan PlanCanaryTopic(std::vector<int32_t> brokers) {
  brokers = SortedUnique(std::move(brokers));
  CanaryTopicPlan plan;
  if (brokers.empty()) return plan;
  plan.replication_factor = std::min<int32_t>(3, static_cast<int32_t>(brokers.size()));
  plan.min_insync_replicas = std::max(1, std::min(2, plan.replication_factor - 1));
  for (size_t i = 0; i < brokers.size(); ++i) {
    plan.assignment.push_back(Ring(brokers, i, plan.replication_factor));
  }
  return plan;
}

std::vector<int32_t> BrokersWithoutPartition(std::vector<int32_t> brokers,
                                             const std::vector<Replicas>& existing) {
  std::set<int32_t> leading;
  for (const Replicas& r : existing) {
    if (!r.empty()) leading.insert(r.front());
  }
  std::vector<int32_t> out;
  for (int32_t b : SortedUnique(std::move(brokers))) {
    if (!leading.count(b)) out.push_back(b);
  }
  return out;
}

std::vector<Replicas> PlanAddedPartitions(std::vector<int32_t> brokers,
                                          const std::vector<Replicas>& existing,
                                          int32_t replication_factor) {
  brokers = SortedUnique(std::move(brokers));
  std::vector<Replicas> added;
  for (int32_t b : BrokersWithoutPartition(brokers, existing)) {
    const size_t index = std::lower_bound(brokers.begin(), brokers.end(), b) - brokers.begin();
    added.push_back(Ring(brokers, index, replication_factor));
  }
  return added;
}

}  // namespace kcanary
