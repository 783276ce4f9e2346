#include "common/audit/config_value.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace kcanary::audit {
namespace {

Status Unparsable(std::string_view expected, const std::string& key, const ConfigEntry& entry) {
  return Status::InvalidArgument("not " + std::string(expected) + ": " +
                                 ShowWithSource(key + "=\"" + entry.value + "\"", entry.source));
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::optional<int64_t> ParseInt(std::string_view text) {
  // from_chars already rejects blanks and '+'; "-" alone and trailing text are
  // caught by requiring it to consume everything.
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<bool> ParseBool(std::string_view text) {
  if (EqualsIgnoreCase(text, "true")) return true;
  if (EqualsIgnoreCase(text, "false")) return false;
  return std::nullopt;
}

std::string ShowWithSource(std::string_view value, ConfigSource source) {
  const std::string_view name =
      source == ConfigSource::kUnknown ? "source unknown" : ConfigSourceName(source);
  return std::string(value) + " (" + std::string(name) + ")";
}

StatusOr<IntSetting> ReadInt(const ConfigMap& configs, const std::string& key,
                             int64_t kafka_default) {
  const auto it = configs.find(key);
  if (it == configs.end()) {
    return IntSetting{kafka_default, ConfigSource::kDefault,
                      ShowWithSource(std::to_string(kafka_default), ConfigSource::kDefault)};
  }
  const std::optional<int64_t> value = ParseInt(it->second.value);
  if (!value) return Unparsable("an integer", key, it->second);
  return IntSetting{*value, it->second.source, ShowWithSource(it->second.value, it->second.source)};
}

StatusOr<BoolSetting> ReadBool(const ConfigMap& configs, const std::string& key,
                               bool kafka_default) {
  const auto it = configs.find(key);
  if (it == configs.end()) {
    return BoolSetting{kafka_default, ConfigSource::kDefault,
                       ShowWithSource(kafka_default ? "true" : "false", ConfigSource::kDefault)};
  }
  const std::optional<bool> value = ParseBool(it->second.value);
  if (!value) return Unparsable("a boolean", key, it->second);
  return BoolSetting{*value, it->second.source,
                     ShowWithSource(it->second.value, it->second.source)};
}

std::string ConfigsError(const std::string& configs_error, std::string_view what) {
  if (!configs_error.empty()) return configs_error;
  return std::string(what) + " configs not read";
}

}  // namespace kcanary::audit
