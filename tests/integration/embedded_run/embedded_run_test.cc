// `kcanary run` with no brokers: the embedded mock cluster, the whole pipeline,
// and every HTTP endpoint (SPEC §3 embedded default, §4, §5).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <nlohmann/json.hpp>
#include <set>

#include "app/service.h"
#include "tests/integration/support/it_support.h"

namespace kcanary::it {
namespace {

constexpr int kPartitions = 3;

// SPEC §5: every counter (messages_produced/acked and every class of §2).
const char* const kPerPartitionCounters[] = {
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
// kcanary_messages_{not_committed,indeterminate}_total{error} have no series
// before the first failure (prometheus-cpp omits empty families); the fault
// tests check them.
const char* const kInvalidReasons[] = {"too_short",    "bad_magic",   "unknown_version",
                                       "bad_checksum", "undecodable", "partition_mismatch"};

class EmbeddedRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Config config = MakeConfig(Command::kRun, /*brokers=*/"", "kcanary-it", dir_.Sub("state"),
                               /*rate=*/300);
    config.listen = "127.0.0.1:0";
    config.embedded_partitions = kPartitions;
    auto service = Service::Start(config);
    ASSERT_TRUE(service.ok()) << service.status().message();
    service_ = std::move(*service);
    ASSERT_TRUE(service_->embedded());
    ASSERT_NE(service_->cluster(), nullptr);
    port_ = service_->http_port();
    ASSERT_GT(port_, 0);
  }

  bool EveryPartitionReceived() {
    for (int p = 0; p < kPartitions; ++p) {
      if (CountsOf(service_->hub(), p).received == 0) return false;
    }
    return true;
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
  int port_ = 0;
};

TEST_F(EmbeddedRunTest, PipelineRunsAndEveryEndpointAnswers) {
  ASSERT_TRUE(WaitUntil([&] { return service_->ready(); }, 20s));
  ASSERT_TRUE(WaitUntil([&] { return EveryPartitionReceived(); }, 20s))
      << Describe(Totals(service_->hub()));

  // /healthz and /readyz.
  HttpReply health = HttpGet(port_, "/healthz");
  EXPECT_EQ(health.status, 200);
  HttpReply ready = HttpGet(port_, "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;

  // /metrics: every SPEC §5 name, a series per partition for per-partition ones.
  std::vector<Sample> samples;
  std::string text;
  // The cluster probe runs in the background; wait for its first answer.
  ASSERT_TRUE(WaitUntil(
      [&] {
        HttpReply r = HttpGet(port_, "/metrics");
        if (r.status != 200) return false;
        text = r.body;
        samples = ParseMetrics(text);
        return SumOf(samples, "kcanary_kafka_up") == 1 &&
               CountOf(samples, "kcanary_broker_leads_canary_partition") == 3;
      },
      20s))
      << text;
  std::vector<std::string> bad;
  samples = ParseMetrics(text, &bad);
  EXPECT_TRUE(bad.empty()) << "unparsable lines, first: " << bad.front();

  for (const char* name : kPerPartitionCounters) {
    for (int p = 0; p < kPartitions; ++p) {
      const std::map<std::string, std::string> labels = {{"topic", "kcanary-it"},
                                                         {"partition", std::to_string(p)}};
      EXPECT_EQ(CountOf(samples, name, labels), 1) << name << " partition " << p;
      EXPECT_GE(SumOf(samples, name, labels), 0) << name;
    }
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " counter"), std::string::npos) << name;
  }
  for (int p = 0; p < kPartitions; ++p) {
    for (const char* reason : kInvalidReasons) {
      EXPECT_EQ(CountOf(samples, "kcanary_records_invalid_total",
                        {{"partition", std::to_string(p)}, {"reason", reason}}),
                1)
          << reason << " partition " << p;
    }
    for (const char* gauge : {"kcanary_messages_unseen", "kcanary_consumer_lag_messages"}) {
      EXPECT_EQ(CountOf(samples, gauge, {{"partition", std::to_string(p)}}), 1) << gauge;
    }
    // Traffic flows on every partition and the exported totals say so.
    EXPECT_GT(SumOf(samples, "kcanary_messages_produced_total", {{"partition", std::to_string(p)}}),
              0);
    EXPECT_GT(SumOf(samples, "kcanary_messages_acked_total", {{"partition", std::to_string(p)}}),
              0);
    EXPECT_GT(SumOf(samples, "kcanary_messages_received_total", {{"partition", std::to_string(p)}}),
              0);
  }
  for (const char* gauge :
       {"kcanary_last_acked_timestamp_seconds", "kcanary_last_received_timestamp_seconds",
        "kcanary_state_bytes", "kcanary_kafka_up", "kcanary_brokers"}) {
    EXPECT_EQ(CountOf(samples, gauge), 1) << gauge;
    EXPECT_NE(text.find(std::string("# TYPE ") + gauge + " gauge"), std::string::npos) << gauge;
  }
  EXPECT_GT(SumOf(samples, "kcanary_last_acked_timestamp_seconds"), 1.6e9);
  EXPECT_GT(SumOf(samples, "kcanary_last_received_timestamp_seconds"), 1.6e9);
  EXPECT_GT(SumOf(samples, "kcanary_state_bytes"), 0);
  EXPECT_EQ(SumOf(samples, "kcanary_brokers"), 3);
  // With 3 partitions on 3 brokers every broker leads one canary partition.
  for (int b = 1; b <= 3; ++b) {
    EXPECT_EQ(
        CountOf(samples, "kcanary_broker_leads_canary_partition", {{"broker", std::to_string(b)}}),
        1)
        << "broker " << b;
  }
  EXPECT_EQ(CountOf(samples, "kcanary_build_info"), 1);
  ASSERT_EQ(CountOf(samples, "kcanary_build_info"), 1);
  for (const Sample& s : samples) {
    if (s.name != "kcanary_build_info") continue;
    EXPECT_EQ(s.value, 1);
    EXPECT_FALSE(s.labels.at("version").empty());
    EXPECT_EQ(s.labels.at("librdkafka"), rd_kafka_version_str());
  }
  for (const char* h : {"kcanary_produce_latency_seconds", "kcanary_end_to_end_latency_seconds"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + h + " histogram"), std::string::npos) << h;
    EXPECT_GT(CountOf(samples, std::string(h) + "_bucket", {{"le", "+Inf"}}), 0) << h;
    EXPECT_GT(SumOf(samples, std::string(h) + "_count"), 0) << h;
  }
  // Labels only from SPEC §5's set.
  const std::set<std::string> allowed = {"topic",  "partition", "error",      "reason", "check",
                                         "broker", "version",   "librdkafka", "le"};
  for (const Sample& s : samples) {
    if (s.name.rfind("kcanary_", 0) != 0) continue;
    for (const auto& [k, v] : s.labels) EXPECT_TRUE(allowed.count(k)) << s.name << " label " << k;
  }

