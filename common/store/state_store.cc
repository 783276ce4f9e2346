// StateStore implementation: the RocksDB options chosen for a sidecar that
// runs for months, and the translation of RocksDB and OS errors into
// kcanary::Status messages an operator can act on.
#include "common/store/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <system_error>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/status.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>

namespace kcanary {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMiB = size_t{1} << 20;

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

std::string Errno(int err) { return std::generic_category().message(err); }

// Every error that leaves the store unusable ends with this, so the operator
// always learns the one way out.
std::string ResetAdvice(const std::string& dir) {
  return "To start over with an empty store, stop kcanary, move the directory aside (mv " + dir +
         " " + dir +
         ".old) and start kcanary again; it creates a new store, and what the old "
         "one remembered is forgotten.";
}

// RocksDB's info log ("LOG" in the state dir), written with plain write(2).
//
// Why not RocksDB's own file logger: Debian builds librocksdb 7.8 with
// assertions on, and once a write to its LOG file fails (a full disk) the next
// log line trips `assert(sync_without_flush_called_)` in WritableFileWriter
// and aborts the whole process. This logger ignores write errors instead and
// keeps at most LOG plus one LOG.old of kMaxBytes each.
class InfoLog : public rocksdb::Logger {
 public:
  static constexpr off_t kMaxBytes = 1 << 20;

  explicit InfoLog(std::string dir)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL),
        path_(std::move(dir) + "/LOG"),
        old_path_(path_ + ".old") {
    OpenFile();
  }
  ~InfoLog() override {
    if (fd_ >= 0) ::close(fd_);
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char stamp[64];
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    tm local{};
    ::localtime_r(&now.tv_sec, &local);
    const size_t n = std::strftime(stamp, sizeof stamp, "%Y/%m/%d-%H:%M:%S", &local);
    std::snprintf(stamp + n, sizeof stamp - n, ".%06ld %lx ", now.tv_nsec / 1000,
                  static_cast<unsigned long>(::gettid()));

    std::string line(stamp);
    char buf[512];
    va_list copy;
    va_copy(copy, ap);
    const int len = std::vsnprintf(buf, sizeof buf, format, ap);
    if (len >= 0 && static_cast<size_t>(len) < sizeof buf) {
      line.append(buf, static_cast<size_t>(len));
    } else if (len >= 0) {
      std::string big(static_cast<size_t>(len) + 1, '\0');
      std::vsnprintf(big.data(), big.size(), format, copy);
      big.pop_back();
      line += big;
    }
    va_end(copy);
    if (line.empty() || line.back() != '\n') line += '\n';

    std::lock_guard lock(mu_);
    if (size_ >= kMaxBytes) {
      ::rename(path_.c_str(), old_path_.c_str());
      if (fd_ >= 0) ::close(fd_);
      OpenFile();
    }
    if (fd_ < 0) return;
    const ssize_t written = ::write(fd_, line.data(), line.size());
    if (written > 0) size_ += written;
  }

 private:
  void OpenFile() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    struct stat st {};
    size_ = (fd_ >= 0 && ::fstat(fd_, &st) == 0) ? st.st_size : 0;
  }

  const std::string path_;
  const std::string old_path_;
  std::mutex mu_;
  int fd_ = -1;     // Guarded by mu_ after construction.
  off_t size_ = 0;  // Guarded by mu_.
};

