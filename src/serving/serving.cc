#include "serving/serving.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "engines/lowering.h"
#include "models/zoo.h"
#include "serving/closed_run.h"
#include "serving/fused_moe_cost.h"

namespace irene::serving {

namespace {

// vLLM 0.5 captures its decode iteration as CUDA graphs for batches up to 256 (padded to
// 1, 2, 4 or a multiple of 8) and runs larger ones eagerly; prefill iterations always run
// eagerly (vllm/worker/model_runner.py, _BATCH_SIZES_TO_CAPTURE).
constexpr double kMaxGraphBatch = 256;

}  // namespace

Status validate(const ServingConfig& s) {
  if (s.batch_size < 1 || s.batch_size > 4096)
    return Status::invalid_argument("batch size must be from 1 to 4096 running requests, got " + std::to_string(s.batch_size));
  if (s.prompt_len < 1 || s.output_len < 1)
    return Status::invalid_argument("prompt and output lengths must be positive");
  if (s.num_gpus < 1 || s.num_gpus > 64) return Status::invalid_argument("GPUs must be from 1 to 64");
  if (s.pipeline_parallel < 1 || s.num_gpus % s.pipeline_parallel != 0)
    return Status::invalid_argument("pipeline stages must divide the GPUs (" + std::to_string(s.num_gpus) + "), got " +
                                    std::to_string(s.pipeline_parallel));
  if (s.run_requests < 0 || (s.run_requests > 0 && s.max_output_len <= s.output_len))
    return Status::invalid_argument("a benchmark run (run requests " + std::to_string(s.run_requests) +
                                    ") needs a per-request output cap above the mean output length " +
                                    std::to_string(s.output_len) + ", got " + std::to_string(s.max_output_len));
  if (s.data_parallel < 1 || s.num_gpus % (s.pipeline_parallel * s.data_parallel) != 0)
    return Status::invalid_argument("pipeline stages x data-parallel replicas must divide the GPUs (" +
                                    std::to_string(s.num_gpus) + "), got " + std::to_string(s.pipeline_parallel) +
                                    " x " + std::to_string(s.data_parallel));
  if (s.max_num_batched_tokens < 0 || s.max_num_batched_tokens > 1'048'576)
    return Status::invalid_argument("max_num_batched_tokens must be from 1 to 1,048,576 (0: the engine's), got " +
                                    std::to_string(s.max_num_batched_tokens));
  if (!(s.prompt_cached_share >= 0 && s.prompt_cached_share < 1))
    return Status::invalid_argument("the prompt's cached share must be from 0 to below 1 (the share of each prompt's "
                                    "tokens already in the prefix cache), got " + std::to_string(s.prompt_cached_share));
  if (s.batch_size < s.pipeline_parallel)
    return Status::invalid_argument("each of the " + std::to_string(s.pipeline_parallel) +
                                    " pipeline stages needs a running request; batch size " +
                                    std::to_string(s.batch_size) + " is too small");
  return Status::ok();
}

ServingWorkload::Phase ServingWorkload::phase_of(const tree::Tree& t, double activation_bytes) {
  // The eager engine's kernels, identical ones grouped.
  const engines::LoweredStep step = engines::lower(t, engines::Kernels::kEager);
  std::map<std::tuple<int, double, double>, double> groups;
  for (const engines::EngineKernel& k : step.kernels)
    groups[{static_cast<int>(k.op_class), k.flops, k.activation_bytes}] += k.count;
  Phase p;
  p.layers = step.layers;
  for (const auto& [key, count] : groups)
    p.kernels.push_back({static_cast<predict::OpClass>(std::get<0>(key)), std::get<1>(key), std::get<2>(key), count});
  p.layer_activation_bytes = activation_bytes;
  return p;
}

Result<ServingWorkload> ServingWorkload::build(const models::ModelConfig& config, const ServingConfig& asked) {
  IRENE_RETURN_IF_ERROR(validate(asked));
  if (!config.is_decoder())
    return Status::invalid_argument("serving estimates are for the decoder LLM families; " + config.name + " is " +
                                    config.family());
  ServingWorkload w;
  IRENE_ASSIGN_OR_RETURN(w.engine_, engines::find_engine(asked.engine.empty() ? engines::kLegacyEngineId : asked.engine));
  ServingConfig s = asked;
  s.engine = w.engine_.id;
  models::ModelConfig served = config;
  IRENE_RETURN_IF_ERROR(models::override_quantization(served, s.quantization, s.kv_cache_dtype));
  // The engine's own dtype for a checkpoint in float32 (or that names none).
  if (s.dtype.empty() && !w.engine_.float32_runs_as.empty() && served.decoder.torch_dtype == "float32")
    s.dtype = w.engine_.float32_runs_as;
  if (!s.attention.empty() && s.attention != "sdpa" && s.attention != "eager")
    return Status::invalid_argument("attention must be sdpa or eager, got '" + s.attention + "'");
  if (s.attention == "eager" && w.engine_.kernels != engines::Kernels::kEager)
    return Status::invalid_argument(w.engine_.id + " runs its own attention kernel: eager attention (transformers' "
                                    "materialised scores) is for engines that run transformers' ops (vllm-0.5.4)");
  w.config_ = std::make_shared<const models::ModelConfig>(std::move(served));
  w.serving_ = s;
  if (w.engine_.chunked_prefill) {
    IRENE_RETURN_IF_ERROR(w.build_chunked());
    return w;
  }
  if (s.data_parallel > 1)
    return Status::invalid_argument("data-parallel attention is modelled for engines with chunked prefill (vllm-0.11.1), "
                                    "not " + w.engine_.id);
  models::RunOptions decode = w.decode_options();
  decode.compact_layers = true;
  IRENE_ASSIGN_OR_RETURN(tree::Tree step, models::trace_model(*w.config_, decode));
  w.dtype_ = step.dtype;
  const double element = step.dtype == "float32" ? 4 : 2;
  w.decode_ = phase_of(step, static_cast<double>(w.engine_batch() * w.config_->hidden_size) * element);
  w.decode_.graphed = static_cast<double>(w.engine_batch()) <= kMaxGraphBatch;
  // One prefill iteration (as generate() runs it: the last position's logits only): the
  // prompts waiting after a decode iteration, batched together so the weights are read
  // once for all of them; at most one such iteration per decode iteration, so B / N
  // prompts rounded up (one when requests finish less often than every iteration).
  w.prompts_per_prefill_ = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(
                                                    static_cast<double>(w.engine_batch()) / static_cast<double>(s.output_len))));
  models::RunOptions prefill{w.prompts_per_prefill_, s.prompt_len, /*shapes_only=*/true};
  prefill.new_tokens = 1;
  prefill.prefill_only = true;
  prefill.compact_layers = true;
  prefill.dtype = s.dtype;
  prefill.attention = s.attention;
  prefill.size_limits = s.size_limits;
  IRENE_ASSIGN_OR_RETURN(tree::Tree prompt, models::trace_model(*w.config_, prefill));
  w.prefill_ = phase_of(prompt,
                        static_cast<double>(w.prompts_per_prefill_ * s.prompt_len * w.config_->hidden_size) * element);
  if (s.run_requests > 0) {
    // Each virtual engine serves its share of the run's requests.
    const ClosedRun run{s.run_requests / s.pipeline_parallel, w.engine_batch(), static_cast<double>(s.output_len),
                        s.max_output_len};
    IRENE_ASSIGN_OR_RETURN(w.run_batch_, mean_decode_batch(run));
    models::RunOptions at_mean = decode;
    at_mean.batch_size = std::max<int64_t>(1, std::llround(w.run_batch_));
    IRENE_ASSIGN_OR_RETURN(tree::Tree run_step, models::trace_model(*w.config_, at_mean));
    w.run_decode_ = phase_of(run_step, static_cast<double>(at_mean.batch_size * w.config_->hidden_size) * element);
    w.run_decode_->graphed = static_cast<double>(at_mean.batch_size) <= kMaxGraphBatch;
  }
  return w;
}

