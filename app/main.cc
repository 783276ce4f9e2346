// kcanary's entry point: parse the command line, run the service until
// SIGTERM or SIGINT, then stop it in order (drain the canary, store state).
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <utility>

#include <librdkafka/rdkafka.h>

#include "app/audit_command.h"
#include "app/service.h"
#include "common/config/config.h"

int main(int argc, char** argv) {
  // The librdkafka really linked (static, pinned in deps/librdkafka.pin),
  // read from the library itself, as kcanary_build_info shows it.
  const std::string version =
      std::string(KCANARY_VERSION) + " (librdkafka " + rd_kafka_version_str() + ")";
  const kcanary::ParseResult parsed = kcanary::ParseCommandLine(argc, argv, version);
  if (!parsed.config) {
    std::fputs(parsed.output.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  const kcanary::Config& config = *parsed.config;
  // Logs go to stderr, like every Kafka tool's; stdout stays for output.
  spdlog::set_default_logger(spdlog::stderr_color_mt("kcanary"));
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (config.command == kcanary::Command::kAudit) {
    return kcanary::RunAudit(config, std::cout, std::cerr);
  }

  // The listener's files (basic auth users, TLS certificate and key) are
  // configuration too: a bad one is a usage error, reported before anything
  // starts, like a bad flag.
  kcanary::StatusOr<kcanary::HttpSecurity> listener = kcanary::LoadListenerSecurity(config);
  if (!listener.ok()) {
    std::fprintf(stderr, "kcanary %s: %s\n",
                 std::string(kcanary::CommandName(config.command)).c_str(),
                 listener.status().message().c_str());
    return 2;
  }

  // Signals are taken by sigwait below, never by a thread in the middle of work.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // A dedicated thread takes SIGTERM/SIGINT.
  int signal_number = 0;
  std::thread waiter([&] { sigwait(&signals, &signal_number); });

  spdlog::info("kcanary {} ({}) starting: topic {}, state {}", KCANARY_VERSION,
               kcanary::CommandName(config.command), config.topic, config.state_dir);
  auto service = kcanary::Service::Start(config, std::move(*listener));
  if (!service.ok()) {
    spdlog::error("{}", service.status().message());
    pthread_kill(waiter.native_handle(), SIGTERM);  // release the waiter
    waiter.join();
    return 1;
  }
  waiter.join();
  spdlog::info("received {}: draining in-flight records and storing state",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  (*service)->Stop();
  spdlog::info("stopped cleanly");
  return 0;
}
