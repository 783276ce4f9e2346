#include "common/metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kcanary {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

// A batch of latencies bucketed here as Histogram::Observe would (the first
// bound >= the value, else +Inf), for one ObserveMultiple: one histogram lock
// per batch instead of one per record. Send and receive times may come from
// different hosts' clocks; a negative sample would make the histogram's _sum
// decrease, which breaks rate() on it, so skew below zero counts as zero. A
// NaN (no latency known) is left out.
class LatencyBatch {
 public:
  void Add(double latency) {
    if (!std::isfinite(latency)) return;
    const double value = std::max(0.0, latency);
    const auto& bounds = Metrics::kLatencyBucketsSeconds;
    const auto bucket = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();
    increments_[static_cast<size_t>(bucket)] += 1;
    sum_ += value;
    observed_ = true;
  }
  void ObserveInto(Histogram& histogram) const {
    if (observed_) histogram.ObserveMultiple(increments_, sum_);
  }

 private:
  std::vector<double> increments_ = std::vector<double>(Metrics::kLatencyBucketsSeconds.size() + 1);
  double sum_ = 0;
  bool observed_ = false;
};

// prometheus-cpp 1.0 exposes family names verbatim: it appends neither
// "_total" to counters nor "_info" to gauges, so the names below are exactly
// the exposed ones (SPEC §5).
struct ClassSpec {
  const char* name;
  const char* help;
};
constexpr std::array<ClassSpec, Metrics::kClassCount> kClassSpecs = {{
    {"kcanary_messages_received_total", "Canary records read for the first time."},
    {"kcanary_messages_lost_total",
     "Committed canary records proven missing from the log (pages on-call)."},
    {"kcanary_messages_expired_total",
     "Committed canary records removed by retention or DeleteRecords before they were read."},
    {"kcanary_messages_recovered_total",
     "Canary records whose delivery was indeterminate but which were later read."},
    {"kcanary_messages_failed_but_visible_total",
     "Canary records reported NOT_PERSISTED by the producer that were nevertheless read."},
    {"kcanary_messages_duplicated_total", "Canary records found at two or more distinct offsets."},
    {"kcanary_messages_redelivered_total",
     "Canary records read again at the same offset, e.g. after a restart (not an anomaly)."},
    {"kcanary_messages_reordered_total",
     "Canary records stored at a lower offset than a record with a lower sequence."},
    {"kcanary_offset_inconsistencies_total",
     "Offsets observed holding two different canary records (truncation or divergence)."},
    {"kcanary_records_unexpected_total",
     "Decodable canary records of a known run whose sequence was never produced."},
}};

constexpr const char* kUnknownLabel = "unknown";

const std::string& OrUnknown(const std::string& value) {
  static const std::string unknown = kUnknownLabel;
  return value.empty() ? unknown : value;
}

std::array<Family<Counter>*, Metrics::kClassCount> RegisterClassFamilies(
    prometheus::Registry& registry) {
  std::array<Family<Counter>*, Metrics::kClassCount> families{};
  for (int i = 0; i < Metrics::kClassCount; ++i) {
    families[i] = &prometheus::BuildCounter()
                       .Name(kClassSpecs[i].name)
                       .Help(kClassSpecs[i].help)
                       .Register(registry);
  }
  return families;
}

// Moves `counter` up to `total`; never down (counters must not decrease, and a
// lower total can only be a stale report).
void RaiseTo(Counter& counter, uint64_t total) {
  const double target = static_cast<double>(total);
  const double current = counter.Value();
  if (target > current) counter.Increment(target - current);
}

// Runs `f`, swallowing any exception: metrics are diagnostics, and a failed
// update (in practice only allocation) must not take the canary down.
template <typename F>
void Guarded(F&& f) noexcept {
  try {
    std::forward<F>(f)();
  } catch (...) {
  }
}

}  // namespace

