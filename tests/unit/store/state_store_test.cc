// Tests for kcanary::StateStore: the API contract, operator-facing errors,
// durability across kill -9, recovery after a full disk, and concurrency.
//
// Several tests need a second process: one that is SIGKILLed mid-write, one
// that holds the store's lock, one that runs under a file-size limit or in
// its own mount namespace, one that drops root. They re-execute this binary
// with KCANARY_STORE_TEST_CHILD=<mode>; a static initializer runs that mode
// and exits before gtest starts. A plain fork() would be unsafe: the parent
// may already run RocksDB's background threads, which a forked child lacks.
#include "common/store/state_store.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

extern char** environ;

namespace kcanary {
namespace {

namespace fs = std::filesystem;

// gtest without gmock: EXPECT_THAT(s, HasSubstr(x)) in plain form.
#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find \"" << (needle) << "\" in:\n  " << (haystack)

constexpr char kModeEnv[] = "KCANARY_STORE_TEST_CHILD";
constexpr char kDirEnv[] = "KCANARY_STORE_TEST_DIR";
constexpr char kStartEnv[] = "KCANARY_STORE_TEST_START";
constexpr int kSkipExit = 77;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// --- Batches with a checkable shape ----------------------------------------
//
// Batch i puts kKeysPerBatch keys "b/<i>/<j>", sometimes a large value
// "g/<i>", moves the single tip key "t/<i-1>" to "t/<i>" (a delete plus a
// put) and sets "last" to i. After any crash the store must hold batches
// 0..n-1 exactly, each whole, with tip and last naming n-1.

constexpr int kKeysPerBatch = 8;

std::string Key(const char* kind, int64_t i) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s/%010lld", kind, static_cast<long long>(i));
  return buf;
}
std::string BatchKey(int64_t i, int j) { return Key("b", i) + "/" + std::to_string(j); }
std::string BatchValue(int64_t i, int j) {
  std::string v = "v:" + std::to_string(i) + ":" + std::to_string(j) + ":";
  v.resize(100, 'x');
  return v;
}
bool HasBig(int64_t i) { return i % 64 == 7; }
// Large enough that its WAL record takes several write(2) calls, so kill -9
// can tear it, and that memtables fill and flush during the test.
std::string BigValue(int64_t i) {
  std::string v(256 * 1024, static_cast<char>('a' + i % 26));
  const std::string tag = "<" + std::to_string(i) + ">";
  v.replace(0, tag.size(), tag);
  v.replace(v.size() - tag.size(), tag.size(), tag);
  return v;
}

WriteBatch MakeBatch(int64_t i) {
  WriteBatch b;
  for (int j = 0; j < kKeysPerBatch; ++j) b.Put(BatchKey(i, j), BatchValue(i, j));
  if (HasBig(i)) b.Put(Key("g", i), BigValue(i));
  if (i > 0) b.Delete(Key("t", i - 1));
  b.Put(Key("t", i), "");
  b.Put("last", std::to_string(i));
  return b;
}

struct Verified {
  std::string error;  // Empty when the store has the expected shape.
  int64_t batches = 0;
};

Verified VerifyBatches(const StateStore& store) {
  Verified r;
  auto fail = [&r](const std::string& e) {
    r.error = e;
    return r;
  };
  auto rows = store.ScanPrefix("b/");
  if (!rows.ok()) return fail("scan b/: " + rows.status().message());
  std::map<int64_t, int> keys_per_batch;
  for (const auto& [key, value] : *rows) {
    const int64_t i = std::stoll(key.substr(2, 10));
    const int j = std::stoi(key.substr(13));
    if (value != BatchValue(i, j)) return fail("wrong value under " + key);
    ++keys_per_batch[i];
  }
  int64_t expect = 0;
  for (const auto& [i, n] : keys_per_batch) {
    if (i != expect)
      return fail("batch " + std::to_string(expect) + " missing before " + std::to_string(i));
    if (n != kKeysPerBatch) {
      return fail("partial batch " + std::to_string(i) + ": " + std::to_string(n) + " keys");
    }
    ++expect;
  }
  r.batches = expect;

  auto bigs = store.ScanPrefix("g/");
  if (!bigs.ok()) return fail("scan g/: " + bigs.status().message());
  int64_t want_bigs = 0;
  for (int64_t i = 0; i < r.batches; ++i) want_bigs += HasBig(i) ? 1 : 0;
  if (static_cast<int64_t>(bigs->size()) != want_bigs) {
    return fail("expected " + std::to_string(want_bigs) + " big values, found " +
                std::to_string(bigs->size()));
  }
  for (const auto& [key, value] : *bigs) {
    const int64_t i = std::stoll(key.substr(2));
    if (i >= r.batches || value != BigValue(i)) return fail("bad big value " + key);
  }

  auto tips = store.ScanPrefix("t/");
  if (!tips.ok()) return fail("scan t/: " + tips.status().message());
  auto last = store.Get("last");
  if (!last.ok()) return fail("get last: " + last.status().message());
  if (r.batches == 0) {
    if (!tips->empty() || last->has_value()) return fail("tip or last without any batch");
  } else {
    if (tips->size() != 1 || (*tips)[0].first != Key("t", r.batches - 1)) {
      return fail("tip keys do not name exactly batch " + std::to_string(r.batches - 1) +
                  " (found " + std::to_string(tips->size()) + ")");
    }
    if (!last->has_value() || **last != std::to_string(r.batches - 1)) {
      return fail("last is not " + std::to_string(r.batches - 1));
    }
  }
  return r;
}

// --- Child processes --------------------------------------------------------

// One line to the parent. write(2), not stdio: the child ends with _Exit.
void Say(const std::string& line) {
  const std::string s = line + "\n";
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(1, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string Errno() { return std::strerror(errno); }

// Writes batches from `start` on, reporting each one after Write() returned
// OK, until killed.
int ChildWriter() {
  auto store = StateStore::Open(Env(kDirEnv), StoreOptions{});
  if (!store.ok()) {
    Say("open-error " + store.status().message());
    return 2;
  }
  Say("open");
  for (int64_t i = std::stoll(Env(kStartEnv));; ++i) {
    const Status s = (*store)->Write(MakeBatch(i));
    if (!s.ok()) {
      Say("write-error " + s.message());
      return 3;
    }
    Say("ok " + std::to_string(i));
  }
}

// Holds the store open until stdin closes.
int ChildHold() {
  auto store = StateStore::Open(Env(kDirEnv), StoreOptions{});
  if (!store.ok()) {
    Say("open-error " + store.status().message());
    return 2;
  }
  Say("ready");
  char c;
  while (::read(0, &c, 1) > 0) {
  }
  return 0;
}

// Drops root if it has it, then reports what Open() says.
int ChildOpenAsNobody() {
  if (::geteuid() == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
      Say("cannot drop root: " + Errno());
      return kSkipExit;
    }
  }
  auto store = StateStore::Open(Env(kDirEnv), StoreOptions{});
  Say("code=" + std::to_string(static_cast<int>(store.status().code())) + " " +
      store.status().message());
  return 0;
}

// Fills the device with `fill`, checks that writes fail cleanly while it is
// full, frees it with `make_room`, and checks that writing resumes and that
// exactly the acknowledged batches survive, before and after a reopen.
// `stays_full`: whether a retry before make_room() must fail too.
int FillFailRecover(const std::string& dir, const std::function<std::string()>& fill,
                    const std::function<std::string()>& make_room, bool stays_full) {
  auto check = [](bool ok, const std::string& what) {
    if (!ok) Say("FAIL " + what);
    return ok;
  };
  {
    auto opened = StateStore::Open(dir, StoreOptions{});
    if (!check(opened.ok(), "open: " + opened.status().message())) return 1;
    StateStore& store = **opened;
    int64_t next = 0;
    for (; next < 10; ++next) {
      const Status s = store.Write(MakeBatch(next));
      if (!check(s.ok(), "write before full: " + s.message())) return 1;
    }
    if (const std::string e = fill(); !check(e.empty(), "fill: " + e)) return 1;

    Status failure;
    for (; next < 20000; ++next) {
      failure = store.Write(MakeBatch(next));
      if (!failure.ok()) break;
    }
    if (!check(!failure.ok(), "writes never failed on a full device")) return 1;
    Say("failed at batch " + std::to_string(next) + ": " + failure.message());
    if (!check(failure.code() == Status::Code::kIoError, "want IoError: " + failure.message()) ||
        !check(failure.message().find(dir) != std::string::npos, "message names no dir")) {
      return 1;
    }
    auto first = store.Get(BatchKey(0, 0));
    if (!check(first.ok() && first->has_value() && **first == BatchValue(0, 0),
               "reads fail while full")) {
      return 1;
    }
    // A retry before room comes back: recovery must fail cleanly while the
    // device is still full, whatever path it takes.
    const Status again = store.Write(MakeBatch(next));
    Say("retry before making room: " + (again.ok() ? "OK" : again.message()));
    if (again.ok()) {
      ++next;
    } else if (!check(again.code() == Status::Code::kIoError, "want IoError: " + again.message())) {
      return 1;
    }
    if (!check(!stays_full || !again.ok(), "write succeeded while full")) return 1;

    if (const std::string e = make_room(); !check(e.empty(), "make room: " + e)) return 1;
    // The failed batch is retried, as the verifier would, until recovery
    // (RocksDB's own, for a full disk, polls for space every few seconds).
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::seconds(60);
    Status retry;
    while (!(retry = store.Write(MakeBatch(next))).ok() &&
           std::chrono::steady_clock::now() < deadline) {
      if (!check(retry.code() == Status::Code::kIoError, "want IoError: " + retry.message())) {
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!check(retry.ok(), "never recovered: " + retry.message())) return 1;
    Say("recovered after " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count()) +
        " ms");
    for (const int64_t end = ++next + 4; next < end; ++next) {
      const Status s = store.Write(MakeBatch(next));
      if (!check(s.ok(), "write after room came back: " + s.message())) return 1;
    }
    const Verified v = VerifyBatches(store);
    if (!check(v.error.empty(), "verify: " + v.error)) return 1;
    if (!check(v.batches == next,
               "want " + std::to_string(next) + " batches, have " + std::to_string(v.batches))) {
      return 1;
    }
  }
  auto reopened = StateStore::Open(dir, StoreOptions{});
  if (!check(reopened.ok(), "reopen: " + reopened.status().message())) return 1;
  const Verified v = VerifyBatches(**reopened);
  if (!check(v.error.empty(), "verify after reopen: " + v.error)) return 1;
  Say("PASS " + std::to_string(v.batches) + " batches");
  return 0;
}

std::string WriteFile(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return path + ": " + Errno();
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const std::string err = ok ? "" : path + ": " + Errno();
  ::close(fd);
  return err;
}

// ENOSPC from a real (if tiny) file system: a private tmpfs mount.
int ChildDiskFull() {
  const std::string mnt = Env(kDirEnv);
  const uid_t uid = ::getuid();
  const gid_t gid = ::getgid();
  if (::unshare(CLONE_NEWNS) != 0) {
    // Not root: a user namespace makes us root of a private mount namespace.
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
      Say("cannot create a mount namespace: " + Errno());
      return kSkipExit;
    }
    std::string e = WriteFile("/proc/self/setgroups", "deny");
    if (e.empty()) e = WriteFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
    if (e.empty()) e = WriteFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
    if (!e.empty()) {
      Say("cannot map ids: " + e);
      return kSkipExit;
    }
  }
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=16m") != 0) {
    Say("cannot mount tmpfs: " + Errno());
    return kSkipExit;
  }
  const std::string filler = mnt + "/filler";
  return FillFailRecover(
      mnt + "/state",
      [&] {
        const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return "open filler: " + Errno();
        const std::string chunk(4096, 'f');
        while (::write(fd, chunk.data(), chunk.size()) > 0) {
        }
        const int err = errno;
        ::close(fd);
        return err == ENOSPC ? std::string() : "filler stopped with " + std::string(strerror(err));
      },
      [&] { return ::unlink(filler.c_str()) == 0 ? std::string() : "unlink filler: " + Errno(); },
      /*stays_full=*/true);
}

