// kcanary-bench-mock: librdkafka's mock cluster in a process of its own, so
// that kcanary and the bare tools reach the same brokers with -b and the
// broker work does not run inside the process being measured.
//
//   kcanary-bench-mock [--brokers 3] [--topics name:partitions,...] [--max-seconds 3600]
//
// Prints the bootstrap servers as one line on stdout once the topics exist,
// then serves until SIGTERM/SIGINT or --max-seconds.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>

#include "bench_args.h"

using kcanary::bench::Args;

int main(int argc, char** argv) {
  const Args args =
      Args::Parse(argc, argv, {{"brokers", "3"}, {"topics", ""}, {"max-seconds", "3600"}});
  kcanary::bench::InstallStopHandler();
  const int brokers = static_cast<int>(args.Int("brokers"));

  // The mock cluster hangs off a client handle; this one never produces.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  kcanary::bench::SetConf(conf, "client.id", "kcanary-bench-mock");
  kcanary::bench::SetConf(conf, "log_level", "4");
  char err[512];
  rd_kafka_t* owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (owner == nullptr) {
    std::fprintf(stderr, "cannot create the mock cluster's client: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(owner, brokers);
  if (cluster == nullptr) {
    std::fprintf(stderr, "cannot start the mock cluster\n");
    rd_kafka_destroy(owner);
    return 1;
  }

  std::stringstream topics(args.Get("topics"));
  std::string spec;
  while (std::getline(topics, spec, ',')) {
    const size_t colon = spec.rfind(':');
    const std::string name = spec.substr(0, colon);
    const int partitions = colon == std::string::npos ? 1 : std::stoi(spec.substr(colon + 1));
    const rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, std::min(brokers, 3));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "cannot create topic %s: %s\n", name.c_str(), rd_kafka_err2str(e));
      return 1;
    }
  }

  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);

  const double deadline = kcanary::bench::Now() + args.Double("max-seconds");
  while (!kcanary::bench::g_stop.load() && kcanary::bench::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(owner);
  return 0;
}
