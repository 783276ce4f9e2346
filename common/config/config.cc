#include "common/config/config.h"

namespace kcanary {
namespace {

void Overlay(Properties& base, const Properties& top) {
  for (const auto& [key, value] : top) base[key] = value;
}

}  // namespace

std::string_view CommandName(Command command) {
  switch (command) {
    case Command::kRun:
      return "run";
    case Command::kCanary:
      return "canary";
    case Command::kVerify:
      return "verify";
    case Command::kAudit:
      return "audit";
  }
  return "unknown";
}

Properties Config::ProducerConfig() const {
  // librdkafka defaults to enable.idempotence=false (2.8.0 as 2.0.2); without it a retry
  // can duplicate or reorder records, which the detector would then report.
  // message.timeout.ms keeps librdkafka's default on purpose.
  Properties props = {
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"client.id", "kcanary-canary"},
      {"linger.ms", "5"},
  };
  Overlay(props, common_props);
  Overlay(props, producer_props);
  if (!brokers.empty()) props["bootstrap.servers"] = brokers;
  return props;
}

Properties Config::ConsumerConfig() const {
  // The verifier stores a receipt before it commits, so librdkafka must not
  // commit or store offsets behind its back; auto.offset.reset=error turns an
  // out-of-range position (truncation or retention) into an event the detector
  // classifies instead of a silent jump.
  Properties props = {
      {"enable.auto.commit", "false"},   {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "error"},    {"enable.partition.eof", "true"},
      {"client.id", "kcanary-verifier"}, {"group.id", "kcanary-verifier-" + topic},
  };
  Overlay(props, common_props);
  Overlay(props, consumer_props);
  if (!brokers.empty()) props["bootstrap.servers"] = brokers;
  if (!group_id.empty()) props["group.id"] = group_id;
  return props;
}

Properties Config::AdminConfig() const {
  Properties props = {{"client.id", "kcanary-admin"}};
  Overlay(props, common_props);
  if (!brokers.empty()) props["bootstrap.servers"] = brokers;
  return props;
}

}  // namespace kcanary