// EFBIG from RLIMIT_FSIZE: an I/O error RocksDB treats as fatal, so recovery
// must reopen the database rather than resume it.
int ChildFileSizeLimit() {
  const std::string dir = Env(kDirEnv);
  ::signal(SIGXFSZ, SIG_IGN);  // Get EFBIG instead of being killed.
  return FillFailRecover(
      dir,
      [&] {
        uintmax_t largest = 0;
        for (const auto& e : fs::directory_iterator(dir)) {
          if (e.is_regular_file()) largest = std::max(largest, e.file_size());
        }
        const rlimit lim{static_cast<rlim_t>(largest + 128 * 1024), RLIM_INFINITY};
        return ::setrlimit(RLIMIT_FSIZE, &lim) == 0 ? std::string() : "setrlimit: " + Errno();
      },
      [] {
        const rlimit lim{RLIM_INFINITY, RLIM_INFINITY};
        return ::setrlimit(RLIMIT_FSIZE, &lim) == 0 ? std::string() : "setrlimit: " + Errno();
      },
      // The limit is per file, and recovery starts a new, empty WAL.
      /*stays_full=*/false);
}

int RunChild(const std::string& mode) {
  if (mode == "writer") return ChildWriter();
  if (mode == "hold") return ChildHold();
  if (mode == "open_as_nobody") return ChildOpenAsNobody();
  if (mode == "disk_full") return ChildDiskFull();
  if (mode == "file_size_limit") return ChildFileSizeLimit();
  Say("unknown child mode " + mode);
  return 1;
}