// Options for a small store that must stay small and correct for months.
rocksdb::Options MakeOptions(const std::string& dir, bool create_if_missing) {
  rocksdb::Options o;
  o.create_if_missing = create_if_missing;
  o.info_log = std::make_shared<InfoLog>(dir);
  // Debian's build lacks NDEBUG, which would make DEBUG the default level.
  o.info_log_level = rocksdb::InfoLogLevel::INFO_LEVEL;

  // Durability. Write() hands each WAL record to the OS before returning;
  // with manual_wal_flush it would wait in a user-space buffer that kill -9
  // loses.
  o.manual_wal_flush = false;
  // kill -9 can tear the last record of the last WAL. That write never
  // returned OK, so point-in-time recovery dropping it (and keeping every
  // record before it) restores exactly the acknowledged writes.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Damage must surface as an error, never as receipts that quietly vanish.
  o.paranoid_checks = true;
  o.paranoid_file_checks = true;  // Re-reads each new SST; cheap at our size.
  o.force_consistency_checks = true;

  // No preallocation. RocksDB would fallocate ~1.1 x write_buffer_size of
  // WAL ahead; at kcanary's ~1 KB/s of state writes a full disk would then
  // go unnoticed for hours and fail every write at once at the next memtable
  // flush. Without it the first write after the disk fills fails, so
  // kcanary_state_write_failures_total tells the operator within seconds.
  o.allow_fallocate = false;

  // Bounded memory, file handles, threads and disk.
  o.write_buffer_size = 4 * kMiB;
  o.max_write_buffer_number = 2;
  o.max_total_wal_size = 16 * kMiB;
  o.max_open_files = 64;
  o.max_background_jobs = 2;
  // InfoLog rotates its own file; this only bounds RocksDB's LOG.old.<time>
  // files should any exist.
  o.keep_log_file_num = 3;
  // The default (1 GiB) lets the MANIFEST grow with every flush for months.
  o.max_manifest_file_size = 8 * kMiB;

  o.compaction_style = rocksdb::kCompactionStyleLevel;
  // Sizes levels from the bottom up, which bounds space amplification for a
  // store whose size is set by its retention rather than by growth.
  o.level_compaction_dynamic_level_bytes = true;
  o.target_file_size_base = 8 * kMiB;
  o.max_bytes_for_level_base = 32 * kMiB;
  // Callers delete old receipts continuously. A file that is mostly
  // tombstones gets compacted early, so deleted data leaves the disk and
  // scans do not wade through tombstones.
  o.table_properties_collector_factories.push_back(rocksdb::NewCompactOnDeletionCollectorFactory(
      /*sliding_window_size=*/16384, /*deletion_trigger=*/8192, /*deletion_ratio=*/0.5));

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(8 * kMiB);
  // Index and filter blocks live in the bounded cache instead of growing the
  // heap with the number of files.
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

// --- Errors -----------------------------------------------------------------

Status ReadError(const std::string& dir, std::string_view what, const rocksdb::Status& s) {
  if (s.IsCorruption()) {
    return Status::Corruption("state store in " + dir + " is corrupt (" + std::string(what) + ": " +
                              s.ToString() + "). " + ResetAdvice(dir));
  }
  return Status::IoError("state store in " + dir + ": " + std::string(what) +
                         " failed: " + s.ToString());
}

Status WriteError(const std::string& dir, const rocksdb::Status& s) {
  if (s.IsCorruption()) {
    return Status::Corruption("writing to state store in " + dir +
                              " failed, the store is corrupt: " + s.ToString() + ". " +
                              ResetAdvice(dir));
  }
  if (s.IsNoSpace()) {
    return Status::IoError("writing to state store in " + dir +
                           " failed: no space left on device (" + s.ToString() +
                           "). Free space there; writes succeed again once there is room.");
  }
  return Status::IoError("writing to state store in " + dir + " failed: " + s.ToString());
}

// The pid holding RocksDB's fcntl lock on `lock_path`, or 0 if unknown.
// Only safe while this process holds no lock on that file: closing any fd of
// a file drops all of the process's fcntl locks on it. The open-dir registry
// below guarantees that.
pid_t LockHolder(const std::string& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  pid_t pid = 0;
  if (::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) pid = fl.l_pid;
  ::close(fd);
  return pid;
}

bool IsLockError(const std::string& dir, const rocksdb::Status& s) {
  if (!s.IsIOError()) return false;
  const std::string text = s.ToString();
  return text.find(dir + "/LOCK") != std::string::npos ||
         text.find("lock hold by current process") != std::string::npos;
}

Status OpenError(const std::string& dir, const rocksdb::Status& s) {
  if (IsLockError(dir, s)) {
    const pid_t pid = LockHolder(dir + "/LOCK");
    const std::string who = pid > 0 ? "another kcanary process (pid " + std::to_string(pid) + ")"
                                    : "another kcanary process";
    return Status::Unavailable(who + " is using state dir " + dir +
                               "; only one process may use a state dir at a time. Stop that "
                               "process, or give this one its own --state-dir. (" +
                               s.ToString() + ")");
  }
  if (s.IsCorruption()) {
    return Status::Corruption("state store in " + dir + " is corrupt: " + s.ToString() + ". " +
                              ResetAdvice(dir));
  }
  if (s.IsPathNotFound()) {
    // Our directory checks passed, so a missing path is a store file that
    // CURRENT or the MANIFEST refers to: the store is damaged.
    return Status::Corruption("state store in " + dir + " is missing a file: " + s.ToString() +
                              ". " + ResetAdvice(dir));
  }
  if (s.IsNoSpace()) {
    return Status::IoError("cannot open state store in " + dir + ": no space left on device (" +
                           s.ToString() + "). Free space there and start again.");
  }
  if (s.IsIOError()) {
    return Status::IoError("cannot open state store in " + dir + ": " + s.ToString());
  }
  if (s.IsInvalidArgument() || s.IsNotSupported()) {
    // E.g. column families or a format this RocksDB does not know.
    return Status::FailedPrecondition("cannot open state store in " + dir + ": " + s.ToString() +
                                      ". It may have been written by a newer kcanary or by "
                                      "another program. " +
                                      ResetAdvice(dir));
  }
  return Status::Internal("cannot open state store in " + dir + ": " + s.ToString());
}

// --- Directory checks -------------------------------------------------------

const char* TypeName(fs::file_type type) {
  switch (type) {
    case fs::file_type::regular:
      return "regular file";
    case fs::file_type::symlink:
      return "symlink";
    case fs::file_type::block:
      return "block device";
    case fs::file_type::character:
      return "character device";
    case fs::file_type::fifo:
      return "fifo";
    case fs::file_type::socket:
      return "socket";
    default:
      return "non-directory";
  }
}

// Checks `dir` ourselves before RocksDB does: RocksDB's messages for these
// cases ("While mkdir if missing: ...") do not tell an operator what is wrong.
Status PrepareDir(const std::string& dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && st.type() != fs::file_type::not_found) {
    return Status::IoError("cannot access state dir " + dir + ": " + ec.message());
  }
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      return Status::IoError("state dir " + dir + " is not a directory (it is a " +
                             TypeName(st.type()) + "); pass a directory path");
    }
  } else {
    fs::create_directories(dir, ec);
    if (ec) return Status::IoError("cannot create state dir " + dir + ": " + ec.message());
  }
  // access(2) answers for the real uid and knows nothing of read-only mounts;
  // creating a file is the question RocksDB will ask next.
  const std::string probe = dir + "/.kcanary-write-probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    return Status::IoError("state dir " + dir + " is not writable: " + Errno(err) +
                           ". kcanary creates and writes files there; check its owner and "
                           "permissions and that the file system is mounted read-write.");
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return Status::Ok();
}

