#include "common/config/flag_values.h"

#include <array>
#include <charconv>
#include <regex>
#include <string>

namespace kcanary {
namespace {

std::string Quote(std::string_view value) { return "'" + std::string(value) + "'"; }

// Parses the whole of `text` as a number; from_chars rejects leading blanks,
// '+', trailing junk and (for integers) overflow, so a typo never becomes a
// silently truncated value.
template <typename T>
StatusOr<T> ParseNumber(std::string_view text, std::string_view what) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return Status::InvalidArgument(Quote(text) + " is not " + std::string(what));
  }
  return value;
}

Status OutOfRange(std::string_view text, std::string_view rule) {
  return Status::InvalidArgument(Quote(text) + " is out of range: " + std::string(rule));
}

Status NonEmpty(std::string_view value, std::string& field) {
  if (value.empty()) return Status::InvalidArgument("must not be empty");
  field = std::string(value);
  return Status::Ok();
}

}  // namespace

Status SetBrokers(std::string_view value, Config& config) {
  if (value.empty()) {
    return Status::InvalidArgument(
        "must not be empty (leave --brokers out to start the embedded mock cluster with run)");
  }
  std::string_view rest = value;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view server = rest.substr(0, comma);
    if (server.empty() || server.find_first_of(" \t=") != std::string_view::npos) {
      return Status::InvalidArgument(Quote(value) + " is not a comma-separated list of HOST:PORT");
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  config.brokers = std::string(value);
  return Status::Ok();
}

Status SetTopic(std::string_view value, Config& config) {
  // Kafka's own rule (Topic.validate); checking it here fails at start-up
  // rather than on the first metadata request.
  const bool legal_chars =
      value.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
      std::string_view::npos;
  if (value.empty() || value.size() > 249 || value == "." || value == ".." || !legal_chars) {
    return Status::InvalidArgument(
        Quote(value) +
        " is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -, and not '.' or '..')");
  }
  config.topic = std::string(value);
  return Status::Ok();
}

Status SetStateDir(std::string_view value, Config& config) {
  return NonEmpty(value, config.state_dir);
}

Status SetGroup(std::string_view value, Config& config) { return NonEmpty(value, config.group_id); }

Status SetListen(std::string_view value, Config& config) {
  if (value == "none") {  // no HTTP listener at all
    config.listen = "none";
    return Status::Ok();
  }
  const Status bad = Status::InvalidArgument(
      Quote(value) + " is not HOST:PORT with PORT 0-65535 (e.g. 127.0.0.1:9642, [::1]:9642)");
  const std::size_t colon = value.rfind(':');
  if (colon == std::string_view::npos) return bad;
  const std::string_view host = value.substr(0, colon);
  const std::string_view port = value.substr(colon + 1);
  if (host.empty()) return bad;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad;
  } else if (host.find_first_of(":[]") != std::string_view::npos) {
    return bad;  // a bare IPv6 address is ambiguous: which colon starts the port?
  }
  if (port.find_first_not_of("0123456789") != std::string_view::npos) return bad;
  StatusOr<int32_t> port_number = ParseNumber<int32_t>(port, "a port");
  if (!port_number.ok() || *port_number > 65535) return bad;
  config.listen = std::string(value);
  return Status::Ok();
}

Status SetLogLevel(std::string_view value, Config& config) {
  constexpr std::array<std::string_view, 5> kLevels = {"trace", "debug", "info", "warn", "error"};
  for (std::string_view level : kLevels) {
    if (value == level) {
      config.log_level = std::string(value);
      return Status::Ok();
    }
  }
  return Status::InvalidArgument(Quote(value) +
                                 " is not a log level (trace, debug, info, warn or error)");
}

Status SetRate(std::string_view value, Config& config) {
  StatusOr<double> rate = ParseNumber<double>(value, "a number");
  if (!rate.ok()) return rate.status();
  // Written so that NaN fails too.
  if (!(*rate > 0 && *rate <= kMaxRate)) {
    return OutOfRange(value, "records per second per partition must be > 0 and <= 1000000");
  }
  config.rate = *rate;
  return Status::Ok();
}

Status SetMessageSize(std::string_view value, Config& config) {
  StatusOr<int64_t> size = ParseNumber<int64_t>(value, "a whole number of bytes");
  if (!size.ok()) return size.status();
  if (*size < kMinMessageSize || *size > kMaxMessageSize) {
    return OutOfRange(value, "bytes per record must be 64 to 16777216 (16 MiB)");
  }
  config.message_size = *size;
  return Status::Ok();
}

Status SetListenAuth(std::string_view value, Config& config) {
  if (value.empty()) return Status::InvalidArgument("needs a file path");
  config.listen_auth = std::string(value);
  return Status::Ok();
}

Status SetListenTlsCert(std::string_view value, Config& config) {
  if (value.empty()) return Status::InvalidArgument("needs a file path");
  config.listen_tls_cert = std::string(value);
  return Status::Ok();
}

Status SetListenTlsKey(std::string_view value, Config& config) {
  if (value.empty()) return Status::InvalidArgument("needs a file path");
  config.listen_tls_key = std::string(value);
  return Status::Ok();
}

Status SetDeliveryJournal(std::string_view value, Config& config) {
  if (value.empty()) return Status::InvalidArgument("needs a file path");
  config.delivery_journal = std::string(value);
  return Status::Ok();
}

Status SetPartitions(std::string_view value, Config& config) {
  StatusOr<int32_t> partitions = ParseNumber<int32_t>(value, "a whole number");
  if (!partitions.ok()) return partitions.status();
  if (*partitions < 1 || *partitions > kMaxEmbeddedPartitions) {
    return OutOfRange(value, "partitions must be 1 to 1024");
  }
  config.embedded_partitions = *partitions;
  return Status::Ok();
}

Status SetManageTopic(std::string_view value, Config& config) {
  if (value == "true" || value == "yes" || value == "on" || value == "1") {
    config.manage_topic = true;
  } else if (value == "false" || value == "no" || value == "off" || value == "0") {
    config.manage_topic = false;
  } else {
    return Status::InvalidArgument(Quote(value) + " is not true or false");
  }
  return Status::Ok();
}

Status SetAuditTopics(std::string_view value, Config& config) {
  if (value.empty()) return Status::InvalidArgument("must not be empty");
  try {
    std::regex compiled{std::string(value)};
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument(Quote(value) + " is not a regular expression: " + e.what());
  }
  config.audit_topics = std::string(value);
  return Status::Ok();
}

Status SetOutputFormat(std::string_view value, Config& config) {
  if (value != "text" && value != "json") {
    return Status::InvalidArgument(Quote(value) + " is not text or json");
  }
  config.output_format = std::string(value);
  return Status::Ok();
}

}  // namespace kcanary
