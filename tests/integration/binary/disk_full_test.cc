// The verifier's state disk runs full (issue 7): the kcanary binary, as
// `kcanary verify`, keeps its state on a 16 MiB tmpfs that the test fills to
// ENOSPC while a separate `kcanary canary` keeps writing. kcanary must
//  - report it: kcanary_state_write_failures_total rises, the process and
//    /healthz stay up;
//  - not commit offsets it could not persist: the group's committed offsets
//    stand still while the log grows;
//  - recover when space returns, without a restart and after a kill -9
//    during the outage, and in the end judge every record exactly once: no
//    lost, duplicated or unexpected record against the ground truth.
//
// Needs root (a private mount namespace and a tmpfs); skipped otherwise.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/embedded_cluster.h"
#include "app/service.h"
#include "tests/integration/support/it_support.h"

namespace kcanary::it {
namespace {

constexpr int kPartitions = 3;
const std::string kTopic = "kcanary-disk-full";
const std::string kGroup = "kcanary-verifier-" + kTopic;

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for a mount namespace and a tmpfs";
    // A mount namespace of this thread (and the children it forks): the
    // tmpfs is invisible to the rest of the machine and dies with us.
    ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << std::strerror(errno);
    ASSERT_EQ(::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0)
        << std::strerror(errno);
    ASSERT_EQ(::mkdir(disk_.c_str(), 0700), 0) << std::strerror(errno);
    ASSERT_EQ(::mount("tmpfs", disk_.c_str(), "tmpfs", 0, "size=16m"), 0) << std::strerror(errno);
    mounted_ = true;
    auto cluster = EmbeddedCluster::Start(3, kTopic, kPartitions);
    ASSERT_TRUE(cluster.ok()) << cluster.status().message();
    cluster_ = std::move(*cluster);
  }

  void TearDown() override {
    if (mounted_) ::umount2(disk_.c_str(), MNT_DETACH);
  }