Result<predict::KernelCost> ServingWorkload::cost(const Phase& p, const machines::MachineSpec& m,
                                                  const predict::RooflineParams& params) const {
  IRENE_ASSIGN_OR_RETURN(double peak, predict::roofline_peak(m, dtype_, tensor_parallel()));
  // The GPU's time: every kernel queued ahead of it, at the gap between kernels.
  const predict::RooflineParams queued = predict::queued_kernels(params);
  predict::KernelCost total;
  double kernels = 0;
  for (const KernelGroup& k : p.kernels) {
    const predict::KernelCost c = predict::kernel_cost(k.op_class, k.flops, k.bytes, peak, m, queued, tensor_parallel());
    total.latency_s += k.count * c.latency_s;
    total.energy_j += k.count * c.energy_j;
    kernels += k.count;
  }
  const predict::KernelCost ar = predict::all_reduce_cost(p.layer_activation_bytes, m, queued, tensor_parallel());
  total.latency_s += p.layers * ar.latency_s;
  total.energy_j += p.layers * ar.energy_j;
  // Launched eagerly, kernel by kernel, the iteration lasts at least as long as the host
  // takes to launch them all (the launches run ahead of the GPU while it is the slower,
  // as with large batches); the GPUs wait out the rest at the wait power.
  if (!p.graphed && params.kernel_gap_s >= 0) {
    if (tensor_parallel() > 1) kernels += 2 * p.layers;  // the all-reduces
    const double launching = kernels * params.kernel_overhead_s;
    if (launching > total.latency_s) {
      total.energy_j += tensor_parallel() * predict::wait_power_w(m, params) * (launching - total.latency_s);
      total.latency_s = launching;
    }
  }
  return total;
}