[[maybe_unused]] const int kChildDispatch = [] {
  if (const char* mode = std::getenv(kModeEnv)) std::_Exit(RunChild(mode));
  return 0;
}();

// This test binary re-executed in a child mode; stdout and stderr come back
// through one pipe.
class Child {
 public:
  Child(const std::string& mode, const std::string& dir, const std::string& start = "0") {
    // Everything the child needs is built before fork(): between fork() and
    // exec() only async-signal-safe calls are allowed.
    const std::string exe = fs::read_symlink("/proc/self/exe").string();
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "KCANARY_STORE_TEST_", 19) != 0) env_strings.emplace_back(*e);
    }
    env_strings.push_back(std::string(kModeEnv) + "=" + mode);
    env_strings.push_back(std::string(kDirEnv) + "=" + dir);
    env_strings.push_back(std::string(kStartEnv) + "=" + start);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    char* argv[] = {const_cast<char*>(exe.c_str()), nullptr};

    int out[2];
    int in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::execve(exe.c_str(), argv, envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    out_ = out[0];
    in_ = in[1];
  }

  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    if (out_ >= 0) ::close(out_);
    CloseStdin();
  }

  pid_t pid() const { return pid_; }

  // The next line of output, or nullopt at end of output or after `timeout`.
  std::optional<std::string> ReadLine(
      std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const size_t nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[65536];
      const ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) {
        if (buf_.empty()) return std::nullopt;
        std::string rest;
        rest.swap(buf_);
        return rest;
      }
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

  // All remaining lines, until the child's output ends.
  std::vector<std::string> ReadAll() {
    std::vector<std::string> lines;
    while (auto line = ReadLine()) lines.push_back(*line);
    return lines;
  }

  void CloseStdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }

  void Kill() { ::kill(pid_, SIGKILL); }

  // Exit code, or 128 + signal number.
  int Wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // Runs to completion; returns exit code and everything it printed.
  std::pair<int, std::string> Finish() {
    std::string all;
    for (const auto& line : ReadAll()) all += line + "\n";
    return {Wait(), all};
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int in_ = -1;
  std::string buf_;
};

