#include "models/machine_probe.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <vector>

namespace irene::models {

namespace {

// The median over `batches` of the mean time of `op` run `per_batch` times.
double median_seconds(const std::function<void()>& op, int batches, int per_batch, bool cuda) {
  std::vector<double> times;
  for (int k = 0; k < batches; ++k) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < per_batch; ++i) op();
    if (cuda) torch::cuda::synchronize();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / per_batch);
  }
  // The median: a batch the scheduler interrupted does not move it.
  std::nth_element(times.begin(), times.begin() + batches / 2, times.end());
  return times[batches / 2];
}

torch::TensorOptions options(bool cuda) { return torch::TensorOptions().device(cuda ? torch::kCUDA : torch::kCPU); }

}  // namespace

Result<double> measure_op_dispatch_seconds(bool cuda) {
  try {
    c10::InferenceMode inference;
    const torch::Tensor a = torch::ones({1}, options(cuda));
    torch::Tensor b;
    auto op = [&] { b = a + a; };
    median_seconds(op, 1, 2000, cuda);  // warm-up
    return median_seconds(op, 7, 3000, cuda);
  } catch (const c10::Error& e) {
    return Status::internal(std::string("timing a tiny op: ") + e.what_without_backtrace());
  }
}

Result<std::vector<CopyBandwidth>> measure_copy_bandwidths(const std::vector<double>& working_sets, bool cuda,
                                                           double dispatch_s) {
  std::vector<CopyBandwidth> out;
  try {
    c10::InferenceMode inference;
    for (double set : working_sets) {
      const int64_t elements = std::max<int64_t>(1, static_cast<int64_t>(set / 2 / sizeof(float)));
      const torch::Tensor src = torch::ones({elements}, options(cuda));
      torch::Tensor dst = torch::empty({elements}, options(cuda));
      auto op = [&] { dst.copy_(src); };
      // Warm the caches and size the batches to a few milliseconds each.
      const double first = median_seconds(op, 1, 3, cuda);
      const int per_batch = static_cast<int>(std::clamp(3e-3 / std::max(first, 1e-9), 3.0, 20000.0));
      const double seconds = median_seconds(op, 5, per_batch, cuda);
      const double bytes = 2.0 * static_cast<double>(elements) * sizeof(float);
      out.push_back({bytes, bytes / std::max(seconds - dispatch_s, 0.1 * seconds)});
    }
  } catch (const c10::Error& e) {
    return Status::internal(std::string("timing a copy: ") + e.what_without_backtrace());
  }
  return out;
}

Result<GemmSpeed> measure_reference_gemm(bool cuda, int repeats) {
  constexpr int64_t kTokens = 32, kIn = 768, kOut = 768;
  try {
    c10::InferenceMode inference;
    const torch::Tensor x = torch::ones({kTokens, kIn}, options(cuda));
    const torch::Tensor w = torch::full({kOut, kIn}, 0.5, options(cuda));
    torch::Tensor y = torch::linear(x, w);  // warm-up: the output's allocation, the BLAS's packing buffers
    if (cuda) torch::cuda::synchronize();
    double fastest = std::numeric_limits<double>::infinity();
    for (int k = 0; k < std::max(1, repeats); ++k) {
      const auto start = std::chrono::steady_clock::now();
      y = torch::linear(x, w);
      if (cuda) torch::cuda::synchronize();
      fastest = std::min(fastest, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    const double flops = 2.0 * kTokens * kIn * kOut;
    return GemmSpeed{flops, flops / std::max(fastest, 1e-9)};
  } catch (const c10::Error& e) {
    return Status::internal(std::string("timing a matrix product: ") + e.what_without_backtrace());
  }
}

Result<std::vector<WeightLayoutSpeed>> measure_weight_layouts(int repeats) {
  constexpr int64_t kTokens = 32, kIn = 768;
  std::vector<WeightLayoutSpeed> out;
  try {
    c10::InferenceMode inference;
    const torch::Tensor x = torch::ones({kTokens, kIn});
    for (const int64_t width : {kIn, 4 * kIn}) {
      const torch::Tensor linear_weight = torch::full({width, kIn}, 0.5);
      const torch::Tensor conv_weight = torch::full({kIn, width}, 0.5);
      const torch::Tensor bias = torch::zeros({width});
      torch::Tensor y = torch::linear(x, linear_weight, bias);  // warm-up, both layouts
      y = torch::addmm(bias, x, conv_weight);
      double transposed = std::numeric_limits<double>::infinity(), untransposed = transposed;
      auto fastest = [](double& best, const std::function<void()>& op) {
        const auto start = std::chrono::steady_clock::now();
        op();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      };
      for (int k = 0; k < std::max(1, repeats); ++k) {
        fastest(transposed, [&] { y = torch::linear(x, linear_weight, bias); });
        fastest(untransposed, [&] { y = torch::addmm(bias, x, conv_weight); });
      }
      const double flops = 2.0 * kTokens * kIn * static_cast<double>(width);
      const double bytes = sizeof(float) * static_cast<double>(kTokens * kIn + kIn * width + kTokens * width);
      out.push_back({bytes, flops / std::max(transposed, 1e-9), flops / std::max(untransposed, 1e-9)});
    }
  } catch (const c10::Error& e) {
    return Status::internal(std::string("timing the weight layouts: ") + e.what_without_backtrace());
  }
  return out;
}

}  // namespace irene::models
