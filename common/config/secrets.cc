#include "common/config/secrets.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace kcanary {
namespace {

// Any key containing one of these words is secret.
constexpr std::array<std::string_view, 4> kSecretWords = {"password", "secret", "passphrase",
                                                          "credential"};

// Keys whose names do not say "secret" but whose values are, or contain, one.
constexpr std::array<std::string_view, 5> kSecretKeys = {
    "ssl.key.pem",              // PEM private key
    "ssl.keystore.key",         // Java: PEM private key
    "sasl.oauthbearer.config",  // may carry client credentials
    "sasl.jaas.config",         // Java: embeds username and password
    "ssl_key",                  // librdkafka's in-memory private key
};

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "canary.ssl.key.pem" matches "ssl.key.pem"; "myssl.key.pem" does not.
bool IsKeyOrPrefixedKey(std::string_view key, std::string_view name) {
  if (!key.ends_with(name)) return false;
  return key.size() == name.size() || key[key.size() - name.size() - 1] == '.';
}

}  // namespace

bool IsSecretKey(std::string_view key) {
  const std::string lower = ToLower(key);
  for (std::string_view word : kSecretWords) {
    if (lower.find(word) != std::string::npos) return true;
  }
  for (std::string_view name : kSecretKeys) {
    if (IsKeyOrPrefixedKey(lower, name)) return true;
  }
  return false;
}

std::string RedactedDump(const Properties& props) {
  std::string out;
  for (const auto& [key, value] : props) {
    out += key;
    out += '=';
    if (IsSecretKey(key)) {
      out += kRedacted;
    } else {
      for (char c : value) {
        if (c == '\n') {
          out += "\\n";
        } else if (c == '\r') {
          out += "\\r";
        } else {
          out += c;
        }
      }
    }
    out += '\n';
  }
  return out;
}

}  // namespace kcanary
