#include "models/dispatch_cost.h"

#include <algorithm>
#include <chrono>
#include <vector>


namespace irene::models {

Result<double> measure_op_dispatch_seconds(bool cuda) {
  constexpr int kWarmup = 2000, kBatches = 7, kPerBatch = 3000;
  try {
    c10::InferenceMode inference;
    const torch::Tensor a = torch::ones({1}, torch::TensorOptions().device(cuda ? torch::kCUDA : torch::kCPU));
    torch::Tensor b;
    for (int i = 0; i < kWarmup; ++i) b = a + a;
    if (cuda) torch::cuda::synchronize();
    std::vector<double> batches;
    for (int k = 0; k < kBatches; ++k) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < kPerBatch; ++i) b = a + a;
      if (cuda) torch::cuda::synchronize();
      batches.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kPerBatch);
    }
    // The median: a batch the scheduler interrupted does not move it.
    std::nth_element(batches.begin(), batches.begin() + kBatches / 2, batches.end());
    return batches[kBatches / 2];
  } catch (const c10::Error& e) {
    return Status::internal(std::string("timing a tiny op: ") + e.what_without_backtrace());
  }
}

}  // namespace irene::models
