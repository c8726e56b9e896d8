#include "models/generation.h"

#include <algorithm>
#include <set>

#include "trace/ops.h"
#include "trace/recorder.h"
#include "tree/combine.h"

namespace irene::models {

namespace {

using at::Tensor;

struct Step {
  tree::Tree tree;
  Tensor logits;
};

// One traced step of `tokens` tokens per sequence.
Result<Step> traced_step(const GenerationRun& run, const Tensor& ids, KvCache& cache, const StepOptions& o) {
  trace::Recorder recorder(run.config.name, run.options.batch_size, ids.size(1), /*timed=*/!run.options.shapes_only);
  recorder.set_compact(run.options.compact_layers);
  Step step;
  IRENE_RETURN_IF_ERROR(run_guarded(run.config, run.options, [&] {
    trace::ActiveRecorder active(&recorder);
    step.logits = run.lm.step(ids, cache, o);
  }));
  IRENE_ASSIGN_OR_RETURN(step.tree, recorder.finish());
  return step;
}

// The next token of every sequence: greedy, as generate(do_sample=False) picks it.
Tensor next_tokens(const Tensor& logits, const at::TensorOptions& o, int64_t batch) {
  if (logits.is_meta()) return at::empty({batch, 1}, o.dtype(at::kLong));
  return logits.select(1, logits.size(1) - 1).argmax(-1, /*keepdim=*/true);
}

// Prefill and decode steps alike: generate() asks for the last position's logits only
// (logits_to_keep=1), as servers do.
StepOptions step_options(const RunOptions& o) { return StepOptions{.eager = o.attention == "eager", .keep_logits = 1}; }

// Contexts (positions already cached) from which the figures of a decode step change
// differently: a sliding layer's keys stop growing once they fill its window, a chunked
// layer's start again at each chunk, a sparse attention's once they reach index_topk.
std::vector<std::pair<int64_t, int64_t>> linear_stretches(const ModelConfig& c, int64_t first, int64_t last) {
  std::set<int64_t> cuts;  // a stretch ends at each of these contexts
  const DecoderConfig& d = c.decoder;
  // keys = min(past + 1, w): linear up to past = w - 1, constant after.
  for (int64_t w : {d.sliding_window, d.mla.index_topk})
    if (w > 0 && w - 1 >= first && w - 1 < last) cuts.insert(w - 1);
  // keys = past mod chunk + 1: linear within each chunk.
  if (d.attention_chunk_size > 0)
    for (int64_t end = (first / d.attention_chunk_size + 1) * d.attention_chunk_size - 1; end < last;
         end += d.attention_chunk_size)
      cuts.insert(end);
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t start = first;
  for (int64_t cut : cuts) {
    out.emplace_back(start, cut);
    start = cut + 1;
  }
  out.emplace_back(start, last);
  return out;
}

// Decode steps 0..N-1 on the meta device, summed stretch by stretch.
Result<tree::Tree> shapes_only_decode(const GenerationRun& run, KvCache& cache) {
  const RunOptions& o = run.options;
  const Tensor ids = at::empty({o.batch_size, 1}, run.tensor_options.dtype(at::kLong));
  auto step_at = [&](int64_t past) -> Result<tree::Tree> {
    cache.length = past;
    IRENE_ASSIGN_OR_RETURN(Step s, traced_step(run, ids, cache, step_options(o)));
    return std::move(s.tree);
  };
  tree::Tree total;
  for (auto [a, b] : linear_stretches(run.config, o.seq_len, o.seq_len + o.new_tokens - 1)) {
    IRENE_ASSIGN_OR_RETURN(tree::Tree first, step_at(a));
    tree::Tree stretch = std::move(first);
    if (b > a) {
      IRENE_ASSIGN_OR_RETURN(tree::Tree last, step_at(b));
      IRENE_ASSIGN_OR_RETURN(stretch, tree::affine_sum(stretch, last, b - a + 1));
    }
    if (total.empty())
      total = std::move(stretch);
    else
      IRENE_RETURN_IF_ERROR(tree::add_figures(total, stretch));
  }
  return total;
}

// The generation root over its two phases; each phase's figures are its model tree's.
tree::Tree assemble(const GenerationRun& run, const tree::Tree& prefill, const tree::Tree& decode) {
  tree::Tree g;
  g.model = run.config.name;
  g.batch_size = run.options.batch_size;
  g.seq_len = run.options.seq_len;
  g.shapes_only = run.options.shapes_only;
  g.nodes.push_back(tree::Node{.path = "", .cls = "Generation", .kind = tree::NodeKind::kGeneration});
  for (const auto& [name, cls, sub] : {std::tuple{"prefill", "Prefill", &prefill}, {"decode", "Decode", &decode}}) {
    const int phase = static_cast<int>(g.nodes.size());
    g.nodes.push_back(tree::Node{.path = name, .cls = cls, .kind = tree::NodeKind::kPhase, .depth = 1, .parent = 0});
    g.nodes[0].children.push_back(phase);
    tree::graft(g, phase, *sub);
    tree::Node& p = g.nodes[phase];
    const tree::Node& model = sub->root();
    p.num_parameters = model.num_parameters;
    p.flops = model.flops;
    p.mem_bytes = model.mem_bytes;
    p.latency_s = model.latency_s;
    tree::Node& root = g.nodes[0];
    root.num_parameters = model.num_parameters;
    root.flops += model.flops;
    root.mem_bytes += model.mem_bytes;
    if (model.latency_s) root.latency_s = root.latency_s.value_or(0.0) + *model.latency_s;
  }
  g.notes.push_back("decode: figures are sums over the " + std::to_string(run.options.new_tokens) +
                    " decode steps; math nodes show the shapes of the first step");
  return g;
}

int element_bytes(const at::TensorOptions& o) { return static_cast<int>(c10::elementSize(o.dtype().toScalarType())); }

}  // namespace

LayerCacheBytes layer_cache_bytes(const ModelConfig& c, int64_t layer, int64_t positions, int element_bytes) {
  const DecoderConfig& d = c.decoder;
  const int64_t eb = element_bytes;
  switch (d.layer_mixer[layer]) {
    case Mixer::kAttention: {
      int64_t stored = positions;
      if (d.layer_sliding[layer]) stored = std::min(positions, d.sliding_window);
      if (d.layer_chunked[layer] && positions > 0) stored = (positions - 1) % d.attention_chunk_size + 1;
      const bool global = d.global_head_dim > 0 && !d.layer_sliding[layer];  // Gemma 4's full layers
      const int64_t heads = global ? d.num_global_kv_heads : d.num_kv_heads;
      const int64_t dim = global ? d.global_head_dim : d.head_dim;
      return {2 * heads * stored * dim * eb, 0};
    }
    case Mixer::kLatentAttention: {  // the latent and the rotary key; the indexer's keys
      const LatentAttentionConfig& m = d.mla;
      return {positions * ((m.kv_lora_rank + m.qk_rope_head_dim) + (m.index_topk > 0 ? m.index_head_dim : 0)) * eb, 0};
    }
    case Mixer::kMamba2: {
      const Mamba2Config& m = d.mamba;
      const int64_t state_eb = m.state_dtype == "float32" ? 4 : 2;
      return {0, m.conv_dim() * (m.conv_kernel - 1) * eb + m.num_heads * m.head_dim * m.state_size * state_eb};
    }
    case Mixer::kGatedDeltaNet: {
      const GatedDeltaNetConfig& g = d.deltanet;
      return {0, g.conv_dim() * (g.conv_kernel - 1) * eb + g.num_v_heads * g.k_head_dim * g.v_head_dim * 4};
    }
    case Mixer::kNone:
      break;
  }
  return {0, 0};
}

int64_t kv_cache_bytes(const ModelConfig& c, int64_t batch, int64_t positions, int element_bytes) {
  int64_t total = 0;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const LayerCacheBytes l = layer_cache_bytes(c, i, positions, element_bytes);
    total += batch * (l.growing + l.state);
  }
  return total;
}

