#include "common/kafka/log_truncation.h"

#include <charconv>

namespace kcanary {
namespace {

// The integer right after `marker` in `text`, if there is one.
template <typename Int>
std::optional<Int> NumberAfter(std::string_view text, std::string_view marker) {
  const std::size_t at = text.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  const char* first = text.data() + at + marker.size();
  const char* last = text.data() + text.size();
  Int value{};
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end == first) return std::nullopt;
  return value;
}

}  // namespace

std::optional<LogTruncation> ParseLogTruncation(std::string_view error_text) {
  const std::optional<int64_t> position =
      NumberAfter<int64_t>(error_text, "log truncation detected at offset ");
  const std::optional<int64_t> divergence =
      NumberAfter<int64_t>(error_text, "broker end offset is ");
  // A divergence at or above the position truncates nothing that was read,
  // and a negative one ("No epoch found", -1) names no point: neither is an
  // event the detector can use.
  if (!position || !divergence || *divergence < 0 || *divergence >= *position) {
    return std::nullopt;
  }
  LogTruncation t{.position = *position, .divergence = *divergence};
  // The last "(broker N)": librdkafka appends it after the reason.
  if (const std::size_t at = error_text.rfind("(broker "); at != std::string_view::npos) {
    t.broker = NumberAfter<int32_t>(error_text.substr(at), "(broker ").value_or(-1);
  }
  return t;
}

}  // namespace kcanary
