#include "common/config/references.h"

#include <cstdlib>

#include "common/config/file_reader.h"

namespace kcanary {
namespace {

constexpr std::string_view kEnvPrefix = "${env:";
constexpr std::string_view kFilePrefix = "${file:";

StatusOr<std::string> ResolveEnv(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("${env:} names no environment variable");
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return Status::NotFound("environment variable " + name + " (from ${env:" + name +
                            "}) is not set");
  }
  return std::string(value);
}

StatusOr<std::string> ResolveFile(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("${file:} names no file");
  StatusOr<std::string> content = ReadFileToString(path);
  if (!content.ok()) return content.status();
  std::string text = std::move(content).value();
  // Secret files are usually written by `echo` or an editor, which add a newline
  // that is not part of the password.
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

}  // namespace

StatusOr<std::string> ExpandReferences(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  std::size_t pos = 0;
  while (pos < value.size()) {
    const std::size_t start = value.find("${", pos);
    if (start == std::string_view::npos) break;
    const std::string_view rest = value.substr(start);
    const bool is_env = rest.starts_with(kEnvPrefix);
    const bool is_file = rest.starts_with(kFilePrefix);
    if (!is_env && !is_file) {
      out.append(value.substr(pos, start + 2 - pos));
      pos = start + 2;
      continue;
    }
    const std::size_t prefix_len = is_env ? kEnvPrefix.size() : kFilePrefix.size();
    const std::size_t end = value.find('}', start + prefix_len);
    if (end == std::string_view::npos) {
      return Status::InvalidArgument(std::string("unterminated ") +
                                     std::string(is_env ? kEnvPrefix : kFilePrefix) +
                                     " reference (missing '}')");
    }
    const std::string argument(value.substr(start + prefix_len, end - start - prefix_len));
    StatusOr<std::string> resolved = is_env ? ResolveEnv(argument) : ResolveFile(argument);
    if (!resolved.ok()) return resolved.status();
    out.append(value.substr(pos, start - pos));
    out.append(*resolved);
    pos = end + 1;
  }
  if (pos < value.size()) out.append(value.substr(pos));
  return out;
}

}  // namespace kcanary