// --- Fixture ----------------------------------------------------------------

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "kcanary-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << Errno();
    root_ = tmpl;
  }

  void TearDown() override {
    // Permission tests leave read-only directories behind.
    std::error_code ec;
    fs::permissions(root_, fs::perms::owner_all, fs::perm_options::add, ec);
    for (fs::recursive_directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_directory())
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(root_, ec);
  }

  std::string Path(const std::string& name) const { return (root_ / name).string(); }

  static std::unique_ptr<StateStore> MustOpen(const std::string& dir,
                                              const StoreOptions& options = {}) {
    auto store = StateStore::Open(dir, options);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  static Status Put(StateStore& store, std::string_view key, std::string_view value) {
    WriteBatch b;
    b.Put(key, value);
    return store.Write(b);
  }

  static std::optional<std::string> MustGet(const StateStore& store, std::string_view key) {
    auto v = store.Get(key);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? *v : std::nullopt;
  }

  // Writes a few keys and closes the store, which flushes them to an SST.
  void MakeStoreWithData(const std::string& dir) {
    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    WriteBatch b;
    for (int i = 0; i < 100; ++i) b.Put("k/" + std::to_string(i), std::string(1000, 'v'));
    ASSERT_TRUE(store->Write(b).ok());
  }

  static std::vector<fs::path> FilesStartingWith(const std::string& dir,
                                                 const std::string& prefix) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path());
    }
    return out;
  }

  static std::vector<fs::path> FilesEndingWith(const std::string& dir, const std::string& suffix) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().filename().string().ends_with(suffix)) out.push_back(e.path());
    }
    return out;
  }

  static void Overwrite(const fs::path& file, const std::string& bytes, std::streamoff at = 0) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open()) << file;
    f.seekp(at);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  static void ExpectResetAdvice(const Status& s, const std::string& dir) {
    EXPECT_CONTAINS(s.message(), dir);
    EXPECT_CONTAINS(s.message(), "mv " + dir + " " + dir + ".old");
  }

  fs::path root_;
};

// --- Basic contract -----------------------------------------------------------

TEST_F(StateStoreTest, CreatesDirectoryWithParentsAndRecordsSchemaVersion) {
  const std::string dir = Path("a/b/state");
  auto store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(store->dir(), dir);
  EXPECT_EQ(MustGet(*store, StateStore::kSchemaVersionKey), "1");
  EXPECT_EQ(StateStore::kSchemaVersionKey, "meta/schema_version");
  EXPECT_FALSE(fs::exists(dir + "/.kcanary-write-probe"));
}

TEST_F(StateStoreTest, DirIsAbsoluteAndNormalized) {
  const fs::path old_cwd = fs::current_path();
  fs::current_path(root_);
  auto store = MustOpen("./x/../state/");
  fs::current_path(old_cwd);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->dir(), Path("state"));
}

TEST_F(StateStoreTest, EmptyDirIsInvalidArgument) {
  auto store = StateStore::Open("", StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(StateStoreTest, PutGetDeleteAndMissingKey) {
  auto store = MustOpen(Path("s"));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MustGet(*store, "k"), std::nullopt);
  ASSERT_TRUE(Put(*store, "k", "v1").ok());
  EXPECT_EQ(MustGet(*store, "k"), "v1");
  ASSERT_TRUE(Put(*store, "k", "v2").ok());
  EXPECT_EQ(MustGet(*store, "k"), "v2");
  // Binary keys and values, including NUL bytes and an empty value.
  const std::string key("a\0b", 3);
  const std::string value("\0\xff\0", 3);
  ASSERT_TRUE(Put(*store, key, value).ok());
  ASSERT_TRUE(Put(*store, "empty", "").ok());
  EXPECT_EQ(MustGet(*store, key), value);
  EXPECT_EQ(MustGet(*store, "empty"), "");
  WriteBatch del;
  del.Delete("k");
  del.Delete("never-existed");
  ASSERT_TRUE(store->Write(del).ok());
  EXPECT_EQ(MustGet(*store, "k"), std::nullopt);
}

TEST_F(StateStoreTest, WriteBatchBookkeeping) {
  WriteBatch b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.size(), 0u);
  b.Put("a", "1");
  b.Delete("b");
  EXPECT_FALSE(b.empty());
  EXPECT_EQ(b.size(), 2u);

  WriteBatch copy(b);
  EXPECT_EQ(copy.size(), 2u);
  WriteBatch moved(std::move(b));
  EXPECT_EQ(moved.size(), 2u);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): documented moved-from state
  b.Put("c", "3");         // A moved-from batch is reusable.
  EXPECT_EQ(b.size(), 1u);
  copy = b;
  EXPECT_EQ(copy.size(), 1u);

  moved.Clear();
  EXPECT_TRUE(moved.empty());
  moved.Put("d", "4");
  EXPECT_EQ(moved.size(), 1u);
}

