#include "serving/memory.h"

#include <algorithm>
#include <cmath>

#include "engines/lowering.h"
#include "models/zoo.h"

namespace irene::serving {

namespace {

// The needs read off a decode step's kernels (`tokens` of them), before any GPU count:
// the weights at their stored size, the activations of a full token budget through the
// widest kernel of a layer, a request's cache.
MemoryFit needs_of(const engines::LoweredStep& kernels, double tokens, const std::string& dtype,
                   const models::ModelConfig& served, const ServingConfig& s, const engines::Engine& engine) {
  const double element = dtype == "float32" ? 4 : 2;
  MemoryFit f;
  double dense = 0, experts = 0, widest = 0;
  for (const engines::EngineKernel& k : kernels.kernels) {
    if (k.is_moe()) experts += k.count * k.num_experts * k.expert_bytes;
    else dense += k.count * k.weight_bytes;
    // Attention's bytes are mostly the cache it reads, not activations it holds.
    const bool activations = k.op_class == predict::OpClass::kGemm || k.op_class == predict::OpClass::kElementwise;
    if (activations && k.scope.find("layers.") != std::string::npos)
      widest = std::max(widest, k.activation_bytes / tokens);
  }
  if (!served.decoder.tie_word_embeddings)
    dense += static_cast<double>(served.vocab_size) * static_cast<double>(served.hidden_size) * element;
  f.dense_weights_bytes = dense;
  f.expert_weights_bytes = experts;
  const double budget = engine.max_num_batched_tokens > 0
                            ? static_cast<double>(s.max_num_batched_tokens > 0 ? s.max_num_batched_tokens
                                                                                : engine.max_num_batched_tokens)
                            : std::max(2048.0, static_cast<double>(s.prompt_len));
  f.activation_bytes = budget * widest;
  const int kv_element = served.decoder.quantization.kv_cache_dtype.rfind("fp8", 0) == 0 ? 1 : static_cast<int>(element);
  f.kv_bytes_per_request = static_cast<double>(
      models::kv_cache_bytes(served, 1, s.prompt_len + s.output_len / 2, kv_element));
  return f;
}

}  // namespace

Result<MemoryFit> memory_fit(const models::ModelConfig& config, const ServingConfig& s, const machines::MachineSpec& m) {
  if (!m.memory_bytes) return Status::invalid_argument("machine '" + m.id + "' has no memory size in its spec");
  IRENE_ASSIGN_OR_RETURN(engines::Engine engine,
                         engines::find_engine(s.engine.empty() ? engines::kLegacyEngineId : s.engine));
  models::ModelConfig served = config;
  IRENE_RETURN_IF_ERROR(models::override_quantization(served, s.quantization, s.kv_cache_dtype));
  // One request's decode step at the steady state's mean context, compact: enough to read
  // the weights' stored sizes and a token's activations off the engine's kernels.
  models::RunOptions o{1, s.prompt_len, /*shapes_only=*/true};
  o.new_tokens = s.output_len;
  o.decode_step = s.output_len / 2;
  o.dtype = s.dtype.empty() && !engine.float32_runs_as.empty() && served.decoder.torch_dtype == "float32"
                ? engine.float32_runs_as
                : s.dtype;
  o.compact_layers = true;
  o.size_limits = s.size_limits;
  IRENE_ASSIGN_OR_RETURN(tree::Tree step, models::trace_model(served, o));
  const MemoryFit needs = needs_of(engines::lower(step, engines::Kernels::kFused), 1, step.dtype, served, s, engine);
  return refit(needs, m, s.num_gpus, s.data_parallel, engine.gpu_memory_utilization);
}

Result<MemoryFit> memory_fit(const ServingWorkload& w, const models::ModelConfig& config,
                             const machines::MachineSpec& m) {
  const ServingWorkload::TracedDecode* traced = w.traced_decode();
  if (!traced || w.engine().kernels != engines::Kernels::kFused) return memory_fit(config, w.config(), m);
  if (!m.memory_bytes) return Status::invalid_argument("machine '" + m.id + "' has no memory size in its spec");
  const MemoryFit needs = needs_of(traced->kernels, traced->tokens, w.dtype(), w.model(), w.config(), w.engine());
  return refit(needs, m, w.config().num_gpus, w.config().data_parallel, w.engine().gpu_memory_utilization);
}

MemoryFit refit(const MemoryFit& needs, const machines::MachineSpec& m, int num_gpus, int data_parallel,
                double utilization) {
  MemoryFit f = needs;
  f.weights_bytes = needs.dense_weights_bytes * data_parallel + needs.expert_weights_bytes;
  f.memory_bytes = num_gpus * m.memory_bytes.value_or(0) * utilization;
  const double left = f.memory_bytes - f.weights_bytes - f.activation_bytes;
  f.max_batch = left <= 0 || f.kv_bytes_per_request <= 0
                    ? (left > 0 ? 4096 : 0)
                    : static_cast<int64_t>(std::min(1e9, std::floor(left / f.kv_bytes_per_request)));
  return f;
}

int fewest_gpus(const MemoryFit& needs, const machines::MachineSpec& machine, double utilization, int64_t batch,
                int most) {
  for (int g = 1; g <= most; g *= 2)
    if (refit(needs, machine, g, 1, utilization).max_batch >= batch) return g;
  return 0;
}

nlohmann::json to_json(const MemoryFit& f) {
  return {{"memory_bytes", f.memory_bytes},
          {"weights_bytes", f.weights_bytes},
          {"activation_bytes", f.activation_bytes},
          {"kv_bytes_per_request", f.kv_bytes_per_request},
          {"max_batch", f.max_batch}};
}

}  // namespace irene::serving
