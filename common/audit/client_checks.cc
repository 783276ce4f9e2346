#include "common/audit/client_checks.h"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/audit/config_value.h"

namespace kcanary::audit {
namespace {

// librdkafka 2.x defaults for keys the effective config does not set.
constexpr char kDefaultAcks[] = "all";
constexpr int64_t kDefaultRetries = 2147483647;

// librdkafka accepts both names for the same property; if both are set we
// judge each, so neither can hide an unsafe value.
const std::vector<std::string> kAcksKeys = {"acks", "request.required.acks"};
const std::vector<std::string> kRetriesKeys = {"retries", "message.send.max.retries"};

// "k1=v1, k2=v2" for the keys present, in the order given.
std::string ShowPresent(const ClientConfig& config, const std::vector<std::string>& keys) {
  std::string shown;
  for (const std::string& key : keys) {
    const auto it = config.find(key);
    if (it == config.end()) continue;
    if (!shown.empty()) shown += ", ";
    shown += key + "=" + it->second;
  }
  return shown;
}

// librdkafka maps "all" to -1: wait for every in-sync replica.
bool AcksIsAll(std::string_view acks) { return acks == "-1" || EqualsIgnoreCase(acks, "all"); }

CheckResult Row(const std::string& topic, const char* check) {
  CheckResult row;
  row.topic = topic;
  row.check = check;
  return row;
}

}  // namespace

CheckResult CheckProducerAcks(const std::string& topic, const ClientConfig& producer) {
  CheckResult row = Row(topic, "producer_acks");
  row.why =
      "Below acks=all the leader acknowledges before followers have the message, so a leader "
      "failure loses acknowledged messages.";
  row.fix = "-X canary.acks=all (kcanary's default; drop any acks override from -X/-F)";
  const std::string shown = ShowPresent(producer, kAcksKeys);
  if (shown.empty()) {
    row.verdict = Verdict::kPass;
    row.value = std::string("acks=") + kDefaultAcks + " (librdkafka default)";
    return row;
  }
  bool all = true;
  for (const std::string& key : kAcksKeys) {
    const auto it = producer.find(key);
    if (it != producer.end() && !AcksIsAll(it->second)) all = false;
  }
  row.verdict = all ? Verdict::kPass : Verdict::kFail;
  row.value = shown;
  return row;
}

CheckResult CheckProducerRetries(const std::string& topic, const ClientConfig& producer) {
  CheckResult row = Row(topic, "producer_retries");
  row.why =
      "Without retries a transient error such as a leader change fails the send, and the "
      "message is never written.";
  row.fix = "-X canary.enable.idempotence=true (kcanary's default; retries without duplicates)";

  std::string idempotence_shown = "enable.idempotence=false";
  if (const auto it = producer.find("enable.idempotence"); it != producer.end()) {
    const std::optional<bool> on = ParseBool(it->second);
    if (!on) {
      row.verdict = Verdict::kUnknown;
      row.value = "not a boolean: enable.idempotence=\"" + it->second + "\"";
      return row;
    }
    if (*on) {
      row.verdict = Verdict::kPass;
      row.value = "enable.idempotence=" + it->second;
      return row;
    }
    idempotence_shown = "enable.idempotence=" + it->second;
  }

  std::string retries_shown = ShowPresent(producer, kRetriesKeys);
  bool retries = true;
  for (const std::string& key : kRetriesKeys) {
    const auto it = producer.find(key);
    if (it == producer.end()) continue;
    const std::optional<int64_t> n = ParseInt(it->second);
    if (!n) {
      row.verdict = Verdict::kUnknown;
      row.value = "not an integer: " + key + "=\"" + it->second + "\"";
      return row;
    }
    if (*n <= 0) retries = false;
  }
  if (retries_shown.empty()) {
    retries_shown = "retries=" + std::to_string(kDefaultRetries) + " (librdkafka default)";
  }
  row.verdict = retries ? Verdict::kPass : Verdict::kFail;
  row.value = retries_shown + ", " + idempotence_shown;
  return row;
}

CheckResult CheckConsumerManualCommit(const std::string& topic, const ClientConfig& consumer) {
  CheckResult row = Row(topic, "consumer_manual_commit");
  row.why =
      "Auto-commit can commit offsets before kcanary has verified the messages, so a restart "
      "skips them and a loss goes unseen.";
  row.fix = "-X verifier.enable.auto.commit=false (kcanary's default; drop the override)";
  const auto it = consumer.find("enable.auto.commit");
  if (it == consumer.end()) {
    row.verdict = Verdict::kFail;
    row.value = "enable.auto.commit=true (librdkafka default)";
    return row;
  }
  const std::optional<bool> auto_commit = ParseBool(it->second);
  if (!auto_commit) {
    row.verdict = Verdict::kUnknown;
    row.value = "not a boolean: enable.auto.commit=\"" + it->second + "\"";
  } else {
    row.verdict = *auto_commit ? Verdict::kFail : Verdict::kPass;
    row.value = "enable.auto.commit=" + it->second;
  }
  return row;
}

}  // namespace kcanary::audit