TEST_F(StateStoreTest, BatchAppliesInOrderAndEmptyBatchIsNoOp) {
  auto store = MustOpen(Path("s"));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Write(WriteBatch()).ok());
  WriteBatch b;
  b.Put("x", "1");
  b.Delete("x");
  b.Delete("y");
  b.Put("y", "2");
  b.Put("z", "1");
  b.Put("z", "3");
  ASSERT_TRUE(store->Write(b).ok());
  EXPECT_EQ(MustGet(*store, "x"), std::nullopt);
  EXPECT_EQ(MustGet(*store, "y"), "2");
  EXPECT_EQ(MustGet(*store, "z"), "3");
  // The same batch can be written again (a retry after a failed Write).
  ASSERT_TRUE(store->Write(b).ok());
  EXPECT_EQ(MustGet(*store, "z"), "3");
}

TEST_F(StateStoreTest, ScanPrefixReturnsExactlyThePrefixInKeyOrder) {
  auto store = MustOpen(Path("s"));
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> keys = {
      "a", "ab", "abc", "ab\xff", "ab\xff\xff", "ab\xff\xff\x01", "ac", "b", "\xff", "\xff\xff"};
  WriteBatch b;
  for (const auto& k : keys) b.Put(k, "v" + k);
  ASSERT_TRUE(store->Write(b).ok());

  auto keys_of = [&](std::string_view prefix) {
    auto rows = store->ScanPrefix(prefix);
    EXPECT_TRUE(rows.ok()) << rows.status().message();
    std::vector<std::string> out;
    if (!rows.ok()) return out;
    for (const auto& [k, v] : *rows) {
      if (k != StateStore::kSchemaVersionKey) {
        EXPECT_EQ(v, "v" + k);
      }
      out.push_back(k);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(keys_of("ab"), (V{"ab", "abc", "ab\xff", "ab\xff\xff", "ab\xff\xff\x01"}));
  EXPECT_EQ(keys_of("ab\xff"), (V{"ab\xff", "ab\xff\xff", "ab\xff\xff\x01"}));
  EXPECT_EQ(keys_of("ab\xff\xff"), (V{"ab\xff\xff", "ab\xff\xff\x01"}));
  EXPECT_EQ(keys_of("\xff"), (V{"\xff", "\xff\xff"}));
  EXPECT_EQ(keys_of("zz"), V{});
  auto all = keys_of("");
  EXPECT_EQ(all.size(), keys.size() + 1);  // Plus meta/schema_version.
}

TEST_F(StateStoreTest, DataSurvivesReopen) {
  const std::string dir = Path("s");
  {
    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Put(*store, "k", "v").ok());
  }
  auto store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MustGet(*store, "k"), "v");
  EXPECT_EQ(MustGet(*store, StateStore::kSchemaVersionKey), "1");
}

TEST_F(StateStoreTest, SyncWritesWork) {
  const std::string dir = Path("s");
  {
    auto store = MustOpen(dir, StoreOptions{.sync_writes = true});
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put(*store, "k" + std::to_string(i), "v").ok());
  }
  auto store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  auto rows = store->ScanPrefix("k");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 20u);
}

TEST_F(StateStoreTest, ApproximateBytesTracksData) {
  const std::string dir = Path("s");
  uint64_t written = 0;
  {
    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    const uint64_t empty = store->ApproximateBytes();
    EXPECT_GT(empty, 0u);  // The WAL already holds the schema version.
    // Incompressible values, so SST size reflects what was written.
    std::mt19937_64 rng(1);
    for (int i = 0; i < 64; ++i) {
      std::string value(16 * 1024, '\0');
      for (auto& c : value) c = static_cast<char>(rng());
      ASSERT_TRUE(Put(*store, "k" + std::to_string(i), value).ok());
    }
    written = store->ApproximateBytes();
    EXPECT_GE(written, empty + 1024 * 1024);
  }
  auto store = MustOpen(dir);  // Now in an SST instead of WAL + memtable.
  ASSERT_NE(store, nullptr);
  EXPECT_GE(store->ApproximateBytes(), 1024u * 1024u);
  EXPECT_LE(store->ApproximateBytes(), 2 * written);
}

TEST_F(StateStoreTest, OptionsBoundTheFootprint) {
  const std::string dir = Path("s");
  auto store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  auto files = FilesStartingWith(dir, "OPTIONS-");
  ASSERT_FALSE(files.empty());
  std::ifstream in(files.back());
  std::stringstream text;
  text << in.rdbuf();
  for (const char* want :
       {"write_buffer_size=4194304", "max_write_buffer_number=2", "max_open_files=64",
        "keep_log_file_num=3", "max_total_wal_size=16777216", "max_manifest_file_size=8388608",
        "max_background_jobs=2", "paranoid_checks=true", "paranoid_file_checks=true",
        "manual_wal_flush=false", "wal_recovery_mode=kPointInTimeRecovery",
        "compaction_style=kCompactionStyleLevel", "level_compaction_dynamic_level_bytes=true",
        "CompactOnDeletionCollector"}) {
    EXPECT_CONTAINS(text.str(), want);
  }
  // RocksDB's info log stays where operators look for it.
  ASSERT_TRUE(fs::exists(dir + "/LOG"));
  std::ifstream log(dir + "/LOG");
  std::stringstream log_text;
  log_text << log.rdbuf();
  EXPECT_CONTAINS(log_text.str(), "RocksDB version: 7.8");
}