Status ServingWorkload::build_chunked() {
  const ServingConfig& s = serving_;
  if (s.pipeline_parallel > 1 && s.data_parallel > 1)
    return Status::invalid_argument("pipeline stages with data-parallel attention are not modelled under " +
                                    engine_.id + "; give one or the other");
  if (s.run_requests > 0)
    return Status::invalid_argument("a closed run's drain (run requests) is modelled for vllm-0.5.4 only, not " +
                                    engine_.id);
  models::RunOptions decode = decode_options();
  decode.compact_layers = true;
  IRENE_ASSIGN_OR_RETURN(tree::Tree step, models::trace_model(*config_, decode));
  dtype_ = step.dtype;
  // One prompt's prefill, whole (its last position's logits only); an iteration carries
  // its share of one or more of them (serving/chunked_iterations.h).
  models::RunOptions prefill{1, s.prompt_len, /*shapes_only=*/true};
  prefill.new_tokens = 1;
  prefill.prefill_only = true;
  prefill.compact_layers = true;
  prefill.dtype = dtype_;
  prefill.size_limits = s.size_limits;
  IRENE_ASSIGN_OR_RETURN(tree::Tree prompt, models::trace_model(*config_, prefill));
  engines::LoweredStep decode_kernels = engines::lower(step, engine_.kernels);
  const engines::LoweredStep prompt_kernels = engines::lower(prompt, engine_.kernels);
  traced_decode_ = std::make_shared<const TracedDecode>(TracedDecode{decode_kernels, static_cast<double>(engine_batch())});
  const double element = dtype_ == "float32" ? 4 : 2;
  // A cache stored in a byte per value halves (or quarters) what decode attention reads.
  if (config_->decoder.quantization.kv_cache_dtype.rfind("fp8", 0) == 0)
    for (engines::EngineKernel& k : decode_kernels.kernels)
      if (k.op_class == predict::OpClass::kAttention || k.op_class == predict::OpClass::kLatentAttention)
        k.activation_bytes /= element;
  // With pipeline stages, one of the P microbatches the engine keeps in flight (vLLM V1's
  // batch queue): B / P requests through every layer, each stage's layers on its G / P
  // GPUs in turn, so costed as one tensor-parallel group of G / P running them all.
  ChunkedIterations::Shape shape;
  shape.batch = static_cast<double>(engine_batch());
  shape.prompt_len = static_cast<double>(s.prompt_len);
  shape.output_len = static_cast<double>(s.output_len);
  shape.token_budget = static_cast<double>(s.max_num_batched_tokens > 0 ? s.max_num_batched_tokens
                                                                        : engine_.max_num_batched_tokens);
  shape.hidden_bytes_per_token = static_cast<double>(config_->hidden_size) * element;
  shape.num_gpus = s.num_gpus / s.pipeline_parallel;
  shape.data_parallel = s.data_parallel;
  shape.expert_parallel = s.expert_parallel;
  shape.vocab = static_cast<double>(config_->vocab_size);
  IRENE_ASSIGN_OR_RETURN(ChunkedIterations c, ChunkedIterations::build(decode_kernels, prompt_kernels, shape, engine_, dtype_));
  chunked_ = std::make_shared<const ChunkedIterations>(std::move(c));
  decode_.layers = decode_kernels.layers;
  return Status::ok();
}

