// StateStore: kcanary's durable key-value state, a thin wrapper over RocksDB.
//
// This file defines StoreOptions, WriteBatch (puts and deletes applied
// atomically) and StateStore (open, get, write, prefix scan, size).
//
// The verifier writes each receipt together with the consumer positions it
// covers in one WriteBatch, and commits offsets to Kafka only after Write()
// has returned OK. OK means the whole batch is in RocksDB's write-ahead log
// (WAL): in the OS page cache, so it survives kill -9 of the process, and with
// StoreOptions::sync_writes also on the disk, so it survives a machine crash.
//
//   auto store = StateStore::Open("/var/lib/kcanary", StoreOptions{});
//   if (!store.ok()) return store.status();
//   WriteBatch batch;
//   batch.Put("rcv/orders/0/42", receipt);
//   batch.Put("pos/orders/0", "43");
//   if (Status s = (*store)->Write(batch); !s.ok()) return s;
//   // ...only now commit offset 43 to Kafka.
//
// Key layout belongs to the callers, except for kSchemaVersionKey, which the
// store owns. No RocksDB type appears here: RocksDB errors become
// kcanary::Status with messages that name the state directory and say what
// the operator can do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace kcanary {

struct StoreOptions {
  /// false: Write() returns once the batch is in the WAL in the OS page cache;
  /// it survives kill -9 of the process but not a kernel or power failure.
  /// true: Write() also fsyncs the WAL, so it survives a machine crash, at the
  /// cost of one fsync per Write().
  bool sync_writes = false;
};

/// A set of puts and deletes that StateStore::Write() applies atomically:
/// after any crash either every operation is visible or none is.
/// Operations apply in the order they were added; a later one on the same key
/// wins. A moved-from batch is empty and reusable.
///
/// Thread safety: none. Build a batch on one thread, and do not hand the same
/// batch to Write() from two threads at once.
class WriteBatch {
 public:
  WriteBatch() noexcept;
  ~WriteBatch();
  WriteBatch(const WriteBatch& other);
  WriteBatch& operator=(const WriteBatch& other);
  WriteBatch(WriteBatch&& other) noexcept;
  WriteBatch& operator=(WriteBatch&& other) noexcept;

  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  /// Removes every operation, keeping the allocated memory for reuse.
  void Clear();

  bool empty() const;
  /// Number of Put and Delete operations added since construction or Clear().
  size_t size() const;

 private:
  friend class StateStore;
  struct Rep;
  std::unique_ptr<Rep> rep_;  // Null until the first operation; then owned.
};

/// The state directory: one RocksDB database, used by one process at a time.
///
/// Thread safety: Get(), Write(), ScanPrefix(), ApproximateBytes() and dir()
/// may be called concurrently from any number of threads. The destructor must
/// not run concurrently with any other call.
class StateStore {
 public:
  /// Version of the key layout. Opening a store written with a newer version
  /// fails rather than misreading it.
  static constexpr int kSchemaVersion = 1;
  /// Holds kSchemaVersion as decimal text; written when the store is created.
  static constexpr std::string_view kSchemaVersionKey = "meta/schema_version";

  /// Opens the store in `dir`, or creates it (and missing parent directories)
  /// when `dir` does not exist or holds no store yet.
  ///
  /// Errors, each naming the directory:
  /// - InvalidArgument: `dir` is empty.
  /// - IoError: `dir` is not a directory, cannot be created, is not writable
  ///   (with the OS reason), or RocksDB hit an I/O error.
  /// - Unavailable: another process holds the store open (its pid if known);
  ///   may succeed once that process has exited.
  /// - FailedPrecondition: this process already has `dir` open, or the state
  ///   was written by a newer kcanary (says how to reset).
  /// - Corruption: damaged or missing store files, or an unreadable schema
  ///   version (says how to reset).
  static StatusOr<std::unique_ptr<StateStore>> Open(const std::string& dir,
                                                    const StoreOptions& options);

  /// The value stored under `key`, or nullopt if there is none.
  /// Errors: Corruption (checksum mismatch, with reset advice), IoError.
  StatusOr<std::optional<std::string>> Get(std::string_view key) const;

  /// Applies `batch` atomically; an empty batch is a no-op.
  ///
  /// On OK the batch survives kill -9 (and a machine crash with sync_writes).
  /// On error the batch was not partially applied, but it may still have
  /// been applied whole (e.g. the WAL reached the disk and the fsync failed);
  /// writing the same batch again is safe because puts and deletes are
  /// idempotent. Errors are IoError naming the directory (e.g. no space
  /// left), Corruption, or InvalidArgument for a key or value of 4 GiB or
  /// more (nothing is written). After a failed write the store stays readable,
  /// and each later Write() first tries to recover (once RocksDB has cleared
  /// the error, by reopening the database), so writes succeed again once the
  /// cause, e.g. a full disk, is gone. A reopen briefly blocks other calls.
  Status Write(const WriteBatch& batch);

  /// Every (key, value) whose key starts with `prefix`, in key order, from
  /// one consistent snapshot. The empty prefix returns the whole store. The
  /// result is held in memory, so keep prefixes narrow on large stores.
  StatusOr<std::vector<std::pair<std::string, std::string>>> ScanPrefix(
      std::string_view prefix) const;

  /// Approximate footprint in bytes, for kcanary_state_bytes: SST files plus
  /// write-ahead logs on disk plus memtables in memory. 0 while the store is
  /// closed after a failed recovery.
  uint64_t ApproximateBytes() const;

  /// The state directory as an absolute path.
  const std::string& dir() const;

  /// Flushes memtables to SST files (so the next Open() has no log to
  /// replay) and closes the store. Errors here lose nothing: every write
  /// that returned OK is already in the WAL.
  ~StateStore();

  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

 private:
  struct Impl;
  explicit StateStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kcanary
