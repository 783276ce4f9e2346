// EmbeddedCluster: librdkafka's in-process mock cluster, so `kcanary run` with
// no --brokers shows the whole pipeline with nothing else installed.
//
// The mock keeps one log per partition: it cannot lose committed data, so it
// demonstrates the pipeline and client-side failures, not broker failures.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>

#include "common/kafka/kafka_client.h"
#include "common/status.h"

namespace kcanary {

class EmbeddedCluster {
 public:
  static StatusOr<std::unique_ptr<EmbeddedCluster>> Start(int brokers, const std::string& topic,
                                                          int partitions);
  ~EmbeddedCluster();

  const std::string& bootstrap() const { return bootstrap_; }
  rd_kafka_mock_cluster_t* mock() const { return cluster_; }

 private:
  EmbeddedCluster() = default;
  KafkaHandle owner_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace kcanary
