#include "common/config/properties.h"

#include "common/config/file_reader.h"

namespace kcanary {
namespace {

constexpr std::string_view kWhitespace = " \t\r\f\v";
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string_view Trim(std::string_view s) {
  const std::size_t first = s.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  const std::size_t last = s.find_last_not_of(kWhitespace);
  return s.substr(first, last - first + 1);
}

Status LineError(std::string_view source_name, int line_number, std::string_view problem) {
  return Status::InvalidArgument(std::string(source_name) + ":" + std::to_string(line_number) +
                                 ": " + std::string(problem));
}

}  // namespace

StatusOr<Properties> ParseProperties(std::string_view text, std::string_view source_name) {
  if (text.starts_with(kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());
  Properties props;
  int line_number = 0;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view raw = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++line_number;

    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return LineError(source_name, line_number, "expected key=value (no '=' found)");
    }
    const std::string_view key = Trim(line.substr(0, eq));
    if (key.empty()) return LineError(source_name, line_number, "empty key before '='");
    props[std::string(key)] = std::string(Trim(line.substr(eq + 1)));
  }
  return props;
}

StatusOr<Properties> ParsePropertiesFile(const std::string& path) {
  StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return ParseProperties(*text, path);
}

}  // namespace kcanary
