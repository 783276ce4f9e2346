// Internal to kcanary::audit: reading one setting out of a config map the way
// Kafka and librdkafka would, with a display string that names its source.
//
//   StatusOr<IntSetting> isr = ReadInt(*topic.configs, "min.insync.replicas", 1);
//   // isr->value == 2, isr->shown == "2 (topic override)"
//
// A key missing from an available map takes Kafka's default (source "Kafka
// default"). A value that does not parse is kInvalidArgument whose message,
// shown as the UNKNOWN row's value, names the key, the value and its source.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/audit/facts.h"
#include "common/status.h"

namespace kcanary::audit {

// Strict: an optional '-' and decimal digits only, fitting in int64_t (no
// blanks, '+', hex or trailing text). Kafka and librdkafka print integers so.
std::optional<int64_t> ParseInt(std::string_view text);

// ASCII case-insensitive equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// "true" or "false" in any case, as Kafka's ConfigDef accepts them.
std::optional<bool> ParseBool(std::string_view text);

// "<value> (<source>)", or "<value> (source unknown)" for ConfigSource::kUnknown.
std::string ShowWithSource(std::string_view value, ConfigSource source);

struct IntSetting {
  int64_t value = 0;
  ConfigSource source = ConfigSource::kUnknown;
  std::string shown;  // ShowWithSource(text as read, source)
};

struct BoolSetting {
  bool value = false;
  ConfigSource source = ConfigSource::kUnknown;
  std::string shown;
};

StatusOr<IntSetting> ReadInt(const ConfigMap& configs, const std::string& key,
                             int64_t kafka_default);
StatusOr<BoolSetting> ReadBool(const ConfigMap& configs, const std::string& key,
                               bool kafka_default);

// The UNKNOWN value for a configs map that could not be read.
std::string ConfigsError(const std::string& configs_error, std::string_view what);

}  // namespace kcanary::audit