TEST_F(StateStoreTest, DeleteHeavyChurnStaysSmall) {
  const std::string dir = Path("s");
  auto store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  // 48 MiB of receipts written and deleted again, as a verifier expiring
  // old receipts does continuously.
  const std::string value(1024, 'r');
  int64_t next = 0;
  for (int round = 0; round < 12; ++round) {
    const int64_t first = next;
    for (int b = 0; b < 40; ++b) {
      WriteBatch batch;
      for (int k = 0; k < 100; ++k) batch.Put(Key("r", next++), value);
      ASSERT_TRUE(store->Write(batch).ok());
    }
    for (int64_t i = first; i < next;) {
      WriteBatch batch;
      for (int k = 0; k < 100 && i < next; ++k) batch.Delete(Key("r", i++));
      ASSERT_TRUE(store->Write(batch).ok());
    }
  }
  auto rows = store->ScanPrefix("r/");
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
  // Two 4 MiB memtables plus tombstones not yet compacted away.
  EXPECT_LT(store->ApproximateBytes(), 16u << 20) << "after churning 48 MiB";
  store.reset();
  store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_LT(store->ApproximateBytes(), 4u << 20) << "after reopen";
}

TEST_F(StateStoreTest, ConcurrentWritersAndReadersSeeWholeBatches) {
  auto store = MustOpen(Path("s"));
  ASSERT_NE(store, nullptr);
  constexpr int kWriters = 4;
  constexpr int kBatches = 500;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kBatches; ++i) {
        WriteBatch b;
        b.Put("c/" + std::to_string(t) + "/" + Key("i", i), std::to_string(i));
        b.Put("n/" + std::to_string(t), std::to_string(i));
        if (!store->Write(b).ok()) ++errors;
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      while (!done.load()) {
        for (int t = 0; t < kWriters; ++t) {
          // "n/t" and its matching "c/t/i" are written in one batch, so
          // seeing the first without the second would be a torn batch.
          auto n = store->Get("n/" + std::to_string(t));
          if (!n.ok()) {
            ++errors;
            continue;
          }
          if (!n->has_value()) continue;
          auto c = store->Get("c/" + std::to_string(t) + "/" + Key("i", std::stoi(**n)));
          if (!c.ok() || !c->has_value()) ++torn;
          auto rows = store->ScanPrefix("c/" + std::to_string(t) + "/");
          if (!rows.ok()) ++errors;
          (void)store->ApproximateBytes();
        }
      }
    });
  }
  for (int t = 0; t < kWriters; ++t) threads[t].join();
  done = true;
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  auto rows = store->ScanPrefix("c/");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), static_cast<size_t>(kWriters * kBatches));
}

// --- Schema version -------------------------------------------------------------

TEST_F(StateStoreTest, NewerSchemaVersionIsFailedPreconditionWithResetAdvice) {
  const std::string dir = Path("s");
  {
    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Put(*store, StateStore::kSchemaVersionKey, "2").ok());
  }
  auto store = StateStore::Open(dir, StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_CONTAINS(store.status().message(), "written by a newer kcanary");
  EXPECT_CONTAINS(store.status().message(), "schema version 2");
  ExpectResetAdvice(store.status(), dir);
  // The refusal left the directory usable by the newer kcanary, and released
  // it for this process.
  auto again = StateStore::Open(dir, StoreOptions{});
  EXPECT_EQ(again.status().code(), Status::Code::kFailedPrecondition);
}

TEST_F(StateStoreTest, UnparseableSchemaVersionIsCorruptionWithResetAdvice) {
  for (const std::string& bad :
       std::vector<std::string>{"abc", "", "1x", "-1", "0", "+1", " 1", "99999999999999999999",
                                std::string("\x01\xff", 2)}) {
    SCOPED_TRACE("version \"" + bad + "\"");
    const std::string dir = Path("s" + std::to_string(std::hash<std::string>()(bad)));
    {
      auto store = MustOpen(dir);
      ASSERT_NE(store, nullptr);
      ASSERT_TRUE(Put(*store, StateStore::kSchemaVersionKey, bad).ok());
    }
    auto store = StateStore::Open(dir, StoreOptions{});
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), Status::Code::kCorruption);
    EXPECT_CONTAINS(store.status().message(), "schema version");
    ExpectResetAdvice(store.status(), dir);
  }
}

TEST_F(StateStoreTest, DataWithoutSchemaVersionIsCorruption) {
  const std::string dir = Path("s");
  {
    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    WriteBatch b;
    b.Delete(StateStore::kSchemaVersionKey);
    b.Put("receipt", "r");
    ASSERT_TRUE(store->Write(b).ok());
  }
  auto store = StateStore::Open(dir, StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption);
  ExpectResetAdvice(store.status(), dir);
}

TEST_F(StateStoreTest, EmptyStoreWithoutSchemaVersionGetsOne) {
  // What a crash between creating the store and recording its version leaves.
  const std::string dir = Path("s");
  {
    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    WriteBatch b;
    b.Delete(StateStore::kSchemaVersionKey);
    ASSERT_TRUE(store->Write(b).ok());
  }
  auto store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MustGet(*store, StateStore::kSchemaVersionKey), "1");
}

