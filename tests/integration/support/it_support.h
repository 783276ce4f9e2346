// Shared helpers of kcanary's integration tests on librdkafka's mock cluster.
//
// Everything here is hermetic: temp dirs per test, loopback sockets only, and
// waits that poll a condition until a deadline instead of sleeping.
//
// Ground truth for a finished scenario comes from two independent sources, as
// SPEC §8 asks: a full re-read of the topic with a plain librdkafka consumer
// (ReadTopic), and the canary's own delivery reports as it stored them
// (ReadCanaryState). Expect() combines them into the class totals a correct
// detector must report, which a test compares with the detector's counts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "detector/types.h"
#include "state.pb.h"
#include "verifier/detector_hub.h"

namespace kcanary {
class Service;
}  // namespace kcanary

namespace kcanary::it {

using namespace std::chrono_literals;

// ------------------------------------------------------------------ basics

/// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// path()/name (not created).
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Polls `done` every `poll` until it returns true (true) or `timeout` passes
/// (false, after one last check).
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = 50ms);

/// A TCP port on 127.0.0.1 that was free a moment ago (for child processes,
/// which cannot report the port they bound).
int FreeLoopbackPort();

// ------------------------------------------------------------------ HTTP

struct HttpReply {
  int status = -1;  // -1: no answer (connection refused, timeout, garbage)
  std::string headers;
  std::string body;
};
/// GET http://127.0.0.1:<port><path> over a raw socket (HTTP/1.0).
/// `extra_headers`: more request header lines, each ending in "\r\n".
HttpReply HttpGet(int port, const std::string& path, int timeout_ms = 5000,
                  const std::string& extra_headers = "");

// ------------------------------------------------------------- Prometheus

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
/// Parses the Prometheus text format (comments skipped). Malformed lines are
/// returned in `bad` when given.
std::vector<Sample> ParseMetrics(const std::string& text, std::vector<std::string>* bad = nullptr);
/// Sum of the samples named `name` whose labels include every pair in `match`.
double SumOf(const std::vector<Sample>& samples, const std::string& name,
             const std::map<std::string, std::string>& match = {});
/// Number of samples named `name` whose labels include every pair in `match`.
int CountOf(const std::vector<Sample>& samples, const std::string& name,
            const std::map<std::string, std::string>& match = {});

// ------------------------------------------------------------- detector

/// Sum over partitions of the hub's counts; `unseen`/`pending` if non-null.
ClassCounts Totals(DetectorHub& hub, int64_t* unseen = nullptr, int64_t* pending = nullptr);
ClassCounts CountsOf(DetectorHub& hub, int32_t partition);
uint64_t SumOf(const std::map<std::string, uint64_t>& labeled);
/// labeled[key], or 0 when absent.
uint64_t Labeled(const std::map<std::string, uint64_t>& labeled, const std::string& key);
/// One-line rendering of every class, for failure messages.
std::string Describe(const ClassCounts& c);
/// "No false anomaly": every anomaly class is 0.
bool NoAnomaly(const ClassCounts& c);

// ------------------------------------------------------------- config

/// A Config for `command` against `brokers` (empty: embedded), HTTP off.
Config MakeConfig(Command command, const std::string& brokers, const std::string& topic,
                  const std::string& state_dir, double rate);

// ------------------------------------------------------------- Kafka

/// One record of a full topic re-read.
struct LogRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string value;
};
/// Reads every partition of `topic` from its low to its high watermark with a
/// plain consumer (no group commits). Fails the current test on error.
std::vector<LogRecord> ReadTopic(const std::string& bootstrap, const std::string& topic,
                                 std::chrono::milliseconds timeout = 20s);
/// Per partition of `topic`: the offset `group` has committed (-1: none) and
/// the high watermark, as {partition: {committed, high}}. Fails the current
/// test on error.
std::map<int32_t, std::pair<int64_t, int64_t>> CommittedAndHigh(const std::string& bootstrap,
                                                                const std::string& group,
                                                                const std::string& topic);
/// Produces `values` to `partition` with a plain (non-canary) producer and waits
/// for every delivery. Returns the number delivered.
int ProduceRaw(const std::string& bootstrap, const std::string& topic, int32_t partition,
               const std::vector<std::string>& values);
/// The leader broker of `partition` per the cluster's metadata (-1 on error).
int32_t LeaderOf(const std::string& bootstrap, const std::string& topic, int32_t partition);

// ------------------------------------------------------------- ground truth

/// The canary's stored state (its delivery reports): partition → state. Opens
/// the store, so the Service using `state_dir` must be stopped.
std::map<int32_t, state::CanaryPartitionState> ReadCanaryState(const std::string& state_dir,
                                                               const std::string& ns);
/// The verifier's stored detector state, loaded into detectors.
std::map<int32_t, ClassCounts> ReadVerifierCounts(const std::string& state_dir,
                                                  const std::string& ns,
                                                  std::map<int32_t, int64_t>* unseen = nullptr);

