// libFuzzer target: any bytes as a -F properties file.
//
// A properties file is user input that may hold secrets. Parsing must never
// crash or hang, and what it returns must obey its contract
// (common/config/properties.h): keys non-empty and trimmed, no line break
// in a key or a value, a parse error naming the line but never quoting it,
// and the redacted dump of the result never showing a secret's value.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/config/properties.h"
#include "common/config/secrets.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "properties_fuzz: %s\n", what);
    std::abort();
  }
}

bool Trimmed(std::string_view s) {
  auto blank = [](char c) {
    return std::string_view(" \t\r\f\v").find(c) != std::string_view::npos;
  };
  return s.empty() || (!blank(s.front()) && !blank(s.back()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const kcanary::StatusOr<kcanary::Properties> parsed = kcanary::ParseProperties(text, "fuzz");
  if (!parsed.ok()) {
    // "fuzz:<line>: <problem>", the problem one of two fixed texts: the
    // message never carries any of the file's text.
    const std::string& message = parsed.status().message();
    Check(message.rfind("fuzz:", 0) == 0, "an error that does not name the source");
    const size_t digits_end = message.find_first_not_of("0123456789", 5);
    Check(digits_end != std::string::npos && digits_end > 5, "an error without a line number");
    const std::string_view problem = std::string_view(message).substr(digits_end);
    Check(problem == ": expected key=value (no '=' found)" || problem == ": empty key before '='",
          "an error message other than the documented ones");
    return 0;
  }
  for (const auto& [key, value] : *parsed) {
    Check(!key.empty(), "an empty key");
    Check(Trimmed(key) && Trimmed(value), "a key or value not trimmed");
    Check(key.find_first_of("\n=") == std::string::npos, "a line break or '=' in a key");
    Check(value.find('\n') == std::string::npos, "a line break in a value");
  }
  // One "key=value" line per property, in key order, secrets as [redacted].
  const std::string dump = kcanary::RedactedDump(*parsed);
  auto property = parsed->begin();
  for (size_t start = 0; start < dump.size(); ++property) {
    Check(property != parsed->end(), "the dump has more lines than properties");
    const size_t end = dump.find('\n', start);
    Check(end != std::string::npos, "a dump line without its line end");
    const std::string_view line = std::string_view(dump).substr(start, end - start);
    Check(line.substr(0, property->first.size() + 1) == property->first + "=",
          "a dump line of another key");
    if (kcanary::IsSecretKey(property->first)) {
      Check(line.substr(property->first.size() + 1) == kcanary::kRedacted,
            "the dump shows a secret");
    }
    start = end + 1;
  }
  Check(property == parsed->end(), "the dump has fewer lines than properties");
  return 0;
}
