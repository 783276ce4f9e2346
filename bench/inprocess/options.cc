#include "bench/inprocess/options.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>

namespace kcanary::bench {
namespace {

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "%s\nusage: kcanary-bench-state --state-dir DIR [--mode state|latency|build]\n"
               "  [--records N] [--checkpoints N,N,...] [--partitions N] [--batch N]\n"
               "  [--chunk N] [--live 0|1] [--message-size N] [--prune-interval-ms N]\n"
               "  [--loss-per-million X] [--dup-per-million X] [--loss-every N]\n"
               "  [--dup-every N] [--namespace TOPIC] [--seed N]\n"
               "Numbers may be written as 1e7.\n",
               why.c_str());
  std::exit(2);
}

// Accepts 10000000 and 1e7 alike.
double Number(std::string_view flag, const char* text) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || v < 0) Usage("bad number for " + std::string(flag));
  return v;
}

}  // namespace

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) Usage("missing value for " + std::string(flag));
    const char* value = argv[++i];
    auto integer = [&] { return static_cast<int64_t>(Number(flag, value)); };
    if (flag == "--mode") {
      o.mode = value;
    } else if (flag == "--state-dir") {
      o.state_dir = value;
    } else if (flag == "--namespace") {
      o.state_namespace = value;
    } else if (flag == "--partitions") {
      o.partitions = static_cast<int>(integer());
    } else if (flag == "--records") {
      o.records = integer();
    } else if (flag == "--checkpoints") {
      std::istringstream in(value);
      std::string item;
      while (std::getline(in, item, ',')) {
        o.checkpoints.push_back(static_cast<int64_t>(Number(flag, item.c_str())));
      }
    } else if (flag == "--batch") {
      o.batch = static_cast<size_t>(integer());
    } else if (flag == "--chunk") {
      o.chunk = static_cast<size_t>(integer());
    } else if (flag == "--live") {
      o.live = integer() != 0;
    } else if (flag == "--message-size") {
      o.message_size = static_cast<size_t>(integer());
    } else if (flag == "--prune-interval-ms") {
      o.prune_interval_ms = integer();
    } else if (flag == "--loss-per-million") {
      o.loss_per_million = Number(flag, value);
    } else if (flag == "--dup-per-million") {
      o.dup_per_million = Number(flag, value);
    } else if (flag == "--loss-every") {
      o.loss_every = integer();
    } else if (flag == "--dup-every") {
      o.dup_every = integer();
    } else if (flag == "--seed") {
      o.seed = static_cast<uint64_t>(integer());
    } else {
      Usage("unknown flag " + std::string(flag));
    }
  }
  if (o.state_dir.empty()) Usage("--state-dir is required");
  if (o.mode != "state" && o.mode != "latency" && o.mode != "build") Usage("bad --mode");
  if (o.partitions < 1 || o.batch < 1 || o.chunk < 1 || o.records < 1) Usage("sizes must be > 0");
  if (o.loss_every < 2 || o.dup_every < 2) Usage("--loss-every and --dup-every must be >= 2");
  if (o.checkpoints.empty()) {
    for (int64_t c : {1'000'000LL, 10'000'000LL, 100'000'000LL}) {
      if (c < o.records) o.checkpoints.push_back(c);
    }
  }
  o.checkpoints.push_back(o.records);
  return o;
}

}  // namespace kcanary::bench