struct Metrics::Impl {
  // Series of one partition. Pointers into the families stay valid for the
  // registry's lifetime: families own their children and we never remove any.
  struct PartitionSeries {
    Counter* produced = nullptr;
    Counter* acked = nullptr;
    std::array<Counter*, kClassCount> classes{};
    Gauge* unseen = nullptr;
    Gauge* lag = nullptr;
    std::map<std::string, Counter*, std::less<>> not_committed;
    std::map<std::string, Counter*, std::less<>> indeterminate;
    std::map<std::string, Counter*, std::less<>> invalid;
  };

  Impl(std::string topic_name, const std::string& version, const std::string& librdkafka)
      : topic(std::move(topic_name)),
        produced(prometheus::BuildCounter()
                     .Name("kcanary_messages_produced_total")
                     .Help("Canary records handed to the producer.")
                     .Register(registry)),
        acked(prometheus::BuildCounter()
                  .Name("kcanary_messages_acked_total")
                  .Help("Canary records acknowledged by the broker as persisted.")
                  .Register(registry)),
        // Registered here, not in the body, so /metrics lists families in
        // SPEC order (the registry keeps registration order).
        classes(RegisterClassFamilies(registry)),
        not_committed(prometheus::BuildCounter()
                          .Name("kcanary_messages_not_committed_total")
                          .Help("Canary records whose delivery failed as NOT_PERSISTED, by error.")
                          .Register(registry)),
        indeterminate(prometheus::BuildCounter()
                          .Name("kcanary_messages_indeterminate_total")
                          .Help("Canary records whose delivery failed as POSSIBLY_PERSISTED and "
                                "that were never read, by error.")
                          .Register(registry)),
        invalid(prometheus::BuildCounter()
                    .Name("kcanary_records_invalid_total")
                    .Help("Records in the canary topic that do not decode as canary records, "
                          "by reason.")
                    .Register(registry)),
        unseen(prometheus::BuildGauge()
                   .Name("kcanary_messages_unseen")
                   .Help("Committed canary records not read yet and not yet provably lost.")
                   .Register(registry)),
        lag(prometheus::BuildGauge()
                .Name("kcanary_consumer_lag_messages")
                .Help("Records between the verifier's position and the end of the partition.")
                .Register(registry)),
        last_acked(prometheus::BuildGauge()
                       .Name("kcanary_last_acked_timestamp_seconds")
                       .Help("Unix time of the latest canary ack (0 before the first).")
                       .Register(registry)),
        last_received(prometheus::BuildGauge()
                          .Name("kcanary_last_received_timestamp_seconds")
                          .Help("Unix time of the latest first read of a canary record (0 before "
                                "the first).")
                          .Register(registry)),
        state_bytes(prometheus::BuildGauge()
                        .Name("kcanary_state_bytes")
                        .Help("Size of kcanary's state store on disk in bytes.")
                        .Register(registry)),
        state_write_failures(prometheus::BuildCounter()
                                 .Name("kcanary_state_write_failures_total")
                                 .Help("Writes to the state store that failed (disk full, I/O "
                                       "error); offsets they covered stay uncommitted.")
                                 .Register(registry)),
        tls_handshake_failures(
            prometheus::BuildCounter()
                .Name("kcanary_listener_tls_handshake_failures_total")
                .Help("TLS handshakes on the HTTP listener that failed or timed out (0 "
                      "without --listen-tls-cert).")
                .Register(registry)),
        rejected_connections(prometheus::BuildCounter()
                                 .Name("kcanary_listener_rejected_connections_total")
                                 .Help("Connections to the TLS listener closed at once because "
                                       "its limit of open connections was reached.")
                                 .Register(registry)),
        kafka_up(prometheus::BuildGauge()
                     .Name("kcanary_kafka_up")
                     .Help("1 if the Kafka cluster answered kcanary's last request, else 0.")
                     .Register(registry)),
        brokers(prometheus::BuildGauge()
                    .Name("kcanary_brokers")
                    .Help("Brokers in the latest cluster metadata.")
                    .Register(registry)),
        broker_leads(prometheus::BuildGauge()
                         .Name("kcanary_broker_leads_canary_partition")
                         .Help("1 if the broker leads at least one canary partition, else 0.")
                         .Register(registry)),
        config_check(prometheus::BuildGauge()
                         .Name("kcanary_config_check_passing")
                         .Help("1 if the durability check passes for the topic, else 0.")
                         .Register(registry)),
        build_info(prometheus::BuildGauge()
                       .Name("kcanary_build_info")
                       .Help("Always 1; labels carry the kcanary and librdkafka versions.")
                       .Register(registry)),
        produce_latency(prometheus::BuildHistogram()
                            .Name("kcanary_produce_latency_seconds")
                            .Help("Time from handing a canary record to the producer to its ack.")
                            .Register(registry)),
        end_to_end_latency(prometheus::BuildHistogram()
                               .Name("kcanary_end_to_end_latency_seconds")
                               .Help("Time from producing a canary record to its first read.")
                               .Register(registry)) {
    const prometheus::Labels by_topic = {{"topic", topic}};
    const Histogram::BucketBoundaries buckets(kLatencyBucketsSeconds.begin(),
                                              kLatencyBucketsSeconds.end());
    produce_latency_h = &produce_latency.Add(by_topic, buckets);
    end_to_end_latency_h = &end_to_end_latency.Add(by_topic, buckets);
    last_acked_g = &last_acked.Add(by_topic);
    last_received_g = &last_received.Add(by_topic);
    state_bytes_g = &state_bytes.Add({});
    state_write_failures_c = &state_write_failures.Add({});
    tls_handshake_failures_c = &tls_handshake_failures.Add({});
    rejected_connections_c = &rejected_connections.Add({});
    kafka_up_g = &kafka_up.Add({});
    brokers_g = &brokers.Add({});
    build_info.Add({{"version", OrUnknown(version)}, {"librdkafka", OrUnknown(librdkafka)}}).Set(1);
  }