Result<ServingWorkload> ServingWorkload::resized(int64_t batch, int num_gpus, int data_parallel, bool expert_parallel,
                                                 int pipeline_parallel) const {
  ServingConfig s = serving_;
  s.batch_size = batch;
  s.num_gpus = num_gpus;
  s.data_parallel = data_parallel;
  s.expert_parallel = expert_parallel;
  s.pipeline_parallel = pipeline_parallel;
  IRENE_RETURN_IF_ERROR(validate(s));
  if (!chunked_) return build(*config_, s);
  if (pipeline_parallel > 1 && data_parallel > 1)
    return Status::invalid_argument("pipeline stages with data-parallel attention are not modelled under " +
                                    engine_.id + "; give one or the other");
  ServingWorkload w = *this;
  w.serving_ = s;
  ChunkedIterations::Shape shape = chunked_->shape();
  shape.batch = static_cast<double>(w.engine_batch());
  shape.num_gpus = num_gpus / pipeline_parallel;
  shape.data_parallel = data_parallel;
  shape.expert_parallel = expert_parallel;
  IRENE_ASSIGN_OR_RETURN(ChunkedIterations c, chunked_->with_shape(shape));
  w.chunked_ = std::make_shared<const ChunkedIterations>(std::move(c));
  return w;
}

bool ServingWorkload::caches_prompts() const {
  switch (engine_.prefix_caching) {
    case engines::PrefixCaching::kNone: return false;
    case engines::PrefixCaching::kAll: return true;
    case engines::PrefixCaching::kAttentionOnly:
      for (models::Mixer m : config_->decoder.layer_mixer)
        if (m == models::Mixer::kMamba2 || m == models::Mixer::kGatedDeltaNet) return false;
      return true;
  }
  return false;
}

Result<ServingEstimate> ServingWorkload::estimate(const machines::MachineSpec& m,
                                                  const predict::RooflineParams& params) const {
  return estimate(m, params, serving_.prompt_cached_share);
}

