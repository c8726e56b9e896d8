#include "models/zoo.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <list>
#include <set>
#include <tuple>

#include "common/memory.h"
#include "common/python_json.h"
#include "models/bundled_configs.h"
#include "models/decoder.h"
#include "models/generation.h"
#include "models/hub_cache.h"
#include "models/memory.h"
#include "models/transformer_model.h"
#include "models/weights.h"
#include "trace/recorder.h"

namespace irene::models {

namespace {

std::string known_names() {
  std::string s;
  for (const auto& n : bundled_model_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::shared_ptr<TransformerModel> build(const ModelConfig& c, const Init& init) {
  if (c.model_type == "bert" || c.model_type == "roberta") return make_bert(c, init);
  if (c.model_type == "distilbert") return make_distilbert(c, init);
  if (c.model_type == "gpt2") return make_gpt2(c, init);
  if (c.model_type == "openai-gpt") return make_openai_gpt(c, init);
  return make_causal_lm(c, init);  // nullptr only for types parse_config does not admit
}

at::ScalarType scalar_type(const std::string& dtype) {
  if (dtype == "bfloat16") return at::kBFloat16;
  if (dtype == "float16") return at::kHalf;
  return at::kFloat;
}

std::string decoder_types() {
  std::string s;
  for (const auto& t : supported_model_types())
    if (is_decoder_type(t)) s += (s.empty() ? "" : ", ") + t;
  return s;
}

// A forward pass that ran out of memory: which memory, at what sizes, and what to try.
Status out_of_memory(const ModelConfig& c, const RunOptions& o, bool gpu) {
  return Status::invalid_argument(std::string("not enough ") + (gpu ? "GPU " : "") + "memory for " + c.name +
                                  " at batch size " + std::to_string(o.batch_size) + ", sequence length " +
                                  std::to_string(o.seq_len) +
                                  (gpu ? "; try smaller sizes or --device cpu" : "; try --shapes-only"));
}

}  // namespace

std::vector<std::string> bundled_model_names() {
  std::vector<std::string> names;
  for (const auto& b : bundled_configs()) names.emplace_back(b.name);
  std::sort(names.begin(), names.end());
  return names;
}

Result<ModelConfig> bundled_config(std::string_view name) {
  for (const auto& b : bundled_configs()) {
    if (b.name != name) continue;
    return parse_config(parse_python_json(b.text), std::string(name));
  }
  return Status::not_found("unknown model '" + std::string(name) + "'; bundled models: " + known_names() +
                           " (or give --config PATH to a config.json)");
}

Result<ModelConfig> resolve_config(const std::string& name_or_path) {
  auto bundled = bundled_config(name_or_path);
  if (bundled.is_ok() || name_or_path.find('/') == std::string::npos || name_or_path.find(".json") == std::string::npos)
    return bundled;
  return load_config_file(name_or_path);
}

Result<ModelConfig> find_model(const std::string& name, const std::string& cache_dir) {
  auto bundled = bundled_config(name);
  if (bundled.is_ok() || name.find('/') == std::string::npos) return bundled;
  const std::string dir = cache_dir.empty() ? hub_cache_dir() : cache_dir;
  auto path = find_cached_config(name, dir);
  if (!path.is_ok())
    return Status::not_found("unknown model '" + name + "': not bundled (`irene models` lists them), and " +
                             path.status().message() + "; download it (huggingface-cli download " + name +
                             " config.json) or give --config PATH");
  IRENE_ASSIGN_OR_RETURN(ModelConfig c, load_config_file(*path));
  c.name = name;  // the Hub id, not the snapshot's path
  return c;
}

namespace {

int64_t inactive_parameters(torch::nn::Module& model) {
  int64_t inactive = 0;
  for (const auto& m : model.modules(/*include_self=*/true))
    if (auto* hf = dynamic_cast<HfModule*>(m.get())) inactive += hf->inactive_parameters();
  return inactive;
}

// One multi-token-prediction layer of DeepSeek's layout (README_WEIGHTS of DeepSeek-V3):
// a decoder layer like the last one, eh_proj [hidden, 2 hidden], enorm, hnorm and the
// shared head's norm (its embedding and head are the model's).
std::optional<int64_t> mtp_layer_parameters(const ModelConfig& c, torch::nn::Module& model) {
  const std::string& t = c.model_type;
  if (t != "deepseek_v3" && t != "deepseek_v32" && t != "glm_moe_dsa") return std::nullopt;
  const std::string last = "model.layers." + std::to_string(c.num_layers - 1);
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (item.key() != last) continue;
    int64_t n = 0;
    for (const auto& p : item.value()->parameters()) n += p.numel();
    return n + 2 * c.hidden_size * c.hidden_size + 3 * c.hidden_size;
  }
  return std::nullopt;
}

}  // namespace

Result<ModelSummary> summarize(const ModelConfig& c) {
  auto model = build(c, Init{at::TensorOptions().device(at::kMeta)});
  if (!model) return Status::unsupported("no architecture for model_type '" + c.model_type + "'");
  assign_paths(*model);  // the modules' own counts, which the experts' inactive share reads
  ModelSummary s{c.name, c.family(), c.decoder.declared_model_type.empty() ? c.model_type : c.decoder.declared_model_type,
                 c.num_layers, c.hidden_size, c.num_heads, 0, c.max_seq_len(), c.is_decoder()};
  for (const auto& p : model->parameters()) s.parameters += p.numel();
  s.active_parameters = s.parameters - inactive_parameters(*model);
  s.mtp_layers = c.decoder.mtp_layers;
  if (s.mtp_layers > 0)
    if (auto one = mtp_layer_parameters(c, *model)) s.mtp_parameters = *one * s.mtp_layers;
  s.weights = c.is_decoder() ? c.decoder.torch_dtype : "float32";
  if (!c.decoder.quantization.method.empty()) {
    for (const auto& g : c.decoder.quantization.groups) s.weights = g.format.describe();
    if (c.decoder.quantization.groups.size() > 1) s.weights = "mixed: " + s.weights + " and others";
  }
  return s;
}

nlohmann::json to_json(const ModelSummary& s) {
  return {{"name", s.name},
          {"family", s.family},
          {"model_type", s.model_type},
          {"layers", s.layers},
          {"hidden_size", s.hidden_size},
          {"heads", s.heads},
          {"parameters", s.parameters},
          {"active_parameters", s.active_parameters},
          {"mtp_layers", s.mtp_layers},
          {"mtp_parameters", s.mtp_parameters ? nlohmann::json(*s.mtp_parameters) : nlohmann::json(nullptr)},
          {"weights", s.weights},
          {"max_seq_len", s.max_seq_len},
          {"decoder", s.decoder}};
}

Status check_tree_size(const ModelConfig& c, const RunOptions& o) {
  if (!o.size_limits) return Status::ok();
  // The work the tree does, not the generation's nominal size: one decode step runs its
  // batch's last tokens, a prefill its prompts, a whole generation both phases; a
  // compact trace each distinct layer once.
  const double b = static_cast<double>(o.batch_size);
  const bool one_step = o.new_tokens > 0 && (o.decode_step.has_value() || o.prefill_only);
  const double step_tokens = o.decode_step ? 1 : static_cast<double>(o.seq_len);
  const double tokens = one_step ? b * step_tokens : b * static_cast<double>(o.seq_len + o.new_tokens);
  const double context = o.decode_step ? static_cast<double>(o.seq_len + *o.decode_step + 1)
                                       : static_cast<double>(o.seq_len + o.new_tokens);
  const double layers = static_cast<double>(c.num_layers), hidden = static_cast<double>(c.hidden_size);
  const DecoderConfig& d = c.decoder;
  double traced_layers = layers;
  if (o.compact_layers && c.is_decoder()) {
    std::set<std::tuple<int, bool, bool, bool, bool>> kinds;
    for (size_t l = 0; l < d.layer_mixer.size(); ++l)
      kinds.insert({static_cast<int>(d.layer_mixer[l]), l < d.layer_sliding.size() && d.layer_sliding[l],
                    l < d.layer_chunked.size() && d.layer_chunked[l], l < d.layer_nope.size() && d.layer_nope[l],
                    l < d.layer_moe.size() && d.layer_moe[l]});
    traced_layers = std::min(layers, static_cast<double>(std::max<size_t>(1, kinds.size())) + 1);
  }
  const double experts = static_cast<double>(std::max<int64_t>(1, d.num_experts));
  const double expert_width = static_cast<double>(d.num_experts > 0 ? d.moe_intermediate_size : c.intermediate_size);
  // Experts a step routes to: at most every expert, at most tokens x top_k of them.
  const double routed_tokens = one_step ? b * step_tokens : b * static_cast<double>(o.seq_len);
  const double hit = d.num_experts > 0 ? std::min(experts, routed_tokens * static_cast<double>(d.num_experts_per_tok)) : 0;
  const double phases = o.new_tokens > 0 && !one_step ? 2 : 1;
  // Only transformers v4's expert loops (Mixtral, Qwen3-MoE) add nodes per expert hit;
  // the fused experts of the newer families are a handful of nodes a layer.
  const bool expert_loop = c.model_type == "mixtral" || c.model_type == "qwen3_moe";
  const double nodes = phases * (traced_layers * (100 + (expert_loop ? 16 * hit : 0)) + 100);
  const double heads = static_cast<double>(c.num_heads);
  const double head_dim = d.head_dim > 0 ? static_cast<double>(d.head_dim) : hidden / std::max(1.0, heads);
  const double params = 2 * static_cast<double>(c.vocab_size) * hidden +
                        layers * (4 * hidden * heads * head_dim + 3 * hidden * expert_width * experts);
  // The whole model's FLOPs at these shapes (counted per node, they must stay far inside
  // 64-bit integers): a compact trace still counts every layer.
  const double flops = 2 * params * tokens + 4 * (one_step ? tokens : b * context) * context * heads * head_dim * layers;
  auto too_large = [&](const char* what, double value, double limit) {
    char text[256];
    std::snprintf(text, sizeof text, "%s of about %.3g exceeds the limit of %.3g for one tree", what, value, limit);
    return Status::invalid_argument("request too large: " + c.name + " at batch size " + std::to_string(o.batch_size) +
                                    ", " + std::to_string(o.seq_len) + " + " + std::to_string(o.new_tokens) +
                                    " tokens: " + text);
  };
  if (nodes > kMaxTreeNodes) return too_large("a tree", nodes, kMaxTreeNodes);
  if (params > kMaxParameters) return too_large("a parameter count", params, kMaxParameters);
  if (tokens > kMaxTokens) return too_large("batch x tokens", tokens, kMaxTokens);
  if (flops > kMaxCountedFlops) return too_large("a FLOP count", flops, kMaxCountedFlops);
  return Status::ok();
}

Status validate_run(const ModelConfig& c, const RunOptions& o) {
  if (o.batch_size <= 0)
    return Status::invalid_argument("batch size must be a positive integer, got " + std::to_string(o.batch_size));
  if (o.seq_len <= 0)
    return Status::invalid_argument("sequence length must be a positive integer, got " + std::to_string(o.seq_len));
  if (o.seq_len > c.max_seq_len())
    return Status::invalid_argument("sequence length " + std::to_string(o.seq_len) + " exceeds " + c.name +
                                    "'s maximum of " + std::to_string(c.max_seq_len()) + " positions");
  if (o.shapes_only && !o.weights_path.empty())
    return Status::invalid_argument("weights cannot be loaded in a shapes-only run");
  if (!o.dtype.empty() && o.dtype != "float32" && o.dtype != "bfloat16" && o.dtype != "float16")
    return Status::invalid_argument("dtype '" + o.dtype + "' is not one of: float32, bfloat16, float16");
  if (!o.attention.empty() && o.attention != "sdpa" && o.attention != "eager")
    return Status::invalid_argument("attention '" + o.attention + "' is not one of: sdpa, eager");
  if (o.new_tokens < 0)
    return Status::invalid_argument("new tokens must be 0 or more, got " + std::to_string(o.new_tokens));
  if (!c.is_decoder()) {
    if (o.new_tokens > 0)
      return Status::invalid_argument("generation (new tokens) is for the decoder LLM families (" + decoder_types() +
                                      "); " + c.name + " is " + c.family());
    if (!o.dtype.empty() && o.dtype != "float32")
      return Status::invalid_argument("dtype " + o.dtype + " is for the decoder LLM families; " + c.family() +
                                      " models run in float32 as the IrEne dataset measured them");
    if (!o.attention.empty())
      return Status::invalid_argument("the attention choice is for the decoder LLM families; " + c.family() +
                                      " models run their own attention");
  } else if (o.seq_len + o.new_tokens > c.max_seq_len()) {
    return Status::invalid_argument("prompt of " + std::to_string(o.seq_len) + " tokens plus " +
                                    std::to_string(o.new_tokens) + " new tokens exceeds " + c.name +
                                    "'s maximum of " + std::to_string(c.max_seq_len()) + " positions");
  }
  IRENE_RETURN_IF_ERROR(check_tree_size(c, o));
  if (o.decode_step && (o.new_tokens == 0 || *o.decode_step < 0 || *o.decode_step >= o.new_tokens))
    return Status::invalid_argument("decode step must be from 0 to new tokens - 1 (" +
                                    std::to_string(std::max<int64_t>(0, o.new_tokens - 1)) + "), got " +
                                    std::to_string(*o.decode_step));
  if (o.compact_layers && (!o.shapes_only || (o.new_tokens > 0 && !o.decode_step && !o.prefill_only)))
    return Status::invalid_argument("compact layers are for shapes-only forward passes, decode steps and prefills");
  if (o.prefill_only && (o.new_tokens == 0 || o.decode_step))
    return Status::invalid_argument("the prefill alone is a part of a generation: give new tokens and no decode step");
  if (o.cuda) return require_cuda(torch::cuda::is_available());
  return Status::ok();
}

Status require_cuda(bool cuda_available) {
  if (cuda_available) return Status::ok();
  return Status::unsupported("device cuda: this irene is linked against a libtorch built without CUDA "
                             "(Debian's libtorch is CPU-only), or no GPU is visible; use device cpu");
}

std::string run_dtype(const ModelConfig& c, const RunOptions& o) {
  if (!o.dtype.empty()) return o.dtype;
  return c.is_decoder() && o.shapes_only ? c.decoder.torch_dtype : "float32";
}

Status run_guarded(const ModelConfig& c, const RunOptions& o, const std::function<void()>& body) {
  try {
    c10::InferenceMode inference;
    trace::SynchronizeTimings sync(o.cuda);
    body();
  } catch (const c10::OutOfMemoryError&) {  // the GPU's memory; the host's is bad_alloc
    return out_of_memory(c, o, /*gpu=*/true);
  } catch (const c10::Error& e) {
    return Status::internal(std::string("forward pass of ") + c.name + ": " + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return out_of_memory(c, o, /*gpu=*/false);
  }
  return Status::ok();
}

struct ModelRunner::Impl {
  ModelConfig config;
  RunOptions options;
  std::shared_ptr<TransformerModel> model;
  CausalLM* lm = nullptr;  // the same model, for decoder families
  at::Tensor input_ids;
  at::TensorOptions tensor_options;  // device and dtype of weights and activations
  int64_t active_parameters = 0;

  // What every tree of this run says about itself.
  void describe(tree::Tree& t) const {
    t.dtype = run_dtype(config, options);
    t.active_parameters = lm ? active_parameters : 0;
    const DecoderConfig& d = config.decoder;
    if (lm) t.attention = options.attention.empty() ? "sdpa" : options.attention;
    const bool expert_loop = config.model_type == "mixtral" || config.model_type == "qwen3_moe";
    if (options.shapes_only && d.num_experts > 0 && expert_loop)
      t.notes.push_back("shapes only: balanced expert routing assumed, each expert receiving tokens x top_k / "
                        "num_experts tokens (" + std::to_string(d.num_experts_per_tok) + " of " +
                        std::to_string(d.num_experts) + " experts per token; the first tokens x top_k "
                        "mod num_experts experts one more); a real run follows the router");
    if (options.shapes_only && d.num_experts > 0 && !expert_loop)
      t.notes.push_back("shapes only: the experts' grouped products read the weights of the experts a step is "
                        "expected to touch under uniform routing, E x (1 - (1 - 1/E)^(tokens x top_k)) of E = " +
                        std::to_string(d.num_experts) + " (" + std::to_string(d.num_experts_per_tok) +
                        " per token); a real run follows the router");
    if (!d.declared_model_type.empty() && config.raw.contains("text_config"))
      t.notes.push_back("the language model of a '" + d.declared_model_type +
                        "' checkpoint (its text_config); the vision tower is not built");
    if (d.mtp_layers > 0)
      t.notes.push_back(std::to_string(d.mtp_layers) + " multi-token-prediction layer(s) in the checkpoint are not "
                        "built (transformers drops them); `irene models` counts their parameters apart");
    if (d.quantization.method == "online")
      t.notes.push_back("weights as the serving engine quantises them at load (" +
                        d.quantization.groups.front().format.describe() +
                        "): a quantised layer's bytes are its stored values and scales; FLOPs as in " + t.dtype);
    else if (!d.quantization.method.empty())
      t.notes.push_back("weights as the checkpoint stores them (quantization_config: " + d.quantization.method +
                        "): a quantised layer's bytes are its stored values and scales; FLOPs as in " + t.dtype);
  }
  GenerationRun generation() const {
    return GenerationRun{*lm, config, options, input_ids, tensor_options};
  }
};

ModelRunner::ModelRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelRunner::~ModelRunner() = default;
const ModelConfig& ModelRunner::config() const { return impl_->config; }
const RunOptions& ModelRunner::options() const { return impl_->options; }

namespace {

// A built model with its active parameter count, which walks every parameter of every
// module (for a 1 T-parameter MoE, most of the time of building a trace) and so is kept
// with the model.
struct BuiltModel {
  std::shared_ptr<TransformerModel> model;
  int64_t active_parameters = 0;
};

BuiltModel counted(std::shared_ptr<TransformerModel> model) {
  BuiltModel b{std::move(model), 0};
  if (b.model && dynamic_cast<CausalLM*>(b.model.get())) {
    int64_t total = 0;
    for (const auto& p : b.model->parameters()) total += p.numel();
    b.active_parameters = total - inactive_parameters(*b.model);
  }
  return b;
}

// Shapes-only models hold no storage and are the same for every batch size and length,
// so the last ones built on this thread are kept: a sweep or a serving answer builds each
// once. Per thread, because a model's forward pass keeps state (CausalLM's plain cache)
// and must not run on two threads at once. A meta model of Llama-3.1-405B or
// Mixtral-8x22B holds 2-5 MB of module objects (peak RSS of a shapes-only `irene tree`):
// two per thread bound a 64-thread server to well under a GB.
BuiltModel cached_meta_model(const ModelConfig& c, const RunOptions& o,
                             const std::function<std::shared_ptr<TransformerModel>()>& make) {
  constexpr size_t kKept = 2;
  thread_local std::list<std::pair<std::string, BuiltModel>> kept;
  std::string key = c.name + '\n' + c.raw.dump() + '\n' + run_dtype(c, o) + '\n' + o.attention;
  // The weights' formats, which a serving engine may set apart from the config's.
  const Quantization& q = c.decoder.quantization;
  key += '\n' + q.method + (q.experts_only ? " experts" : "") + " kv " + q.kv_cache_dtype;
  for (const auto& g : q.groups) {
    key += '\n' + g.format.describe();
    for (const auto& t : g.targets) key += ' ' + t;
  }
  for (const auto& e : q.excluded) key += "\n-" + e;
  for (auto it = kept.begin(); it != kept.end(); ++it) {
    if (it->first != key) continue;
    kept.splice(kept.begin(), kept, it);  // most recently used first
    return kept.front().second;
  }
  BuiltModel built = counted(make());
  if (!built.model) return built;
  kept.emplace_front(key, built);
  if (kept.size() > kKept) kept.pop_back();
  return built;
}

}  // namespace

Result<std::unique_ptr<ModelRunner>> ModelRunner::create(const ModelConfig& config, const RunOptions& options) {
  IRENE_RETURN_IF_ERROR(validate_run(config, options));
  // Real weights and activations in host memory: refuse what cannot fit, rather than be
  // killed by the kernel part-way. (Shapes-only and GPU runs hold nothing there.)
  if (!options.shapes_only && !options.cuda)
    if (auto available = available_memory_bytes())
      IRENE_RETURN_IF_ERROR(check_run_memory(config, options, *available));
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = options;
  at::TensorOptions device =
      at::TensorOptions().device(options.shapes_only ? at::kMeta : options.cuda ? at::kCUDA : at::kCPU);
  impl->tensor_options = device.dtype(scalar_type(run_dtype(config, options)));
  try {
    torch::manual_seed(options.seed);
    torch::NoGradGuard no_grad;
    auto make = [&]() -> std::shared_ptr<TransformerModel> {
      std::shared_ptr<TransformerModel> model = build(config, Init{impl->tensor_options});
      if (!model) return nullptr;
      if (auto* lm = dynamic_cast<CausalLM*>(model.get())) lm->plain_options.eager = options.attention == "eager";
      assign_paths(*model);
      apply_quantization(*model, config.decoder.quantization);
      model->eval();
      return model;
    };
    BuiltModel built = options.shapes_only && options.weights_path.empty() ? cached_meta_model(config, options, make)
                                                                           : counted(make());
    if (!built.model) return Status::unsupported("no architecture for model_type '" + config.model_type + "'");
    impl->model = std::move(built.model);
    impl->lm = dynamic_cast<CausalLM*>(impl->model.get());
    impl->active_parameters = built.active_parameters;
    if (!options.weights_path.empty()) {
      IRENE_ASSIGN_OR_RETURN(LoadReport report, load_safetensors(*impl->model, options.weights_path));
      (void)report;
    }
    // Dummy input ids below 1000, as IrEne's profiler draws them.
    const auto ids_opts = device.dtype(at::kLong);
    impl->input_ids = options.shapes_only
                          ? at::empty({options.batch_size, options.seq_len}, ids_opts)
                          : at::randint(std::min<int64_t>(1000, config.vocab_size),
                                        {options.batch_size, options.seq_len}, ids_opts);
  } catch (const c10::Error& e) {
    return Status::internal(std::string("building ") + config.name + ": " + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return Status::invalid_argument("not enough memory to build " + config.name + " with real weights; try --shapes-only");
  }
  return std::unique_ptr<ModelRunner>(new ModelRunner(std::move(impl)));
}

// One forward pass reporting to `recorder`.
Status ModelRunner::forward_into(trace::Recorder& recorder) {
  return run_guarded(impl_->config, impl_->options, [&] {
    trace::ActiveRecorder active(&recorder);
    impl_->model->forward(impl_->input_ids);
  });
}

Result<tree::Tree> ModelRunner::trace() {
  if (impl_->lm && impl_->options.new_tokens > 0) {
    IRENE_ASSIGN_OR_RETURN(tree::Tree t, trace_generation(impl_->generation()));
    impl_->describe(t);
    return t;
  }
  trace::Recorder recorder(impl_->config.name, impl_->options.batch_size, impl_->options.seq_len,
                           /*timed=*/!impl_->options.shapes_only);
  recorder.set_compact(impl_->options.compact_layers);
  IRENE_RETURN_IF_ERROR(forward_into(recorder));
  IRENE_ASSIGN_OR_RETURN(tree::Tree t, recorder.finish());
  impl_->describe(t);
  return t;
}

Result<ModelRunner::CapturedRun> ModelRunner::trace_captured() {
  trace::Recorder recorder(impl_->config.name, impl_->options.batch_size, impl_->options.seq_len,
                           /*timed=*/!impl_->options.shapes_only);
  recorder.set_capture(true);
  IRENE_RETURN_IF_ERROR(forward_into(recorder));
  IRENE_ASSIGN_OR_RETURN(tree::Tree t, recorder.finish());
  impl_->describe(t);
  return CapturedRun{std::move(t), recorder.take_replays()};
}

bool ModelRunner::cuda_available() { return torch::cuda::is_available(); }

void ModelRunner::set_cpu_threads(int threads) { at::set_num_threads(threads); }
int ModelRunner::cpu_threads() { return at::get_num_threads(); }

Status ModelRunner::run_replay(const std::function<void()>& replay, int times) {
  if (!replay) return Status::invalid_argument("this node has no captured inputs");
  try {
    c10::InferenceMode inference;
    for (int i = 0; i < times; ++i) replay();
    // GPU kernels run asynchronously: the window ends when they have finished.
    if (torch::cuda::is_available()) torch::cuda::synchronize();
  } catch (const c10::Error& e) {
    return Status::internal(std::string("replaying a node: ") + e.what_without_backtrace());
  }
  return Status::ok();
}

Status ModelRunner::run_untraced() {
  if (impl_->lm && impl_->options.new_tokens > 0) return run_generation_untraced(impl_->generation());
  return run_guarded(impl_->config, impl_->options, [&] { impl_->model->forward(impl_->input_ids); });
}

Result<tree::Tree> trace_model(const ModelConfig& config, const RunOptions& options) {
  IRENE_ASSIGN_OR_RETURN(auto runner, ModelRunner::create(config, options));
  return runner->trace();
}

}  // namespace irene::models