int64_t state_bytes(const ModelConfig& c, int64_t batch, int element_bytes) {
  int64_t total = 0;
  for (int64_t i = 0; i < c.num_layers; ++i) total += batch * layer_cache_bytes(c, i, 0, element_bytes).state;
  return total;
}

Result<tree::Tree> trace_generation(const GenerationRun& run) {
  const RunOptions& o = run.options;
  const int64_t S = o.seq_len, N = o.new_tokens;
  KvCache cache = run.lm.new_cache(o.batch_size, S + N, run.tensor_options);
  tree::Generation info{.prompt_tokens = S, .new_tokens = N,
                        .kv_cache_bytes = kv_cache_bytes(run.config, o.batch_size, S + N, element_bytes(run.tensor_options)),
                        .state_bytes = state_bytes(run.config, o.batch_size, element_bytes(run.tensor_options)),
                        .decode_step = o.decode_step};

  if (o.decode_step) {  // one decode step alone, at context S + K
    const int64_t k = *o.decode_step;
    Tensor ids;
    if (o.shapes_only) {
      cache.length = S + k;
      ids = at::empty({o.batch_size, 1}, run.tensor_options.dtype(at::kLong));
    } else {  // reach step K untraced: the prefill, then K steps
      Tensor logits;
      IRENE_RETURN_IF_ERROR(run_guarded(run.config, o, [&] {
        logits = run.lm.step(run.prompt_ids, cache, step_options(o));
        for (int64_t i = 0; i < k; ++i)
          logits = run.lm.step(next_tokens(logits, run.tensor_options, o.batch_size), cache, step_options(o));
      }));
      ids = next_tokens(logits, run.tensor_options, o.batch_size);
    }
    IRENE_ASSIGN_OR_RETURN(Step step, traced_step(run, ids, cache, step_options(o)));
    step.tree.generation = info;
    return std::move(step.tree);
  }

  IRENE_ASSIGN_OR_RETURN(Step prefill, traced_step(run, run.prompt_ids, cache, step_options(o)));
  if (o.prefill_only) {  // the prompt's step alone, as generate() runs it (last position's logits)
    prefill.tree.generation = info;
    return std::move(prefill.tree);
  }
  tree::Tree decode;
  if (o.shapes_only) {
    IRENE_ASSIGN_OR_RETURN(decode, shapes_only_decode(run, cache));
  } else {
    Tensor logits = prefill.logits;
    for (int64_t i = 0; i < N; ++i) {
      IRENE_ASSIGN_OR_RETURN(Step step, traced_step(run, next_tokens(logits, run.tensor_options, o.batch_size), cache,
                                                    step_options(o)));
      tree::accumulate(decode, step.tree);
      logits = step.logits;
    }
  }
  tree::Tree g = assemble(run, prefill.tree, decode);
  g.generation = info;
  return g;
}

Status run_generation_untraced(const GenerationRun& run) {
  const RunOptions& o = run.options;
  KvCache cache = run.lm.new_cache(o.batch_size, o.seq_len + o.new_tokens, run.tensor_options);
  return run_guarded(run.config, o, [&] {
    Tensor logits = run.lm.step(run.prompt_ids, cache, step_options(o));
    for (int64_t i = 0; i < o.new_tokens; ++i)
      logits = run.lm.step(next_tokens(logits, run.tensor_options, o.batch_size), cache, step_options(o));
  });
}

}  // namespace irene::models
