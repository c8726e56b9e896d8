#include "serving/chunked_iterations.h"

#include <algorithm>
#include <cmath>

#include "serving/fused_moe_cost.h"

namespace irene::serving {

namespace {

bool attention_like(predict::OpClass c) {
  using predict::OpClass;
  return c == OpClass::kAttention || c == OpClass::kLatentAttention || c == OpClass::kIndexer ||
         c == OpClass::kStateScan || c == OpClass::kLinearAttention || c == OpClass::kConv;
}

// Quantiles the mean is taken over (their midpoints).
constexpr int kQuantiles = 32;

}  // namespace

struct ChunkedIterations::Kernel {
  predict::OpClass op_class;
  std::string precision;
  bool attention = false;
  bool dequantises = false;
  double count = 0;
  double flops_a = 0, flops_b = 0, act_a = 0, act_b = 0, weight = 0, rows_a = 0, rows_b = 0;
  double experts = 0, expert_bytes = 0;
  bool in_a = false, in_b = false;
};

ChunkedIterations::ChunkedIterations() = default;
ChunkedIterations::~ChunkedIterations() = default;
ChunkedIterations::ChunkedIterations(ChunkedIterations&&) noexcept = default;
ChunkedIterations& ChunkedIterations::operator=(ChunkedIterations&&) noexcept = default;

PrefillTokens::PrefillTokens(double rate, double mean_len, double cap)
    : rate_(std::max(0.0, rate)), mean_len_(std::max(1.0, mean_len)), cap_(std::max(0.0, cap)) {}

double PrefillTokens::cdf(double x) const {
  if (x < 0) return 0;
  if (x >= cap_ || rate_ == 0) return 1;
  // P(no prompt) + sum over k >= 1 prompts of P(k) x P(a sum of k exponentials <= x),
  // the latter 1 - e^(-y) sum_{j<k} y^j / j! (an Erlang law), y = x / mean.
  const double y = x / mean_len_;
  const int most = static_cast<int>(rate_ + 10 * std::sqrt(rate_) + 20);
  double poisson = std::exp(-rate_), total = poisson;
  double term = std::exp(-y), partial = 0;  // e^(-y) y^j / j!, and its sum over j < k
  for (int k = 1; k <= most; ++k) {
    poisson *= rate_ / k;
    partial += term;
    term *= y / k;
    total += poisson * std::max(0.0, 1 - partial);
  }
  return std::min(1.0, total);
}

double PrefillTokens::quantile(double u) const {
  if (u <= cdf(0)) return 0;
  if (cdf(std::nextafter(cap_, 0.0)) < u) return cap_;
  double lo = 0, hi = cap_;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    (cdf(mid) >= u ? hi : lo) = mid;
  }
  return hi;
}

Status ChunkedIterations::check(const Shape& shape) {
  if (shape.batch < 1 || shape.token_budget <= shape.batch)
    return Status::invalid_argument(
        "a running batch of " + std::to_string(static_cast<int64_t>(shape.batch)) +
        " leaves no room for prompts in the engine's token budget per iteration (max_num_batched_tokens " +
        std::to_string(static_cast<int64_t>(shape.token_budget)) + "); give a larger budget or a smaller batch");
  if (shape.data_parallel < 1 || shape.num_gpus % shape.data_parallel != 0)
    return Status::invalid_argument("data-parallel replicas must divide the GPUs (" + std::to_string(shape.num_gpus) +
                                    "), got " + std::to_string(shape.data_parallel));
  return Status::ok();
}

Result<ChunkedIterations> ChunkedIterations::build(const engines::LoweredStep& decode, const engines::LoweredStep& prompt,
                                                   const Shape& shape, const engines::Engine& engine,
                                                   const std::string& dtype) {
  IRENE_RETURN_IF_ERROR(check(shape));
  ChunkedIterations c;
  for (const engines::PairedKernel& p : engines::pair_up(decode, prompt)) {
    const engines::EngineKernel& k = p.a.count > 0 ? p.a : p.b;
    Kernel r;
    r.op_class = k.op_class;
    r.precision = k.precision;
    r.attention = attention_like(k.op_class);
    r.dequantises = k.dequantises;
    r.count = std::max(p.a.count, p.b.count);
    r.in_a = p.a.count > 0;
    r.in_b = p.b.count > 0;
    r.flops_a = p.a.flops, r.flops_b = p.b.flops;
    r.act_a = p.a.activation_bytes, r.act_b = p.b.activation_bytes;
    r.rows_a = p.a.routed_rows, r.rows_b = p.b.routed_rows;
    r.weight = std::max(p.a.weight_bytes, p.b.weight_bytes);
    r.experts = k.num_experts;
    r.expert_bytes = k.expert_bytes;
    c.kernels_.push_back(std::move(r));
  }
  c.layers_ = decode.layers;
  c.engine_ = engine;
  c.dtype_ = dtype;
  c.shape_ = shape;
  c.place_prompts();
  return c;
}

