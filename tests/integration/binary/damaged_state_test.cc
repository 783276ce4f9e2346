// A state dir kcanary cannot trust (issue 7): a damaged RocksDB store, or one
// written by a newer kcanary. The binary must refuse to start with a message
// that says what is wrong and how to reset (never start over silently: the
// old receipts would be forgotten without a word), and the documented reset
// (move the directory aside) must work.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "app/embedded_cluster.h"
#include "common/store/state_store.h"
#include "tests/integration/support/it_support.h"

namespace kcanary::it {
namespace fs = std::filesystem;
namespace {

class DamagedStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EmbeddedCluster::Start(3, "kcanary", 2);
    ASSERT_TRUE(cluster.ok()) << cluster.status().message();
    cluster_ = std::move(*cluster);
  }

  std::vector<std::string> RunArgs() {
    port_ = FreeLoopbackPort();
    return {KcanaryBinary(), "run",  "-b",       cluster_->bootstrap(),
            "--state-dir",   state_, "--listen", "127.0.0.1:" + std::to_string(port_),
            "--rate",        "200"};
  }

  // Runs kcanary until it has read `records`, then stops it gracefully.
  void RunUntilReceived(double records) {
    Child child(RunArgs(), dir_.path());
    ASSERT_TRUE(WaitUntil(
        [&] {
          return SumOf(ParseMetrics(HttpGet(port_, "/metrics", 1000).body),
                       "kcanary_messages_received_total") >= records;
        },
        20s))
        << child.Stderr();
    child.Signal(SIGTERM);
    const std::optional<int> status = child.Wait(15s);
    ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << child.Stderr();
  }

  // A start that must be refused: exits non-zero (not killed) and says why.
  std::string RefusedStart() {
    const RunResult r = RunToExit(RunArgs(), dir_.path(), 20s);
    EXPECT_GT(r.exit_code, 0) << r.err;
    EXPECT_EQ(HttpGet(port_, "/healthz", 500).status, -1) << "it must not serve on a bad state";
    return r.err;
  }

  void ExpectResetAdvice(const std::string& err) {
    EXPECT_NE(err.find("mv " + state_ + " " + state_ + ".old"), std::string::npos) << err;
  }

  TempDir dir_;
  const std::string state_ = dir_.Sub("state");
  std::unique_ptr<EmbeddedCluster> cluster_;
  int port_ = 0;
};

TEST_F(DamagedStateTest, CorruptStoreIsRefusedWithResetAdviceAndTheResetWorks) {
  ASSERT_NO_FATAL_FAILURE(RunUntilReceived(100));
  // Garbage over the MANIFEST, the store's index of its files.
  int damaged = 0;
  for (const auto& e : fs::directory_iterator(state_)) {
    if (e.path().filename().string().rfind("MANIFEST-", 0) != 0) continue;
    std::ofstream(e.path(), std::ios::binary | std::ios::trunc) << std::string(512, '\x5a');
    ++damaged;
  }
  ASSERT_GT(damaged, 0);

  const std::string err = RefusedStart();
  EXPECT_NE(err.find("is corrupt"), std::string::npos) << err;
  ExpectResetAdvice(err);
  // Refusing did not touch the evidence.
  EXPECT_TRUE(fs::exists(state_));
  EXPECT_FALSE(fs::exists(state_ + ".old"));

  // The documented reset: move the directory aside, start again.
  fs::rename(state_, state_ + ".old");
  ASSERT_NO_FATAL_FAILURE(RunUntilReceived(50));
}

TEST_F(DamagedStateTest, StoreOfANewerSchemaIsRefusedAndLeftAsItWas) {
  ASSERT_NO_FATAL_FAILURE(RunUntilReceived(20));
  {
    auto store = StateStore::Open(state_, StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status().message();
    WriteBatch batch;
    batch.Put(StateStore::kSchemaVersionKey, "2");
    ASSERT_TRUE((*store)->Write(batch).ok());
  }
  const std::string err = RefusedStart();
  EXPECT_NE(err.find("written by a newer kcanary (schema version 2"), std::string::npos) << err;
  ExpectResetAdvice(err);
  // The newer kcanary can still use it: the version was not rewritten.
  auto store = StateStore::Open(state_, StoreOptions{});
  EXPECT_EQ(store.status().code(), Status::Code::kFailedPrecondition);
}

}  // namespace
}  // namespace kcanary::it
