// The `kcanary` binary as a user meets it (SPEC §3, §4): usage errors exit 2
// and name the culprit, start-up failures exit non-zero and say why, an
// unreachable cluster is reported in metrics while the process keeps serving,
// and SIGTERM stops it cleanly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>

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

// --listen-auth: /metrics and /status need the credentials, the probes do not,
// and the password shows up nowhere the process writes.
TEST_F(CliTest, ListenAuthGuardsEverythingButProbesAndNeverLogsThePassword) {
  const std::string auth = dir_.Sub("listen-auth");
  std::ofstream(auth) << "# scrapers\nprom:hunter2-listen-secret\n";
  port_ = FreeLoopbackPort();
  Child child(
      {KcanaryBinary(), "run", "-b", "127.0.0.1:1", "--state-dir", dir_.Sub("state"), "--listen",
       "127.0.0.1:" + std::to_string(port_), "--listen-auth", auth, "--log-level", "debug"},
      dir_.path());
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(port_, "/healthz", 1000).status == 200; }, 15s))
      << child.Stdout() << child.Stderr();
  EXPECT_TRUE(WaitUntil([&] { return HttpGet(port_, "/readyz", 1000).status == 200; }, 10s));
  EXPECT_EQ(HttpGet(port_, "/metrics").status, 401);
  EXPECT_EQ(HttpGet(port_, "/status").status, 401);
  EXPECT_EQ(HttpGet(port_, "/").status, 401);
  const std::string wrong = "Authorization: Basic cHJvbTpodW50ZXIy\r\n";  // prom:hunter2
  EXPECT_EQ(HttpGet(port_, "/metrics", 5000, wrong).status, 401);
  // prom:hunter2-listen-secret
  const std::string right = "Authorization: Basic cHJvbTpodW50ZXIyLWxpc3Rlbi1zZWNyZXQ=\r\n";
  const HttpReply metrics = HttpGet(port_, "/metrics", 5000, right);
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(CountOf(ParseMetrics(metrics.body), "kcanary_kafka_up"), 1);
  const HttpReply status = HttpGet(port_, "/status", 5000, right);
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.body.find("hunter2-listen-secret"), std::string::npos);
  child.Signal(SIGTERM);
  ASSERT_TRUE(child.Wait(40s).has_value());
  EXPECT_NE(child.Stderr().find("basic auth: 1 user(s)"), std::string::npos)
      << child.Stdout() << child.Stderr();
  EXPECT_EQ((child.Stdout() + child.Stderr()).find("hunter2-listen-secret"), std::string::npos);
}

TEST_F(CliTest, BadListenAuthFileFailsNamingTheLineNotItsText) {
  const std::string auth = dir_.Sub("listen-auth");
  std::ofstream(auth) << "prom:ok\nhunter2-no-colon-secret\n";
  const RunResult r = Run(
      {"run", "--state-dir", dir_.Sub("state"), "--listen", "127.0.0.1:0", "--listen-auth", auth});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1) << "killed, not exited";
  EXPECT_NE((r.out + r.err).find(auth + ":2: expected user:password"), std::string::npos)
      << r.out << r.err;
  EXPECT_EQ((r.out + r.err).find("hunter2"), std::string::npos) << r.out << r.err;
  const RunResult missing = Run({"run", "--state-dir", dir_.Sub("state"), "--listen", "127.0.0.1:0",
                                 "--listen-auth", dir_.Sub("absent")});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE((missing.out + missing.err).find(dir_.Sub("absent")), std::string::npos);
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

// The first failed probe is logged at once, with the client's own last error
// (the probe's request error alone is often just "timed out"): here the
// refused connection; on a secured cluster, e.g. the SASL authentication
// failure (tests/e2e/test_secured_cluster.py).
TEST_F(CliTest, UnreachableBrokerIsLoggedWithTheClientError) {
  std::unique_ptr<Child> child = StartRun("127.0.0.1:1");
  const std::regex line(
      "Kafka cluster unreachable: [^\n]*\\(last client error: [^\n]*"
      "(Connection refused|brokers are down)");
  EXPECT_TRUE(WaitUntil([&] { return std::regex_search(child->Stderr(), line); }, 15s))
      << child->Stderr();
  child->Signal(SIGTERM);
  EXPECT_TRUE(child->Wait(40s).has_value());
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
  EXPECT_LT(Clock::now() - sent, 5s) << child->Stderr();
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
