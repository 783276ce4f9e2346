// Tests for the Metrics probe, read back through its text exposition: what
// Prometheus scrapes is what the contract (SPEC §5) is about.
#include "common/metrics/metrics.h"

#include <prometheus/registry.h>

#include <atomic>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace kcanary {
namespace {

using Labels = std::map<std::string, std::string>;

// One scrape, parsed: sample lines keyed by their exact series text
// ("name{k=\"v\",...}"), plus the TYPE and HELP of every family.
struct Scrape {
  std::map<std::string, double> samples;
  std::map<std::string, int> sample_count;  // how often each series text occurs
  std::map<std::string, std::string> types;
  std::map<std::string, std::string> helps;
  std::vector<std::string> malformed;
};

Scrape Parse(const std::string& text) {
  Scrape scrape;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream fields(line.substr(7));
      std::string name, type;
      fields >> name >> type;
      scrape.types[name] = type;
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::size_t sp = rest.find(' ');
      scrape.helps[rest.substr(0, sp)] = sp == std::string::npos ? "" : rest.substr(sp + 1);
      continue;
    }
    const std::size_t sp = line.rfind(' ');
    if (line[0] == '#' || sp == std::string::npos) {
      scrape.malformed.push_back(line);
      continue;
    }
    const std::string series = line.substr(0, sp);
    const std::string value = line.substr(sp + 1);
    try {
      scrape.samples[series] = value == "+Inf" ? INFINITY : std::stod(value);
      ++scrape.sample_count[series];
    } catch (...) {
      scrape.malformed.push_back(line);
    }
  }
  return scrape;
}

// The series text prometheus-cpp writes: labels sorted by name, then `le`
// last for histogram buckets.
std::string Series(const std::string& name, const Labels& labels, const std::string& le = "") {
  std::string out = name;
  if (labels.empty() && le.empty()) return out;
  out += "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    out += k + "=\"" + v + "\"";
    first = false;
  }
  if (!le.empty()) out += std::string(first ? "" : ",") + "le=\"" + le + "\"";
  return out + "}";
}

std::optional<double> Value(const Scrape& s, const std::string& series) {
  auto it = s.samples.find(series);
  if (it == s.samples.end()) return std::nullopt;
  return it->second;
}

const char* kTopic = "__kcanary";

Labels P(int32_t partition) {
  return {{"topic", kTopic}, {"partition", std::to_string(partition)}};
}
Labels T() { return {{"topic", kTopic}}; }

const std::vector<std::string> kPerPartitionCounters = {
    "kcanary_messages_produced_total",
    "kcanary_messages_acked_total",
    "kcanary_messages_received_total",
    "kcanary_messages_lost_total",
    "kcanary_messages_expired_total",
    "kcanary_messages_recovered_total",
    "kcanary_messages_failed_but_visible_total",
    "kcanary_messages_duplicated_total",
    "kcanary_messages_redelivered_total",
    "kcanary_messages_reordered_total",
    "kcanary_offset_inconsistencies_total",
    "kcanary_records_unexpected_total",
};

const std::vector<std::pair<Metrics::Class, std::string>> kClassNames = {
    {Metrics::Class::kReceived, "kcanary_messages_received_total"},
    {Metrics::Class::kLost, "kcanary_messages_lost_total"},
    {Metrics::Class::kExpired, "kcanary_messages_expired_total"},
    {Metrics::Class::kRecovered, "kcanary_messages_recovered_total"},
    {Metrics::Class::kFailedButVisible, "kcanary_messages_failed_but_visible_total"},
    {Metrics::Class::kDuplicated, "kcanary_messages_duplicated_total"},
    {Metrics::Class::kRedelivered, "kcanary_messages_redelivered_total"},
    {Metrics::Class::kReordered, "kcanary_messages_reordered_total"},
    {Metrics::Class::kOffsetInconsistency, "kcanary_offset_inconsistencies_total"},
    {Metrics::Class::kUnexpected, "kcanary_records_unexpected_total"},
};

