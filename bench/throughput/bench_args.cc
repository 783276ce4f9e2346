#include "bench_args.h"

#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace kcanary::bench {

std::atomic<bool> g_stop{false};

namespace {

[[noreturn]] void Usage(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::exit(2);
}

void OnSignal(int) { g_stop = true; }

}  // namespace

Args Args::Parse(int argc, char** argv, const std::map<std::string, std::string>& defaults) {
  Args args;
  args.flags = defaults;
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (i + 1 >= argc) Usage("flag " + name + " needs a value");
    const std::string value = argv[++i];
    if (name == "-X") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos) Usage("-X " + value + ": expected key=value");
      args.kafka[value.substr(0, eq)] = value.substr(eq + 1);
      continue;
    }
    if (name == "-b") name = "--brokers";
    if (name == "-t") name = "--topic";
    if (name.rfind("--", 0) != 0 || !defaults.count(name.substr(2))) {
      Usage("unknown flag " + name);
    }
    args.flags[name.substr(2)] = value;
  }
  return args;
}

const std::string& Args::Get(const std::string& name) const { return flags.at(name); }

long long Args::Int(const std::string& name) const {
  char* end = nullptr;
  const long long v = std::strtoll(Get(name).c_str(), &end, 10);
  if (end == nullptr || *end != '\0' || Get(name).empty()) {
    Usage("--" + name + ": not an integer: " + Get(name));
  }
  return v;
}

double Args::Double(const std::string& name) const {
  char* end = nullptr;
  const double v = std::strtod(Get(name).c_str(), &end);
  if (end == nullptr || *end != '\0' || Get(name).empty()) {
    Usage("--" + name + ": not a number: " + Get(name));
  }
  return v;
}

void InstallStopHandler() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

void SetConf(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    Usage("librdkafka property " + key + ": " + err);
  }
}

}  // namespace kcanary::bench