void ChunkedIterations::place_prompts() {
  const double cap = shape_.token_budget - shape_.batch;
  const PrefillTokens prefill(shape_.batch / shape_.output_len, shape_.prompt_len, cap);
  mean_points_.clear();
  for (int i = 0; i < kQuantiles; ++i) mean_points_.push_back(prefill.quantile((i + 0.5) / kQuantiles));
  median_x_ = prefill.quantile(0.5);
  p90_x_ = prefill.quantile(0.9);
  // A new prompt of mean length: prefilled in chunks of what the budget leaves.
  chunk_x_ = std::min(shape_.prompt_len, cap);
}

Result<ChunkedIterations> ChunkedIterations::with_shape(const Shape& shape) const {
  IRENE_RETURN_IF_ERROR(check(shape));
  if (shape.prompt_len != shape_.prompt_len || shape.output_len != shape_.output_len)
    return Status::invalid_argument("another workload (prompt or output length) needs a new trace");
  ChunkedIterations c;
  c.kernels_ = kernels_;
  const double scale = shape.batch / shape_.batch;
  for (Kernel& k : c.kernels_) {
    k.flops_a *= scale;
    k.act_a *= scale;
    k.rows_a *= scale;
  }
  c.layers_ = layers_;
  c.engine_ = engine_;
  c.dtype_ = dtype_;
  c.shape_ = shape;
  // The prompts' placement depends on the batch, the lengths and the budget alone: another
  // GPU layout at the same batch keeps it.
  if (shape.batch == shape_.batch && shape.token_budget == shape_.token_budget) {
    c.mean_points_ = mean_points_;
    c.median_x_ = median_x_;
    c.p90_x_ = p90_x_;
    c.chunk_x_ = chunk_x_;
  } else {
    c.place_prompts();
  }
  return c;
}

