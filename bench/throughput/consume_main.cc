// kcanary-bench-consume: the bare librdkafka consumer kcanary's verifier is
// compared with. It reads every partition of a topic from its low watermark
// up to the high watermark seen at start, touching every payload byte, and
// prints one JSON object. Client settings follow the verifier's where they
// bear on throughput: manual assignment, enable.auto.commit=false,
// enable.partition.eof=true, fetch settings left at librdkafka's defaults.
//
//   kcanary-bench-consume -b HOST:PORT -t TOPIC [--timeout-seconds 300] [-X k=v]
//   kcanary-bench-consume -b HOST:PORT -t TOPIC --watermarks-only true
//
// The second form prints {"partitions": P, "expected": records between the
// watermarks} and exits: the harness learns how much a reader must read.
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_args.h"
#include "common/kafka/kafka_client.h"

using kcanary::bench::Args;
using kcanary::bench::Now;

namespace {

struct Range {
  int64_t low = 0;
  int64_t high = 0;
  bool done = false;
};

}  // namespace

int main(int argc, char** argv) {
  const double t_main = Now();
  const Args args = Args::Parse(
      argc, argv,
      {{"brokers", ""}, {"topic", ""}, {"timeout-seconds", "300"}, {"watermarks-only", "false"}});
  kcanary::bench::InstallStopHandler();
  const std::string topic = args.Get("topic");

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  kcanary::bench::SetConf(conf, "bootstrap.servers", args.Get("brokers"));
  kcanary::bench::SetConf(conf, "client.id", "kcanary-bench-consume");
  // A group of its own: it commits nothing, but must not share kcanary's.
  kcanary::bench::SetConf(conf, "group.id", "kcanary-bench-consume-" + std::to_string(getpid()));
  kcanary::bench::SetConf(conf, "enable.auto.commit", "false");
  kcanary::bench::SetConf(conf, "enable.auto.offset.store", "false");
  kcanary::bench::SetConf(conf, "auto.offset.reset", "error");
  kcanary::bench::SetConf(conf, "enable.partition.eof", "true");
  for (const auto& [k, v] : args.kafka) kcanary::bench::SetConf(conf, k, v);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk == nullptr) {
    std::fprintf(stderr, "cannot create the consumer: %s\n", err);
    return 1;
  }
  rd_kafka_poll_set_consumer(rk);

  const kcanary::StatusOr<kcanary::TopicInfo> info = kcanary::DescribeTopic(rk, topic, 10000);
  if (!info.ok() || info->partitions.empty()) {
    std::fprintf(stderr, "no metadata for %s: %s\n", topic.c_str(),
                 info.ok() ? "no partitions" : info.status().message().c_str());
    return 1;
  }
  const int partitions = static_cast<int>(info->partitions.size());

  std::vector<Range> ranges(partitions);
  int64_t expected = 0, low_total = 0;
  int open = 0;
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    Range& r = ranges[p];
    const kcanary::StatusOr<kcanary::Watermarks> w = kcanary::QueryWatermarks(rk, topic, p, 10000);
    if (!w.ok()) {
      std::fprintf(stderr, "no watermarks for %s/%d: %s\n", topic.c_str(), p,
                   w.status().message().c_str());
      return 1;
    }
    r.low = w->low;
    r.high = w->high;
    expected += r.high - r.low;
    low_total += r.low;
    r.done = r.high <= r.low;
    open += r.done ? 0 : 1;
    rd_kafka_topic_partition_list_add(assignment, topic.c_str(), p)->offset = r.low;
  }
  if (args.Get("watermarks-only") == "true") {
    std::printf("{\"partitions\": %d, \"expected\": %" PRId64 ", \"low\": %" PRId64 "}\n",
                partitions, expected, low_total);
    rd_kafka_topic_partition_list_destroy(assignment);
    rd_kafka_destroy(rk);
    return 0;
  }
  if (rd_kafka_error_t* error = rd_kafka_incremental_assign(rk, assignment)) {
    std::fprintf(stderr, "assign failed: %s\n", rd_kafka_error_string(error));
    return 1;
  }
  rd_kafka_topic_partition_list_destroy(assignment);

  const double t_assigned = Now();
  const double deadline = t_assigned + args.Double("timeout-seconds");
  double t_first = 0, t_last = 0;
  int64_t records = 0, bytes = 0, errors = 0;
  uint64_t checksum = 0;  // every payload byte summed, so no read is skipped
  while (open > 0 && !kcanary::bench::g_stop.load() && Now() < deadline) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
    if (msg == nullptr) continue;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (records == 0) t_first = Now();
      ++records;
      bytes += static_cast<int64_t>(msg->len);
      const auto* p = static_cast<const unsigned char*>(msg->payload);
      for (size_t i = 0; i < msg->len; ++i) checksum += p[i];
    } else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ++errors;
    }
    // A record or the end-of-partition event at or past the start-time high
    // watermark closes the partition.
    const int64_t at_end =
        msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ? msg->offset : msg->offset + 1;
    if (msg->partition >= 0 && msg->partition < partitions) {
      Range& r = ranges[msg->partition];
      if (!r.done &&
          (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR ||
           msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) &&
          at_end >= r.high) {
        r.done = true;
        --open;
        t_last = Now();
      }
    }
    rd_kafka_message_destroy(msg);
  }
  const double t_end = Now();
  const double cpu = kcanary::bench::CpuSeconds();
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);

  const double from_first = t_last > t_first ? t_last - t_first : 0;
  const double from_start = (open == 0 ? t_last : t_end) - t_main;
  std::printf(
      "{\"records\": %" PRId64 ", \"expected\": %" PRId64 ", \"bytes\": %" PRId64
      ", \"errors\": %" PRId64 ", \"complete\": %s, \"checksum\": %" PRIu64
      ", \"seconds_from_first\": %.6f, \"seconds_from_start\": %.6f"
      ", \"records_per_s\": %.1f, \"records_per_s_from_start\": %.1f, \"cpu_seconds\": %.3f}\n",
      records, expected, bytes, errors, open == 0 ? "true" : "false", checksum, from_first,
      from_start, from_first > 0 ? static_cast<double>(records - 1) / from_first : 0.0,
      from_start > 0 ? static_cast<double>(records) / from_start : 0.0, cpu);
  return open == 0 ? 0 : 1;
}
