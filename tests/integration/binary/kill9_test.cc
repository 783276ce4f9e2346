// kill -9 robustness of `kcanary run` (SPEC §8 S4/S5 on the mock): the binary
// runs as a child process against a mock cluster this test owns, is SIGKILLed
// at random moments and restarted on the same state dir, then stopped
// gracefully. The stored verdicts must match the ground truth: no lost,
// duplicated or unexpected record. Records the killed canary had handed to
// librdkafka without a delivery report are in doubt; the restarted canary
// marks them possibly persisted with error "canary_restart", so each ends
// `recovered` if the log holds it and `indeterminate{error=canary_restart}`
// if not. Receipts the killed verifier had not stored are read again and
// count once (redelivered, not received twice).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <random>

#include "app/embedded_cluster.h"
#include "app/service.h"
#include "tests/integration/support/it_support.h"

namespace kcanary::it {
namespace {

constexpr int kPartitions = 3;
constexpr int kKills = 5;
const std::string kTopic = "kcanary-kill9";

class Kill9Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EmbeddedCluster::Start(3, kTopic, kPartitions);
    ASSERT_TRUE(cluster.ok()) << cluster.status().message();
    cluster_ = std::move(*cluster);
  }

  std::unique_ptr<Child> StartRun() {
    port_ = FreeLoopbackPort();
    return std::make_unique<Child>(
        std::vector<std::string>{KcanaryBinary(), "run", "-b", cluster_->bootstrap(), "-t", kTopic,
                                 "--state-dir", state_dir_, "--listen",
                                 "127.0.0.1:" + std::to_string(port_), "--rate", "300",
                                 "--message-size", "200"},
        dir_.path());
  }

  double Received() {
    return SumOf(ParseMetrics(HttpGet(port_, "/metrics", 2000).body),
                 "kcanary_messages_received_total");
  }

  TempDir dir_;
  const std::string state_dir_ = dir_.Sub("state");
  std::unique_ptr<EmbeddedCluster> cluster_;
  int port_ = 0;
};

TEST_F(Kill9Test, RepeatedKillMinus9CausesNoFalseAnomaly) {
  const unsigned seed = std::random_device{}();
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);

  for (int i = 0; i < kKills; ++i) {
    std::unique_ptr<Child> child = StartRun();
    // At a random point of steady traffic. (A kill during the very first
    // start-up hits a known bug: see the disabled test below.)
    ASSERT_TRUE(WaitUntil([&] { return HttpGet(port_, "/readyz", 500).status == 200; }, 20s))
        << child->Stdout();
    const double start = Received();
    const double more = std::uniform_int_distribution<int>(20, 600)(rng);
    ASSERT_TRUE(WaitUntil([&] { return Received() >= start + more; }, 20s)) << child->Stdout();
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::uniform_int_distribution<int>(0, 100)(rng)));  // jitter, not a verdict
    child->Signal(SIGKILL);
    const std::optional<int> status = child->Wait(10s);
    ASSERT_TRUE(status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
  }

  // A last incarnation runs a while, then stops gracefully.
  std::unique_ptr<Child> last = StartRun();
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(port_, "/readyz", 500).status == 200; }, 20s));
  const double start = Received();
  ASSERT_TRUE(WaitUntil([&] { return Received() >= start + 600; }, 20s));
  const std::string status_json = HttpGet(port_, "/status").body;
  last->Signal(SIGTERM);
  const std::optional<int> status = last->Wait(15s);
  ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << last->Stdout();

  // Read what the last incarnation left unread: a verifier alone on the same
  // state (the canary is stopped, so the log no longer grows).
  std::unique_ptr<Service> verifier = CatchUp(cluster_->bootstrap(), kTopic, state_dir_);
  ASSERT_TRUE(verifier);

  const ClassCounts total = Totals(verifier->hub());
  RecordProperty("classes", Describe(total));
  EXPECT_EQ(total.lost, 0u) << Describe(total);
  EXPECT_EQ(total.duplicated, 0u) << Describe(total);
  EXPECT_EQ(total.unexpected, 0u) << Describe(total);
  EXPECT_EQ(total.offset_inconsistencies, 0u) << Describe(total);
  EXPECT_EQ(total.reordered, 0u) << Describe(total);
  EXPECT_TRUE(total.invalid.empty()) << Describe(total);
  EXPECT_TRUE(total.not_committed.empty()) << Describe(total);
  // The only failures are the in-doubt records of the kills.
  for (const auto& [error, n] : total.indeterminate) {
    EXPECT_EQ(error, "canary_restart") << Describe(total);
  }
  // Class by class, the verdicts equal the log and the canary's reports.
  const Expected truth =
      CheckAgainstGroundTruth(verifier->hub(), cluster_->bootstrap(), kTopic, state_dir_, kTopic);
  EXPECT_GT(truth.counts.received, 0u);
  // What /status said before the graceful stop agrees: no anomaly.
  const nlohmann::json j = nlohmann::json::parse(status_json, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << status_json;
  for (const char* k : {"lost", "duplicated", "unexpected", "offset_inconsistencies"}) {
    EXPECT_EQ(j["totals"][k], 0) << k << "\n" << status_json;
  }
  EXPECT_GT(j["totals"]["received"].get<int64_t>(), 0);
  EXPECT_EQ(j["partitions"].size(), static_cast<size_t>(kPartitions));
}

