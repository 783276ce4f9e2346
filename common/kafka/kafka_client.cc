#include "common/kafka/kafka_client.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/config/secrets.h"

namespace kcanary {

namespace {

// librdkafka logs from its own threads in syslog levels; keep one log format.
void LogToSpdlog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  const spdlog::level::level_enum lvl = level <= 3   ? spdlog::level::err
                                        : level == 4 ? spdlog::level::warn
                                        : level <= 6 ? spdlog::level::info
                                                     : spdlog::level::debug;
  spdlog::log(lvl, "librdkafka {} {}: {}", rk ? rd_kafka_name(rk) : "-", facility, message);
}

}  // namespace

StatusOr<rd_kafka_conf_t*> BuildKafkaConf(const std::map<std::string, std::string>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, &LogToSpdlog);
  char err[512];
  for (const auto& [key, value] : props) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      // librdkafka's message may quote the value: drop it for secrets.
      return Status::InvalidArgument("librdkafka property " + key + ": " +
                                     (IsSecretKey(key) ? std::string("invalid value") : err));
    }
  }
  return conf;
}

StatusOr<KafkaHandle> CreateKafkaClient(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("cannot create Kafka client: ") + err);
  }
  return KafkaHandle(rk);
}

std::string KafkaErrorName(rd_kafka_resp_err_t err) { return rd_kafka_err2name(err); }

void KafkaErrorRecorder::Attach(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_error_cb(conf, &KafkaErrorRecorder::OnError);
}

std::string KafkaErrorRecorder::Last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

void KafkaErrorRecorder::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  last_.clear();
}

void KafkaErrorRecorder::OnError(rd_kafka_t* /*rk*/, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaErrorRecorder*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  // librdkafka's reasons name brokers and mechanisms, never credentials.
  std::string text = rd_kafka_err2name(code);
  if (reason != nullptr && *reason != '\0') text += std::string(": ") + reason;
  std::lock_guard<std::mutex> lock(self->mu_);
  // "N/N brokers are down" follows the brokers' own failures: keep their cause.
  if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && !self->last_.empty()) return;
  self->last_ = std::move(text);
}

namespace {

std::vector<int32_t> SortedBrokers(const rd_kafka_metadata_t* md) {
  std::vector<int32_t> brokers;
  for (int i = 0; i < md->broker_cnt; ++i) brokers.push_back(md->brokers[i].id);
  std::sort(brokers.begin(), brokers.end());
  return brokers;
}

std::vector<PartitionInfo> Partitions(const rd_kafka_metadata_topic_t& t) {
  std::vector<PartitionInfo> out;
  for (int i = 0; i < t.partition_cnt; ++i) {
    const rd_kafka_metadata_partition_t& p = t.partitions[i];
    out.push_back({p.id, p.leader, std::vector<int32_t>(p.replicas, p.replicas + p.replica_cnt),
                   std::vector<int32_t>(p.isrs, p.isrs + p.isr_cnt)});
  }
  std::sort(out.begin(), out.end(),
            [](const PartitionInfo& a, const PartitionInfo& b) { return a.id < b.id; });
  return out;
}

}  // namespace

StatusOr<ClusterInfo> DescribeCluster(rd_kafka_t* rk, int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("cluster metadata: ") + rd_kafka_err2str(err));
  }
  ClusterInfo info;
  info.brokers = SortedBrokers(md);
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // e.g. not authorized to describe
    info.topics[t.topic].partitions = Partitions(t);
  }
  rd_kafka_metadata_destroy(md);
  return info;
}

StatusOr<TopicInfo> DescribeTopic(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("metadata for topic " + topic + ": " + rd_kafka_err2str(err));
  }
  TopicInfo info;
  info.brokers = SortedBrokers(md);
  Status status;
  if (md->topic_cnt != 1) {
    status = Status::NotFound("topic " + topic + " not in metadata");
  } else if (md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const rd_kafka_resp_err_t terr = md->topics[0].err;
    status = terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                 ? Status::NotFound("topic " + topic + " does not exist")
                 : Status::Unavailable("topic " + topic + ": " + rd_kafka_err2str(terr));
  } else {
    info.partitions = Partitions(md->topics[0]);
  }
  rd_kafka_metadata_destroy(md);
  if (!status.ok()) return status;
  return info;
}

StatusOr<Watermarks> QueryWatermarks(rd_kafka_t* rk, const std::string& topic, int32_t partition,
                                     int timeout_ms) {
  Watermarks w;
  const rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &w.low, &w.high, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("watermarks of " + topic + "/" + std::to_string(partition) + ": " +
                               rd_kafka_err2str(err));
  }
  return w;
}

}  // namespace kcanary
