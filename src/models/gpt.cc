// GPT-2 and OpenAI-GPT as transformers v4.2.2 defines them (modeling_gpt2.py,
// modeling_openai.py). GPT-2 grew out of GPT and the two share their module layout
// (Block, Attention, MLP, Conv1D); they differ in where LayerNorm sits, in how the
// causal mask is applied, and in GPT-2's key/value cache.
#include <cmath>

#include "models/layers.h"
#include "models/transformer_model.h"

namespace irene::models {

namespace ops = trace::ops;
using at::Tensor;

namespace {

class MLP : public HfModule {
 public:
  MLP(const ModelConfig& c, const Init& init) : HfModule("MLP", tree::NodeKind::kModule), act_(c.activation) {
    c_fc = register_module("c_fc", std::make_shared<Conv1D>(c.intermediate_size, c.hidden_size, init));
    c_proj = register_module("c_proj", std::make_shared<Conv1D>(c.hidden_size, c.intermediate_size, init));
    register_module("dropout", make_dropout());
  }
  Tensor forward(const Tensor& x) {
    auto node = scope([=, this] { forward(x); });
    return ops::dropout(c_proj->forward(activation(act_, c_fc->forward(x))));
  }
  std::shared_ptr<Conv1D> c_fc, c_proj;

 private:
  std::string act_;
};

class Attention : public HfModule {
 public:
  Attention(const ModelConfig& c, bool gpt2, const Init& init)
      : HfModule("Attention", tree::NodeKind::kModule), gpt2_(gpt2), embd_(c.hidden_size), heads_(c.num_heads) {
    const int64_t n = c.n_ctx;
    if (init.meta()) {
      bias_ = at::empty({1, 1, n, n}, init.options.dtype(gpt2 ? at::kByte : at::kFloat));
    } else {
      bias_ = at::tril(at::ones({n, n}, init.options.dtype(gpt2 ? at::kByte : at::kFloat))).view({1, 1, n, n});
    }
    register_buffer("bias", bias_);
    if (gpt2) masked_bias_ = register_buffer("masked_bias", at::full({}, -1e4, init.options));
    c_attn = register_module("c_attn", std::make_shared<Conv1D>(3 * c.hidden_size, c.hidden_size, init));
    c_proj = register_module("c_proj", std::make_shared<Conv1D>(c.hidden_size, c.hidden_size, init));
    register_module("attn_dropout", make_dropout());
    register_module("resid_dropout", make_dropout());
  }

  Tensor forward(const Tensor& x) {
    auto node = scope([=, this] { forward(x); });
    std::vector<Tensor> qkv = ops::split(c_attn->forward(x), embd_, 2);
    Tensor q = split_heads(qkv[0], false);
    Tensor k = split_heads(qkv[1], true);
    Tensor v = split_heads(qkv[2], false);
    if (gpt2_) ops::stack({ops::transpose(k, -2, -1), v});  // the `present` cache, use_cache=True
    Tensor w = ops::ml_matmul(q, k);
    w = ops::div(w, std::sqrt(static_cast<double>(v.size(-1))));
    const int64_t nd = w.size(-2), ns = w.size(-1);
    Tensor b = ops::slice(ops::slice(bias_, 2, ns - nd, ns), 3, 0, ns);
    if (gpt2_) {
      w = ops::where(ops::to(b, at::kBool), w, ops::to(masked_bias_, w.scalar_type()));
    } else {
      w = ops::add(ops::mul(w, b), ops::mul(ops::rsub(b, 1), -1e4));
    }
    w = ops::dropout(ops::ml_softmax(w, -1));
    Tensor a = ops::ml_matmul(w, v);
    a = ops::contiguous(ops::permute(a, {0, 2, 1, 3}));
    a = ops::view(a, {a.size(0), a.size(1), embd_});
    return ops::dropout(c_proj->forward(a));
  }
  std::shared_ptr<Conv1D> c_attn, c_proj;

