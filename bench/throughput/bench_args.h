// Small helpers shared by the throughput tools: "--flag value" parsing, a
// stop flag set by SIGTERM/SIGINT, a monotonic clock and librdkafka config
// setting that exits with a message on a bad key.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <map>
#include <string>

namespace kcanary::bench {

/// "--name value" pairs; "-b" and "-t" are accepted for --brokers and
/// --topic, "-X k=v" (repeatable) collects librdkafka properties. Exits 2
/// naming the flag on anything else.
struct Args {
  std::map<std::string, std::string> flags;
  std::map<std::string, std::string> kafka;  // from -X

  static Args Parse(int argc, char** argv, const std::map<std::string, std::string>& defaults);
  const std::string& Get(const std::string& name) const;
  long long Int(const std::string& name) const;
  double Double(const std::string& name) const;
};

/// Set once SIGTERM or SIGINT arrived (after InstallStopHandler()).
extern std::atomic<bool> g_stop;
void InstallStopHandler();

/// Seconds on the monotonic clock.
double Now();

/// User + system CPU seconds this process has used so far (all threads).
double CpuSeconds();

/// rd_kafka_conf_set, exiting 2 with the key named when librdkafka refuses it.
void SetConf(rd_kafka_conf_t* conf, const std::string& key, const std::string& value);

}  // namespace kcanary::bench
