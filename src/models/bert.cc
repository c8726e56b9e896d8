// BERT and RoBERTa as transformers v4.2.2 defines them (modeling_bert.py,
// modeling_roberta.py): same structure, RoBERTa's classes carry its prefix and its
// position ids are counted from the input ids.
#include "models/layers.h"
#include "models/transformer_model.h"

namespace irene::models {

namespace ops = trace::ops;
using at::Tensor;

namespace {

struct Names {
  std::string prefix;  // "Bert" or "Roberta"
  std::string cls(const char* suffix) const { return prefix + suffix; }
};

class Embeddings : public HfModule {
 public:
  Embeddings(const ModelConfig& c, const Names& n, const Init& init)
      : HfModule(n.cls("Embeddings"), tree::NodeKind::kModule), roberta_(c.model_type == "roberta"),
        padding_idx_(c.pad_token_id) {
    word_embeddings = register_module("word_embeddings", std::make_shared<Embedding>(c.vocab_size, c.hidden_size, init));
    position_embeddings =
        register_module("position_embeddings", std::make_shared<Embedding>(c.max_positions, c.hidden_size, init));
    token_type_embeddings =
        register_module("token_type_embeddings", std::make_shared<Embedding>(c.type_vocab_size, c.hidden_size, init));
    LayerNorm_ = register_module("LayerNorm", std::make_shared<LayerNorm>(c.hidden_size, c.layer_norm_eps, init));
    register_module("dropout", make_dropout());
    position_ids_ = register_buffer("position_ids", ops::arange(c.max_positions, init.options.dtype(at::kLong)).unsqueeze(0));
  }

  Tensor forward(const Tensor& input_ids, const Tensor& token_type_ids) {
    auto node = scope([=, this] { forward(input_ids, token_type_ids); });
    Tensor position_ids = roberta_ ? positions_from_ids(input_ids)
                                   : ops::slice(position_ids_, 1, 0, input_ids.size(1));
    Tensor inputs_embeds = word_embeddings->forward(input_ids);
    Tensor token_type = token_type_embeddings->forward(token_type_ids);
    Tensor embeddings = ops::add(inputs_embeds, token_type);
    Tensor positions = position_embeddings->forward(position_ids);
    ops::add_(embeddings, positions);
    embeddings = LayerNorm_->forward(embeddings);
    return ops::dropout(embeddings);
  }

  std::shared_ptr<Embedding> word_embeddings, position_embeddings, token_type_embeddings;
  std::shared_ptr<LayerNorm> LayerNorm_;

 private:
  // RoBERTa: non-padding tokens are numbered from padding_idx + 1 on.
  Tensor positions_from_ids(const Tensor& input_ids) {
    Tensor mask = ops::to(ops::ne(input_ids, padding_idx_), at::kInt);
    Tensor incremental = ops::mul(ops::to(ops::cumsum(mask, 1), at::kInt), mask);
    return ops::add(ops::to(incremental, at::kLong), padding_idx_);
  }

  bool roberta_;
  int64_t padding_idx_;
  Tensor position_ids_;
};

class SelfAttention : public HfModule {
 public:
  SelfAttention(const ModelConfig& c, const Names& n, const Init& init)
      : HfModule(n.cls("SelfAttention"), tree::NodeKind::kModule), heads_(c.num_heads),
        head_size_(c.hidden_size / c.num_heads) {
    query = register_module("query", std::make_shared<Linear>(c.hidden_size, c.hidden_size, init));
    key = register_module("key", std::make_shared<Linear>(c.hidden_size, c.hidden_size, init));
    value = register_module("value", std::make_shared<Linear>(c.hidden_size, c.hidden_size, init));
    register_module("dropout", make_dropout());
  }

  Tensor forward(const Tensor& hidden, const Tensor& mask) {
    auto node = scope([=, this] { forward(hidden, mask); });
    Tensor mixed_query = query->forward(hidden);
    Tensor k = split_heads(key->forward(hidden));
    Tensor v = split_heads(value->forward(hidden));
    Tensor q = split_heads(mixed_query);
    Tensor scores = ops::ml_matmul(q, ops::transpose(k, -1, -2));
    scores = ops::div(scores, std::sqrt(static_cast<double>(head_size_)));
    scores = ops::add(scores, mask);
    Tensor probs = ops::dropout(ops::ml_softmax(scores, -1));
    Tensor context = ops::contiguous(ops::permute(ops::ml_matmul(probs, v), {0, 2, 1, 3}));
    return ops::view(context, {context.size(0), context.size(1), heads_ * head_size_});
  }

  std::shared_ptr<Linear> query, key, value;

