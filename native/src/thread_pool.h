// A process-wide pool of std::threads (hardware_concurrency of them) that runs parallel loops of
// independent tasks with dynamic scheduling, cooperative cancellation and progress.
#pragma once
#include "call_context.h"

#include <functional>

namespace sparsescope {

int workerCount();

// Runs task(i) for i in [0, count) on the pool (the calling thread helps). Tasks not yet started
// are skipped once ctx.cancelled(); progress is reported as finished / count. Returns false when
// cancelled. Several calls may run at once (one per AsyncWorker); they share the pool.
bool parallelFor(int count, const std::function<void(int)>& task, const CallContext& ctx);

}  // namespace sparsescope