  // /status: valid JSON with per-partition counts of every class.
  HttpReply status = HttpGet(port_, "/status");
  ASSERT_EQ(status.status, 200);
  EXPECT_NE(status.headers.find("application/json"), std::string::npos) << status.headers;
  nlohmann::json j = nlohmann::json::parse(status.body, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << status.body;
  EXPECT_EQ(j["topic"], "kcanary-it");
  EXPECT_EQ(j["embedded_cluster"], true);
  ASSERT_TRUE(j["partitions"].is_array());
  ASSERT_EQ(j["partitions"].size(), static_cast<size_t>(kPartitions)) << status.body;
  std::set<int> seen;
  for (const auto& pj : j["partitions"]) {
    seen.insert(pj["partition"].get<int>());
    const auto& c = pj["counts"];
    for (const char* k :
         {"received", "lost", "expired", "recovered", "failed_but_visible", "duplicated",
          "redelivered", "reordered", "unseen", "offset_inconsistencies", "unexpected"}) {
      EXPECT_TRUE(c.contains(k) && c[k].is_number()) << k;
    }
    for (const char* k : {"not_committed", "indeterminate", "invalid"}) {
      EXPECT_TRUE(c.contains(k) && c[k].is_object()) << k;
    }
    EXPECT_GT(c["received"].get<int64_t>(), 0);
    EXPECT_EQ(c["lost"], 0);
    EXPECT_TRUE(pj["last_sequence"].is_object() && !pj["last_sequence"].empty());
  }
  EXPECT_EQ(seen, (std::set<int>{0, 1, 2}));
  EXPECT_TRUE(j["totals"].is_object());

  // /: a human page linking the rest.
  HttpReply index = HttpGet(port_, "/");
  ASSERT_EQ(index.status, 200);
  EXPECT_NE(index.headers.find("text/html"), std::string::npos);
  EXPECT_NE(index.body.find("<html"), std::string::npos);
  EXPECT_NE(index.body.find("/metrics"), std::string::npos);
  EXPECT_EQ(HttpGet(port_, "/no-such-page").status, 404);

  // No false anomaly, before and after a graceful stop; the exported totals
  // match the detector's.
  service_->Stop();
  int64_t unseen = 0;
  const ClassCounts total = Totals(service_->hub(), &unseen);
  EXPECT_TRUE(NoAnomaly(total)) << Describe(total);
  EXPECT_EQ(total.expired, 0u);
  EXPECT_TRUE(total.not_committed.empty()) << Describe(total);
  EXPECT_TRUE(total.indeterminate.empty()) << Describe(total);
  service_->SyncMetrics();
  samples = ParseMetrics(service_->metrics().Serialize());
  EXPECT_EQ(SumOf(samples, "kcanary_messages_received_total"), total.received);
  EXPECT_EQ(SumOf(samples, "kcanary_messages_lost_total"), 0);
  // Every acked record was read except, at most, what was still in flight to
  // the verifier when it stopped (lag), which stays unseen, not lost.
  EXPECT_EQ(SumOf(samples, "kcanary_messages_acked_total"),
            static_cast<double>(total.received + static_cast<uint64_t>(unseen)))
      << Describe(total) << " unseen=" << unseen;
}

}  // namespace
}  // namespace kcanary::it
