// Validators for the values of kcanary's dedicated flags (--rate, --listen,
// ...): each parses one flag's text, checks its range and stores it in Config.
//
//   Status s = SetRate("0", config);
//   // s.message(): "'0' is out of range: records per second per partition
//   //               must be > 0 and <= 1000000"
//
// Messages quote the bad value but not the flag: the caller prefixes
// "kcanary <command>: <flag>: ". None of these flags carries a secret.
// Internal to kcanary_config.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/config/config.h"
#include "common/status.h"

namespace kcanary {

inline constexpr double kMaxRate = 1e6;                       // records/s per partition
inline constexpr int64_t kMinMessageSize = 64;                // bytes; room for the header
inline constexpr int64_t kMaxMessageSize = 16 * 1024 * 1024;  // bytes (16 MiB)
inline constexpr int32_t kMaxEmbeddedPartitions = 1024;

Status SetBrokers(std::string_view value, Config& config);        // HOST:PORT[,HOST:PORT...]
Status SetTopic(std::string_view value, Config& config);          // a legal Kafka topic name
Status SetStateDir(std::string_view value, Config& config);       // non-empty path
Status SetListen(std::string_view value, Config& config);         // HOST:PORT, [IPv6]:PORT
Status SetListenAuth(std::string_view value, Config& config);     // non-empty path
Status SetListenTlsCert(std::string_view value, Config& config);  // non-empty path
Status SetListenTlsKey(std::string_view value, Config& config);   // non-empty path
Status SetLogLevel(std::string_view value, Config& config);       // trace|debug|info|warn|error
Status SetGroup(std::string_view value, Config& config);          // non-empty
Status SetRate(std::string_view value, Config& config);           // (0, kMaxRate]
Status SetMessageSize(std::string_view value, Config& config);    // [64, 16 MiB]
Status SetDeliveryJournal(std::string_view value, Config& config);
Status SetPartitions(std::string_view value, Config& config);    // [1, 1024]
Status SetManageTopic(std::string_view value, Config& config);   // true|false (yes|no, on|off)
Status SetAuditTopics(std::string_view value, Config& config);   // an ECMAScript regex
Status SetOutputFormat(std::string_view value, Config& config);  // text|json

}  // namespace kcanary
