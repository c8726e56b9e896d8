// The machinery behind the traced ops (ops.cc, decoder_ops.cc): run a libtorch kernel
// and report it to the active recorder with its shapes, cost and wall time. Internal to
// the trace component; includes libtorch.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "trace/recorder.h"

namespace irene::trace::detail {

// Set by SynchronizeTimings: timed ops wait for the GPU before reading the clock.
inline thread_local bool t_synchronize = false;

// Waits for queued GPU work when timings must cover it.
inline void wait_for_device() {
  if (t_synchronize) torch::cuda::synchronize();
}

inline const char* dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    case at::kByte: return "uint8";
    default: return "other";
  }
}

inline TensorMeta meta_of(const at::Tensor& t) {
  TensorMeta m;
  m.shape.assign(t.sizes().begin(), t.sizes().end());
  m.element_bytes = static_cast<int>(t.element_size());
  m.dtype = dtype_name(t.scalar_type());
  return m;
}

// Runs `compute`, and reports it as `op` to the active recorder, if any. `cost`, when
// given, replaces the table's rule (fused ops whose cost depends on more than shapes).
template <typename Inputs, typename F>
at::Tensor traced_list(std::string_view op, const Inputs& inputs, F&& compute,
                       std::optional<OpCost> cost = std::nullopt) {
  Recorder* r = active_recorder();
  if (r == nullptr) return compute();
  wait_for_device();
  const auto start = std::chrono::steady_clock::now();
  at::Tensor out = compute();
  wait_for_device();
  std::optional<double> latency;
  if (r->timed()) latency = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<TensorMeta> metas;
  metas.reserve(inputs.size());
  for (const at::Tensor& t : inputs) metas.push_back(meta_of(t));
  r->add_op(op, std::move(metas), meta_of(out), latency, cost);
  return out;
}

template <typename F>
at::Tensor traced(std::string_view op, std::initializer_list<at::Tensor> inputs, F&& compute,
                  std::optional<OpCost> cost = std::nullopt) {
  return traced_list(op, inputs, std::forward<F>(compute), cost);
}

// Opens a functional ML leaf around one op (MatMul, Softmax, ScaledDotProductAttention).
class FunctionalScope {
 public:
  FunctionalScope(std::string_view base, const char* cls, std::function<void()> replay) : r_(active_recorder()) {
    if (r_) r_->open_functional(base, cls, r_->capturing() ? std::move(replay) : nullptr);
  }
  ~FunctionalScope() {
    if (r_) r_->close();
  }
  FunctionalScope(const FunctionalScope&) = delete;
  FunctionalScope& operator=(const FunctionalScope&) = delete;

 private:
  Recorder* r_;
};

}  // namespace irene::trace::detail
