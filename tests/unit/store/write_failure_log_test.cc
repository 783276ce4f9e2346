#include "common/store/write_failure_log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>

namespace kcanary {
namespace {

using namespace std::chrono_literals;

// Captures what the default logger writes while it lives.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  int Lines() const {
    const std::string s = out_.str();
    return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
  }
  std::string Text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(WriteFailureLogTest, FullDiskLogsOnceThenOncePerInterval) {
  CapturedLog log;
  WriteFailureLog w("verifier", "offsets not committed", 10s);
  const auto t0 = WriteFailureLog::Clock::now();
  const Status no_space = Status::IoError("No space left on device");
  for (int i = 0; i < 500; ++i) w.Failed(no_space, t0 + i * 10ms);  // 5 s of failures
  EXPECT_EQ(log.Lines(), 1) << log.Text();
  EXPECT_NE(log.Text().find("error verifier: state not stored (1 failed write so far), offsets "
                            "not committed: No space left on device"),
            std::string::npos)
      << log.Text();
  w.Failed(no_space, t0 + 10s);
  EXPECT_EQ(log.Lines(), 2) << log.Text();
  EXPECT_NE(log.Text().find("(501 failed writes so far)"), std::string::npos) << log.Text();
  EXPECT_EQ(w.failures(), 501u);
}

TEST(WriteFailureLogTest, FirstSuccessAfterFailuresSaysHowManyAndResets) {
  CapturedLog log;
  WriteFailureLog w("canary", "not producing", 10s);
  w.Succeeded();
  EXPECT_EQ(log.Lines(), 0) << "a success without failures is not news";
  const auto t0 = WriteFailureLog::Clock::now();
  w.Failed(Status::IoError("disk full"), t0);
  w.Failed(Status::IoError("disk full"), t0 + 1s);
  w.Succeeded();
  EXPECT_NE(log.Text().find("info canary: state stored again after 2 failed writes"),
            std::string::npos)
      << log.Text();
  EXPECT_EQ(w.failures(), 0u);
  // The next outage is news again: logged at once.
  w.Failed(Status::IoError("disk full"), t0 + 2s);
  EXPECT_EQ(log.Lines(), 3) << log.Text();
}

}  // namespace
}  // namespace kcanary
