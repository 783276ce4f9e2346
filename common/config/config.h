// kcanary's configuration: the typed Config every process runs from, the
// command line that produces it, and the effective librdkafka configurations.
//
//   ParseResult parsed = ParseCommandLine(argc, argv, "0.1.0");
//   if (!parsed.config) {
//     (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.output;
//     return parsed.exit_code;
//   }
//   const Config& config = *parsed.config;
//   spdlog::info("producer config:\n{}", RedactedDump(config.ProducerConfig()));
//
// The config module depends on nothing but common/status.h; it validates
// everything once, at start-up, so a bad flag fails fast with exit status 2.
// Also declares, through the headers it includes, the -F properties parser
// (properties.h) and secret redaction (secrets.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/config/properties.h"
#include "common/config/secrets.h"

namespace kcanary {

// The subcommand being run. See SPEC.md §3.
enum class Command {
  kRun,     // canary + verifier in one process (the sidecar default)
  kCanary,  // producer only
  kVerify,  // consumer only
  kAudit,   // the durability checklist (SPEC §6), once
};

// The command's name as typed on the command line ("run", "canary", "verify", "audit").
std::string_view CommandName(Command command);

struct Config {
  Command command = Command::kRun;
  // bootstrap.servers. Empty means the embedded mock cluster, which only `run`
  // accepts. Set by --brokers, or else from bootstrap.servers given by -X/-F.
  std::string brokers;
  std::string topic = "kcanary";
  std::string state_dir = "./kcanary-state";
  std::string listen = "127.0.0.1:9642";  // host:port of the metrics/health HTTP listener
  // File of user:password lines: the listener asks for basic auth (but on
  // /healthz and /readyz). The path only; the passwords are read at start.
  std::string listen_auth;
  // PEM certificate (chain) and unencrypted key: the listener speaks TLS only.
  // Both or neither; the paths only, the files are read at start.
  std::string listen_tls_cert;
  std::string listen_tls_key;
  std::string log_level = "info";  // trace|debug|info|warn|error
  // Verifier's consumer group. ParseCommandLine sets it from --group, else from
  // group.id given by -X/-F, else "kcanary-verifier-" + topic. Left empty in a
  // hand-built Config, ConsumerConfig() uses that same default.
  std::string group_id;
  double rate = 10;                 // records per second per partition (canary)
  int64_t message_size = 256;       // bytes of each record value (canary)
  int32_t embedded_partitions = 6;  // partitions of the embedded mock cluster's topic
  // If set, the canary appends every delivery outcome to this file (a line per
  // record) after storing it: ground truth for tests and audits. Grows without bound.
  std::string delivery_journal;
  // Create the canary topic when missing and add partitions so every broker
  // leads one (SPEC §7); false only reports coverage (managed clusters).
  bool manage_topic = true;
  // audit: topics to check besides the canary topic, an ECMAScript regular
  // expression matched against whole names; empty checks the canary topic only.
  std::string audit_topics;
  std::string output_format = "text";  // audit: text|json
  Properties common_props;    // from -F files and unprefixed -X, applied to producer and consumer
  Properties producer_props;  // -X canary.<key>=v (prefix stripped): producer only
  Properties consumer_props;  // -X verifier.<key>=v (prefix stripped): consumer only

  // Effective librdkafka configurations, layered (later wins):
  //   kcanary defaults < common_props < role props < dedicated flags
  // where common_props and the role props each hold -F values overridden by -X
  // values, and the dedicated flags are brokers (bootstrap.servers) and, for
  // the consumer, group_id (group.id), applied when non-empty. So a canary. or
  // verifier. key beats an unprefixed one whichever of -F and -X it came from.
  // May contain secrets: log them only through RedactedDump().
  //
  // Producer defaults: acks=all, enable.idempotence=true, linger.ms=5,
  // client.id=kcanary-canary.
  Properties ProducerConfig() const;
  // Consumer defaults: enable.auto.commit=false, enable.auto.offset.store=false,
  // auto.offset.reset=error, enable.partition.eof=true,
  // client.id=kcanary-verifier, group.id=kcanary-verifier-<topic>.
  Properties ConsumerConfig() const;
  // Admin client (topic management, audit): client.id=kcanary-admin, then
  // common_props, then brokers.
  Properties AdminConfig() const;
};

struct ParseResult {
  // 0: go on running (config is set), or --help/--version was answered.
  // 2: usage error (bad flag, value, file or command).
  // 1: internal error (a bug or out of memory); should not happen.
  int exit_code = 0;
  // Help/version text (for stdout) or the error message (for stderr); ends in a
  // newline unless empty. Error messages are one line (a missing command adds
  // the usage), name the flag and the bad value, and never contain the value
  // of a secret property.
  std::string output;
  std::optional<Config> config;  // set only when the program should go on running
};

// Parses `kcanary [--version] [--help] <command> [options]`. `argv[0]` is
// ignored. Reads -F files and resolves ${env:}/${file:} references. Never
// throws and never writes to stdout/stderr itself.
ParseResult ParseCommandLine(int argc, const char* const* argv, std::string_view version);

}  // namespace kcanary