 private:
  // [b, s, h*d] -> [b, h, s, d], or [b, h, d, s] for keys.
  Tensor split_heads(const Tensor& x, bool key) {
    Tensor t = ops::view(x, {x.size(0), x.size(1), heads_, embd_ / heads_});
    return key ? ops::permute(t, {0, 2, 3, 1}) : ops::permute(t, {0, 2, 1, 3});
  }
  bool gpt2_;
  int64_t embd_, heads_;
  Tensor bias_, masked_bias_;
};

class Block : public HfModule {
 public:
  Block(const ModelConfig& c, bool gpt2, const Init& init) : HfModule("Block", tree::NodeKind::kModule), gpt2_(gpt2) {
    if (gpt2) ln_1 = register_module("ln_1", std::make_shared<LayerNorm>(c.hidden_size, c.layer_norm_eps, init));
    attn = register_module("attn", std::make_shared<Attention>(c, gpt2, init));
    if (!gpt2) ln_1 = register_module("ln_1", std::make_shared<LayerNorm>(c.hidden_size, c.layer_norm_eps, init));
    if (gpt2) ln_2 = register_module("ln_2", std::make_shared<LayerNorm>(c.hidden_size, c.layer_norm_eps, init));
    mlp = register_module("mlp", std::make_shared<MLP>(c, init));
    if (!gpt2) ln_2 = register_module("ln_2", std::make_shared<LayerNorm>(c.hidden_size, c.layer_norm_eps, init));
  }
  Tensor forward(const Tensor& x) {
    auto node = scope([=, this] { forward(x); });
    if (gpt2_) {  // pre-LayerNorm
      Tensor h = ops::add(attn->forward(ln_1->forward(x)), x);
      return ops::add(h, mlp->forward(ln_2->forward(h)));
    }
    Tensor n = ln_1->forward(ops::add(x, attn->forward(x)));  // post-LayerNorm
    return ln_2->forward(ops::add(n, mlp->forward(n)));
  }
  std::shared_ptr<LayerNorm> ln_1, ln_2;
  std::shared_ptr<Attention> attn;
  std::shared_ptr<MLP> mlp;

 private:
  bool gpt2_;
};

torch::nn::ModuleList make_blocks(const ModelConfig& c, bool gpt2, const Init& init) {
  torch::nn::ModuleList h;
  for (int64_t i = 0; i < c.num_layers; ++i) h->push_back(std::make_shared<Block>(c, gpt2, init));
  return h;
}

class GPT2Model : public TransformerModel {
 public:
  GPT2Model(const ModelConfig& c, const Init& init) : TransformerModel("GPT2Model") {
    wte = register_module("wte", std::make_shared<Embedding>(c.vocab_size, c.hidden_size, init));
    wpe = register_module("wpe", std::make_shared<Embedding>(c.max_positions, c.hidden_size, init));
    register_module("drop", make_dropout());
    h = register_module("h", make_blocks(c, true, init));
    ln_f = register_module("ln_f", std::make_shared<LayerNorm>(c.hidden_size, c.layer_norm_eps, init));
  }
  Tensor forward(const Tensor& input_ids) override {
    auto node = scope([=, this] { forward(input_ids); });
    const int64_t s = input_ids.size(-1);
    Tensor ids = ops::view(input_ids, {-1, s});
    Tensor positions = ops::view(ops::unsqueeze(ops::arange(s, ids.options().dtype(at::kLong)), 0), {-1, s});
    Tensor hidden = ops::dropout(ops::add(wte->forward(ids), wpe->forward(positions)));
    for (const auto& block : *h) hidden = block->as<Block>()->forward(hidden);
    return ops::view(ln_f->forward(hidden), {input_ids.size(0), s, hidden.size(-1)});
  }
  std::shared_ptr<Embedding> wte, wpe;
  torch::nn::ModuleList h;
  std::shared_ptr<LayerNorm> ln_f;
};

class OpenAIGPTModel : public TransformerModel {
 public:
  OpenAIGPTModel(const ModelConfig& c, const Init& init) : TransformerModel("OpenAIGPTModel") {
    tokens_embed = register_module("tokens_embed", std::make_shared<Embedding>(c.vocab_size, c.hidden_size, init));
    positions_embed = register_module("positions_embed", std::make_shared<Embedding>(c.max_positions, c.hidden_size, init));
    register_module("drop", make_dropout());
    h = register_module("h", make_blocks(c, false, init));
    position_ids_ = register_buffer("position_ids", at::arange(c.max_positions, init.options.dtype(at::kLong)));
  }
  Tensor forward(const Tensor& input_ids) override {
    auto node = scope([=, this] { forward(input_ids); });
    const int64_t s = input_ids.size(-1);
    Tensor positions = ops::unsqueeze(ops::slice(position_ids_, 0, 0, s), 0);
    Tensor ids = ops::view(input_ids, {-1, s});
    Tensor hidden = ops::add(tokens_embed->forward(ids), positions_embed->forward(positions));
    hidden = ops::dropout(ops::add(hidden, 0));  // + token_type_embeds, which is 0 without token types
    for (const auto& block : *h) hidden = block->as<Block>()->forward(hidden);
    return ops::view(hidden, {input_ids.size(0), s, hidden.size(-1)});
  }
  std::shared_ptr<Embedding> tokens_embed, positions_embed;
  torch::nn::ModuleList h;

 private:
  Tensor position_ids_;
};

}  // namespace

std::shared_ptr<TransformerModel> make_gpt2(const ModelConfig& config, const Init& init) {
  return std::make_shared<GPT2Model>(config, init);
}

std::shared_ptr<TransformerModel> make_openai_gpt(const ModelConfig& config, const Init& init) {
  return std::make_shared<OpenAIGPTModel>(config, init);
}

}  // namespace irene::models
