// Generation trees: a prefill and decode steps over a KV cache, their figures against
// hand-computed ones, the exact sum of shapes-only decode steps, dtypes, attention kinds.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "models/zoo.h"
#include "tree/tree_format.h"

namespace irene::models {
namespace {

using tree::NodeKind;
using tree::Tree;

ModelConfig tiny(const std::string& type, nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json j = {{"model_type", type},       {"vocab_size", 64},       {"hidden_size", 32},
                      {"intermediate_size", 48},  {"num_hidden_layers", 2}, {"num_attention_heads", 4},
                      {"num_key_value_heads", 2}, {"head_dim", 8},          {"max_position_embeddings", 128},
                      {"torch_dtype", "float32"}, {"sliding_window", nullptr}};
  if (type == "gemma2") j["query_pre_attn_scalar"] = 8;
  j.update(extra);
  return parse_config(j, "tiny-" + type).value();
}

RunOptions generation(int64_t b, int64_t s, int64_t n, bool shapes_only = true) {
  RunOptions o{b, s, shapes_only};
  o.new_tokens = n;
  return o;
}

// The index of the phase node `name` ("prefill", "decode") and of the model root below it.
int phase(const Tree& t, const char* name) { return t.find(name, name == std::string("prefill") ? "Prefill" : "Decode"); }

// Node `path`/`cls` inside the subtree of node `top`.
const tree::Node& in_subtree(const Tree& t, int top, const std::string& path, const std::string& cls) {
  for (size_t i = top + 1; i < t.nodes.size(); ++i) {
    int a = static_cast<int>(i);
    while (a >= 0 && a != top) a = t.nodes[a].parent;
    if (a == top && t.nodes[i].path == path && t.nodes[i].cls == cls) return t.nodes[i];
  }
  ADD_FAILURE() << "no node " << path << " (" << cls << ") below node " << top;
  static tree::Node none;
  return none;
}

TEST(GenerationTest, RootHoldsAPrefillAndADecodePhase) {
  Tree t = trace_model(tiny("llama"), generation(2, 5, 3)).value();
  EXPECT_EQ(t.root().kind, NodeKind::kGeneration);
  ASSERT_EQ(t.root().children.size(), 2u);
  const tree::Node& pre = t.nodes[t.root().children[0]];
  const tree::Node& dec = t.nodes[t.root().children[1]];
  EXPECT_EQ(pre.kind, NodeKind::kPhase);
  EXPECT_EQ(pre.path, "prefill");
  EXPECT_EQ(dec.path, "decode");
  EXPECT_EQ(t.nodes[pre.children[0]].cls, "LlamaForCausalLM");
  EXPECT_EQ(t.root().flops, pre.flops + dec.flops);
  EXPECT_EQ(t.root().mem_bytes, pre.mem_bytes + dec.mem_bytes);
  ASSERT_TRUE(t.generation.has_value());
  EXPECT_EQ(t.generation->prompt_tokens, 5);
  EXPECT_EQ(t.generation->new_tokens, 3);
  // 2 layers x (keys + values) x batch 2 x 2 kv heads x 8 positions x head_dim 8 x 4 bytes.
  EXPECT_EQ(t.generation->kv_cache_bytes, 2 * 2 * 2 * 2 * 8 * 8 * 4);

  // CSV says the phase of every row; JSON carries the generation on the root.
  const std::string csv = tree::to_csv(t);
  EXPECT_NE(csv.find(",phase\n"), std::string::npos);
  EXPECT_NE(csv.find("model.layers.0.mlp,LlamaMLP,module,5,"), std::string::npos);
  EXPECT_NE(csv.find(",decode\n"), std::string::npos);
  const nlohmann::json j = tree::to_json(t);
  EXPECT_EQ(j["root"]["kind"], "generation");
  EXPECT_EQ(j["root"]["kv_cache_bytes"], t.generation->kv_cache_bytes);
  auto back = tree::from_json(j).value();
  EXPECT_EQ(back.generation->new_tokens, 3);
  EXPECT_EQ(back.nodes.size(), t.nodes.size());
}

TEST(GenerationTest, PrefillIsAPlainForwardPassThatKeepsTheLastLogits) {
  Tree plain = trace_model(tiny("llama"), {2, 5, true}).value();
  Tree gen = trace_model(tiny("llama"), generation(2, 5, 3)).value();
  const int pre = phase(gen, "prefill");
  const int model = gen.nodes[pre].children[0];
  // The base model (everything but lm_head) node for node.
  const int plain_base = plain.find("model", "LlamaModel");
  const tree::Node& gen_base = in_subtree(gen, model, "model", "LlamaModel");
  EXPECT_EQ(gen_base.flops, plain.nodes[plain_base].flops);
  EXPECT_EQ(gen_base.mem_bytes, plain.nodes[plain_base].mem_bytes);
  int compared = 0;
  for (const auto& n : plain.nodes) {
    if (n.path.rfind("model.", 0) != 0) continue;
    const tree::Node& g = in_subtree(gen, model, n.path, n.cls);
    EXPECT_EQ(g.flops, n.flops) << n.path;
    EXPECT_EQ(g.mem_bytes, n.mem_bytes) << n.path;
    ++compared;
  }
  EXPECT_GT(compared, 100);
  // generate() asks lm_head for the last position only: 1/5 of a plain pass's logits.
  const tree::Node& head = in_subtree(gen, model, "lm_head", "Linear");
  EXPECT_EQ(head.flops * 5, plain.nodes[plain.find("lm_head", "Linear")].flops);
}

// A decode step of the tiny Llama by hand: batch 2, one new token per sequence, at step
// i the context holds 5 + i cached positions plus the new one.
TEST(GenerationTest, DecodeFiguresMatchHandComputedOnes) {
  const ModelConfig c = tiny("llama");
  Tree t = trace_model(c, generation(2, 5, 3)).value();
  const int dec = t.nodes[phase(t, "decode")].children[0];
  const int64_t b = 2, h = 4, kv = 2, d = 8, hidden = 32, inter = 48, vocab = 64, fb = 4;
  // Attention per layer: q x k^T and weights x v (2 b h L d each), scale, mask and
  // softmax (7 b h L), for L = 6, 7, 8 keys.
  const tree::Node& sdpa = in_subtree(t, dec, "model.layers.0.self_attn.scaled_dot_product_attention.scaled_dot_product_attention",
                                      "aten::scaled_dot_product_attention");
  int64_t flops = 0, bytes = 0;
  for (int64_t L : {6, 7, 8}) {
    flops += 4 * b * h * L * d + 7 * b * h * L;
    bytes += (b * h * d + 2 * b * kv * L * d + b * h * d) * fb;  // q, keys and values as stored, output
  }
  EXPECT_EQ(sdpa.flops, flops);
  EXPECT_EQ(sdpa.mem_bytes, bytes);
  // Every step reads every weight of every projection once: k_proj [16, 32].
  const tree::Node& k_proj = in_subtree(t, dec, "model.layers.1.self_attn.k_proj", "Linear");
  EXPECT_EQ(k_proj.flops, 3 * 2 * b * hidden * kv * d);
  EXPECT_EQ(k_proj.mem_bytes, 3 * (b * hidden + hidden * kv * d + b * kv * d) * fb);
  const tree::Node& down = in_subtree(t, dec, "model.layers.0.mlp.down_proj", "Linear");
  EXPECT_EQ(down.mem_bytes, 3 * (b * inter + inter * hidden + b * hidden) * fb);
  const tree::Node& head = in_subtree(t, dec, "lm_head", "Linear");
  EXPECT_EQ(head.flops, 3 * 2 * b * hidden * vocab);
  // The new keys and values are written, not the whole cache copied.
  const tree::Node& write = in_subtree(t, dec, "model.layers.0.self_attn.copy_", "aten::copy_");
  EXPECT_EQ(write.mem_bytes, 3 * 2 * b * kv * d * fb);
}

// Shapes-only decoding traces two steps per linear stretch and sums exactly: it must
// equal the steps traced one by one, including across a sliding window's end
// (mistral's 6 and gemma2's alternating layers) and with eager attention.
TEST(GenerationTest, SummedDecodeEqualsEveryStepTracedAlone) {
  for (const auto& [type, attention] : std::vector<std::pair<std::string, std::string>>{
           {"mistral", "sdpa"}, {"gemma2", "eager"}, {"llama", "eager"}}) {
    const ModelConfig c = tiny(type, {{"sliding_window", type == "llama" ? nlohmann::json(nullptr) : nlohmann::json(6)}});
    RunOptions o = generation(1, 4, 6);
    o.attention = attention;
    Tree whole = trace_model(c, o).value();
    const int dec = whole.nodes[phase(whole, "decode")].children[0];
    int64_t flops = 0, bytes = 0;
    for (int64_t k = 0; k < 6; ++k) {
      RunOptions one = o;
      one.decode_step = k;
      Tree step = trace_model(c, one).value();
      EXPECT_EQ(step.generation->decode_step, k);
      flops += step.root().flops;
      bytes += step.root().mem_bytes;
    }
    EXPECT_EQ(whole.nodes[dec].flops, flops) << type;
    EXPECT_EQ(whole.nodes[dec].mem_bytes, bytes) << type;
  }
}

TEST(GenerationTest, ShapesOnlyEqualsARealRun) {
  const ModelConfig c = tiny("qwen3");
  Tree meta = trace_model(c, generation(1, 4, 3, true)).value();
  Tree real = trace_model(c, generation(1, 4, 3, false)).value();
  ASSERT_EQ(meta.nodes.size(), real.nodes.size());
  for (size_t i = 0; i < meta.nodes.size(); ++i) {
    EXPECT_EQ(meta.nodes[i].path, real.nodes[i].path);
    EXPECT_EQ(meta.nodes[i].flops, real.nodes[i].flops) << meta.nodes[i].path;
    EXPECT_EQ(meta.nodes[i].mem_bytes, real.nodes[i].mem_bytes) << meta.nodes[i].path;
  }
  EXPECT_TRUE(real.root().latency_s.has_value());
  EXPECT_FALSE(meta.root().latency_s.has_value());
}

TEST(GenerationTest, EagerAndSdpaCountTheSameFlopsButNotTheSameBytes) {
  for (const std::string type : {"llama", "gemma2"}) {
    const ModelConfig c = tiny(type, {{"sliding_window", 6}});
    RunOptions sdpa = generation(2, 8, 4), eager = sdpa;
    eager.attention = "eager";
    Tree a = trace_model(c, sdpa).value(), b = trace_model(c, eager).value();
    EXPECT_EQ(a.root().flops, b.root().flops) << type;
    EXPECT_LT(a.root().mem_bytes, b.root().mem_bytes) << type;  // eager writes and reads the scores
    EXPECT_EQ(a.count(NodeKind::kMlNp), 2 * 2 * 1) << type;     // one fused node per layer per phase
    bool matmul = false, softmax = false, fused = false;
    for (const auto& n : b.nodes) {
      matmul = matmul || n.cls == "MatMul";
      softmax = softmax || n.cls == "Softmax";
      fused = fused || n.cls == "ScaledDotProductAttention";
    }
    EXPECT_TRUE(matmul && softmax && !fused) << type;
    EXPECT_EQ(a.attention, "sdpa");
    EXPECT_EQ(b.attention, "eager");
  }
}

TEST(GenerationTest, BytesFollowTheDtype) {
  const ModelConfig c = tiny("llama", {{"torch_dtype", "bfloat16"}});
  RunOptions bf16{1, 8, true};
  Tree half = trace_model(c, bf16).value();
  EXPECT_EQ(half.dtype, "bfloat16");  // shapes-only: the config's torch_dtype
  RunOptions f32 = bf16;
  f32.dtype = "float32";
  Tree full = trace_model(c, f32).value();
  const int i = half.find("model.layers.0.mlp.up_proj", "Linear");
  EXPECT_EQ(2 * half.nodes[i].mem_bytes, full.nodes[full.find("model.layers.0.mlp.up_proj", "Linear")].mem_bytes);
  EXPECT_EQ(half.nodes[i].flops, full.nodes[i].flops);
  RunOptions real{1, 4};
  EXPECT_EQ(trace_model(c, real).value().dtype, "float32");  // real CPU runs: float32 unless asked
}

TEST(GenerationTest, BadGenerationRequestsSayWhatIsAllowed) {
  const ModelConfig c = tiny("llama");
  auto msg = [&](const ModelConfig& cfg, RunOptions o) { return validate_run(cfg, o).message(); };
  EXPECT_NE(msg(bundled_config("bert-base-uncased").value(), generation(1, 8, 4)).find("decoder LLM families"),
            std::string::npos);
  EXPECT_NE(msg(c, generation(1, 100, 40)).find("maximum of 128 positions"), std::string::npos);
  RunOptions step = generation(1, 4, 3);
  step.decode_step = 3;
  EXPECT_NE(msg(c, step).find("from 0 to new tokens - 1 (2)"), std::string::npos);
  RunOptions dtype{1, 4};
  dtype.dtype = "int8";
  EXPECT_NE(msg(c, dtype).find("float32, bfloat16, float16"), std::string::npos);
  RunOptions attention{1, 4};
  attention.attention = "flash";
  EXPECT_NE(msg(c, attention).find("sdpa, eager"), std::string::npos);
}

// The largest bundled model, generating 1,024 tokens: two traces per stretch, not 1,024
// (bench/tree_bench times it).
TEST(GenerationTest, Llama405BGenerationTreeFromShapes) {
  const ModelConfig c = bundled_config("meta-llama/Llama-3.1-405B").value();
  Tree t = trace_model(c, generation(8, 2048, 1024)).value();
  EXPECT_EQ(t.dtype, "bfloat16");
  // 126 layers x 2 x batch 8 x 8 kv heads x 3,072 positions x 128 x 2 bytes.
  EXPECT_EQ(t.generation->kv_cache_bytes, int64_t{126} * 2 * 8 * 8 * 3072 * 128 * 2);
  const int dec = phase(t, "decode");
  // Decoding is weight-bound: each of the 1,024 steps streams every weight once (all but
  // the embedding table, of which it reads 8 rows).
  const int64_t params = t.root().num_parameters, embedding = int64_t{128256} * 16384;
  EXPECT_GT(t.nodes[dec].mem_bytes, 1024 * (params - embedding) * 2);
  EXPECT_LT(t.nodes[dec].mem_bytes, 1024 * (params * 2 + t.generation->kv_cache_bytes + (int64_t{1} << 30)));
}

}  // namespace
}  // namespace irene::models
