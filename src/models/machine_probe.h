// Micro-benchmarks of the machine a profile runs on, for what a roofline cannot take from
// a spec sheet: the host's cost of one tiny op in libtorch (dispatch, output allocation,
// launch: the floor under every kernel) and the copy bandwidth at working sets that fit
// each cache level and that none fits (a CPU's spec from the OS has no bandwidth).
// `irene profile` records them in its header; the latency calibration uses them instead
// of fitting them. And the speed of one reference matrix product, timed once per round of
// a profile: a shared machine's speed drifts (a VM's neighbours), and the profiles of
// different models, taken minutes apart, are only comparable at the speed each ran at.
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

// The reference product's FLOPs and its FLOP/s now: a [32, 768] x [768, 768] linear layer
// (a small Transformer's projection of 32 tokens), the fastest of `repeats` runs.
struct GemmSpeed {
  double flops = 0;
  double flop_per_s = 0;
};
Result<GemmSpeed> measure_reference_gemm(bool cuda, int repeats = 5);

// How fast a CPU's BLAS runs a product whose weight is stored [in, out] (transformers'
// Conv1D, as GPT-2 has it: addmm(bias, x, w)) against the same product with the weight
// [out, in] (nn.Linear: the weight transposed). They are the same FLOPs and bytes, yet
// here the first runs at ~0.65 of the second's speed once its weight outgrows the L2
// cache, and at the same speed below. Measured for the reference product and for one
// four times wider (a Transformer's MLP of the same hidden size), each the fastest of
// `repeats` runs, the two layouts taking turns.
struct WeightLayoutSpeed {
  double op_bytes = 0;  // the product's input, weight and output bytes (as the trace counts addmm)
  double transposed_flop_per_s = 0;    // weight [out, in], as nn.Linear
  double untransposed_flop_per_s = 0;  // weight [in, out], as Conv1D
};
Result<std::vector<WeightLayoutSpeed>> measure_weight_layouts(int repeats = 20);

}  // namespace irene::models
