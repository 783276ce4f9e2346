#include "app/embedded_cluster.h"

namespace kcanary {

StatusOr<std::unique_ptr<EmbeddedCluster>> EmbeddedCluster::Start(int brokers,
                                                                  const std::string& topic,
                                                                  int partitions) {
  std::unique_ptr<EmbeddedCluster> c(new EmbeddedCluster());
  StatusOr<rd_kafka_conf_t*> conf =
      BuildKafkaConf({{"client.id", "kcanary-embedded-cluster"}, {"log_level", "4"}});
  if (!conf.ok()) return conf.status();
  StatusOr<KafkaHandle> owner = CreateKafkaClient(RD_KAFKA_PRODUCER, *conf);
  if (!owner.ok()) return owner.status();
  c->owner_ = std::move(*owner);
  c->cluster_ = rd_kafka_mock_cluster_new(c->owner_.get(), brokers);
  if (c->cluster_ == nullptr) return Status::Internal("cannot start the embedded mock cluster");
  const rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(c->cluster_, topic.c_str(), partitions, std::min(brokers, 3));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Internal("embedded cluster: cannot create topic " + topic + ": " +
                            rd_kafka_err2str(err));
  }
  c->bootstrap_ = rd_kafka_mock_cluster_bootstraps(c->cluster_);
  return c;
}

EmbeddedCluster::~EmbeddedCluster() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
}

}  // namespace kcanary
