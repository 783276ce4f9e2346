#include "common/kafka/admin.h"

#include <memory>

namespace kcanary {
namespace {

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

bool IsAuthorizationError(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED;
}

// `what` names the operation and resource; `acl` the permission it needs.
Status ErrorStatus(rd_kafka_resp_err_t err, const std::string& message, const std::string& what,
                   const std::string& acl) {
  const std::string text = what + ": " + rd_kafka_err2name(err) +
                           (message.empty() ? std::string() : " (" + message + ")");
  if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) return Status::AlreadyExists(text);
  if (IsAuthorizationError(err)) return Status::PermissionDenied(text + ": grant " + acl);
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return Status::NotFound(text);
  if (err == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR ||
      err == RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT ||
      err == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS || err == RD_KAFKA_RESP_ERR_INVALID_CONFIG ||
      err == RD_KAFKA_RESP_ERR_POLICY_VIOLATION) {
    return Status::InvalidArgument(text);
  }
  return Status::Unavailable(text);
}

// Runs one admin call on its own queue and waits (bounded) for its result.
// `call` issues the request with the options and queue it is given.
template <typename Call>
StatusOr<Event> RunAdmin(rd_kafka_t* rk, rd_kafka_admin_op_t op, int timeout_ms,
                         const std::string& what, Call call) {
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(rk));
  std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> options(
      rd_kafka_AdminOptions_new(rk, op));
  char err[256];
  if (rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, err, sizeof(err)) ||
      (op != RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS &&
       rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms, err, sizeof(err)))) {
    return Status::InvalidArgument(what + ": " + err);
  }
  call(options.get(), queue.get());
  // librdkafka enforces the request timeout itself; the margin only guards
  // against a result that never comes.
  Event event(rd_kafka_queue_poll(queue.get(), timeout_ms + 5000));
  if (!event)
    return Status::Unavailable(what + ": no answer within " + std::to_string(timeout_ms) + " ms");
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* msg = rd_kafka_event_error_string(event.get());
    return ErrorStatus(rd_kafka_event_error(event.get()), msg ? msg : "", what,
                       "the matching ACL to kcanary's principal");
  }
  return event;
}

Status TopicResultStatus(const rd_kafka_topic_result_t* const* results, size_t n,
                         const std::string& what, const std::string& acl) {
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    const char* msg = rd_kafka_topic_result_error_string(results[i]);
    return ErrorStatus(err, msg ? msg : "", what, acl);
  }
  return Status::Ok();
}

}  // namespace

Status CreateTopic(rd_kafka_t* rk, const std::string& topic, const ReplicaAssignment& assignment,
                   const std::map<std::string, std::string>& configs, int timeout_ms) {
  const std::string what = "create topic " + topic;
  char err[256];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(
      topic.c_str(), static_cast<int>(assignment.size()), -1, err, sizeof(err));
  if (nt == nullptr) return Status::InvalidArgument(what + ": " + err);
  std::unique_ptr<rd_kafka_NewTopic_t, void (*)(rd_kafka_NewTopic_t*)> new_topic(
      nt, rd_kafka_NewTopic_destroy);
  for (size_t p = 0; p < assignment.size(); ++p) {
    std::vector<int32_t> replicas = assignment[p];
    if (rd_kafka_NewTopic_set_replica_assignment(nt, static_cast<int32_t>(p), replicas.data(),
                                                 replicas.size(), err, sizeof(err))) {
      return Status::InvalidArgument(what + ": partition " + std::to_string(p) + ": " + err);
    }
  }
  for (const auto& [key, value] : configs) {
    if (rd_kafka_NewTopic_set_config(nt, key.c_str(), value.c_str())) {
      return Status::InvalidArgument(what + ": config " + key);
    }
  }
  StatusOr<Event> event = RunAdmin(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout_ms, what,
                                   [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                                     rd_kafka_CreateTopics(rk, &nt, 1, o, q);
                                   });
  if (!event.ok()) return event.status();
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event->get()), &n);
  return TopicResultStatus(results, n, what, "Create on the topic (or the cluster)");
}