Result<IterationCost> ChunkedIterations::iteration(double x, const machines::MachineSpec& m,
                                                   const predict::RooflineParams& params) const {
  const int g = shape_.num_gpus, replicas = shape_.data_parallel, tp = g / replicas;
  IRENE_ASSIGN_OR_RETURN(double base_peak, predict::roofline_peak(m, dtype_, g));
  const predict::RooflineParams queued = predict::queued_kernels(params);
  const double scale = x / shape_.prompt_len;
  IterationCost it;
  double energy = 0, launches = 0, attention_launches = 0;
  for (const Kernel& k : kernels_) {
    if (!k.in_a && (!k.in_b || scale <= 0)) continue;  // a prefill's own kernel, no prompt here
    const double flops = k.flops_a + scale * k.flops_b;
    double bytes = k.act_a + scale * k.act_b;
    // FP8 / FP4 GEMMs at the tensor cores' peak for them where the GPU has one.
    const auto precise = k.precision == dtype_ ? m.peak_flops.end() : m.peak_flops.find(k.precision);
    const double peak = precise != m.peak_flops.end() ? precise->second : base_peak;
    // Weights are read once per launch: the experts the routed rows touch, or all of a
    // dense kernel's (each data-parallel replica its own copy of them).
    predict::KernelCost c;
    if (k.experts > 0) {
      const FusedMoeLaunch launch{k.op_class, flops, bytes, k.rows_a + scale * k.rows_b,
                                  k.experts,  k.expert_bytes, k.dequantises};
      c = fused_moe_cost(launch, peak, m, queued, g, shape_.expert_parallel);
    } else {
      c = predict::kernel_cost(k.op_class, flops, bytes + replicas * k.weight, peak, m, queued, g, k.dequantises);
    }
    it.kernels_s += k.count * c.latency_s;
    energy += k.count * c.energy_j;
    launches += k.count;
    if (k.attention) attention_launches += k.count;
  }
  // Each replica all-reduces its tokens' hidden states twice a layer among its GPUs.
  const double tokens = shape_.batch + x;
  const predict::KernelCost ar =
      predict::all_reduce_cost(tokens / replicas * shape_.hidden_bytes_per_token, m, queued, tp);
  it.kernels_s += layers_ * ar.latency_s;
  energy += replicas * layers_ * ar.energy_j;
  if (tp > 1) launches += 2 * layers_;
  // What the host launches: nothing under a full graph; the attention kernels and one
  // graph per piece between them under piecewise graphs; every kernel otherwise. The
  // GPUs wait out whatever the launches take beyond their own time.
  if (params.kernel_gap_s >= 0) {
    const bool fits = tokens <= static_cast<double>(engine_.graph_max_tokens);
    double host_launches = launches;
    if (fits && x == 0) host_launches = 0;
    else if (fits && engine_.mixed_graphs == engines::GraphMode::kFull) host_launches = 0;
    else if (fits && engine_.mixed_graphs == engines::GraphMode::kPiecewise) host_launches = 2 * attention_launches + 1;
    const double launching = host_launches * params.kernel_overhead_s;
    if (launching > it.kernels_s) {
      energy += g * predict::wait_power_w(m, params) * (launching - it.kernels_s);
      it.kernels_s = launching;
    }
  }
  // The sampler: each replica turns its requests' logits into tokens, every GPU of it
  // alike, a memory-bound pass over them.
  const double streaming_w = *m.idle_power_w + std::max(0.0, *m.tdp_w - *m.idle_power_w) * std::min(1.0, params.memory_power);
  it.sampler_s = params.per_logit_s * shape_.batch / replicas * shape_.vocab;
  it.sampler_j = g * streaming_w * it.sampler_s;
  energy += it.sampler_j;
  // The engine's own time: scheduling, inputs, the GPUs idling through it.
  it.host_s = params.step_overhead_s * (engine_.host_time_per_worker ? g : 1) +
              params.per_sequence_overhead_s * shape_.batch;
  energy += g * predict::wait_power_w(m, params) * it.host_s;
  it.time_s = it.kernels_s + it.sampler_s + it.host_s;
  it.energy_j = energy;
  return it;
}

Result<ChunkedIterations::Steady> ChunkedIterations::steady_state(const machines::MachineSpec& m,
                                                                  const predict::RooflineParams& params,
                                                                  double cached_share) const {
  const double computed = 1 - std::clamp(cached_share, 0.0, 1.0);
  // Most quantiles share a few prefill sizes (x = 0 above all): each is costed once.
  std::vector<std::pair<double, IterationCost>> at;
  auto cost = [&](double x) -> Result<IterationCost> {
    for (const auto& [seen, c] : at)
      if (seen == x) return c;
    IRENE_ASSIGN_OR_RETURN(IterationCost c, iteration(x, m, params));
    at.emplace_back(x, c);
    return c;
  };
  Steady s;
  IRENE_ASSIGN_OR_RETURN(s.decode_only, cost(0));
  for (double x : mean_points_) {
    IRENE_ASSIGN_OR_RETURN(IterationCost c, cost(computed * x));
    s.mean_time_s += c.time_s / kQuantiles;
    s.mean_energy_j += c.energy_j / kQuantiles;
  }
  IRENE_ASSIGN_OR_RETURN(IterationCost median, cost(computed * median_x_));
  IRENE_ASSIGN_OR_RETURN(IterationCost p90, cost(computed * p90_x_));
  // A new prompt's uncached tokens, in chunks of what the budget leaves.
  const double uncached = std::max(1.0, computed * shape_.prompt_len);
  const double chunk = std::min(uncached, chunk_x_);
  IRENE_ASSIGN_OR_RETURN(IterationCost with_prompt, cost(chunk));
  s.itl_median_s = median.time_s;
  s.itl_p90_s = p90.time_s;
  s.ttft_s = 0.5 * s.mean_time_s + std::ceil(uncached / chunk) * with_prompt.time_s;
  return s;
}

}  // namespace irene::serving