Result<ServingEstimate> ServingWorkload::estimate(const machines::MachineSpec& m, const predict::RooflineParams& params,
                                                  double prompt_cached_share) const {
  if (chunked_) {
    const double cached = caches_prompts() ? std::clamp(prompt_cached_share, 0.0, 1.0) : 0.0;
    IRENE_ASSIGN_OR_RETURN(ChunkedIterations::Steady st, chunked_->steady_state(m, params, cached));
    // One microbatch's iteration (the only one without pipeline stages). With P stages the
    // P microbatches' kernels overlap but their engine time does not (one engine core
    // schedules and samples them all): a round of one iteration of each takes at least P
    // of those, and each microbatch waits for the others' meanwhile, its G / P GPUs idling.
    const double b = static_cast<double>(engine_batch()), n = static_cast<double>(serving_.output_len);
    const double stages = serving_.pipeline_parallel;
    const double wait_s = std::max(0.0, stages * st.decode_only.host_s - st.mean_time_s);
    const double wait_j = (serving_.num_gpus / stages) * predict::wait_power_w(m, params) * wait_s;
    const double time = st.mean_time_s + wait_s, energy = st.mean_energy_j + wait_j;
    ServingEstimate e;
    e.engine = engine_.id;
    e.prompt_cached_share = cached;
    e.tpot_s = time;
    e.itl_median_s = st.itl_median_s + wait_s;
    e.itl_p90_s = st.itl_p90_s + wait_s;
    e.ttft_s = st.ttft_s + wait_s;
    e.energy_per_output_token_j = energy / b;
    e.energy_per_request_j = e.energy_per_output_token_j * n;
    e.power_w = stages * energy / time;
    e.throughput_tokens_per_s = stages * b / time;
    e.prefill_share = std::max(0.0, 1 - (st.decode_only.energy_j + wait_j) / energy);
    // The decode batch's kernels and the engine's time, what the prompts riding in some
    // iterations add on average, and the wait for the engine core the stages share.
    e.time_split = {st.decode_only.kernels_s, st.decode_only.host_s, st.mean_time_s - st.decode_only.time_s, 0, wait_s,
                    st.decode_only.sampler_s};
    e.sampler_energy_j = st.decode_only.sampler_j;
    return e;
  }
  IRENE_ASSIGN_OR_RETURN(predict::KernelCost decode, cost(decode_, m, params));
  IRENE_ASSIGN_OR_RETURN(predict::KernelCost prompt, cost(prefill_, m, params));
  // Each decode iteration finishes B / N requests on average; as many new prompts are
  // prefilled. Without chunked prefill (vLLM's default then) they run as iterations of
  // their own between decode iterations, prompts_per_prefill_ at a time. All of this is
  // one virtual engine's (the only one without pipeline parallelism).
  const double b = static_cast<double>(engine_batch()), n = static_cast<double>(serving_.output_len);
  const double prefills = b / n;
  // Prefill iterations per decode iteration, each of prompts_per_prefill_ prompts.
  const double prefill_iterations = prefills / static_cast<double>(prompts_per_prefill_);
  // The engine's own time per iteration, the GPUs idling through it: a fixed part for
  // each GPU's worker (vLLM's driver hands every iteration's inputs to each worker of the
  // tensor-parallel group; with pipeline stages, a virtual engine's iteration passes
  // through every stage in turn, each stage's workers preparing theirs, so all G workers
  // count) and a part per running request.
  const double step_s = params.step_overhead_s * serving_.num_gpus;
  auto engine_at = [&](double running) { return step_s + running * params.per_sequence_overhead_s; };
  const double engine_s = engine_at(b);
  // Each admitted prompt also stalls the engine for a time that grows with the requests
  // running beside it and the model's depth (RooflineParams::admission_overhead_s).
  const double admission_s = prefills * b * decode_.layers * params.admission_overhead_s;
  // The host's part of an iteration (the engine's time and the admission stalls, the
  // GPUs waiting) and the kernels' part.
  const double host_s = engine_s + prefill_iterations * step_s + admission_s;
  const double kernels_s = decode.latency_s + prefill_iterations * prompt.latency_s;
  // The virtual engines of a pipeline share one host (vLLM's engine process): their
  // kernels overlap, their host parts do not, so a round of one iteration of each takes
  // at least P host parts, and an engine waits for the others' meanwhile.
  const double engines = serving_.pipeline_parallel;
  auto host_wait = [&](double host, double own) { return std::max(0.0, engines * host - own); };
  ServingEstimate e;
  e.engine = engine_.id;
  e.time_split = {decode.latency_s, engine_s, prefill_iterations * (prompt.latency_s + step_s), admission_s,
                  host_wait(host_s, host_s + kernels_s)};
  const double time = e.time_split.total_s();
  const double wait_power = predict::wait_power_w(m, params);
  // One engine's share of a round's energy: its kernels, and the wait power of all G GPUs
  // over the round but while each engine's kernels run on its G / P of them.
  const double gpus = serving_.num_gpus;
  const double energy = decode.energy_j + prefill_iterations * prompt.energy_j +
                        wait_power * (gpus * time / engines - tensor_parallel() * kernels_s);
  // A decode iteration and the wait for the host: the time between two tokens of a request.
  e.tpot_s = e.time_split.decode_kernels_s + e.time_split.decode_engine_s + e.time_split.host_wait_s;
  if (run_decode_) {
    // The drain's iterations decode only; the pipeline's engines still share the host.
    IRENE_ASSIGN_OR_RETURN(predict::KernelCost at_mean, cost(*run_decode_, m, params));
    const double own = at_mean.latency_s + engine_at(run_batch_);
    e.run_tpot_s = own + host_wait(engine_at(run_batch_), own);
  }
  e.energy_per_output_token_j = energy / b;
  e.energy_per_request_j = e.energy_per_output_token_j * n;
  e.power_w = engines * energy / time;
  e.throughput_tokens_per_s = engines * b / time;
  e.prefill_share = prefill_iterations * prompt.energy_j / energy;
  return e;
}