 private:
  Tensor split_heads(const Tensor& x) {
    return ops::permute(ops::view(x, {x.size(0), x.size(1), heads_, head_size_}), {0, 2, 1, 3});
  }
  int64_t heads_, head_size_;
};

// dense -> dropout -> LayerNorm(x + residual): BertSelfOutput and BertOutput.
class DenseResidualNorm : public HfModule {
 public:
  DenseResidualNorm(const std::string& cls, int64_t in, int64_t out, double eps, const Init& init)
      : HfModule(cls, tree::NodeKind::kModule) {
    dense = register_module("dense", std::make_shared<Linear>(in, out, init));
    LayerNorm_ = register_module("LayerNorm", std::make_shared<LayerNorm>(out, eps, init));
    register_module("dropout", make_dropout());
  }
  Tensor forward(const Tensor& hidden, const Tensor& residual) {
    auto node = scope([=, this] { forward(hidden, residual); });
    Tensor h = ops::dropout(dense->forward(hidden));
    return LayerNorm_->forward(ops::add(h, residual));
  }
  std::shared_ptr<Linear> dense;
  std::shared_ptr<LayerNorm> LayerNorm_;
};

class Attention : public HfModule {
 public:
  Attention(const ModelConfig& c, const Names& n, const Init& init) : HfModule(n.cls("Attention"), tree::NodeKind::kModule) {
    self = register_module("self", std::make_shared<SelfAttention>(c, n, init));
    output = register_module(
        "output", std::make_shared<DenseResidualNorm>(n.cls("SelfOutput"), c.hidden_size, c.hidden_size, c.layer_norm_eps, init));
  }
  Tensor forward(const Tensor& hidden, const Tensor& mask) {
    auto node = scope([=, this] { forward(hidden, mask); });
    return output->forward(self->forward(hidden, mask), hidden);
  }
  std::shared_ptr<SelfAttention> self;
  std::shared_ptr<DenseResidualNorm> output;
};

class Intermediate : public HfModule {
 public:
  Intermediate(const ModelConfig& c, const Names& n, const Init& init)
      : HfModule(n.cls("Intermediate"), tree::NodeKind::kModule), act_(c.activation) {
    dense = register_module("dense", std::make_shared<Linear>(c.hidden_size, c.intermediate_size, init));
  }
  Tensor forward(const Tensor& hidden) {
    auto node = scope([=, this] { forward(hidden); });
    return activation(act_, dense->forward(hidden));
  }
  std::shared_ptr<Linear> dense;

 private:
  std::string act_;
};

class Layer : public HfModule {
 public:
  Layer(const ModelConfig& c, const Names& n, const Init& init) : HfModule(n.cls("Layer"), tree::NodeKind::kModule) {
    attention = register_module("attention", std::make_shared<Attention>(c, n, init));
    intermediate = register_module("intermediate", std::make_shared<Intermediate>(c, n, init));
    output = register_module("output", std::make_shared<DenseResidualNorm>(n.cls("Output"), c.intermediate_size,
                                                                           c.hidden_size, c.layer_norm_eps, init));
  }
  Tensor forward(const Tensor& hidden, const Tensor& mask) {
    auto node = scope([=, this] { forward(hidden, mask); });
    Tensor attention_output = attention->forward(hidden, mask);
    return output->forward(intermediate->forward(attention_output), attention_output);
  }
  std::shared_ptr<Attention> attention;
  std::shared_ptr<Intermediate> intermediate;
  std::shared_ptr<DenseResidualNorm> output;
};

class Encoder : public HfModule {
 public:
  Encoder(const ModelConfig& c, const Names& n, const Init& init) : HfModule(n.cls("Encoder"), tree::NodeKind::kModule) {
    layer = register_module("layer", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.num_layers; ++i) layer->push_back(std::make_shared<Layer>(c, n, init));
  }
  Tensor forward(Tensor hidden, const Tensor& mask) {
    auto node = scope([=, this] { forward(hidden, mask); });
    for (const auto& m : *layer) hidden = m->as<Layer>()->forward(hidden, mask);
    return hidden;
  }
  torch::nn::ModuleList layer;
};

class Pooler : public HfModule {
 public:
  Pooler(const ModelConfig& c, const Names& n, const Init& init) : HfModule(n.cls("Pooler"), tree::NodeKind::kModule) {
    dense = register_module("dense", std::make_shared<Linear>(c.hidden_size, c.hidden_size, init));
    activation_ = register_module("activation", std::make_shared<Tanh>());
  }
  Tensor forward(const Tensor& hidden) {
    auto node = scope([=, this] { forward(hidden); });
    return activation_->forward(dense->forward(ops::select(hidden, 1, 0)));
  }
  std::shared_ptr<Linear> dense;
  std::shared_ptr<Tanh> activation_;
};

class BertModel : public TransformerModel {
 public:
  BertModel(const ModelConfig& c, const Names& n, const Init& init) : TransformerModel(n.cls("Model")) {
    embeddings = register_module("embeddings", std::make_shared<Embeddings>(c, n, init));
    encoder = register_module("encoder", std::make_shared<Encoder>(c, n, init));
    pooler = register_module("pooler", std::make_shared<Pooler>(c, n, init));
  }

  Tensor forward(const Tensor& input_ids) override {
    auto node = scope([=, this] { forward(input_ids); });
    const auto opts = input_ids.options();
    Tensor attention_mask = ops::ones({input_ids.size(0), input_ids.size(1)}, opts.dtype(at::kFloat));
    Tensor token_type_ids = ops::zeros({input_ids.size(0), input_ids.size(1)}, opts.dtype(at::kLong));
    // get_extended_attention_mask: [b, s] -> [b, 1, 1, s], 0 to keep, -10000 to mask.
    Tensor extended = ops::unsqueeze(ops::unsqueeze(attention_mask, 1), 2);
    extended = ops::mul(ops::rsub(extended, 1.0), -10000.0);
    Tensor hidden = encoder->forward(embeddings->forward(input_ids, token_type_ids), extended);
    pooler->forward(hidden);
    return hidden;
  }

  std::shared_ptr<Embeddings> embeddings;
  std::shared_ptr<Encoder> encoder;
  std::shared_ptr<Pooler> pooler;
};

}  // namespace

std::shared_ptr<TransformerModel> make_bert(const ModelConfig& config, const Init& init) {
  return std::make_shared<BertModel>(config, Names{config.model_type == "roberta" ? "Roberta" : "Bert"}, init);
}

}  // namespace irene::models