  prometheus::Labels PartitionLabels(int32_t partition) const {
    return {{"topic", topic}, {"partition", std::to_string(partition)}};
  }

  // Requires mu. Returns the partition's series, creating them at 0.
  PartitionSeries& PartitionLocked(int32_t partition) {
    auto it = partitions.find(partition);
    if (it != partitions.end()) return *it->second;
    auto series = std::make_unique<PartitionSeries>();
    const prometheus::Labels labels = PartitionLabels(partition);
    series->produced = &produced.Add(labels);
    series->acked = &acked.Add(labels);
    for (int i = 0; i < kClassCount; ++i) series->classes[i] = &classes[i]->Add(labels);
    series->unseen = &unseen.Add(labels);
    series->lag = &lag.Add(labels);
    for (std::string_view reason : kInvalidReasons) {
      LabelledLocked(invalid, series->invalid, partition, "reason", std::string(reason));
    }
    return *partitions.emplace(partition, std::move(series)).first->second;
  }

  // Requires mu. The child of `family` for (partition, key=value), cached in
  // `cache` so Family::Add runs once per series.
  Counter& LabelledLocked(Family<Counter>& family,
                          std::map<std::string, Counter*, std::less<>>& cache, int32_t partition,
                          const char* key, const std::string& value) {
    auto it = cache.find(value);
    if (it != cache.end()) return *it->second;
    prometheus::Labels labels = PartitionLabels(partition);
    labels.emplace(key, value);
    Counter& counter = family.Add(labels);
    cache.emplace(value, &counter);
    return counter;
  }

  const std::string topic;
  prometheus::Registry registry;

  Family<Counter>& produced;
  Family<Counter>& acked;
  const std::array<Family<Counter>*, kClassCount> classes;
  Family<Counter>& not_committed;
  Family<Counter>& indeterminate;
  Family<Counter>& invalid;
  Family<Gauge>& unseen;
  Family<Gauge>& lag;
  Family<Gauge>& last_acked;
  Family<Gauge>& last_received;
  Family<Gauge>& state_bytes;
  Family<Counter>& state_write_failures;
  Family<Counter>& tls_handshake_failures;
  Family<Counter>& rejected_connections;
  Family<Gauge>& kafka_up;
  Family<Gauge>& brokers;
  Family<Gauge>& broker_leads;
  Family<Gauge>& config_check;
  Family<Gauge>& build_info;
  Family<Histogram>& produce_latency;
  Family<Histogram>& end_to_end_latency;