// The decode step at the mean context: step N / 2 of a generation of N tokens.
models::RunOptions ServingWorkload::decode_options() const {
  models::RunOptions decode{engine_batch(), serving_.prompt_len, /*shapes_only=*/true};
  decode.new_tokens = serving_.output_len;
  decode.decode_step = serving_.output_len / 2;
  decode.dtype = serving_.dtype;
  decode.attention = serving_.attention;
  decode.size_limits = serving_.size_limits;
  return decode;
}

Result<tree::Tree> ServingWorkload::fused_tree(const models::RunOptions& run, const machines::MachineSpec& m,
                                               const predict::RooflineParams& params) const {
  IRENE_ASSIGN_OR_RETURN(tree::Tree t, models::trace_model(*config_, run));
  const int g = serving_.num_gpus / serving_.pipeline_parallel;  // one stage's tensor-parallel group
  IRENE_ASSIGN_OR_RETURN(double base_peak, predict::roofline_peak(m, t.dtype, g));
  const predict::RooflineParams queued = predict::queued_kernels(params);
  const engines::LoweredStep step = engines::lower(t, engine_.kernels);
  // Each engine kernel's cost, handed to the Hugging Face nodes it covers: by FLOPs for
  // GEMMs and attention, by bytes for the rest (equal shares where all are 0).
  std::vector<predict::KernelCost> own(t.nodes.size());
  for (const engines::EngineKernel& k : step.kernels) {
    const auto precise = m.peak_flops.find(k.precision);
    const double peak = precise != m.peak_flops.end() && k.precision != t.dtype ? precise->second : base_peak;
    // Each data-parallel replica reads its own copy of the dense weights.
    const predict::KernelCost c =
        k.is_moe() ? fused_moe_cost({k.op_class, k.flops, k.activation_bytes, k.routed_rows, k.num_experts,
                                     k.expert_bytes, k.dequantises},
                                    peak, m, queued, g, serving_.expert_parallel)
                   : predict::kernel_cost(k.op_class, k.flops, k.bytes() + (serving_.data_parallel - 1) * k.weight_bytes,
                                          peak, m, queued, g, k.dequantises);
    const bool by_flops = k.flops > 0 && k.op_class != predict::OpClass::kElementwise;
    double total = 0;
    for (int i : k.nodes) total += by_flops ? t.nodes[i].flops : t.nodes[i].mem_bytes;
    for (int i : k.nodes) {
      const double share = total > 0 ? (by_flops ? t.nodes[i].flops : t.nodes[i].mem_bytes) / total
                                      : 1.0 / static_cast<double>(k.nodes.size());
      own[i].latency_s += share * c.latency_s;
      own[i].energy_j += share * c.energy_j;
    }
  }
  const int tp = tensor_parallel();
  const double element = t.dtype == "float32" ? 4 : 2;
  const double tokens = static_cast<double>(run.batch_size) * (run.new_tokens > 0 && !run.prefill_only ? 1 : run.seq_len);
  const predict::KernelCost ar = predict::all_reduce_cost(
      tokens / serving_.data_parallel * config_->hidden_size * element, m, queued, tp);
  for (size_t i = 0; i < t.nodes.size(); ++i)
    if (const double layers = predict::decoder_layers_in(t.nodes[i].cls); layers > 0 && tp > 1) {
      own[i].latency_s += layers * ar.latency_s;
      own[i].energy_j += serving_.data_parallel * layers * ar.energy_j;
    }
  predict::assign_costs(t, std::move(own));
  t.notes.push_back(std::string(run.prefill_only ? "the prefill" : "the step") + " as " + engine_.name +
                    " runs it: its kernels' costs (" + std::to_string(static_cast<int64_t>(step.kernel_count())) +
                    " launches) handed to the nodes they cover; the engine's own time between iterations is on no node");
  return t;
}