// A fresh verifier stores its start offset before the canary may write, so a
// kill -9 right after the first acks still leaves every acked record at or
// above where the restarted verifier resumes: each ends in exactly one class
// (SPEC §2), none unjudged.
TEST_F(Kill9Test, KillRightAfterFirstAcksOnFreshStateJudgesEveryRecord) {
  {
    std::unique_ptr<Child> child = StartRun();
    ASSERT_TRUE(WaitUntil(
        [&] {
          return SumOf(ParseMetrics(HttpGet(port_, "/metrics", 500).body),
                       "kcanary_messages_acked_total") > 0;
        },
        20s, 2ms));
    child->Signal(SIGKILL);
    ASSERT_TRUE(child->Wait(10s).has_value());
  }
  std::unique_ptr<Child> last = StartRun();
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(port_, "/readyz", 500).status == 200; }, 20s));
  const double start = Received();
  ASSERT_TRUE(WaitUntil([&] { return Received() >= start + 300; }, 20s));
  last->Signal(SIGTERM);
  ASSERT_TRUE(last->Wait(15s).has_value());
  std::unique_ptr<Service> verifier = CatchUp(cluster_->bootstrap(), kTopic, state_dir_);
  ASSERT_TRUE(verifier);
  // Fails: received is short by the records acked before the kill.
  CheckAgainstGroundTruth(verifier->hub(), cluster_->bootstrap(), kTopic, state_dir_, kTopic);
}

// Found by the soak benchmark: a fresh verifier whose first assignment pass
// stopped at a partition without a leader had already started the partitions
// before it in memory, but stored none of their starts. Killed before it read
// from them, the next verifier began those at the newer log end, and every
// record written in between was in no class at all.
TEST_F(Kill9Test, KillDuringAnIncompleteFirstAssignmentKeepsEveryStart) {
  ASSERT_EQ(rd_kafka_mock_partition_set_leader(cluster_->mock(), kTopic.c_str(), 1, -1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  const std::string verifier_state = dir_.Sub("verifier");
  auto start_verifier = [&] {
    return std::make_unique<Child>(
        std::vector<std::string>{KcanaryBinary(), "verify", "-b", cluster_->bootstrap(), "-t",
                                 kTopic, "--state-dir", verifier_state, "--listen", "none"},
        dir_.path());
  };
  const std::string first_start = "reading " + kTopic + "/0 from offset 0";
  {
    std::unique_ptr<Child> verifier = start_verifier();
    // Partition 0 got its start (the log end, 0) before the pass met the
    // leaderless partition 1. The line is logged once that start is stored
    // (before, a kill between the line and the store failed this under load).
    ASSERT_TRUE(
        WaitUntil([&] { return verifier->Stderr().find(first_start) != std::string::npos; }, 20s))
        << verifier->Stderr();
    verifier->Signal(SIGKILL);
    ASSERT_TRUE(verifier->Wait(10s).has_value());
  }
  ASSERT_EQ(rd_kafka_mock_partition_set_leader(cluster_->mock(), kTopic.c_str(), 1, 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  // Written after the first verifier chose where partition 0 starts.
  ASSERT_EQ(ProduceRaw(cluster_->bootstrap(), kTopic, 0, std::vector<std::string>(50, "x")), 50);

  std::unique_ptr<Child> verifier = start_verifier();
  ASSERT_TRUE(WaitUntil(
      [&] {
        return verifier->Stderr().find("reading " + kTopic + "/0 from offset") != std::string::npos;
      },
      20s))
      << verifier->Stderr();
  EXPECT_NE(verifier->Stderr().find(first_start), std::string::npos)
      << "the restarted verifier skipped what was written since the first one started:\n"
      << verifier->Stderr();
  verifier->Signal(SIGTERM);
  ASSERT_TRUE(verifier->Wait(15s).has_value());
}

}  // namespace
}  // namespace kcanary::it
