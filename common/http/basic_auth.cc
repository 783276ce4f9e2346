#include "common/http/basic_auth.h"

#include <array>
#include <cstdint>

namespace kcanary {
namespace {

Status LineError(std::string_view source_name, int line, std::string_view problem) {
  return Status::InvalidArgument(std::string(source_name) + ":" + std::to_string(line) + ": " +
                                 std::string(problem));
}

// Compares without an early exit, so the time taken says nothing about how
// much of a guess was right. (The length difference is not hidden.)
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

constexpr std::array<int8_t, 256> MakeBase64Table() {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return t;
}

constexpr std::array<int8_t, 256> kBase64 = MakeBase64Table();

}  // namespace

StatusOr<BasicAuthUsers> ParseBasicAuthUsers(std::string_view text, std::string_view source_name) {
  BasicAuthUsers users;
  int line_number = 0;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++line_number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return LineError(source_name, line_number, "expected user:password (no ':' found)");
    }
    const std::string_view user = line.substr(0, colon);
    const std::string_view password = line.substr(colon + 1);
    if (user.empty()) return LineError(source_name, line_number, "empty user before ':'");
    if (password.empty()) return LineError(source_name, line_number, "empty password after ':'");
    if (!users.emplace(user, password).second) {
      return LineError(source_name, line_number, "user given twice");
    }
  }
  if (users.empty()) {
    return Status::InvalidArgument(std::string(source_name) + ": no user:password line");
  }
  return users;
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const size_t pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (pad == 1 && text[i + 2] == '=') return std::nullopt;  // "x=y=" is not padding
    uint32_t group = 0;
    for (size_t j = 0; j < 4 - pad; ++j) {
      const int8_t v = kBase64[static_cast<unsigned char>(text[i + j])];
      if (v < 0) return std::nullopt;
      group = group << 6 | static_cast<uint32_t>(v);
    }
    group <<= 6 * pad;
    out.push_back(static_cast<char>(group >> 16));
    if (pad < 2) out.push_back(static_cast<char>(group >> 8 & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(group & 0xFF));
  }
  return out;
}

bool IsAuthorized(const BasicAuthUsers& users, std::string_view authorization) {
  constexpr std::string_view kScheme = "Basic ";
  if (authorization.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {  // the scheme is case-insensitive
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(authorization[i]) != lower(kScheme[i])) return false;
  }
  authorization.remove_prefix(kScheme.size());
  while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
  while (!authorization.empty() && authorization.back() == ' ') authorization.remove_suffix(1);
  const std::optional<std::string> decoded = DecodeBase64(authorization);
  if (!decoded) return false;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  const auto it = users.find(std::string_view(*decoded).substr(0, colon));
  if (it == users.end()) return false;
  return ConstantTimeEquals(std::string_view(*decoded).substr(colon + 1), it->second);
}

}  // namespace kcanary
