// The verifier's durable step: the detector state of the partitions a batch
// touched (receipts, verdicts, position), written in one atomic batch under
// the verifier's keys. Offsets are committed to Kafka only after it succeeds.
#pragma once

#include <cstdint>
#include <set>

#include "common/status.h"
#include "common/store/state_keys.h"
#include "common/store/state_store.h"
#include "verifier/detector_hub.h"

namespace kcanary {

Status StoreDetectorStates(DetectorHub& hub, const StateKeys& keys, StateStore& store,
                           const std::set<int32_t>& partitions);

}  // namespace kcanary