Status CreatePartitions(rd_kafka_t* rk, const std::string& topic, int32_t current,
                        const ReplicaAssignment& added, int timeout_ms) {
  const std::string what = "add " + std::to_string(added.size()) + " partition(s) to " + topic;
  char err[256];
  rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new(
      topic.c_str(), static_cast<size_t>(current) + added.size(), err, sizeof(err));
  if (np == nullptr) return Status::InvalidArgument(what + ": " + err);
  std::unique_ptr<rd_kafka_NewPartitions_t, void (*)(rd_kafka_NewPartitions_t*)> new_parts(
      np, rd_kafka_NewPartitions_destroy);
  for (size_t i = 0; i < added.size(); ++i) {
    std::vector<int32_t> replicas = added[i];
    if (rd_kafka_NewPartitions_set_replica_assignment(np, static_cast<int32_t>(i), replicas.data(),
                                                      replicas.size(), err, sizeof(err))) {
      return Status::InvalidArgument(what + ": " + err);
    }
  }
  StatusOr<Event> event = RunAdmin(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, timeout_ms, what,
                                   [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                                     rd_kafka_CreatePartitions(rk, &np, 1, o, q);
                                   });
  if (!event.ok()) return event.status();
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreatePartitions_result_topics(
      rd_kafka_event_CreatePartitions_result(event->get()), &n);
  return TopicResultStatus(results, n, what, "Alter on the topic");
}

namespace {

ConfigValues ReadEntries(const rd_kafka_ConfigResource_t* resource) {
  ConfigValues values;
  size_t cnt = 0;
  const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(resource, &cnt);
  for (size_t e = 0; e < cnt; ++e) {
    const char* value = rd_kafka_ConfigEntry_value(entries[e]);
    // Sensitive entries come back without a value; keep them absent.
    if (value == nullptr) continue;
    values[rd_kafka_ConfigEntry_name(entries[e])] = {value,
                                                     rd_kafka_ConfigEntry_source(entries[e])};
  }
  return values;
}

// One DescribeConfigs request; fills out[i] for each index in `which`.
Status DescribeBatch(rd_kafka_t* rk, const std::vector<ConfigResource>& resources,
                     const std::vector<size_t>& which, int timeout_ms,
                     std::vector<StatusOr<ConfigValues>>& out) {
  std::vector<rd_kafka_ConfigResource_t*> request;
  for (size_t i : which) {
    request.push_back(rd_kafka_ConfigResource_new(resources[i].type, resources[i].name.c_str()));
  }
  StatusOr<Event> event =
      RunAdmin(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms, "describe configs",
               [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                 rd_kafka_DescribeConfigs(rk, request.data(), request.size(), o, q);
               });
  rd_kafka_ConfigResource_destroy_array(request.data(), request.size());
  if (!event.ok()) return event.status();
  size_t n = 0;
  const rd_kafka_ConfigResource_t** got = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(event->get()), &n);
  // Results may come back in any order: match them by type and name.
  for (size_t i : which) {
    const ConfigResource& want = resources[i];
    const std::string what = std::string(rd_kafka_ResourceType_name(want.type)) + " " + want.name;
    for (size_t k = 0; k < n; ++k) {
      if (rd_kafka_ConfigResource_type(got[k]) != want.type ||
          want.name != rd_kafka_ConfigResource_name(got[k])) {
        continue;
      }
      if (rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(got[k])) {
        const char* msg = rd_kafka_ConfigResource_error_string(got[k]);
        out[i] = ErrorStatus(err, msg ? msg : "", "describe configs of " + what,
                             "DescribeConfigs on the " + what);
      } else {
        out[i] = ReadEntries(got[k]);
      }
      break;
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<StatusOr<ConfigValues>>> DescribeConfigs(
    rd_kafka_t* rk, const std::vector<ConfigResource>& resources, int timeout_ms) {
  std::vector<StatusOr<ConfigValues>> out(
      resources.size(), StatusOr<ConfigValues>(Status::Unavailable("describe configs: no result")));
  // librdkafka sends a broker's configs request to that broker, so it takes
  // one BROKER resource per call; everything else goes in one request.
  std::vector<size_t> others;
  std::vector<std::vector<size_t>> batches;
  for (size_t i = 0; i < resources.size(); ++i) {
    if (resources[i].type == RD_KAFKA_RESOURCE_BROKER) {
      batches.push_back({i});
    } else {
      others.push_back(i);
    }
  }
  if (!others.empty()) {
    // The request as a whole failing (cluster unreachable) fails the call.
    if (Status s = DescribeBatch(rk, resources, others, timeout_ms, out); !s.ok()) return s;
  }
  for (const std::vector<size_t>& batch : batches) {
    // One broker not answering is that broker's entry, not the whole audit's.
    if (Status s = DescribeBatch(rk, resources, batch, timeout_ms, out); !s.ok()) {
      out[batch.front()] = s;
    }
  }
  return out;
}

}  // namespace kcanary
