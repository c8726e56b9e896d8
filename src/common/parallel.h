// Runs independent jobs on the machine's cores. No libtorch here.
#pragma once

#include <cstddef>
#include <functional>

namespace irene {

// Calls job(0) ... job(n - 1), each once, on up to as many threads as the machine has
// cores (in this thread when there is one job or one core); returns when all are done.
// Jobs must not share unguarded state.
void parallel_for(size_t n, const std::function<void(size_t)>& job);

}  // namespace irene