// Families that have series as soon as the probe exists and a partition is added.
const std::map<std::string, std::string> kEagerFamilies = {
    {"kcanary_messages_produced_total", "counter"},
    {"kcanary_messages_acked_total", "counter"},
    {"kcanary_messages_received_total", "counter"},
    {"kcanary_messages_lost_total", "counter"},
    {"kcanary_messages_expired_total", "counter"},
    {"kcanary_messages_recovered_total", "counter"},
    {"kcanary_messages_failed_but_visible_total", "counter"},
    {"kcanary_messages_duplicated_total", "counter"},
    {"kcanary_messages_redelivered_total", "counter"},
    {"kcanary_messages_reordered_total", "counter"},
    {"kcanary_offset_inconsistencies_total", "counter"},
    {"kcanary_records_invalid_total", "counter"},
    {"kcanary_records_unexpected_total", "counter"},
    {"kcanary_messages_unseen", "gauge"},
    {"kcanary_consumer_lag_messages", "gauge"},
    {"kcanary_last_acked_timestamp_seconds", "gauge"},
    {"kcanary_last_received_timestamp_seconds", "gauge"},
    {"kcanary_state_bytes", "gauge"},
    {"kcanary_state_write_failures_total", "counter"},
    {"kcanary_listener_tls_handshake_failures_total", "counter"},
    {"kcanary_listener_rejected_connections_total", "counter"},
    {"kcanary_kafka_up", "gauge"},
    {"kcanary_brokers", "gauge"},
    {"kcanary_build_info", "gauge"},
    {"kcanary_produce_latency_seconds", "histogram"},
    {"kcanary_end_to_end_latency_seconds", "histogram"},
};

// Families whose label values are only known on first use.
const std::map<std::string, std::string> kLazyFamilies = {
    {"kcanary_messages_not_committed_total", "counter"},
    {"kcanary_messages_indeterminate_total", "counter"},
    {"kcanary_broker_leads_canary_partition", "gauge"},
    {"kcanary_config_check_passing", "gauge"},
};

TEST(MetricsTest, ExactFamilyNamesAndTypes) {
  Metrics m(kTopic, "1.2.3", "2.0.2");
  m.AddPartition(0);
  Scrape s = Parse(m.Serialize());
  EXPECT_TRUE(s.malformed.empty()) << s.malformed.front();
  for (const auto& [name, type] : kEagerFamilies) {
    ASSERT_EQ(s.types.count(name), 1u) << "missing family " << name;
    EXPECT_EQ(s.types[name], type) << name;
  }
  for (const auto& [name, type] : kLazyFamilies) {
    EXPECT_EQ(s.types.count(name), 0u) << name << " has no label values yet";
  }

  m.SetNotCommittedTotal(0, "NOT_ENOUGH_REPLICAS", 1);
  m.SetIndeterminateTotal(0, "_MSG_TIMED_OUT", 1);
  m.SetBrokerLeadsCanaryPartition(1, true);
  m.SetConfigCheckPassing(kTopic, "min_insync_replicas", true);
  s = Parse(m.Serialize());
  std::map<std::string, std::string> all = kEagerFamilies;
  all.insert(kLazyFamilies.begin(), kLazyFamilies.end());
  EXPECT_EQ(s.types, all) << "exactly the SPEC §5 families, nothing renamed or extra";

  for (const auto& [name, type] : s.types) {
    EXPECT_EQ(name.find("_total_total"), std::string::npos) << name;
    EXPECT_EQ(name.find("_info_info"), std::string::npos) << name;
    EXPECT_EQ(name.rfind("kcanary_", 0), 0u) << name;
    const bool ends_total = name.size() > 6 && name.substr(name.size() - 6) == "_total";
    EXPECT_EQ(ends_total, type == "counter") << name;
    ASSERT_EQ(s.helps.count(name), 1u) << name;
    EXPECT_GT(s.helps[name].size(), 10u) << "help for " << name;
    EXPECT_EQ(s.helps[name].back(), '.') << "help for " << name << " is one sentence";
  }
  // No sample name outside the families (e.g. an automatic suffix).
  for (const auto& [series, value] : s.samples) {
    const std::string name = series.substr(0, series.find('{'));
    const bool known =
        s.types.count(name) > 0 ||
        (name.size() > 7 && (s.types.count(name.substr(0, name.size() - 7)) > 0 ||  // _bucket
                             s.types.count(name.substr(0, name.size() - 6)) > 0 ||  // _count
                             s.types.count(name.substr(0, name.size() - 4)) > 0));  // _sum
    EXPECT_TRUE(known) << series;
  }
}