// RocksDB data files: "<number>.sst", "<number>.log" (WAL), "<number>.blob".
bool IsDataFileName(std::string_view name) {
  const size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos) return false;
  for (size_t i = 0; i < dot; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  const std::string_view ext = name.substr(dot);
  return ext == ".sst" || ext == ".log" || ext == ".blob" || ext == ".ldb";
}

// Whether `dir` already holds a store. create_if_missing is set only when it
// does not: RocksDB would otherwise create a fresh store over a damaged one
// and its old files would be deleted as obsolete — silent loss of every
// receipt.
StatusOr<bool> HoldsStore(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir + "/CURRENT", ec)) return true;
  if (ec) return Status::IoError("cannot access " + dir + "/CURRENT: " + ec.message());
  // No CURRENT. A crash while creating the store leaves none, but then no
  // data either: Write() needs a successful Open(), which needs CURRENT. So
  // data files without CURRENT mean the store was damaged.
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (IsDataFileName(name)) {
      return Status::Corruption(
          "state store in " + dir + " is damaged: it holds data files (" + name +
          ") but no CURRENT file, so RocksDB cannot tell which are live. " + ResetAdvice(dir));
    }
  }
  if (ec) return Status::IoError("cannot list state dir " + dir + ": " + ec.message());
  return false;
}

// --- Open-dir registry --------------------------------------------------------

