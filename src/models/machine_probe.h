// Micro-benchmarks of the machine a profile runs on, for what a roofline cannot take from
// a spec sheet: the host's cost of one tiny op in libtorch (dispatch, output allocation,
// launch: the floor under every kernel) and the copy bandwidth at working sets that fit
// each cache level and that none fits (a CPU's spec from the OS has no bandwidth).
// `irene profile` records them in its header; the latency calibration uses them instead
// of fitting them.
#pragma once

#include <vector>

#include "common/status.h"

namespace irene::models {

// Seconds per `a + a` on a one-element tensor (on the GPU when `cuda`), the median of
// several timed batches after a warm-up.
Result<double> measure_op_dispatch_seconds(bool cuda);

struct CopyBandwidth {
  double working_set_bytes = 0;  // source and destination together
  double bytes_per_s = 0;        // bytes read and written per second, the dispatch cost taken out
};
// dst.copy_(src) at each working set, with libtorch's current threads.
Result<std::vector<CopyBandwidth>> measure_copy_bandwidths(const std::vector<double>& working_sets, bool cuda,
                                                           double dispatch_s);

}  // namespace irene::models
