// The host's cost of one tiny op in libtorch (dispatch, output allocation, launch),
// measured on this machine: the floor under every kernel's latency, which a roofline
// cannot get from a spec sheet. `irene profile` records it in its header; the latency
// calibration uses it as the per-kernel overhead instead of fitting one.
#pragma once

#include "common/status.h"

namespace irene::models {

// Seconds per `a + a` on a one-element tensor (on the GPU when `cuda`), the median of
// several timed batches after a warm-up.
Result<double> measure_op_dispatch_seconds(bool cuda);

}  // namespace irene::models