// Directories this process has open. RocksDB refuses a second open of the
// same directory in one process too, but with a confusing message; knowing it
// ourselves also makes LockHolder() safe.
class DirRegistry {
 public:
  static bool Claim(const std::string& dir) {
    State& s = Get();
    std::lock_guard lock(s.mu);
    return s.dirs.insert(dir).second;
  }
  static void Release(const std::string& dir) {
    State& s = Get();
    std::lock_guard lock(s.mu);
    s.dirs.erase(dir);
  }

 private:
  struct State {
    std::mutex mu;
    std::set<std::string> dirs;
  };
  static State& Get() {
    static State* state = new State();  // Leaked: stores may close during exit.
    return *state;
  }
};

class DirClaim {
 public:
  explicit DirClaim(std::string dir) : dir_(std::move(dir)) {}
  ~DirClaim() { DirRegistry::Release(dir_); }
  DirClaim(const DirClaim&) = delete;
  DirClaim& operator=(const DirClaim&) = delete;

 private:
  std::string dir_;
};

// Printable form of a stored value for an error message.
std::string Printable(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (value.size() > 40) out += "...";
  return out;
}

}  // namespace

// --- WriteBatch ---------------------------------------------------------------

struct WriteBatch::Rep {
  rocksdb::WriteBatch batch;
  // RocksDB refused an operation (a key or value of 4 GiB or more). Write()
  // then fails the whole batch instead of applying it without that operation.
  bool invalid = false;
};

WriteBatch::WriteBatch() noexcept = default;
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(const WriteBatch& other)
    : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
WriteBatch& WriteBatch::operator=(const WriteBatch& other) {
  if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  return *this;
}
WriteBatch::WriteBatch(WriteBatch&& other) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&& other) noexcept = default;

void WriteBatch::Put(std::string_view key, std::string_view value) {
  if (!rep_) rep_ = std::make_unique<Rep>();
  if (!rep_->batch.Put(ToSlice(key), ToSlice(value)).ok()) rep_->invalid = true;
}

void WriteBatch::Delete(std::string_view key) {
  if (!rep_) rep_ = std::make_unique<Rep>();
  if (!rep_->batch.Delete(ToSlice(key)).ok()) rep_->invalid = true;
}

void WriteBatch::Clear() {
  if (!rep_) return;
  rep_->batch.Clear();
  rep_->invalid = false;
}

bool WriteBatch::empty() const { return size() == 0; }

size_t WriteBatch::size() const { return rep_ ? static_cast<size_t>(rep_->batch.Count()) : 0; }

// --- StateStore ---------------------------------------------------------------

struct StateStore::Impl {
  Impl(std::string canonical_dir, std::string dir_in, StoreOptions opts)
      : claim(std::move(canonical_dir)), dir(std::move(dir_in)), options(opts) {}
  ~Impl() { CloseDb(/*flush=*/false); }

  Status OpenDb(bool create);  // Caller holds `mu` exclusively or owns *this alone.
  void CloseDb(bool flush);
  Status CheckSchema(bool created);
  Status Recover();
  Status ClosedError() const;  // Caller holds `mu`.

  DirClaim claim;  // Declared first: released only after the database closed.
  const std::string dir;
  const StoreOptions options;

  // Shared by every use of `db`; exclusive only to replace it during
  // recovery. RocksDB itself is thread-safe, so readers and writers share.
  mutable std::shared_mutex mu;
  std::unique_ptr<rocksdb::DB> db;  // Null after a failed reopen.
  std::string closed_reason;        // Why `db` is null.
  // Set by a failed Write(); the next Write() recovers before writing.
  std::atomic<bool> needs_recovery{false};
};

Status StateStore::Impl::OpenDb(bool create) {
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(MakeOptions(dir, create), dir, &raw);
  if (!s.ok()) return OpenError(dir, s);
  db.reset(raw);
  return Status::Ok();
}

void StateStore::Impl::CloseDb(bool flush) {
  std::unique_lock lock(mu);
  if (!db) return;
  if (flush) {
    // Only an optimisation (no WAL replay at the next Open), so its errors
    // are ignored: every acknowledged write is already in the WAL.
    rocksdb::FlushOptions fo;
    fo.wait = true;
    (void)db->Flush(fo);
  }
  (void)db->Close();
  db.reset();
}

