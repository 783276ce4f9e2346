#include "canary/topic_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "canary/topic_plan.h"
#include "common/kafka/admin.h"

namespace kcanary {
namespace {

std::string Join(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

std::string Describe(const std::vector<Replicas>& assignment) {
  std::string out;
  for (const Replicas& r : assignment) out += (out.empty() ? "[" : " [") + Join(r) + "]";
  return out;
}

}  // namespace

TopicManager::TopicManager(std::string topic, bool manage, std::chrono::seconds join_grace,
                           int admin_timeout_ms)
    : topic_(std::move(topic)),
      manage_(manage),
      join_grace_(join_grace),
      admin_timeout_ms_(admin_timeout_ms) {}

Status TopicManager::Reconcile(rd_kafka_t* rk, const StatusOr<TopicInfo>& info) {
  if (!info.ok()) {
    if (info.status().code() != Status::Code::kNotFound) return Status::Ok();  // cluster down
    if (!manage_) {
      if (!warned_missing_) {
        spdlog::warn(
            "canary topic {} does not exist and --manage-topic=false: create it "
            "(replication factor 3, min.insync.replicas 2, a partition led by each "
            "broker)",
            topic_);
        warned_missing_ = true;
      }
      return Status::Ok();
    }
    // DescribeTopic reports the brokers only with the topic; ask again for them.
    StatusOr<ClusterInfo> cluster = DescribeCluster(rk, admin_timeout_ms_);
    if (!cluster.ok()) return cluster.status();
    return Create(rk, cluster->brokers);
  }
  return Cover(rk, *info, Clock::now());
}

Status TopicManager::Create(rd_kafka_t* rk, const std::vector<int32_t>& brokers) {
  const CanaryTopicPlan plan = PlanCanaryTopic(brokers);
  if (plan.assignment.empty()) return Status::Unavailable("no broker in the metadata");
  Status s = CreateTopic(rk, topic_, plan.assignment,
                         {{"min.insync.replicas", std::to_string(plan.min_insync_replicas)}},
                         admin_timeout_ms_);
  if (s.code() == Status::Code::kAlreadyExists) return Status::Ok();  // another instance won
  if (!s.ok()) {
    spdlog::error("cannot create the canary topic: {}", s.message());
    return s;
  }
  spdlog::info(
      "created canary topic {}: replication factor {}, min.insync.replicas {}, "
      "replicas {}",
      topic_, plan.replication_factor, plan.min_insync_replicas, Describe(plan.assignment));
  if (plan.replication_factor < 3) {
    spdlog::warn("canary topic {}: only {} broker(s), so replication factor {}: see kcanary audit",
                 topic_, brokers.size(), plan.replication_factor);
  }
  return Status::Ok();
}

Status TopicManager::Cover(rd_kafka_t* rk, const TopicInfo& info, Clock::time_point now) {
  std::map<int32_t, Clock::time_point> seen;
  for (int32_t b : info.brokers) {
    auto it = first_seen_.find(b);
    seen[b] = it == first_seen_.end() ? now : it->second;
  }
  first_seen_ = std::move(seen);

  std::vector<Replicas> existing;
  int32_t rf = 0;
  for (const PartitionInfo& p : info.partitions) {
    existing.push_back(p.replicas);
    rf = std::max(rf, static_cast<int32_t>(p.replicas.size()));
  }
  const std::vector<int32_t> uncovered = BrokersWithoutPartition(info.brokers, existing);
  if (Join(uncovered) != last_uncovered_) {
    last_uncovered_ = Join(uncovered);
    if (!uncovered.empty()) {
      spdlog::warn("canary topic {}: broker(s) {} are the preferred leader of no partition{}",
                   topic_, last_uncovered_, manage_ ? "" : " (--manage-topic=false)");
    }
  }
  if (!manage_ || uncovered.empty()) return Status::Ok();

  std::vector<int32_t> settled;  // in the cluster for join_grace at least
  for (int32_t b : info.brokers) {
    if (now - first_seen_[b] >= join_grace_) settled.push_back(b);
  }
  std::vector<Replicas> added = PlanAddedPartitions(info.brokers, existing, rf);
  std::erase_if(added, [&](const Replicas& r) {
    return std::find(settled.begin(), settled.end(), r.front()) == settled.end();
  });
  // Kafka wants every partition of a topic to have as many replicas as the
  // others; with brokers missing from the metadata (down, fenced) there may
  // not be enough to place one yet.
  if (!added.empty() && static_cast<int32_t>(added.front().size()) < rf) {
    spdlog::debug("canary topic {}: {} broker(s) in the metadata, {} replicas needed: waiting",
                  topic_, info.brokers.size(), rf);
    return Status::Ok();
  }
  if (added.empty()) return Status::Ok();
  Status s = CreatePartitions(rk, topic_, static_cast<int32_t>(info.partitions.size()), added,
                              admin_timeout_ms_);
  if (!s.ok()) {
    spdlog::error("cannot add partitions to the canary topic: {}", s.message());
    return s;
  }
  spdlog::info("canary topic {}: added partition(s) {} for broker(s) that joined", topic_,
               Describe(added));
  return Status::Ok();
}

}  // namespace kcanary
