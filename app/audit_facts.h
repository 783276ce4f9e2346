// Gathers what the durability audit judges (SPEC §6) from a live cluster:
// topic layouts from metadata, topic and broker configs from the Admin API,
// and kcanary's own client configs. `kcanary audit` and the periodic audit
// of `kcanary run` share it.
#pragma once

#include <librdkafka/rdkafka.h>

#include "common/audit/facts.h"
#include "common/config/config.h"
#include "common/status.h"

namespace kcanary {

/// The canary topic (when it exists) and, with `config.audit_topics`, every
/// topic whose whole name matches it. Unavailable when the cluster does not
/// answer; NotFound when the regex matches no topic. A topic or broker whose
/// configs cannot be read (e.g. DescribeConfigs denied) is still returned,
/// with the reason, so its checks come out unknown rather than missing.
StatusOr<audit::AuditInput> GatherAuditInput(rd_kafka_t* rk, const Config& config, int timeout_ms);

}  // namespace kcanary