  std::unique_ptr<Child> Start(const std::string& role, const std::string& state_dir, int port,
                               std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{KcanaryBinary(),
                                  role,
                                  "-b",
                                  cluster_->bootstrap(),
                                  "-t",
                                  kTopic,
                                  "--state-dir",
                                  state_dir,
                                  "--listen",
                                  "127.0.0.1:" + std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<Child>(argv, dir_.path());
  }
  std::unique_ptr<Child> StartVerifier() {
    return Start("verify", verifier_state_, verifier_port_);
  }

  double VerifierMetric(const std::string& name) {
    return SumOf(ParseMetrics(HttpGet(verifier_port_, "/metrics", 2000).body), name);
  }
  // /status says "consuming" once the verifier's start offsets are stored.
  bool Consuming() {
    const nlohmann::json j =
        nlohmann::json::parse(HttpGet(verifier_port_, "/status", 1000).body, nullptr, false);
    return j.is_object() && j.value("consuming", false);
  }
  double Failures() { return VerifierMetric("kcanary_state_write_failures_total"); }
  double Received() { return VerifierMetric("kcanary_messages_received_total"); }

  // Writes a filler file until the tmpfs is full.
  void FillDisk() {
    const int fd = ::open(filler_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    const std::string chunk(4096, 'f');
    while (::write(fd, chunk.data(), chunk.size()) > 0) {
    }
    const int err = errno;
    ::close(fd);
    ASSERT_EQ(err, ENOSPC) << std::strerror(err);
  }
  void FreeDisk() { ASSERT_EQ(::unlink(filler_.c_str()), 0) << std::strerror(errno); }

  // Sum over partitions of the group's committed offsets.
  int64_t Committed() {
    int64_t sum = 0;
    for (const auto& [p, offsets] : CommittedAndHigh(cluster_->bootstrap(), kGroup, kTopic)) {
      sum += std::max<int64_t>(offsets.first, 0);
    }
    return sum;
  }
  int64_t LogEnd() {
    int64_t sum = 0;
    for (const auto& [p, offsets] : CommittedAndHigh(cluster_->bootstrap(), kGroup, kTopic)) {
      sum += offsets.second;
    }
    return sum;
  }

  // Fills the disk and waits until the running verifier has failed writes
  // while it keeps reading; checks that its commits stand still meanwhile.
  void OutageWhileReading(Child& verifier) {
    const double failures_before = Failures();
    ASSERT_NO_FATAL_FAILURE(FillDisk());
    ASSERT_TRUE(WaitUntil([&] { return Failures() > failures_before; }, 30s)) << verifier.Stderr();
    // Positions stored before the disk filled may still be committed (at
    // most once a second): let that settle, then nothing more may move.
    std::this_thread::sleep_for(2500ms);
    const int64_t committed = Committed();
    const int64_t log_end = LogEnd();
    const double received = Received();
    ASSERT_TRUE(WaitUntil([&] { return Received() > received + 100; }, 20s))
        << "the verifier stopped reading while its disk was full\n"
        << verifier.Stderr();
    // The reads above may be a backlog: wait for the log to grow as well.
    EXPECT_TRUE(WaitUntil([&] { return LogEnd() > log_end; }, 20s)) << "the canary stopped writing";
    EXPECT_EQ(Committed(), committed)
        << "offsets of receipts that were never stored were committed";
    EXPECT_GT(Failures(), failures_before);
    const std::string status = HttpGet(verifier_port_, "/status").body;
    const nlohmann::json j = nlohmann::json::parse(status, nullptr, false);
    ASSERT_TRUE(j.is_object()) << status;
    EXPECT_GT(j.value("state_write_failures", 0.0), failures_before) << status;
    EXPECT_TRUE(verifier.running());
    EXPECT_EQ(HttpGet(verifier_port_, "/healthz").status, 200);
  }

  TempDir dir_;
  const std::string disk_ = dir_.Sub("disk");
  const std::string filler_ = disk_ + "/filler";
  const std::string verifier_state_ = disk_ + "/verifier";
  const std::string canary_state_ = dir_.Sub("canary");
  const int verifier_port_ = FreeLoopbackPort();
  const int canary_port_ = FreeLoopbackPort();
  bool mounted_ = false;
  std::unique_ptr<EmbeddedCluster> cluster_;
};

TEST_F(DiskFullTest, VerifierStopsCommittingWhileFullAndRecoversWithoutLossOrDoubleCount) {
  // The verifier first: at its first start it reads from the log end, so a
  // record the canary wrote before the verifier stored its start is not its
  // to judge, and the ground truth below would count it.
  std::unique_ptr<Child> verifier = StartVerifier();
  ASSERT_TRUE(WaitUntil([&] { return Consuming(); }, 30s)) << verifier->Stderr();
  std::unique_ptr<Child> canary =
      Start("canary", canary_state_, canary_port_, {"--rate", "300", "--message-size", "200"});
  ASSERT_TRUE(WaitUntil([&] { return Received() > 300; }, 30s)) << verifier->Stderr();
  EXPECT_EQ(Failures(), 0);

  // 1. Full, then space returns while the verifier runs on.
  ASSERT_NO_FATAL_FAILURE(OutageWhileReading(*verifier));
  const int64_t committed_when_full = Committed();
  ASSERT_NO_FATAL_FAILURE(FreeDisk());
  ASSERT_TRUE(WaitUntil([&] { return Committed() > committed_when_full; }, 30s))
      << "no commit after space returned\n"
      << verifier->Stderr();
  EXPECT_NE(verifier->Stderr().find("state stored again after"), std::string::npos)
      << verifier->Stderr();

  // 2. Full again, and the verifier is killed before space returns: what it
  // read but could not store is read again by the next one.
  ASSERT_NO_FATAL_FAILURE(OutageWhileReading(*verifier));
  verifier->Signal(SIGKILL);
  ASSERT_TRUE(verifier->Wait(10s).has_value());
  ASSERT_NO_FATAL_FAILURE(FreeDisk());
  verifier = StartVerifier();
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(verifier_port_, "/readyz", 500).status == 200; }, 30s))
      << verifier->Stderr();
  const double received = Received();
  ASSERT_TRUE(WaitUntil([&] { return Received() > received + 300; }, 30s)) << verifier->Stderr();

  // 3. The canary stops; a verifier alone reads to the end; every record is
  // judged once, as the log and the canary's delivery reports say.
  canary->Signal(SIGTERM);
  std::optional<int> status = canary->Wait(30s);
  ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << canary->Stderr();
  verifier->Signal(SIGTERM);
  status = verifier->Wait(30s);
  ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << verifier->Stderr();
  // Bounded log: two outages of dozens of failed writes a second each.
  const std::string log = verifier->Stderr();
  EXPECT_LT(std::count(log.begin(), log.end(), '\n'), 200) << log;

  std::unique_ptr<Service> final_verifier = CatchUp(cluster_->bootstrap(), kTopic, verifier_state_);
  ASSERT_TRUE(final_verifier);
  const ClassCounts total = Totals(final_verifier->hub());
  RecordProperty("classes", Describe(total));
  EXPECT_TRUE(NoAnomaly(total)) << Describe(total);
  const Expected truth = CheckAgainstGroundTruth(final_verifier->hub(), cluster_->bootstrap(),
                                                 kTopic, canary_state_, kTopic);
  EXPECT_GT(truth.counts.received, 1000u);
  EXPECT_EQ(truth.counts.received, truth.acked) << Describe(total);
}

}  // namespace
}  // namespace kcanary::it