// --- Unusable directories --------------------------------------------------------

TEST_F(StateStoreTest, FileInPlaceOfDirIsIoError) {
  const std::string path = Path("file");
  std::ofstream(path) << "not a directory";
  auto store = StateStore::Open(path, StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kIoError);
  EXPECT_CONTAINS(store.status().message(), path);
  EXPECT_CONTAINS(store.status().message(), "is not a directory");
}

TEST_F(StateStoreTest, FileInPlaceOfParentIsIoErrorWithOsReason) {
  const std::string file = Path("file");
  std::ofstream(file) << "not a directory";
  const std::string path = file + "/state";
  auto store = StateStore::Open(path, StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kIoError);
  EXPECT_CONTAINS(store.status().message(), path);
  EXPECT_CONTAINS(store.status().message(), "Not a directory");  // strerror(ENOTDIR)
}

TEST_F(StateStoreTest, ReadOnlyDirIsIoErrorWithOsReason) {
  // Root ignores permission bits, so the open runs as "nobody" in a child.
  fs::permissions(root_, fs::perms::all & ~fs::perms::group_write & ~fs::perms::others_write);
  const std::string ro = Path("ro");
  fs::create_directory(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                          fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  for (const std::string& dir : {ro, ro + "/sub/state"}) {
    SCOPED_TRACE(dir);
    Child child("open_as_nobody", dir);
    auto [code, output] = child.Finish();
    if (code == kSkipExit) GTEST_SKIP() << output;
    ASSERT_EQ(code, 0) << output;
    EXPECT_CONTAINS(output, "code=" + std::to_string(static_cast<int>(Status::Code::kIoError)));
    EXPECT_CONTAINS(output, dir);
    EXPECT_CONTAINS(output, "Permission denied");  // strerror(EACCES)
  }
}

// --- One user at a time -----------------------------------------------------------

TEST_F(StateStoreTest, SecondOpenInSameProcessIsFailedPrecondition) {
  const std::string dir = Path("s");
  auto store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  fs::create_directory_symlink(dir, Path("link"));
  for (const std::string& path : {dir, Path("link"), dir + "/"}) {
    auto second = StateStore::Open(path, StoreOptions{});
    ASSERT_FALSE(second.ok()) << path;
    EXPECT_EQ(second.status().code(), Status::Code::kFailedPrecondition);
    EXPECT_CONTAINS(second.status().message(), "already open in this process");
  }
  // The first store is unharmed and the dir is free again once it closes.
  ASSERT_TRUE(Put(*store, "k", "v").ok());
  store.reset();
  store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MustGet(*store, "k"), "v");
}

TEST_F(StateStoreTest, SecondProcessGetsClearErrorNamingDirAndPid) {
  const std::string dir = Path("s");
  Child holder("hold", dir);
  ASSERT_EQ(holder.ReadLine(), "ready");
  auto store = StateStore::Open(dir, StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kUnavailable);
  EXPECT_CONTAINS(store.status().message(), "another kcanary process (pid " +
                                                std::to_string(holder.pid()) +
                                                ") is using state dir " + dir);
  holder.CloseStdin();
  EXPECT_EQ(holder.Wait(), 0);
  auto after = MustOpen(dir);
  EXPECT_NE(after, nullptr);
}

// --- Damaged files ---------------------------------------------------------------

TEST_F(StateStoreTest, GarbageCurrentIsCorruption) {
  for (const std::string& garbage :
       {std::string("garbage\n"), std::string("\x01\x02\x03 no newline"), std::string(""),
        std::string("MANIFEST-999999\n")}) {
    SCOPED_TRACE("CURRENT = \"" + garbage + "\"");
    const std::string dir = Path("s" + std::to_string(std::hash<std::string>()(garbage)));
    MakeStoreWithData(dir);
    std::ofstream(dir + "/CURRENT", std::ios::trunc | std::ios::binary) << garbage;
    auto store = StateStore::Open(dir, StoreOptions{});
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().message();
    ExpectResetAdvice(store.status(), dir);
  }
}

