// The librdkafka edge shared by the canary, the verifier and the embedded
// cluster: building client configs, metadata and watermark queries, with
// librdkafka errors converted into Status values.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"

namespace kcanary {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

/// Builds a librdkafka config from key=value properties. An unknown key or a
/// bad value gives an error naming the key (never a secret's value).
StatusOr<rd_kafka_conf_t*> BuildKafkaConf(const std::map<std::string, std::string>& props);

/// Creates a client of `type`; takes ownership of `conf` in every case.
StatusOr<KafkaHandle> CreateKafkaClient(rd_kafka_type_t type, rd_kafka_conf_t* conf);

std::string KafkaErrorName(rd_kafka_resp_err_t err);

/// Keeps the last error a client reported through librdkafka's error
/// callback (connection refused, SASL authentication failed, TLS handshake
/// failed, all brokers down): why its requests fail or time out. librdkafka
/// invokes the callback from rd_kafka_poll() on that client, so its owner
/// polls it. Attach() sets the conf's opaque; the recorder must outlive the
/// client.
class KafkaErrorRecorder {
 public:
  void Attach(rd_kafka_conf_t* conf);
  /// "ERROR_NAME: reason" of the last error since Clear() ("all brokers
  /// down" only when nothing more specific came before it); "" if none.
  std::string Last() const;
  void Clear();

 private:
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);

  mutable std::mutex mu_;
  std::string last_;
};

struct PartitionInfo {
  int32_t id = 0;
  int32_t leader = -1;
  std::vector<int32_t> replicas;  // in assignment order: replicas[0] is the preferred leader
  std::vector<int32_t> isr;
};
struct TopicInfo {
  std::vector<PartitionInfo> partitions;  // sorted by id
  std::vector<int32_t> brokers;           // sorted
};
/// Metadata of one topic; NotFound when the cluster does not have it.
StatusOr<TopicInfo> DescribeTopic(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

struct ClusterInfo {
  std::vector<int32_t> brokers;             // sorted
  std::map<std::string, TopicInfo> topics;  // every topic the client may see (brokers unset)
};
/// Metadata of every topic (Kafka's internal ones included).
StatusOr<ClusterInfo> DescribeCluster(rd_kafka_t* rk, int timeout_ms);

struct Watermarks {
  int64_t low = 0;
  int64_t high = 0;
};
StatusOr<Watermarks> QueryWatermarks(rd_kafka_t* rk, const std::string& topic, int32_t partition,
                                     int timeout_ms);

}  // namespace kcanary