TEST(MetricsTest, KnownSeriesExportedAtZero) {
  Metrics m(kTopic, "1.2.3", "2.0.2");
  Scrape before = Parse(m.Serialize());
  EXPECT_FALSE(Value(before, Series("kcanary_messages_lost_total", P(0))).has_value());

  m.AddPartition(0);
  m.AddPartition(3);
  const Scrape s = Parse(m.Serialize());
  for (int32_t p : {0, 3}) {
    for (const std::string& name : kPerPartitionCounters) {
      EXPECT_EQ(Value(s, Series(name, P(p))), 0.0) << name << " partition " << p;
    }
    EXPECT_EQ(Value(s, Series("kcanary_messages_unseen", P(p))), 0.0);
    EXPECT_EQ(Value(s, Series("kcanary_consumer_lag_messages", P(p))), 0.0);
    for (std::string_view reason : Metrics::kInvalidReasons) {
      Labels l = P(p);
      l["reason"] = std::string(reason);
      EXPECT_EQ(Value(s, Series("kcanary_records_invalid_total", l)), 0.0) << reason;
    }
  }
  EXPECT_FALSE(Value(s, Series("kcanary_messages_lost_total", P(1))).has_value());
  EXPECT_EQ(Value(s, Series("kcanary_last_acked_timestamp_seconds", T())), 0.0);
  EXPECT_EQ(Value(s, Series("kcanary_last_received_timestamp_seconds", T())), 0.0);
  EXPECT_EQ(Value(s, "kcanary_state_bytes"), 0.0);
  EXPECT_EQ(Value(s, "kcanary_state_write_failures_total"), 0.0);
  EXPECT_EQ(Value(s, "kcanary_listener_tls_handshake_failures_total"), 0.0);
  EXPECT_EQ(Value(s, "kcanary_listener_rejected_connections_total"), 0.0);
  EXPECT_EQ(Value(s, "kcanary_kafka_up"), 0.0);
  EXPECT_EQ(Value(s, "kcanary_brokers"), 0.0);
  EXPECT_EQ(Value(s, Series("kcanary_build_info", {{"version", "1.2.3"}, {"librdkafka", "2.0.2"}})),
            1.0);
  EXPECT_EQ(Value(s, Series("kcanary_produce_latency_seconds_count", T())), 0.0);
  EXPECT_EQ(Value(s, Series("kcanary_end_to_end_latency_seconds_count", T())), 0.0);
}

TEST(MetricsTest, AddPartitionIsIdempotentAndKeepsValues) {
  Metrics m(kTopic, "v", "l");
  m.AddPartition(0);
  m.MessageProduced(0);
  m.SetClassTotal(Metrics::Class::kLost, 0, 4);
  m.AddPartition(0);
  const Scrape s = Parse(m.Serialize());
  EXPECT_EQ(Value(s, Series("kcanary_messages_produced_total", P(0))), 1.0);
  EXPECT_EQ(Value(s, Series("kcanary_messages_lost_total", P(0))), 4.0);
  for (const auto& [series, count] : s.sample_count) EXPECT_EQ(count, 1) << series;
}

