#include "common/config/cli_spec.h"

#include <array>
#include <charconv>

#include "common/config/flag_values.h"

namespace kcanary::cli {
namespace {

constexpr CommandSet kAudit = Bit(Command::kAudit);
constexpr CommandSet kRoles = Bit(Command::kRun) | Bit(Command::kCanary) | Bit(Command::kVerify);
constexpr CommandSet kAll = kRoles | kAudit;
constexpr CommandSet kProducing = Bit(Command::kRun) | Bit(Command::kCanary);

std::string FormatDouble(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return ec == std::errc() ? std::string(buffer, end) : std::string("?");
}

constexpr std::array<CommandSpec, 4> kCommands = {{
    {Command::kRun, "run", "canary + verifier in one process (the sidecar default)",
     "Runs the canary (producer) and the verifier (consumer) in one process that "
     "shares one state store: the sidecar default. Without --brokers (and without "
     "bootstrap.servers from -X/-F) it starts librdkafka's in-process mock cluster "
     "(three brokers) and monitors it, so the whole pipeline and its metrics can be "
     "tried with nothing else installed.",
     /*requires_brokers=*/false, /*produces=*/true, /*consumes=*/true},
    {Command::kCanary, "canary",
     "the producer alone (pair it with verify, in any process or cluster)",
     "Produces sequence-numbered records to every partition of the canary topic and "
     "records the delivery outcome of each; outcomes travel in-band, so a verifier in "
     "another process or behind MirrorMaker can classify them. Requires --brokers.",
     /*requires_brokers=*/true, /*produces=*/true, /*consumes=*/false},
    {Command::kVerify, "verify", "the verifier alone: reads, stores, then commits",
     "Consumes the canary topic, stores each receipt durably before committing its "
     "offset, and classifies every expected record (received, lost, expired, "
     "duplicated, ...). Requires --brokers.",
     /*requires_brokers=*/true, /*produces=*/false, /*consumes=*/true},
    {Command::kAudit, "audit", "check topics and brokers against the durability checklist",
     "Reads the configs of the canary topic (and of the topics --topics matches) and of "
     "every broker through the Admin API, and checks them against the durability "
     "checklist: replication factor >= 3, min.insync.replicas >= 2 and below the "
     "replication factor, unclean leader election off; plus kcanary's own producer "
     "(acks=all, retries or idempotence) and verifier (manual commit) as -X/-F set them. "
     "One row per topic and check: PASS/FAIL, the value seen, why it matters, the fix. "
     "Exit status: 0 all pass, 1 a check failed, 2 usage or connection error, or a "
     "check that could not be made (e.g. DescribeConfigs denied). Requires --brokers.",
     /*requires_brokers=*/true, /*produces=*/false, /*consumes=*/false},
}};

constexpr std::array<OptionSpec, 18> kOptions = {{
    {"-b", "--brokers", "HOST:PORT[,...]",
     "Kafka bootstrap servers; overrides bootstrap.servers from -X/-F. canary and verify "
     "need brokers from this flag or from -X/-F; run without any starts the embedded "
     "mock cluster.",
     OptionKind::kValue, kAll, nullptr, &SetBrokers},
    {"-t", "--topic", "NAME", "Canary topic.", OptionKind::kValue, kAll,
     [] { return Config{}.topic; }, &SetTopic},
    {"-X", "", "KEY=VALUE",
     "Set a librdkafka property; repeatable, the last one wins. Prefix the key with "
     "canary. for the producer only or verifier. for the consumer only "
     "(e.g. -X canary.acks=1).",
     OptionKind::kProperty, kAll, nullptr, nullptr},
    {"-F", "", "FILE",
     "Read librdkafka properties from FILE: key=value lines, '#' or '!' starts a "
     "comment; repeatable, later files win; same prefixes as -X.",
     OptionKind::kPropertiesFile, kAll, nullptr, nullptr},
    {"", "--state-dir", "DIR", "Directory of kcanary's durable state (RocksDB).",
     OptionKind::kValue, kRoles, [] { return Config{}.state_dir; }, &SetStateDir},
    {"", "--listen", "HOST:PORT",
     "HTTP listener for /metrics, /healthz, /readyz, /status and /; "
     "port 0 picks a free port; none disables it.",
     OptionKind::kValue, kRoles, [] { return Config{}.listen; }, &SetListen},
    {"", "--listen-auth", "FILE",
     "Ask for HTTP basic auth on every path but /healthz and /readyz; FILE holds "
     "user:password lines (keep it private: passwords are read from it at start).",
     OptionKind::kValue, kRoles, nullptr, &SetListenAuth},
    {"", "--listen-tls-cert", "FILE",
     "Serve the listener over TLS only (1.2 or later): FILE holds the PEM server certificate, "
     "then any intermediates. Needs --listen-tls-key. Read at start: a renewed certificate "
     "takes a restart.",
     OptionKind::kValue, kRoles, nullptr, &SetListenTlsCert},
    {"", "--listen-tls-key", "FILE",
     "The PEM private key of --listen-tls-cert, unencrypted (keep it mode 0600); read at "
     "start.",
     OptionKind::kValue, kRoles, nullptr, &SetListenTlsKey},
    {"", "--log-level", "LEVEL", "Log verbosity: trace, debug, info, warn or error.",
     OptionKind::kValue, kAll, [] { return Config{}.log_level; }, &SetLogLevel},
    {"", "--group", "ID", "Consumer group of the verifier; overrides group.id from -X/-F.",
     OptionKind::kValue, kRoles, [] { return std::string("kcanary-verifier-<topic>"); }, &SetGroup},
    {"", "--rate", "RECORDS/S",
     "Records per second per partition, > 0 and <= 1000000; fractions allowed "
     "(0.1 = one record every 10 s). Sent in rounds to at most 32 partitions a second: "
     "with many partitions, a partition's records go out up to 20 at a time, at most 2 s "
     "apart.",
     OptionKind::kValue, kProducing, [] { return FormatDouble(Config{}.rate); }, &SetRate},
    {"", "--message-size", "BYTES", "Size of each record value in bytes, 64 to 16777216 (16 MiB).",
     OptionKind::kValue, kProducing, [] { return std::to_string(Config{}.message_size); },
     &SetMessageSize},
    {"", "--delivery-journal", "FILE",
     "Append every delivery outcome to FILE, one line per record (ground truth for tests and "
     "audits; grows without bound).",
     OptionKind::kValue, kProducing, nullptr, &SetDeliveryJournal},
    {"", "--partitions", "N",
     "Partitions of the embedded mock cluster's canary topic, 1 to 1024; only without "
     "--brokers.",
     OptionKind::kValue, Bit(Command::kRun),
     [] { return std::to_string(Config{}.embedded_partitions); }, &SetPartitions},
    {"", "--manage-topic", "BOOL",
     "Create the canary topic when missing (replication factor min(3, brokers), "
     "min.insync.replicas 2 capped below it, one partition led by each broker) and add "
     "partitions when brokers join; false only reports coverage (for managed clusters).",
     OptionKind::kValue, kProducing,
     [] { return std::string(Config{}.manage_topic ? "true" : "false"); }, &SetManageTopic},
    {"", "--topics", "REGEX",
     "Also check the topics whose whole name matches REGEX (ECMAScript syntax, "
     "e.g. 'orders|payments-.*').",
     OptionKind::kValue, kAudit, nullptr, &SetAuditTopics},
    {"", "--format", "FORMAT", "Output: text (a table for humans) or json.", OptionKind::kValue,
     kAudit, [] { return Config{}.output_format; }, &SetOutputFormat},
}};

}  // namespace

std::span<const CommandSpec> Commands() { return kCommands; }
std::span<const OptionSpec> Options() { return kOptions; }

const CommandSpec* FindCommand(std::string_view name) {
  for (const CommandSpec& spec : kCommands) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

const CommandSpec& GetCommand(Command command) {
  for (const CommandSpec& spec : kCommands) {
    if (spec.command == command) return spec;
  }
  return kCommands.front();  // unreachable: every Command has a row
}

std::string DisplayNames(const OptionSpec& option) {
  if (option.short_name.empty()) return std::string(option.long_name);
  if (option.long_name.empty()) return std::string(option.short_name);
  return std::string(option.short_name) + ", " + std::string(option.long_name);
}

}  // namespace kcanary::cli