Status StateStore::Impl::CheckSchema(bool created) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), ToSlice(kSchemaVersionKey), &value);
  if (s.IsNotFound()) {
    if (!created) {
      // Open() writes the version right after creating the store, so an old
      // store lacks it only after a crash in between, and is then empty.
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
      it->SeekToFirst();
      if (!it->status().ok()) return ReadError(dir, "checking for data", it->status());
      if (it->Valid()) {
        return Status::Corruption("state store in " + dir +
                                  " holds data but no schema version (key " +
                                  std::string(kSchemaVersionKey) +
                                  "), so kcanary cannot tell how "
                                  "to read it. " +
                                  ResetAdvice(dir));
      }
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;  // Once, at creation: cheap, and the version must never go missing.
    s = db->Put(wo, ToSlice(kSchemaVersionKey), std::to_string(kSchemaVersion));
    if (!s.ok()) return WriteError(dir, s);
    return Status::Ok();
  }
  if (!s.ok()) return ReadError(dir, "reading the schema version", s);

  int version = 0;
  const char* first = value.data();
  const char* last = value.data() + value.size();
  const auto [end, ec] = std::from_chars(first, last, version);
  const bool digits_only = !value.empty() && std::isdigit(static_cast<unsigned char>(value[0]));
  if (ec != std::errc() || end != last || !digits_only || version < 1) {
    return Status::Corruption("state store in " + dir + " has an unreadable schema version \"" +
                              Printable(value) + "\" (key " + std::string(kSchemaVersionKey) +
                              "); it is damaged or was not written by kcanary. " +
                              ResetAdvice(dir));
  }
  if (version > kSchemaVersion) {
    return Status::FailedPrecondition(
        "the state in " + dir + " was written by a newer kcanary (schema version " +
        std::to_string(version) + "; this kcanary understands up to " +
        std::to_string(kSchemaVersion) + "). Run the newer kcanary, or: " + ResetAdvice(dir));
  }
  // Older versions would be migrated here; version 1 is the first.
  return Status::Ok();
}

// Called by the first Write() after a failed one. The cause may persist
// (a full disk), so first ask RocksDB whether it has cleared: while it has
// not, the open database keeps serving reads and Write() keeps failing.
// Once it has, the database is reopened rather than used as is: in RocksDB
// 7.8 a successful Resume() keeps the WAL writer that failed when the memtable
// was empty, and the next write to it fails again, or with Debian's
// assertion-enabled build aborts the process (WritableFileWriter's
// `sync_without_flush_called_`). A reopen starts a fresh WAL.
Status StateStore::Impl::Recover() {
  std::unique_lock lock(mu);
  if (!needs_recovery.load()) return Status::Ok();  // Another thread recovered.
  if (db) {
    const rocksdb::Status s = db->Resume();
    // For a full disk RocksDB's SstFileManager polls for free space and
    // resumes on its own; until then Resume() reports Busy.
    if (s.IsBusy()) {
      return Status::IoError("state store in " + dir +
                             " is still recovering from a failed write (RocksDB resumes once the "
                             "disk has free space again); retry the write later");
    }
    // Fatal errors are never resumed; only a reopen clears them.
    if (!s.ok() && s.severity() < rocksdb::Status::kFatalError) return WriteError(dir, s);
    // Close() does not write to a failed WAL writer; it just drops it.
    (void)db->Close();
    db.reset();
  }
  // Reopening replays the WAL up to its last complete record: every write
  // that returned OK and none that failed half-way.
  Status s = OpenDb(/*create=*/false);
  if (!s.ok()) {
    closed_reason = s.message();
    return s;
  }
  closed_reason.clear();
  needs_recovery.store(false);
  return Status::Ok();
}

Status StateStore::Impl::ClosedError() const {
  return Status::IoError("state store in " + dir +
                         " is closed: reopening it after a failed write failed (" + closed_reason +
                         "); the next write tries again");
}

StateStore::StateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StateStore::~StateStore() {
  // After a failed write RocksDB's WAL writer may be broken (see Recover());
  // a flush would write to it, so close without one.
  if (impl_) impl_->CloseDb(/*flush=*/!impl_->needs_recovery.load());
}

StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir_arg,
                                                       const StoreOptions& options) {
  if (dir_arg.empty()) {
    return Status::InvalidArgument("the state dir is empty; pass a directory path");
  }
  std::error_code ec;
  fs::path path = fs::absolute(dir_arg, ec);
  if (ec) return Status::IoError("cannot resolve state dir " + dir_arg + ": " + ec.message());
  path = path.lexically_normal();
  if (!path.has_filename() && path.has_parent_path()) path = path.parent_path();  // "a/b/"
  const std::string dir = path.string();

  if (Status s = PrepareDir(dir); !s.ok()) return s;
  const fs::path canonical = fs::canonical(path, ec);
  if (ec) return Status::IoError("cannot resolve state dir " + dir + ": " + ec.message());
  if (!DirRegistry::Claim(canonical.string())) {
    return Status::FailedPrecondition("state dir " + dir +
                                      " is already open in this process; share that StateStore "
                                      "instead of opening the directory twice");
  }
  // From here on `impl` owns the claim and releases it on every return.
  auto impl = std::make_unique<Impl>(canonical.string(), dir, options);

  StatusOr<bool> holds_store = HoldsStore(dir);
  if (!holds_store.ok()) return holds_store.status();
  const bool created = !*holds_store;
  if (Status s = impl->OpenDb(/*create=*/created); !s.ok()) return s;
  if (Status s = impl->CheckSchema(created); !s.ok()) return s;
  return std::unique_ptr<StateStore>(new StateStore(std::move(impl)));
}

StatusOr<std::optional<std::string>> StateStore::Get(std::string_view key) const {
  std::shared_lock lock(impl_->mu);
  if (!impl_->db) return impl_->ClosedError();
  std::string value;
  const rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return ReadError(impl_->dir, "get", s);
  return std::optional<std::string>(std::move(value));
}

Status StateStore::Write(const WriteBatch& batch) {
  if (batch.rep_ && batch.rep_->invalid) {
    return Status::InvalidArgument(
        "write batch holds a key or value too large for the state store (4 GiB or more)");
  }
  if (batch.empty()) return Status::Ok();
  Impl& impl = *impl_;
  if (impl.needs_recovery.load()) {
    if (Status s = impl.Recover(); !s.ok()) return s;
  }
  std::shared_lock lock(impl.mu);
  if (!impl.db) return impl.ClosedError();
  rocksdb::WriteOptions wo;
  wo.sync = impl.options.sync_writes;
  // RocksDB stamps a sequence number into the batch header, hence the
  // non-const batch; its operations are unchanged.
  const rocksdb::Status s = impl.db->Write(wo, &batch.rep_->batch);
  if (s.ok()) return Status::Ok();
  impl.needs_recovery.store(true);
  return WriteError(impl.dir, s);
}

StatusOr<std::vector<std::pair<std::string, std::string>>> StateStore::ScanPrefix(
    std::string_view prefix) const {
  std::shared_lock lock(impl_->mu);
  if (!impl_->db) return impl_->ClosedError();

  // Upper bound: the prefix with its last byte below 0xff incremented and
  // the rest dropped. A prefix of only 0xff bytes has no bound.
  std::string upper(prefix);
  while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
  if (!upper.empty())
    upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;

  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    if (!it->key().starts_with(ToSlice(prefix))) break;
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  if (!it->status().ok()) return ReadError(impl_->dir, "prefix scan", it->status());
  return out;
}

uint64_t StateStore::ApproximateBytes() const {
  std::shared_lock lock(impl_->mu);
  if (!impl_->db) return 0;
  uint64_t sst = 0;
  uint64_t memtables = 0;
  impl_->db->GetIntProperty(rocksdb::DB::Properties::kTotalSstFilesSize, &sst);
  impl_->db->GetIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &memtables);
  // No RocksDB property gives the WAL size, and GetSortedWalFiles() fails
  // when a log is purged mid-listing; a tolerant directory walk does not.
  uint64_t wal = 0;
  std::error_code ec;
  for (fs::directory_iterator it(impl_->dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 4 && name.ends_with(".log") && IsDataFileName(name)) {
      std::error_code size_ec;
      const uintmax_t size = it->file_size(size_ec);
      if (!size_ec) wal += size;
    }
  }
  return sst + memtables + wal;
}

const std::string& StateStore::dir() const { return impl_->dir; }

}  // namespace kcanary