TEST(MetricsTest, ProducedAndAckedCountPerPartition) {
  Metrics m(kTopic, "v", "l");
  m.MessageProduced(0);
  m.MessageProduced(0);
  m.MessageProduced(2);  // implicit AddPartition
  m.MessageAcked(0, 0.004, 1'700'000'100.5);
  m.MessageAcked(2, 0.020, 1'700'000'050.0);  // older ack arrives later
  const Scrape s = Parse(m.Serialize());
  EXPECT_EQ(Value(s, Series("kcanary_messages_produced_total", P(0))), 2.0);
  EXPECT_EQ(Value(s, Series("kcanary_messages_produced_total", P(2))), 1.0);
  EXPECT_EQ(Value(s, Series("kcanary_messages_acked_total", P(0))), 1.0);
  EXPECT_EQ(Value(s, Series("kcanary_messages_acked_total", P(2))), 1.0);
  EXPECT_EQ(Value(s, Series("kcanary_messages_lost_total", P(2))), 0.0);
  EXPECT_EQ(Value(s, Series("kcanary_last_acked_timestamp_seconds", T())), 1'700'000'100.5);
  EXPECT_EQ(Value(s, Series("kcanary_produce_latency_seconds_count", T())), 2.0);
  EXPECT_NEAR(*Value(s, Series("kcanary_produce_latency_seconds_sum", T())), 0.024, 1e-9);
}

TEST(MetricsTest, SetClassTotalAppliesDeltaAndIgnoresLowerValues) {
  Metrics m(kTopic, "v", "l");
  m.AddPartition(0);
  const std::string lost = Series("kcanary_messages_lost_total", P(0));
  m.SetClassTotal(Metrics::Class::kLost, 0, 5);
  EXPECT_EQ(Value(Parse(m.Serialize()), lost), 5.0);
  m.SetClassTotal(Metrics::Class::kLost, 0, 3);
  EXPECT_EQ(Value(Parse(m.Serialize()), lost), 5.0) << "a counter never goes down";
  m.SetClassTotal(Metrics::Class::kLost, 0, 5);
  EXPECT_EQ(Value(Parse(m.Serialize()), lost), 5.0);
  m.SetClassTotal(Metrics::Class::kLost, 0, 8);
  EXPECT_EQ(Value(Parse(m.Serialize()), lost), 8.0);
  // A restored total far above 0 (detector state after a restart).
  m.SetClassTotal(Metrics::Class::kReceived, 1, 123'456'789'012ULL);
  EXPECT_EQ(Value(Parse(m.Serialize()), Series("kcanary_messages_received_total", P(1))),
            123'456'789'012.0);
}

TEST(MetricsTest, EachClassFeedsItsOwnCounter) {
  Metrics m(kTopic, "v", "l");
  for (std::size_t i = 0; i < kClassNames.size(); ++i) {
    m.SetClassTotal(kClassNames[i].first, 7, 10 + i);
  }
  const Scrape s = Parse(m.Serialize());
  for (std::size_t i = 0; i < kClassNames.size(); ++i) {
    EXPECT_EQ(Value(s, Series(kClassNames[i].second, P(7))), static_cast<double>(10 + i))
        << kClassNames[i].second;
  }
}

TEST(MetricsTest, ErrorLabelledSeriesAppearOnFirstUse) {
  Metrics m(kTopic, "v", "l");
  m.AddPartition(0);
  std::string text = m.Serialize();
  EXPECT_EQ(text.find("error=\""), std::string::npos);

  m.SetNotCommittedTotal(0, "NOT_ENOUGH_REPLICAS", 2);
  m.SetNotCommittedTotal(0, "MSG_SIZE_TOO_LARGE", 1);
  m.SetIndeterminateTotal(0, "_MSG_TIMED_OUT", 3);
  m.SetIndeterminateTotal(0, "", 1);
  m.SetNotCommittedTotal(0, "NOT_ENOUGH_REPLICAS", 1);  // lower: ignored
  const Scrape s = Parse(m.Serialize());
  auto with = [](Labels l, const std::string& k, const std::string& v) {
    l[k] = v;
    return l;
  };
  EXPECT_EQ(Value(s, Series("kcanary_messages_not_committed_total",
                            with(P(0), "error", "NOT_ENOUGH_REPLICAS"))),
            2.0);
  EXPECT_EQ(Value(s, Series("kcanary_messages_not_committed_total",
                            with(P(0), "error", "MSG_SIZE_TOO_LARGE"))),
            1.0);
  EXPECT_EQ(Value(s, Series("kcanary_messages_indeterminate_total",
                            with(P(0), "error", "_MSG_TIMED_OUT"))),
            3.0);
  EXPECT_EQ(
      Value(s, Series("kcanary_messages_indeterminate_total", with(P(0), "error", "unknown"))),
      1.0);
  // Exactly the series that were used: two not-committed, two indeterminate.
  int not_committed = 0;
  int indeterminate = 0;
  for (const auto& [series, v] : s.samples) {
    if (series.rfind("kcanary_messages_not_committed_total{", 0) == 0) ++not_committed;
    if (series.rfind("kcanary_messages_indeterminate_total{", 0) == 0) ++indeterminate;
  }
  EXPECT_EQ(not_committed, 2);
  EXPECT_EQ(indeterminate, 2);
}

TEST(MetricsTest, InvalidTotalsForKnownAndNewReasons) {
  Metrics m(kTopic, "v", "l");
  m.SetInvalidTotal(1, "bad_checksum", 4);
  m.SetInvalidTotal(1, "some_new_reason", 2);
  const Scrape s = Parse(m.Serialize());
  Labels l = P(1);
  l["reason"] = "bad_checksum";
  EXPECT_EQ(Value(s, Series("kcanary_records_invalid_total", l)), 4.0);
  l["reason"] = "too_short";
  EXPECT_EQ(Value(s, Series("kcanary_records_invalid_total", l)), 0.0);
  l["reason"] = "some_new_reason";
  EXPECT_EQ(Value(s, Series("kcanary_records_invalid_total", l)), 2.0);
}

TEST(MetricsTest, LatencyHistogramBuckets) {
  Metrics m(kTopic, "v", "l");
  const std::vector<std::string> les = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                                        "0.1",   "0.25",   "0.5",   "1",    "2.5",   "5",
                                        "10",    "25",     "60",    "+Inf"};
  ASSERT_EQ(Metrics::kLatencyBucketsSeconds.size() + 1, les.size());
  EXPECT_EQ(Metrics::kLatencyBucketsSeconds.front(), 0.001);
  EXPECT_EQ(Metrics::kLatencyBucketsSeconds.back(), 60.0);

  m.FirstRead(0.003, 1'700'000'000);
  m.FirstRead(30, 1'700'000'001);
  m.FirstRead(100, 1'699'999'999);   // older receive time: gauge keeps the newest
  m.FirstRead(-0.5, 1'700'000'002);  // clock skew: counts as 0
  m.FirstRead(NAN, 1'700'000'002);   // ignored
  const Scrape s = Parse(m.Serialize());

  int buckets = 0;
  for (const auto& [series, v] : s.samples) {
    if (series.rfind("kcanary_end_to_end_latency_seconds_bucket{", 0) == 0) ++buckets;
  }
  EXPECT_EQ(buckets, 16);
  auto bucket = [&](const std::string& le) {
    return Value(s, Series("kcanary_end_to_end_latency_seconds_bucket", T(), le));
  };
  // Cumulative: 0 (skew) ≤ 0.001; 0.003 ≤ 0.005; 30 ≤ 60; 100 only in +Inf.
  EXPECT_EQ(bucket("0.001"), 1.0);
  EXPECT_EQ(bucket("0.0025"), 1.0);
  EXPECT_EQ(bucket("0.005"), 2.0);
  EXPECT_EQ(bucket("25"), 2.0);
  EXPECT_EQ(bucket("60"), 3.0);
  EXPECT_EQ(bucket("+Inf"), 4.0);
  for (const std::string& le : les) EXPECT_TRUE(bucket(le).has_value()) << le;
  EXPECT_EQ(Value(s, Series("kcanary_end_to_end_latency_seconds_count", T())), 4.0);
  EXPECT_NEAR(*Value(s, Series("kcanary_end_to_end_latency_seconds_sum", T())), 130.003, 1e-9);
  EXPECT_EQ(Value(s, Series("kcanary_last_received_timestamp_seconds", T())), 1'700'000'002.0);

  int produce_buckets = 0;
  for (const auto& [series, v] : s.samples) {
    if (series.rfind("kcanary_produce_latency_seconds_bucket{", 0) == 0) ++produce_buckets;
  }
  EXPECT_EQ(produce_buckets, 16);
}

// The verifier hands a batch's first reads over at once; the histogram and
// the gauge must come out as from one Observe per record, bucket bounds
// (le is inclusive), skew, NaN and out-of-order receive times included.
TEST(MetricsTest, FirstReadsOfABatchEqualOneByOne) {
  const std::vector<std::pair<double, double>> reads = {
      {0.001, 1'700'000'000}, {0.0010001, 1'700'000'003}, {60, 1'700'000'001},
      {60.5, 1'700'000'002},  {-1, 1'700'000'000},        {NAN, 1'700'000'004},
      {0.25, 1'699'999'000},  {0, 1'700'000'000}};
  Metrics one(kTopic, "v", "l");
  for (const auto& [latency, at] : reads) one.FirstRead(latency, at);
  Metrics batch(kTopic, "v", "l");
  batch.FirstReads(reads);
  batch.FirstReads({});
  EXPECT_EQ(batch.Serialize(), one.Serialize());
  const Scrape s = Parse(batch.Serialize());
  EXPECT_EQ(Value(s, Series("kcanary_end_to_end_latency_seconds_bucket", T(), "0.001")), 3.0);
  EXPECT_EQ(Value(s, Series("kcanary_end_to_end_latency_seconds_bucket", T(), "60")), 6.0);
  EXPECT_EQ(Value(s, Series("kcanary_end_to_end_latency_seconds_count", T())), 7.0);
  EXPECT_EQ(Value(s, Series("kcanary_last_received_timestamp_seconds", T())), 1'700'000'004.0);
}

// The canary hands a poll's delivery reports over at once: counters per
// partition (runs of one partition and interleaved ones), the histogram and
// the gauge must come out as from one MessageAcked per record.
TEST(MetricsTest, MessagesAckedOfABatchEqualOneByOne) {
  const std::vector<Metrics::Ack> acks = {{0, 0.001},  {0, 0.0010001}, {2, 60},   {2, 60.5},
                                          {0, -1},     {1, NAN},       {2, 0.25}, {0, 0},
                                          {7, 0.0042}, {0, 0.003}};
  Metrics one(kTopic, "v", "l");
  for (const Metrics::Ack& a : acks) one.MessageAcked(a.partition, a.produce_latency_seconds, 1e9);
  one.MessageAcked(0, 0.5, 1e9 - 5);  // an older stamp leaves the gauge alone
  Metrics batch(kTopic, "v", "l");
  batch.MessagesAcked(acks, 1e9);
  batch.MessagesAcked({}, 2e9);  // nothing acked: nothing changes
  const Metrics::Ack late{0, 0.5};
  batch.MessagesAcked({&late, 1}, 1e9 - 5);
  EXPECT_EQ(batch.Serialize(), one.Serialize());
  const Scrape s = Parse(batch.Serialize());
  EXPECT_EQ(Value(s, Series("kcanary_messages_acked_total", P(0))), 6.0);
  EXPECT_EQ(Value(s, Series("kcanary_messages_acked_total", P(1))), 1.0);  // NaN: counted
  EXPECT_EQ(Value(s, Series("kcanary_messages_acked_total", P(7))), 1.0);
  EXPECT_EQ(Value(s, Series("kcanary_produce_latency_seconds_bucket", T(), "0.001")), 3.0);
  EXPECT_EQ(Value(s, Series("kcanary_produce_latency_seconds_count", T())), 10.0);
  EXPECT_EQ(Value(s, Series("kcanary_last_acked_timestamp_seconds", T())), 1e9);
}

// Copied from the TLS front end's own counters on each scrape: they only
// move up, and a stale lower total changes nothing.
TEST(MetricsTest, ListenerTotalsFollowTheTlsFrontEnd) {
  Metrics m(kTopic, "v", "l");
  m.SetListenerTotals(3, 1);
  m.SetListenerTotals(2, 1);
  m.SetListenerTotals(5, 4);
  Scrape s = Parse(m.Serialize());
  EXPECT_EQ(Value(s, "kcanary_listener_tls_handshake_failures_total"), 5.0);
  EXPECT_EQ(Value(s, "kcanary_listener_rejected_connections_total"), 4.0);
  m.SetListenerTotals(1, 0);
  s = Parse(m.Serialize());
  EXPECT_EQ(Value(s, "kcanary_listener_tls_handshake_failures_total"), 5.0);
  EXPECT_EQ(Value(s, "kcanary_listener_rejected_connections_total"), 4.0);
}

TEST(MetricsTest, Gauges) {
  Metrics m(kTopic, "v", "l");
  m.SetUnseen(0, 17);
  m.SetConsumerLag(0, 250);
  m.SetUnseen(0, 5);  // gauges go down too
  m.SetKafkaUp(true);
  m.SetBrokers(3);
  m.SetBrokerLeadsCanaryPartition(1, true);
  m.SetBrokerLeadsCanaryPartition(2, false);
  m.SetStateBytes(5'000'000'000ULL);
  m.StateWriteFailed();
  m.StateWriteFailed();
  m.SetConfigCheckPassing("orders", "replication_factor", false);
  Scrape s = Parse(m.Serialize());
  EXPECT_EQ(Value(s, Series("kcanary_messages_unseen", P(0))), 5.0);
  EXPECT_EQ(Value(s, Series("kcanary_consumer_lag_messages", P(0))), 250.0);
  EXPECT_EQ(Value(s, "kcanary_kafka_up"), 1.0);
  EXPECT_EQ(Value(s, "kcanary_brokers"), 3.0);
  EXPECT_EQ(Value(s, Series("kcanary_broker_leads_canary_partition", {{"broker", "1"}})), 1.0);
  EXPECT_EQ(Value(s, Series("kcanary_broker_leads_canary_partition", {{"broker", "2"}})), 0.0);
  EXPECT_EQ(Value(s, "kcanary_state_bytes"), 5'000'000'000.0);
  EXPECT_EQ(Value(s, "kcanary_state_write_failures_total"), 2.0);
  EXPECT_EQ(m.StateWriteFailures(), 2u);
  EXPECT_EQ(Value(s, Series("kcanary_config_check_passing",
                            {{"topic", "orders"}, {"check", "replication_factor"}})),
            0.0);

  m.SetKafkaUp(false);
  m.SetBrokerLeadsCanaryPartition(2, true);
  m.SetConfigCheckPassing("orders", "replication_factor", true);
  s = Parse(m.Serialize());
  EXPECT_EQ(Value(s, "kcanary_kafka_up"), 0.0);
  EXPECT_EQ(Value(s, Series("kcanary_broker_leads_canary_partition", {{"broker", "2"}})), 1.0);
  EXPECT_EQ(Value(s, Series("kcanary_config_check_passing",
                            {{"topic", "orders"}, {"check", "replication_factor"}})),
            1.0);
}

TEST(MetricsTest, RegistryExposesTheSameFamilies) {
  Metrics m(kTopic, "v", "l");
  m.AddPartition(0);
  const std::size_t families = m.registry().Collect().size();
  EXPECT_EQ(families, kEagerFamilies.size());
}

TEST(MetricsTest, ConcurrentUpdatesWhileSerializing) {
  Metrics m(kTopic, "v", "l");
  constexpr int kPerThread = 100'000;
  std::atomic<int> finished{0};

  auto canary = [&] {
    for (int i = 0; i < kPerThread; ++i) {
      m.MessageProduced(i % 4);
      m.MessageAcked(i % 4, 0.002, 1'700'000'000.0 + i);
    }
    ++finished;
  };
  auto detector = [&] {
    for (int i = 1; i <= kPerThread; ++i) {
      m.SetClassTotal(Metrics::Class::kReceived, i % 4, static_cast<uint64_t>(i));
      m.FirstRead(0.01, 1'700'000'000.0 + i);
      if (i % 100 == 0) {
        // New label values while the HTTP thread collects.
        m.SetNotCommittedTotal(i % 4, "ERR_" + std::to_string(i % 1000), static_cast<uint64_t>(i));
        m.AddPartition(4 + (i / 100) % 8);
      }
    }
    ++finished;
  };

  std::thread t1(canary);
  std::thread t2(detector);
  double last_produced = 0;
  int scrapes = 0;
  while (finished.load() < 2 || scrapes < 3) {
    const Scrape s = Parse(m.Serialize());
    ASSERT_TRUE(s.malformed.empty()) << s.malformed.front();
    double produced = 0;
    for (int p = 0; p < 4; ++p) {
      produced += Value(s, Series("kcanary_messages_produced_total", P(p))).value_or(0);
    }
    EXPECT_GE(produced, last_produced) << "counters never go down between scrapes";
    last_produced = produced;
    ++scrapes;
  }
  t1.join();
  t2.join();
  RecordProperty("scrapes", scrapes);

  const Scrape s = Parse(m.Serialize());
  double produced = 0;
  double acked = 0;
  for (int p = 0; p < 4; ++p) {
    produced += *Value(s, Series("kcanary_messages_produced_total", P(p)));
    acked += *Value(s, Series("kcanary_messages_acked_total", P(p)));
  }
  EXPECT_EQ(produced, kPerThread);
  EXPECT_EQ(acked, kPerThread);
  EXPECT_EQ(Value(s, Series("kcanary_produce_latency_seconds_count", T())), kPerThread);
  EXPECT_EQ(Value(s, Series("kcanary_end_to_end_latency_seconds_count", T())), kPerThread);
  // The highest total each partition was given: i ≡ p (mod 4), i ≤ kPerThread.
  for (int p = 0; p < 4; ++p) {
    const int highest = kPerThread - (kPerThread - p) % 4;
    EXPECT_EQ(Value(s, Series("kcanary_messages_received_total", P(p))),
              static_cast<double>(highest))
        << p;
  }
  EXPECT_EQ(Value(s, Series("kcanary_last_acked_timestamp_seconds", T())),
            1'700'000'000.0 + kPerThread - 1);
  EXPECT_EQ(Value(s, Series("kcanary_last_received_timestamp_seconds", T())),
            1'700'000'000.0 + kPerThread);
  for (int p = 4; p < 12; ++p) {
    EXPECT_EQ(Value(s, Series("kcanary_messages_lost_total", P(p))), 0.0) << p;
  }
}

}  // namespace
}  // namespace kcanary