TEST_F(StateStoreTest, GarbageManifestIsCorruption) {
  const std::string dir = Path("s");
  MakeStoreWithData(dir);
  auto manifests = FilesStartingWith(dir, "MANIFEST-");
  ASSERT_FALSE(manifests.empty());
  for (const auto& m : manifests) {
    Overwrite(m, std::string(static_cast<size_t>(fs::file_size(m)), '\x5a'));
  }
  auto store = StateStore::Open(dir, StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().message();
  ExpectResetAdvice(store.status(), dir);
}

TEST_F(StateStoreTest, MissingCurrentWithDataIsCorruptionNotAFreshStore) {
  const std::string dir = Path("s");
  MakeStoreWithData(dir);
  ASSERT_FALSE(FilesEndingWith(dir, ".sst").empty());
  fs::remove(dir + "/CURRENT");
  auto store = StateStore::Open(dir, StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption);
  EXPECT_CONTAINS(store.status().message(), "no CURRENT file");
  ExpectResetAdvice(store.status(), dir);
  EXPECT_FALSE(FilesEndingWith(dir, ".sst").empty()) << "the old data must not be deleted";
}

TEST_F(StateStoreTest, MissingSstIsCorruption) {
  const std::string dir = Path("s");
  MakeStoreWithData(dir);
  auto ssts = FilesEndingWith(dir, ".sst");
  ASSERT_FALSE(ssts.empty());
  for (const auto& f : ssts) fs::remove(f);
  auto store = StateStore::Open(dir, StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().message();
  ExpectResetAdvice(store.status(), dir);
}

TEST_F(StateStoreTest, TruncatedSstIsCorruption) {
  const std::string dir = Path("s");
  MakeStoreWithData(dir);
  auto ssts = FilesEndingWith(dir, ".sst");
  ASSERT_FALSE(ssts.empty());
  fs::resize_file(ssts[0], fs::file_size(ssts[0]) / 2);
  auto store = StateStore::Open(dir, StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().message();
  ExpectResetAdvice(store.status(), dir);
}

TEST_F(StateStoreTest, FlippedSstDataIsCorruptionOnOpenOrRead) {
  const std::string dir = Path("s");
  MakeStoreWithData(dir);
  auto ssts = FilesEndingWith(dir, ".sst");
  ASSERT_FALSE(ssts.empty());
  // Data blocks come first in an SST; the footer and index stay intact.
  Overwrite(ssts[0], std::string(2048, '\x5a'), 16);
  auto store = StateStore::Open(dir, StoreOptions{});
  if (!store.ok()) {
    EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().message();
    ExpectResetAdvice(store.status(), dir);
    return;
  }
  auto value = (*store)->Get("k/0");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), Status::Code::kCorruption) << value.status().message();
  ExpectResetAdvice(value.status(), dir);
  auto rows = (*store)->ScanPrefix("k/");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), Status::Code::kCorruption);
}

// --- Crashes and full disks ---------------------------------------------------------

TEST_F(StateStoreTest, EveryAcknowledgedBatchSurvivesKillNine) {
  const std::string dir = Path("s");
  std::mt19937 rng(20240601);
  int64_t stored = 0;  // Batches known to be in the store.
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Child child("writer", dir, std::to_string(stored));
    // Highest batch reported as written, before the kill or after it: on a
    // busy machine the child may write nothing more between the target line
    // and the kill, and that line counts too.
    int64_t acked = -1;
    if (round == 3) {
      // Kill early: during Open() and WAL recovery, or the first writes.
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 30));
    } else {
      const int64_t target = stored + 100 + static_cast<int64_t>(rng() % 400);
      for (;;) {
        auto line = child.ReadLine();
        ASSERT_TRUE(line.has_value()) << "child ended before being killed";
        ASSERT_FALSE(line->starts_with("open-error") || line->starts_with("write-error")) << *line;
        if (line->starts_with("ok ")) acked = std::max<int64_t>(acked, std::stoll(line->substr(3)));
        if (acked >= target) break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    }
    child.Kill();
    for (const auto& line : child.ReadAll()) {
      ASSERT_FALSE(line.starts_with("open-error") || line.starts_with("write-error")) << line;
      if (line.starts_with("ok ")) acked = std::max<int64_t>(acked, std::stoll(line.substr(3)));
    }
    EXPECT_EQ(child.Wait(), 128 + SIGKILL);

    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    const Verified v = VerifyBatches(*store);
    ASSERT_EQ(v.error, "");
    ASSERT_GE(v.batches, std::max(stored, acked + 1)) << "an acknowledged batch was lost";
    // At most the one batch in flight when the child died is there unreported.
    ASSERT_LE(v.batches, std::max(stored, acked + 1) + 1);
    stored = v.batches;
  }
  EXPECT_GT(stored, 700);
}

TEST_F(StateStoreTest, KillNineWhileCreatingLeavesAUsableStore) {
  std::mt19937 rng(7);
  for (int i = 0; i < 12; ++i) {
    const std::string dir = Path("s" + std::to_string(i));
    {
      Child child("writer", dir);
      // Opening a new store takes tens of milliseconds (several fsyncs).
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 120));
      child.Kill();
      child.ReadAll();
      child.Wait();
    }
    SCOPED_TRACE(dir);
    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(MustGet(*store, StateStore::kSchemaVersionKey), "1");
    EXPECT_EQ(VerifyBatches(*store).error, "");
  }
}

TEST_F(StateStoreTest, DiskFullFailsCleanlyAndRecovers) {
  const std::string mnt = Path("mnt");
  fs::create_directory(mnt);
  Child child("disk_full", mnt);
  auto [code, output] = child.Finish();
  if (code == kSkipExit) GTEST_SKIP() << output;
  EXPECT_EQ(code, 0) << output;
  EXPECT_CONTAINS(output, "no space left on device");
  EXPECT_CONTAINS(output, "PASS");
}

TEST_F(StateStoreTest, FatalWriteErrorFailsCleanlyAndRecoversByReopening) {
  Child child("file_size_limit", Path("s"));
  auto [code, output] = child.Finish();
  EXPECT_EQ(code, 0) << output;
  EXPECT_CONTAINS(output, "File too large");  // strerror(EFBIG)
  EXPECT_CONTAINS(output, "PASS");
}

}  // namespace
}  // namespace kcanary