/// What a correct detector must report for one partition, derived from a full
/// re-read and the canary's delivery reports. `redelivered` is not predicted.
struct Expected {
  ClassCounts counts;
  uint64_t acked = 0;                // sequences the canary saw PERSISTED
  uint64_t acked_not_at_offset = 0;  // PERSISTED but the log holds another record there
  uint64_t canary_records = 0;       // decodable canary records of this partition in the log
  // Records a restarted canary declared in doubt (POSSIBLY_PERSISTED,
  // canary_restart) that the log holds: counted `recovered` above, though a
  // detector in the killed canary's process may rightly know them acked.
  uint64_t restart_recovered = 0;
  std::string problem;  // non-empty: the reports do not cover every sequence
  // The canary record (run, sequence) at each offset of the partition.
  std::map<int64_t, std::pair<uint64_t, int64_t>> at_offset;
};
/// `log` may hold every partition; only `partition`'s records are used.
/// `canary` is the stored state of that partition, `run_id` the canary's run.
Expected Expect(const std::vector<LogRecord>& log, int32_t partition, uint64_t run_id,
                const state::CanaryPartitionState& canary);
/// Compares, partition by partition, the detector's counts in `hub` with
/// Expect() over a fresh re-read of `topic` and the canary state stored in
/// `canary_state_dir` under `ns` (Services must be stopped). Adds a test
/// failure for every class that differs (redelivered is not compared) and
/// returns the expectation summed over partitions.
Expected CheckAgainstGroundTruth(DetectorHub& hub, const std::string& bootstrap,
                                 const std::string& topic, const std::string& canary_state_dir,
                                 const std::string& ns);

/// After the Service that used `state_dir` has stopped (the log no longer
/// grows): runs a verifier alone on that state until it has read every
/// partition to its end with nothing unseen or pending, then stops it. Its
/// hub holds the final verdicts, with no lag left for a comparison with the
/// ground truth to trip over. Fails the test if it cannot catch up.
std::unique_ptr<Service> CatchUp(const std::string& bootstrap, const std::string& topic,
                                 const std::string& state_dir);

/// The canary run id stored in `state_dir` (0 if none).
uint64_t ReadRunId(const std::string& state_dir, const std::string& ns);

// ------------------------------------------------------------- pipelines

/// A canary Service (kCanary) and a verifier Service (kVerify) on one cluster,
/// each with its own state dir, as two processes would run them: outcomes
/// reach the verifier only in-band. Either may be stopped and started again.
/// Use the Start/Stop methods under ASSERT_NO_FATAL_FAILURE.
class SplitPipeline {
 public:
  SplitPipeline(std::string bootstrap, std::string topic, std::string base_dir, double rate,
                Properties producer_props = {});
  ~SplitPipeline();

  void StartVerifier();
  void StartCanary();
  void StopVerifier();
  /// Stops the canary (it drains) and adds its acks to acked().
  void StopCanary();

  Service* verifier() { return verifier_.get(); }
  Service* canary() { return canary_.get(); }
  std::string verifier_dir() const { return base_dir_ + "/verifier"; }
  std::string canary_dir() const { return base_dir_ + "/canary"; }
  /// Records acked as persisted by every canary incarnation so far.
  uint64_t acked();
  /// The verifier's totals (zero when it is not running).
  ClassCounts VerifierTotals(int64_t* unseen = nullptr);
  /// Waits until the verifier has read `n` more records than now.
  void WaitForReads(uint64_t n, std::chrono::milliseconds timeout = 20s);
  /// Waits until the canary has `n` more acks than now.
  void WaitForAcks(uint64_t n, std::chrono::milliseconds timeout = 20s);

 private:
  uint64_t RunningCanaryAcks();

  std::string bootstrap_;
  std::string topic_;
  std::string base_dir_;
  double rate_;
  Properties producer_props_;
  uint64_t acked_before_ = 0;
  std::unique_ptr<Service> verifier_;
  std::unique_ptr<Service> canary_;
};

// ------------------------------------------------------------- processes

/// A child process with stdout and stderr captured to files.
class Child {
 public:
  /// Starts `argv` (argv[0] is the program path). Fails the test on error.
  explicit Child(std::vector<std::string> argv, const std::string& log_dir);
  ~Child();  // SIGKILLs a child still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signal);
  /// The wait status once the child exited within `timeout`, else nullopt.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool running();
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_;
  std::string err_path_;
};

/// Runs `argv` to completion (killed after `timeout`); returns the wait status.
struct RunResult {
  int exit_code = -1;  // -1: did not exit normally
  std::string out;
  std::string err;
};
RunResult RunToExit(std::vector<std::string> argv, const std::string& log_dir,
                    std::chrono::milliseconds timeout = 20s);

/// Path of the kcanary binary under test.
std::string KcanaryBinary();

}  // namespace kcanary::it
