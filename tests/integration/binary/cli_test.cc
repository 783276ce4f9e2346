// The `kcanary` binary as a user meets it (SPEC §3, §4): usage errors exit 2
// and name the culprit, start-up failures exit non-zero and say why, an
// unreachable cluster is reported in metrics while the process keeps serving,
// and SIGTERM stops it cleanly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>

#include "app/embedded_cluster.h"
#include "tests/integration/support/it_support.h"

namespace kcanary::it {
namespace {

using Clock = std::chrono::steady_clock;

class CliTest : public ::testing::Test {
 protected:
  RunResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), KcanaryBinary());
    return RunToExit(std::move(args), dir_.path(), 20s);
  }

  // Starts `kcanary run` against `brokers` with HTTP on a free port and waits
  // until /healthz answers.
  std::unique_ptr<Child> StartRun(const std::string& brokers) {
    port_ = FreeLoopbackPort();
    auto child = std::make_unique<Child>(
        std::vector<std::string>{KcanaryBinary(), "run", "-b", brokers, "--state-dir",
                                 dir_.Sub("state"), "--listen",
                                 "127.0.0.1:" + std::to_string(port_), "--rate", "200"},
        dir_.path());
    EXPECT_TRUE(WaitUntil([&] { return HttpGet(port_, "/healthz", 1000).status == 200; }, 15s))
        << child->Stdout() << child->Stderr();
    return child;
  }

  TempDir dir_;
  int port_ = 0;
};

TEST_F(CliTest, HelpExitsZeroAndListsCommands) {
  const RunResult r = Run({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* word : {"run", "canary", "verify"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word << "\n" << r.out;
  }
}

TEST_F(CliTest, UnknownFlagExits2AndNamesIt) {
  const RunResult r = Run({"run", "--no-such-flag", "--listen", "none"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
}

TEST_F(CliTest, BadValueExits2AndNamesTheFlag) {
  const RunResult r = Run({"run", "--rate", "fast", "--listen", "none"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--rate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fast"), std::string::npos) << r.err;
}

TEST_F(CliTest, CanaryWithoutBrokersExits2) {
  const RunResult r = Run({"canary", "--state-dir", dir_.Sub("state"), "--listen", "none"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("brokers"), std::string::npos) << r.err;
}

TEST_F(CliTest, VerifyWithoutBrokersExits2) {
  const RunResult r = Run({"verify", "--state-dir", dir_.Sub("state"), "--listen", "none"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("brokers"), std::string::npos) << r.err;
}

TEST_F(CliTest, StateDirThatIsAFileFailsNamingThePath) {
  const std::string file = dir_.Sub("not-a-directory");
  std::ofstream(file) << "x";
  const RunResult r = Run({"run", "--state-dir", file, "--listen", "none"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1) << "killed, not exited";
  EXPECT_NE((r.out + r.err).find(file), std::string::npos) << r.out << r.err;
}

TEST_F(CliTest, UnreachableBrokerKeepsServingAndReportsKafkaDown) {
  std::unique_ptr<Child> child = StartRun("127.0.0.1:1");
  ASSERT_EQ(HttpGet(port_, "/healthz").status, 200);
  // Keeps running and serving for a while, reporting the outage in metrics.
  const auto until = Clock::now() + 3s;
  while (Clock::now() < until) {
    ASSERT_TRUE(child->running()) << child->Stdout() << child->Stderr();
    HttpReply metrics = HttpGet(port_, "/metrics");
    ASSERT_EQ(metrics.status, 200);
    const std::vector<Sample> samples = ParseMetrics(metrics.body);
    ASSERT_EQ(CountOf(samples, "kcanary_kafka_up"), 1) << metrics.body;
    EXPECT_EQ(SumOf(samples, "kcanary_kafka_up"), 0);
    EXPECT_EQ(HttpGet(port_, "/healthz").status, 200);
    std::this_thread::sleep_for(500ms);
  }
  // SIGTERM stops it with exit 0. Bounded loosely: see the disabled test below.
  const auto sent = Clock::now();
  child->Signal(SIGTERM);
  const std::optional<int> status = child->Wait(40s);
  ASSERT_TRUE(status.has_value()) << "still running 40 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  RecordProperty(
      "sigterm_to_exit_ms",
      std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent).count()));
}

// SIGTERM shortly after start must not wait for an unreachable cluster
// (start-up never blocks on the cluster; Stop() overlaps its waits).
TEST_F(CliTest, UnreachableBrokerSigtermSoonAfterStartExitsWithinFiveSeconds) {
  std::unique_ptr<Child> child = StartRun("127.0.0.1:1");
  child->Signal(SIGTERM);
  const std::optional<int> status = child->Wait(5s);
  ASSERT_TRUE(status.has_value()) << "still running 5 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

// SPEC §4: readiness reflects kcanary's own health, not the cluster's; a
// Kafka outage shows in metrics, not as an unready sidecar.
TEST_F(CliTest, UnreachableBrokerIsStillReady) {
  std::unique_ptr<Child> child = StartRun("127.0.0.1:1");
  EXPECT_TRUE(WaitUntil([&] { return HttpGet(port_, "/readyz").status == 200; }, 10s));
}

TEST_F(CliTest, SigtermStopsAHealthyRunCleanly) {
  auto cluster = EmbeddedCluster::Start(3, "kcanary", 2);
  ASSERT_TRUE(cluster.ok()) << cluster.status().message();
  std::unique_ptr<Child> child = StartRun((*cluster)->bootstrap());
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(port_, "/readyz").status == 200; }, 20s))
      << child->Stdout() << child->Stderr();
  ASSERT_TRUE(WaitUntil(
      [&] {
        return SumOf(ParseMetrics(HttpGet(port_, "/metrics").body),
                     "kcanary_messages_received_total") >= 100;
      },
      20s));
  const auto sent = Clock::now();
  child->Signal(SIGTERM);
  const std::optional<int> status = child->Wait(10s);
  ASSERT_TRUE(status.has_value()) << "still running 10 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  EXPECT_LT(Clock::now() - sent, 5s);
  EXPECT_NE((child->Stdout() + child->Stderr()).find("stopped cleanly"), std::string::npos);
  // A graceful stop leaves nothing in doubt: the next start finds no
  // in-flight records to mark possibly persisted.
  std::unique_ptr<Child> again = StartRun((*cluster)->bootstrap());
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(port_, "/readyz").status == 200; }, 20s));
  again->Signal(SIGTERM);
  ASSERT_TRUE(again->Wait(10s).has_value());
  const std::string log = again->Stdout() + again->Stderr();
  EXPECT_NE(log.find("resum"), std::string::npos) << log;
  EXPECT_EQ(log.find("in doubt"), std::string::npos) << log;
}

}  // namespace
}  // namespace kcanary::it
