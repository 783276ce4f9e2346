#include "verifier/state_writes.h"

#include "state.pb.h"

namespace kcanary {

Status StoreDetectorStates(DetectorHub& hub, const StateKeys& keys, StateStore& store,
                           const std::set<int32_t>& partitions) {
  WriteBatch batch;
  {
    auto lock = hub.Lock();
    for (int32_t partition : partitions) {
      state::PartitionState ps;
      hub.Get(partition).SaveTo(&ps);
      batch.Put(keys.PartitionKey(partition), ps.SerializeAsString());
    }
  }
  return store.Write(batch);
}

}  // namespace kcanary
