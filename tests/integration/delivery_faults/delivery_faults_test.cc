// Producer-side failures on the mock cluster (SPEC §1 "producer never
// committed it", §2 not committed / indeterminate / recovered, §8 S3).
//
// The mock applies an injected Produce error before the append, so the log
// holds nothing of a failed request; `err=0` with a long RTT appends and
// answers late. Every test compares the detector with the ground truth: a
// full re-read of the topic and the canary's stored delivery reports.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "app/embedded_cluster.h"
#include "app/service.h"
#include "tests/integration/support/it_support.h"

namespace kcanary::it {
namespace {

constexpr int kPartitions = 2;
constexpr double kRate = 300;
constexpr int16_t kProduceApiKey = 0;
const std::string kTopic = "kcanary-faults";

class DeliveryFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EmbeddedCluster::Start(3, kTopic, kPartitions);
    ASSERT_TRUE(cluster.ok()) << cluster.status().message();
    cluster_ = std::move(*cluster);
  }

  void StartService(const Properties& producer_props) {
    Config config =
        MakeConfig(Command::kRun, cluster_->bootstrap(), kTopic, dir_.Sub("state"), kRate);
    config.producer_props = producer_props;
    auto service = Service::Start(config);
    ASSERT_TRUE(service.ok()) << service.status().message();
    service_ = std::move(*service);
    ASSERT_TRUE(WaitUntil(
        [&] {
          for (int p = 0; p < kPartitions; ++p) {
            if (CountsOf(service_->hub(), p).received < 50) return false;
          }
          return true;
        },
        20s))
        << Describe(Totals(service_->hub()));
  }

  // Stops the service, then lets a verifier alone read what it left unread
  // (Stop gives the verifier only a moment after the canary drains).
  void StopAndCatchUp() {
    service_->Stop();
    final_ = CatchUp(cluster_->bootstrap(), kTopic, dir_.Sub("state"));
    ASSERT_TRUE(final_);
  }
  DetectorHub& Final() { return final_->hub(); }

