// Secret-key detection and redaction: the rule that keeps passwords and
// private keys out of logs, dumps and error messages.
//
//   IsSecretKey("sasl.password")        -> true
//   IsSecretKey("canary.ssl.key.pem")   -> true  (role prefixes are fine)
//   IsSecretKey("bootstrap.servers")    -> false
//   RedactedDump({{"acks", "all"}, {"sasl.password", "hunter2"}})
//       -> "acks=all\nsasl.password=[redacted]\n"
#pragma once

#include <string>
#include <string_view>

#include "common/config/properties.h"

namespace kcanary {

// True when the value of property `key` must never be printed. Matching is
// case-insensitive and errs on the side of hiding: any key containing
// "password", "secret", "passphrase" or "credential", plus keys whose value
// embeds a secret although the name does not say so (ssl.key.pem,
// sasl.oauthbearer.config, sasl.jaas.config, ssl.keystore.key), with or without
// a prefix such as "canary.".
bool IsSecretKey(std::string_view key);

// The value shown instead of a secret.
inline constexpr std::string_view kRedacted = "[redacted]";

// One "key=value\n" line per property in key order, secret values replaced by
// [redacted]. Newlines inside values (PEM certificates) are written as "\n" so
// that every property stays on one line of a log.
std::string RedactedDump(const Properties& props);

}  // namespace kcanary
