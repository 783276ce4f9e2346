// HTTP basic authentication for kcanary's listener (--listen-auth FILE).
//
//   # /etc/kcanary/listen-auth: one user:password per line
//   prometheus:s3cret-from-the-vault
//
//   StatusOr<BasicAuthUsers> users = ParseBasicAuthUsers(text, "/etc/kcanary/listen-auth");
//   bool ok = IsAuthorized(*users, request_authorization_header);
//
// Passwords are compared in constant time. Nothing here logs, and no error
// quotes the file: it holds secrets.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kcanary {

/// user -> password.
using BasicAuthUsers = std::map<std::string, std::string, std::less<>>;

/// Parses "user:password" lines: the first ':' separates them (a password may
/// contain ':'); a line end of "\n" or "\r\n"; blank lines and lines starting
/// with '#' are skipped; nothing is trimmed (spaces belong to the password).
/// An empty user or password, a line without ':', a user given twice or a
/// file without any user is kInvalidArgument "<source_name>:<line>: ...",
/// never quoting the line.
StatusOr<BasicAuthUsers> ParseBasicAuthUsers(std::string_view text, std::string_view source_name);

/// Whether `authorization` (the request's Authorization header, possibly
/// empty) is "Basic <base64 of user:password>" for one of `users`.
bool IsAuthorized(const BasicAuthUsers& users, std::string_view authorization);

/// RFC 4648 base64 (with padding) to bytes; nothing for invalid input.
std::optional<std::string> DecodeBase64(std::string_view text);

}  // namespace kcanary