  // Pushes `n` copies of (err, rtt) on `broker`'s Produce error stack and
  // waits until producer requests have consumed them all.
  void InjectAndWait(int32_t broker, int n, rd_kafka_resp_err_t err, int rtt_ms) {
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(rd_kafka_mock_broker_push_request_error_rtts(cluster_->mock(), broker,
                                                             kProduceApiKey, 1, err, rtt_ms),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ASSERT_TRUE(WaitUntil(
        [&] {
          size_t left = 1;
          rd_kafka_mock_broker_error_stack_cnt(cluster_->mock(), broker, kProduceApiKey, &left);
          return left == 0;
        },
        20s));
  }

  // Lets at least `seconds` of traffic be read after the fault, so every
  // failure's fence (a later sequence read) has passed.
  void ReadOnFor(double seconds) {
    const uint64_t before = Totals(service_->hub()).received;
    const auto more = static_cast<uint64_t>(kRate * kPartitions * seconds);
    ASSERT_TRUE(WaitUntil([&] { return Totals(service_->hub()).received >= before + more; }, 20s))
        << Describe(Totals(service_->hub()));
  }

  // Records whose delivery failed, per partition, from the canary's counters.
  std::map<int32_t, uint64_t> FailedDeliveries() {
    std::map<int32_t, uint64_t> failed;
    const std::vector<Sample> samples = ParseMetrics(service_->metrics().Serialize());
    for (int p = 0; p < kPartitions; ++p) {
      const std::map<std::string, std::string> l = {{"partition", std::to_string(p)}};
      const double produced = SumOf(samples, "kcanary_messages_produced_total", l);
      const double acked = SumOf(samples, "kcanary_messages_acked_total", l);
      EXPECT_GE(produced, acked);
      failed[p] = static_cast<uint64_t>(produced - acked);
    }
    return failed;
  }

  int32_t LeaderOfPartition0() {
    const int32_t leader = LeaderOf(cluster_->bootstrap(), kTopic, 0);
    EXPECT_GT(leader, 0);
    return leader;
  }

  TempDir dir_;
  std::unique_ptr<EmbeddedCluster> cluster_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<Service> final_;  // the caught-up verifier, after Stop
};

// Non-idempotent and no retries: one injected error fails exactly the records
// of one request, which the canary counts as failed deliveries.
const Properties kNoRetries = {{"enable.idempotence", "false"}, {"retries", "0"}};

TEST_F(DeliveryFaultTest, NotEnoughReplicasIsNotCommittedNeverLost) {
  ASSERT_NO_FATAL_FAILURE(StartService(kNoRetries));
  ASSERT_NO_FATAL_FAILURE(
      InjectAndWait(LeaderOfPartition0(), 3, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 0));
  ASSERT_NO_FATAL_FAILURE(ReadOnFor(1.0));
  ASSERT_NO_FATAL_FAILURE(StopAndCatchUp());

  const std::map<int32_t, uint64_t> failed = FailedDeliveries();
  uint64_t failed_total = 0;
  for (int p = 0; p < kPartitions; ++p) {
    const ClassCounts c = CountsOf(Final(), p);
    // Each failed delivery is one not-committed record, with its error.
    EXPECT_EQ(SumOf(c.not_committed), failed.at(p)) << "partition " << p << ": " << Describe(c);
    if (failed.at(p) > 0) {
      EXPECT_EQ(Labeled(c.not_committed, "NOT_ENOUGH_REPLICAS"), failed.at(p));
    }
    EXPECT_TRUE(c.indeterminate.empty()) << Describe(c);
    EXPECT_EQ(c.failed_but_visible, 0u);
    EXPECT_TRUE(NoAnomaly(c)) << Describe(c);
    failed_total += failed.at(p);
  }
  // 3 failed requests hold at least 3 records.
  EXPECT_GE(failed_total, 3u);

  // The exported counter carries the error label.
  service_->SyncMetrics();
  const std::vector<Sample> samples = ParseMetrics(service_->metrics().Serialize());
  EXPECT_EQ(
      SumOf(samples, "kcanary_messages_not_committed_total", {{"error", "NOT_ENOUGH_REPLICAS"}}),
      static_cast<double>(failed_total));
  EXPECT_EQ(SumOf(samples, "kcanary_messages_lost_total"), 0);

  const Expected truth =
      CheckAgainstGroundTruth(Final(), cluster_->bootstrap(), kTopic, dir_.Sub("state"), kTopic);
  EXPECT_EQ(SumOf(truth.counts.not_committed), failed_total);
}

// An error that librdkafka does not retry fails the same way under the
// default (idempotent) producer profile.
TEST_F(DeliveryFaultTest, MessageTooLargeUnderIdempotenceIsNotCommitted) {
  ASSERT_NO_FATAL_FAILURE(StartService({}));
  ASSERT_NO_FATAL_FAILURE(
      InjectAndWait(LeaderOfPartition0(), 2, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, 0));
  ASSERT_NO_FATAL_FAILURE(ReadOnFor(1.0));
  ASSERT_NO_FATAL_FAILURE(StopAndCatchUp());

  const std::map<int32_t, uint64_t> failed = FailedDeliveries();
  uint64_t failed_total = 0;
  for (int p = 0; p < kPartitions; ++p) failed_total += failed.at(p);
  EXPECT_GE(failed_total, 2u);
  const ClassCounts total = Totals(Final());
  EXPECT_EQ(SumOf(total.not_committed) + SumOf(total.indeterminate) + total.recovered +
                total.failed_but_visible,
            failed_total)
      << Describe(total);
  EXPECT_TRUE(NoAnomaly(total)) << Describe(total);
  CheckAgainstGroundTruth(Final(), cluster_->bootstrap(), kTopic, dir_.Sub("state"), kTopic);
}

TEST_F(DeliveryFaultTest, PossiblyPersistedNeverSeenIsIndeterminate) {
  ASSERT_NO_FATAL_FAILURE(StartService(kNoRetries));
  ASSERT_NO_FATAL_FAILURE(InjectAndWait(LeaderOfPartition0(), 3,
                                        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, 0));
  ASSERT_NO_FATAL_FAILURE(ReadOnFor(1.0));
  ASSERT_NO_FATAL_FAILURE(StopAndCatchUp());

  const std::map<int32_t, uint64_t> failed = FailedDeliveries();
  uint64_t failed_total = 0;
  for (int p = 0; p < kPartitions; ++p) {
    const ClassCounts c = CountsOf(Final(), p);
    EXPECT_EQ(SumOf(c.indeterminate), failed.at(p)) << "partition " << p << ": " << Describe(c);
    if (failed.at(p) > 0) {
      EXPECT_EQ(Labeled(c.indeterminate, "NOT_ENOUGH_REPLICAS_AFTER_APPEND"), failed.at(p));
    }
    // The mock appended nothing, so nothing was recovered.
    EXPECT_EQ(c.recovered, 0u);
    EXPECT_TRUE(c.not_committed.empty()) << Describe(c);
    EXPECT_TRUE(NoAnomaly(c)) << Describe(c);
    failed_total += failed.at(p);
  }
  EXPECT_GE(failed_total, 3u);
  service_->SyncMetrics();
  const std::vector<Sample> samples = ParseMetrics(service_->metrics().Serialize());
  EXPECT_EQ(SumOf(samples, "kcanary_messages_indeterminate_total",
                  {{"error", "NOT_ENOUGH_REPLICAS_AFTER_APPEND"}}),
            static_cast<double>(failed_total));

  const Expected truth =
      CheckAgainstGroundTruth(Final(), cluster_->bootstrap(), kTopic, dir_.Sub("state"), kTopic);
  EXPECT_EQ(SumOf(truth.counts.indeterminate), failed_total);
}

// err=0 with an RTT beyond the request timeout: the mock appends, the client
// gives up (possibly persisted), and the verifier reads the record later.
TEST_F(DeliveryFaultTest, TimedOutButAppendedIsRecovered) {
  Properties props = kNoRetries;
  props["request.timeout.ms"] = "1000";
  props["message.timeout.ms"] = "1500";
  ASSERT_NO_FATAL_FAILURE(StartService(props));
  ASSERT_NO_FATAL_FAILURE(InjectAndWait(LeaderOfPartition0(), 2, RD_KAFKA_RESP_ERR_NO_ERROR, 4000));
  ASSERT_NO_FATAL_FAILURE(ReadOnFor(1.5));
  ASSERT_NO_FATAL_FAILURE(StopAndCatchUp());

  const std::map<int32_t, uint64_t> failed = FailedDeliveries();
  uint64_t failed_total = 0;
  for (int p = 0; p < kPartitions; ++p) failed_total += failed.at(p);
  EXPECT_GE(failed_total, 2u);
  const ClassCounts total = Totals(Final());
  EXPECT_GE(total.recovered, 1u) << Describe(total);
  // The mock appended every request it received: nothing stays in doubt.
  EXPECT_TRUE(total.indeterminate.empty()) << Describe(total);
  EXPECT_EQ(SumOf(total.not_committed) + SumOf(total.indeterminate) + total.recovered +
                total.failed_but_visible,
            failed_total)
      << Describe(total);
  EXPECT_TRUE(NoAnomaly(total)) << Describe(total);
  const Expected truth =
      CheckAgainstGroundTruth(Final(), cluster_->bootstrap(), kTopic, dir_.Sub("state"), kTopic);
  EXPECT_EQ(truth.counts.recovered, total.recovered);
  EXPECT_GE(truth.counts.recovered, 1u);
}

// The same fault under the default (idempotent, retrying) producer profile:
// the in-flight records time out, librdkafka bumps the producer epoch and goes
// on; what the mock appended is recovered, the rest indeterminate.
TEST_F(DeliveryFaultTest, TimedOutUnderIdempotenceIsRecoveredOrIndeterminate) {
  ASSERT_NO_FATAL_FAILURE(
      StartService({{"message.timeout.ms", "1500"}, {"request.timeout.ms", "1000"}}));
  ASSERT_NO_FATAL_FAILURE(InjectAndWait(LeaderOfPartition0(), 2, RD_KAFKA_RESP_ERR_NO_ERROR, 4000));
  ASSERT_NO_FATAL_FAILURE(ReadOnFor(1.5));
  ASSERT_NO_FATAL_FAILURE(StopAndCatchUp());

  const std::map<int32_t, uint64_t> failed = FailedDeliveries();
  uint64_t failed_total = 0;
  for (int p = 0; p < kPartitions; ++p) failed_total += failed.at(p);
  EXPECT_GE(failed_total, 1u);
  const ClassCounts total = Totals(Final());
  EXPECT_EQ(SumOf(total.not_committed) + SumOf(total.indeterminate) + total.recovered +
                total.failed_but_visible,
            failed_total)
      << Describe(total);
  // A retry of a timed-out request that the mock had appended after all is
  // appended again: the mock does not de-duplicate idempotent retries as a
  // real broker does (FIELD-NOTES; librdkafka 2.8.0's mock still does so only
  // for transactional producers). Such duplicates are real in this log, so
  // they are not held against kcanary; ground truth below counts them too.
  ClassCounts but_duplicates = total;
  but_duplicates.duplicated = 0;
  EXPECT_TRUE(NoAnomaly(but_duplicates)) << Describe(total);
  CheckAgainstGroundTruth(Final(), cluster_->bootstrap(), kTopic, dir_.Sub("state"), kTopic);
}

// A verifier in another process learns outcomes only from the summaries the
// later records carry (SPEC §2): the same failures end in the same classes.
TEST_F(DeliveryFaultTest, SeparateVerifierLearnsFailuresInBand) {
  SplitPipeline pipeline(cluster_->bootstrap(), kTopic, dir_.path(), kRate, kNoRetries);
  ASSERT_NO_FATAL_FAILURE(pipeline.StartVerifier());
  ASSERT_NO_FATAL_FAILURE(pipeline.StartCanary());
  ASSERT_NO_FATAL_FAILURE(pipeline.WaitForReads(200));
  const int32_t leader = LeaderOfPartition0();
  ASSERT_NO_FATAL_FAILURE(
      InjectAndWait(leader, 2, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, 0));
  ASSERT_NO_FATAL_FAILURE(InjectAndWait(leader, 2, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 0));
  ASSERT_NO_FATAL_FAILURE(pipeline.WaitForReads(static_cast<uint64_t>(kRate * kPartitions)));
  ASSERT_NO_FATAL_FAILURE(pipeline.StopCanary());
  const uint64_t acked = pipeline.acked();
  EXPECT_TRUE(WaitUntil([&] { return pipeline.VerifierTotals().received >= acked; }, 20s));

  const ClassCounts total = pipeline.VerifierTotals();
  EXPECT_EQ(total.received, acked) << Describe(total);
  EXPECT_GE(total.indeterminate.count("NOT_ENOUGH_REPLICAS_AFTER_APPEND"), 1u) << Describe(total);
  EXPECT_GE(total.not_committed.count("NOT_ENOUGH_REPLICAS"), 1u) << Describe(total);
  EXPECT_TRUE(NoAnomaly(total)) << Describe(total);
  const Expected truth = CheckAgainstGroundTruth(pipeline.verifier()->hub(), cluster_->bootstrap(),
                                                 kTopic, pipeline.canary_dir(), kTopic);
  EXPECT_EQ(truth.acked, acked);
}

// An idempotence error the producer cannot continue from: the canary must
// settle what the old producer held and carry on with a new one.
TEST_F(DeliveryFaultTest, ProducerFatalErrorIsSurvived) {
  ASSERT_NO_FATAL_FAILURE(StartService({}));
  std::map<int32_t, uint64_t> before;
  for (int p = 0; p < kPartitions; ++p) before[p] = CountsOf(service_->hub(), p).received;
  ASSERT_NO_FATAL_FAILURE(
      InjectAndWait(LeaderOfPartition0(), 1, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 0));
  // Every partition, the failed one included, keeps being written and read.
  for (int p = 0; p < kPartitions; ++p) {
    EXPECT_TRUE(WaitUntil(
        [&] { return CountsOf(service_->hub(), p).received >= before[p] + 2 * kRate; }, 20s))
        << "partition " << p << " stalled after the fatal error";
  }
  ASSERT_NO_FATAL_FAILURE(StopAndCatchUp());

  const std::map<int32_t, uint64_t> failed = FailedDeliveries();
  uint64_t failed_total = 0;
  for (int p = 0; p < kPartitions; ++p) failed_total += failed.at(p);
  EXPECT_GE(failed_total, 1u);
  const ClassCounts total = Totals(Final());
  // The records of the rejected request are in doubt; others the old
  // producer still held are purged (not persisted) or drained.
  EXPECT_GE(total.indeterminate.count("OUT_OF_ORDER_SEQUENCE_NUMBER"), 1u) << Describe(total);
  EXPECT_EQ(SumOf(total.not_committed) + SumOf(total.indeterminate) + total.recovered +
                total.failed_but_visible,
            failed_total)
      << Describe(total);
  EXPECT_TRUE(NoAnomaly(total)) << Describe(total);
  CheckAgainstGroundTruth(Final(), cluster_->bootstrap(), kTopic, dir_.Sub("state"), kTopic);
}

}  // namespace
}  // namespace kcanary::it