models::RunOptions ServingWorkload::prompt_options() const {
  models::RunOptions prefill{1, serving_.prompt_len, /*shapes_only=*/true};
  prefill.new_tokens = 1;
  prefill.prefill_only = true;
  prefill.dtype = dtype_;
  prefill.attention = serving_.attention;
  prefill.size_limits = serving_.size_limits;
  return prefill;
}

Result<tree::Tree> ServingWorkload::priced_tree(const models::RunOptions& run, const machines::MachineSpec& m,
                                                const predict::RooflineParams& params) const {
  if (engine_.kernels == engines::Kernels::kFused) return fused_tree(run, m, params);
  IRENE_ASSIGN_OR_RETURN(tree::Tree t, models::trace_model(*config_, run));
  const double element = t.dtype == "float32" ? 4 : 2;
  const double tokens = static_cast<double>(run.batch_size) * (run.prefill_only ? run.seq_len : 1);
  predict::RooflineOptions o{tensor_parallel(), tokens * static_cast<double>(config_->hidden_size) * element};
  // Each kernel's own time and energy on the GPU (the host's launches of an eager
  // iteration are the engine's, not a node's).
  IRENE_RETURN_IF_ERROR(predict::predict_roofline(t, m, predict::queued_kernels(params), o).status());
  return t;
}

Result<tree::Tree> ServingWorkload::prompt_tree(const machines::MachineSpec& m,
                                                const predict::RooflineParams& params) const {
  return priced_tree(prompt_options(), m, params);
}

Result<tree::Tree> ServingWorkload::step_tree(const machines::MachineSpec& m, const predict::RooflineParams& params) const {
  IRENE_ASSIGN_OR_RETURN(tree::Tree t, priced_tree(decode_options(), m, params));
  if (serving_.pipeline_parallel > 1)
    t.notes.push_back("the step of one of " + std::to_string(serving_.pipeline_parallel) +
                      " pipelined virtual engines: " + std::to_string(engine_batch()) + " of the " +
                      std::to_string(serving_.batch_size) + " requests, its layers split over the stages of " +
                      std::to_string(tensor_parallel()) + " GPUs each");
  return t;
}

}  // namespace irene::serving
