// A scrape flood against `kcanary run` (issue 7): wrk hammers /metrics on
// loopback for a bounded time while the canary and the verifier work on the
// embedded cluster. The listener's few workers queue the flood (they are
// kWorkerThreads, with a request timeout), so /healthz still answers, the
// verifier keeps reading, and no anomaly is counted.
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "tests/integration/support/it_support.h"

namespace kcanary::it {
namespace {

using Clock = std::chrono::steady_clock;

// Every class that must stay 0 on a healthy (embedded) cluster.
constexpr const char* kAnomalies[] = {
    "kcanary_messages_lost_total",          "kcanary_messages_expired_total",
    "kcanary_messages_duplicated_total",    "kcanary_messages_reordered_total",
    "kcanary_offset_inconsistencies_total", "kcanary_records_invalid_total",
    "kcanary_records_unexpected_total",     "kcanary_messages_failed_but_visible_total",
    "kcanary_messages_not_committed_total", "kcanary_messages_indeterminate_total"};

double Received(int port) {
  return SumOf(ParseMetrics(HttpGet(port, "/metrics", 10'000).body),
               "kcanary_messages_received_total");
}

TEST(ScrapeFloodTest, DetectionGoesOnAndNothingFalseIsCounted) {
  TempDir dir;
  const int port = FreeLoopbackPort();
  Child child({KcanaryBinary(), "run", "--state-dir", dir.Sub("state"), "--listen",
               "127.0.0.1:" + std::to_string(port), "--rate", "100"},
              dir.path());
  ASSERT_TRUE(WaitUntil([&] { return HttpGet(port, "/readyz", 1000).status == 200; }, 30s))
      << child.Stdout() << child.Stderr();
  ASSERT_TRUE(WaitUntil([&] { return Received(port) > 0; }, 20s));
  const double before = Received(port);

  // 64 connections from 2 threads for 15 s (wrk stops itself; RunToExit
  // kills it after 60 s whatever happens).
  RunResult flood;
  std::thread wrk([&] {
    flood = RunToExit({"/usr/bin/wrk", "-t2", "-c64", "-d15s", "--timeout", "10s",
                       "http://127.0.0.1:" + std::to_string(port) + "/metrics"},
                      dir.path(), 60s);
  });
  // Meanwhile the probes answer within the listener's request timeout.
  std::this_thread::sleep_for(2s);
  int probes = 0;
  Clock::duration slowest{};
  while (probes < 10) {
    const auto start = Clock::now();
    EXPECT_EQ(HttpGet(port, "/healthz", 10'000).status, 200) << "probe " << probes;
    slowest = std::max(slowest, Clock::now() - start);
    ++probes;
    std::this_thread::sleep_for(1s);
  }
  wrk.join();
  ASSERT_EQ(flood.exit_code, 0) << flood.out << flood.err;
  std::smatch rate;
  ASSERT_TRUE(std::regex_search(flood.out, rate, std::regex(R"(Requests/sec:\s+([0-9.]+))")))
      << flood.out;
  EXPECT_GT(std::stod(rate[1]), 10) << flood.out;
  EXPECT_EQ(flood.out.find("Non-2xx"), std::string::npos) << flood.out;
  RecordProperty("flood_requests_per_s", rate[1].str());
  RecordProperty(
      "slowest_probe_ms",
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()));

  // The verifier went on reading through the flood (600 records/s are
  // produced; over ~17 s far more than 1,000 must have arrived), and nothing
  // false was counted.
  const double after = Received(port);
  EXPECT_GT(after - before, 1000) << "before " << before << " after " << after;
  const std::vector<Sample> samples = ParseMetrics(HttpGet(port, "/metrics", 10'000).body);
  for (const char* name : kAnomalies) EXPECT_EQ(SumOf(samples, name), 0) << name;
  EXPECT_TRUE(child.running()) << child.Stderr();
}

}  // namespace
}  // namespace kcanary::it
