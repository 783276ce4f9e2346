// kcanary-bench-produce: the bare librdkafka producer kcanary's canary is
// compared with. Same producer settings as the canary's defaults (acks=all,
// enable.idempotence=true, linger.ms=5), a delivery report handled for every
// record and classified with rd_kafka_message_status(), an explicit partition
// per record (round-robin), as fast as librdkafka's queue takes them. Prints
// one JSON object.
//
//   kcanary-bench-produce -b HOST:PORT -t TOPIC [--records 100000] [--seconds 120]
//                         [--message-size 256] [-X k=v]
#include <librdkafka/rdkafka.h>

#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_args.h"
#include "common/kafka/kafka_client.h"

using kcanary::bench::Args;
using kcanary::bench::Now;

namespace {

struct Counts {
  int64_t persisted = 0;
  int64_t failed = 0;  // not persisted or possibly persisted
  double first_ack = 0;
  double last_ack = 0;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* c = static_cast<Counts*>(opaque);
  if (rd_kafka_message_status(msg) == RD_KAFKA_MSG_STATUS_PERSISTED && msg->err == 0) {
    const double now = Now();
    if (c->persisted == 0) c->first_ack = now;
    c->last_ack = now;
    ++c->persisted;
  } else {
    ++c->failed;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const double t_main = Now();
  const Args args = Args::Parse(argc, argv,
                                {{"brokers", ""},
                                 {"topic", ""},
                                 {"records", "100000"},
                                 {"seconds", "120"},
                                 {"message-size", "256"}});
  kcanary::bench::InstallStopHandler();
  const std::string topic = args.Get("topic");
  const int64_t records = args.Int("records");
  const auto size = static_cast<size_t>(args.Int("message-size"));

  Counts counts;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  kcanary::bench::SetConf(conf, "bootstrap.servers", args.Get("brokers"));
  kcanary::bench::SetConf(conf, "client.id", "kcanary-bench-produce");
  kcanary::bench::SetConf(conf, "acks", "all");
  kcanary::bench::SetConf(conf, "enable.idempotence", "true");
  kcanary::bench::SetConf(conf, "linger.ms", "5");
  for (const auto& [k, v] : args.kafka) kcanary::bench::SetConf(conf, k, v);
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_conf_set_opaque(conf, &counts);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) {
    std::fprintf(stderr, "cannot create the producer: %s\n", err);
    return 1;
  }
  const kcanary::StatusOr<kcanary::TopicInfo> info = kcanary::DescribeTopic(rk, topic, 10000);
  if (!info.ok() || info->partitions.empty()) {
    std::fprintf(stderr, "no metadata for %s: %s\n", topic.c_str(),
                 info.ok() ? "no partitions" : info.status().message().c_str());
    return 1;
  }
  const int partitions = static_cast<int>(info->partitions.size());

  // Not all-zero, so a compressing setup (-X) would not flatter it.
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  std::vector<char> value(size);
  for (size_t i = 0; i < size; ++i) value[i] = static_cast<char>('a' + i * 7 % 26);

  const double t_start = Now();
  const double deadline = t_start + args.Double("seconds");
  int64_t sent = 0, refused = 0;
  while (sent < records && !kcanary::bench::g_stop.load() && Now() < deadline) {
    const rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(static_cast<int32_t>(sent % partitions)),
        RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 10);  // as the canary does: let delivery reports drain the queue
      continue;
    }
    ++sent;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) ++refused;
    rd_kafka_poll(rk, 0);
  }
  const double left = deadline - Now();
  rd_kafka_flush(rk, left > 1 ? static_cast<int>(left * 1000) : 1000);
  const int64_t unflushed = rd_kafka_outq_len(rk);
  const double cpu = kcanary::bench::CpuSeconds();
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);

  const double from_first =
      counts.last_ack > counts.first_ack ? counts.last_ack - counts.first_ack : 0;
  const double from_start = counts.last_ack > 0 ? counts.last_ack - t_main : 0;
  std::printf(
      "{\"records\": %" PRId64 ", \"sent\": %" PRId64 ", \"persisted\": %" PRId64
      ", \"failed\": %" PRId64 ", \"refused\": %" PRId64 ", \"unflushed\": %" PRId64
      ", \"partitions\": %d, \"message_size\": %zu"
      ", \"seconds_from_first_ack\": %.6f, \"seconds_from_start\": %.6f"
      ", \"records_per_s\": %.1f, \"records_per_s_from_start\": %.1f, \"cpu_seconds\": %.3f}\n",
      records, sent, counts.persisted, counts.failed, refused, unflushed, partitions, size,
      from_first, from_start,
      from_first > 0 ? static_cast<double>(counts.persisted - 1) / from_first : 0.0,
      from_start > 0 ? static_cast<double>(counts.persisted) / from_start : 0.0, cpu);
  return counts.persisted == records ? 0 : 1;
}