  // Unlabelled or topic-only children, created once in the constructor.
  Histogram* produce_latency_h = nullptr;
  Histogram* end_to_end_latency_h = nullptr;
  Gauge* last_acked_g = nullptr;
  Gauge* last_received_g = nullptr;
  Gauge* state_bytes_g = nullptr;
  Counter* state_write_failures_c = nullptr;
  Counter* tls_handshake_failures_c = nullptr;
  Counter* rejected_connections_c = nullptr;
  Gauge* kafka_up_g = nullptr;
  Gauge* brokers_g = nullptr;

  // Guards the caches below and makes each read-compare-raise of a total
  // atomic. prometheus-cpp's own objects are thread-safe; this lock is only
  // about our lookups and compound updates.
  std::mutex mu;
  // unique_ptr: PartitionSeries addresses survive rehashing.
  std::unordered_map<int32_t, std::unique_ptr<PartitionSeries>> partitions;
  std::map<int32_t, Gauge*> broker_leads_g;
  std::map<std::pair<std::string, std::string>, Gauge*> config_check_g;
  double last_acked_value = 0;
  double last_received_value = 0;
};

Metrics::Metrics(std::string topic, std::string version, std::string librdkafka_version)
    : impl_(std::make_unique<Impl>(std::move(topic), version, librdkafka_version)) {}

Metrics::~Metrics() = default;

prometheus::Registry& Metrics::registry() { return impl_->registry; }

void Metrics::AddPartition(int32_t partition) {
  Guarded([&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->PartitionLocked(partition);
  });
}

void Metrics::MessageProduced(int32_t partition, uint64_t count) {
  Guarded([&] {
    Counter* counter;
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      counter = impl_->PartitionLocked(partition).produced;
    }
    counter->Increment(static_cast<double>(count));
  });
}

void Metrics::MessageAcked(int32_t partition, double produce_latency_seconds,
                           double ack_unix_seconds) {
  const Ack ack{partition, produce_latency_seconds};
  MessagesAcked({&ack, 1}, ack_unix_seconds);
}

void Metrics::MessagesAcked(std::span<const Ack> acks, double ack_unix_seconds) {
  if (acks.empty()) return;
  Guarded([&] {
    LatencyBatch latencies;
    // A poll's reports come in runs of one partition (a produce response
    // each): one counter lookup and increment per run.
    std::vector<std::pair<Counter*, double>> runs;
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      int32_t run_partition = -1;
      for (const Ack& ack : acks) {
        if (runs.empty() || ack.partition != run_partition) {
          runs.emplace_back(impl_->PartitionLocked(ack.partition).acked, 0.0);
          run_partition = ack.partition;
        }
        runs.back().second += 1;
        latencies.Add(ack.produce_latency_seconds);
      }
      // Acks from different partitions arrive out of order; the gauge says
      // "the pipeline was alive at this time", so it only moves forward.
      if (ack_unix_seconds > impl_->last_acked_value) {
        impl_->last_acked_value = ack_unix_seconds;
        impl_->last_acked_g->Set(ack_unix_seconds);
      }
    }
    for (const auto& [counter, n] : runs) counter->Increment(n);
    latencies.ObserveInto(*impl_->produce_latency_h);
  });
}

void Metrics::FirstRead(double end_to_end_latency_seconds, double receive_unix_seconds) {
  const std::pair<double, double> read{end_to_end_latency_seconds, receive_unix_seconds};
  FirstReads({&read, 1});
}

void Metrics::FirstReads(std::span<const std::pair<double, double>> reads) {
  if (reads.empty()) return;
  Guarded([&] {
    LatencyBatch latencies;
    double latest = 0;
    for (const auto& [latency, received_at] : reads) {
      latest = std::max(latest, received_at);
      latencies.Add(latency);
    }
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      if (latest > impl_->last_received_value) {
        impl_->last_received_value = latest;
        impl_->last_received_g->Set(latest);
      }
    }
    latencies.ObserveInto(*impl_->end_to_end_latency_h);
  });
}

