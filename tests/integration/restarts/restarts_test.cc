// Graceful restarts of one role while the other keeps running (SPEC §8 S4/S5
// without the kill -9, which kill9/ covers through the binary). The canary and
// the verifier run as separate Services with separate state, as two processes
// would: the verifier learns delivery outcomes only from the records.
#include <gtest/gtest.h>

#include "app/embedded_cluster.h"
#include "app/service.h"
#include "tests/integration/support/it_support.h"

namespace kcanary::it {
namespace {

constexpr int kPartitions = 3;
constexpr double kRate = 300;
constexpr int kRestarts = 3;

class RestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EmbeddedCluster::Start(3, topic_, kPartitions);
    ASSERT_TRUE(cluster.ok()) << cluster.status().message();
    cluster_ = std::move(*cluster);
    pipeline_ = std::make_unique<SplitPipeline>(cluster_->bootstrap(), topic_, dir_.path(), kRate);
    // The verifier starts first, at the (empty) log's end, so it judges
    // every record the canary writes.
    ASSERT_NO_FATAL_FAILURE(pipeline_->StartVerifier());
    ASSERT_NO_FATAL_FAILURE(pipeline_->StartCanary());
    ASSERT_NO_FATAL_FAILURE(pipeline_->WaitForReads(200));
  }

  // Stops the canary, waits until the verifier has read every acked record,
  // and checks the verdicts against the ground truth.
  void FinishAndCheck() {
    ASSERT_NO_FATAL_FAILURE(pipeline_->StopCanary());
    const uint64_t acked = pipeline_->acked();
    int64_t unseen = -1;
    const bool caught_up = WaitUntil(
        [&] { return pipeline_->VerifierTotals(&unseen).received >= acked && unseen == 0; }, 30s);
    const ClassCounts total = pipeline_->VerifierTotals(&unseen);
    EXPECT_TRUE(caught_up) << "acked=" << acked << " unseen=" << unseen << " " << Describe(total);
    // Every acked record received exactly once; restarts add no anomaly.
    EXPECT_EQ(total.received, acked) << Describe(total);
    EXPECT_TRUE(NoAnomaly(total)) << Describe(total);
    EXPECT_EQ(total.expired, 0u);
    EXPECT_EQ(total.recovered, 0u) << Describe(total);
    EXPECT_EQ(total.failed_but_visible, 0u) << Describe(total);
    // Graceful stops drain: no delivery failed and nothing was left in doubt.
    EXPECT_TRUE(total.not_committed.empty()) << Describe(total);
    EXPECT_TRUE(total.indeterminate.empty()) << Describe(total);
    const Expected truth =
        CheckAgainstGroundTruth(pipeline_->verifier()->hub(), cluster_->bootstrap(), topic_,
                                pipeline_->canary_dir(), topic_);
    EXPECT_EQ(truth.acked, acked);
    // The canary's own stored totals agree: everything produced was acked.
    for (const auto& [p, ps] : ReadCanaryState(pipeline_->canary_dir(), topic_)) {
      EXPECT_EQ(ps.produced(), ps.acked()) << "partition " << p;
      EXPECT_EQ(ps.produced(), ps.next_sequence()) << "partition " << p;
    }
    redelivered_ = total.redelivered;
    // Running, the verifier commits what it stored within its commit
    // interval (1 s); stopping, it commits the rest. Either way the group
    // ends at the log end: every record was read, stored, then committed.
    const std::string group = "kcanary-verifier-" + topic_;
    auto all_committed = [&] {
      for (const auto& [p, offsets] : CommittedAndHigh(cluster_->bootstrap(), group, topic_)) {
        if (offsets.first != offsets.second) return false;
      }
      return true;
    };
    EXPECT_TRUE(WaitUntil(all_committed, 5s, 200ms));
    ASSERT_NO_FATAL_FAILURE(pipeline_->StopVerifier());
    for (const auto& [p, offsets] : CommittedAndHigh(cluster_->bootstrap(), group, topic_)) {
      EXPECT_EQ(offsets.first, offsets.second) << "partition " << p << ": committed vs log end";
    }
  }

  const std::string topic_ = "kcanary-restarts";
  TempDir dir_;
  std::unique_ptr<EmbeddedCluster> cluster_;
  std::unique_ptr<SplitPipeline> pipeline_;
  uint64_t redelivered_ = 0;
};

TEST_F(RestartTest, VerifierRestartMidStreamCausesNoFalseAnomaly) {
  for (int i = 0; i < kRestarts; ++i) {
    ASSERT_NO_FATAL_FAILURE(pipeline_->StopVerifier());
    // Traffic goes on while the verifier is away.
    ASSERT_NO_FATAL_FAILURE(pipeline_->WaitForAcks(300));
    ASSERT_NO_FATAL_FAILURE(pipeline_->StartVerifier());
    ASSERT_NO_FATAL_FAILURE(pipeline_->WaitForReads(400));
  }
  FinishAndCheck();
  RecordProperty("redelivered", std::to_string(redelivered_));
}

TEST_F(RestartTest, CanaryRestartMidStreamCausesNoFalseAnomaly) {
  for (int i = 0; i < kRestarts; ++i) {
    ASSERT_NO_FATAL_FAILURE(pipeline_->StopCanary());
    // The verifier goes on reading what the canary left.
    int64_t unseen = -1;
    EXPECT_TRUE(WaitUntil(
        [&] { return pipeline_->VerifierTotals(&unseen).received >= pipeline_->acked(); }, 20s));
    ASSERT_NO_FATAL_FAILURE(pipeline_->StartCanary());
    ASSERT_NO_FATAL_FAILURE(pipeline_->WaitForReads(400));
  }
  FinishAndCheck();
}

}  // namespace
}  // namespace kcanary::it