void Metrics::SetClassTotal(Class c, int32_t partition, uint64_t total) {
  const int index = static_cast<int>(c);
  if (index < 0 || index >= kClassCount) return;
  Guarded([&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    RaiseTo(*impl_->PartitionLocked(partition).classes[index], total);
  });
}

void Metrics::SetNotCommittedTotal(int32_t partition, const std::string& error, uint64_t total) {
  Guarded([&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto& series = impl_->PartitionLocked(partition);
    RaiseTo(impl_->LabelledLocked(impl_->not_committed, series.not_committed, partition, "error",
                                  OrUnknown(error)),
            total);
  });
}

void Metrics::SetIndeterminateTotal(int32_t partition, const std::string& error, uint64_t total) {
  Guarded([&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto& series = impl_->PartitionLocked(partition);
    RaiseTo(impl_->LabelledLocked(impl_->indeterminate, series.indeterminate, partition, "error",
                                  OrUnknown(error)),
            total);
  });
}

void Metrics::SetInvalidTotal(int32_t partition, const std::string& reason, uint64_t total) {
  Guarded([&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto& series = impl_->PartitionLocked(partition);
    RaiseTo(impl_->LabelledLocked(impl_->invalid, series.invalid, partition, "reason",
                                  OrUnknown(reason)),
            total);
  });
}

void Metrics::SetUnseen(int32_t partition, int64_t records) {
  Guarded([&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->PartitionLocked(partition).unseen->Set(static_cast<double>(records));
  });
}

void Metrics::SetConsumerLag(int32_t partition, int64_t records) {
  Guarded([&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->PartitionLocked(partition).lag->Set(static_cast<double>(records));
  });
}

void Metrics::SetKafkaUp(bool up) { impl_->kafka_up_g->Set(up ? 1 : 0); }

void Metrics::SetBrokers(int count) { impl_->brokers_g->Set(count); }

void Metrics::SetStateBytes(uint64_t bytes) {
  impl_->state_bytes_g->Set(static_cast<double>(bytes));
}

double Metrics::LastKafkaActivitySeconds() const {
  return std::max(impl_->last_acked_g->Value(), impl_->last_received_g->Value());
}

void Metrics::StateWriteFailed() { impl_->state_write_failures_c->Increment(); }

uint64_t Metrics::StateWriteFailures() const {
  return static_cast<uint64_t>(impl_->state_write_failures_c->Value());
}

void Metrics::SetListenerTotals(uint64_t tls_handshake_failures, uint64_t rejected_connections) {
  Guarded([&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    RaiseTo(*impl_->tls_handshake_failures_c, tls_handshake_failures);
    RaiseTo(*impl_->rejected_connections_c, rejected_connections);
  });
}

void Metrics::SetBrokerLeadsCanaryPartition(int32_t broker, bool leads) {
  Guarded([&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    Gauge*& gauge = impl_->broker_leads_g[broker];
    if (gauge == nullptr) gauge = &impl_->broker_leads.Add({{"broker", std::to_string(broker)}});
    gauge->Set(leads ? 1 : 0);
  });
}

void Metrics::SetConfigCheckPassing(const std::string& topic, const std::string& check,
                                    bool passing) {
  Guarded([&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    Gauge*& gauge = impl_->config_check_g[{topic, check}];
    if (gauge == nullptr) {
      gauge = &impl_->config_check.Add({{"topic", OrUnknown(topic)}, {"check", OrUnknown(check)}});
    }
    gauge->Set(passing ? 1 : 0);
  });
}

std::string Metrics::Serialize() const {
  try {
    // Collect() locks each family briefly; updates on other threads proceed
    // between families, so a scrape is consistent per series, not globally.
    return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
  } catch (...) {
    return {};
  }
}

}  // namespace kcanary
