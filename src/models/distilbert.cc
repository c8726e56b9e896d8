// DistilBERT as transformers v4.2.2 defines it (modeling_distilbert.py).
#include "models/layers.h"
#include "models/transformer_model.h"

namespace irene::models {

namespace ops = trace::ops;
using at::Tensor;

namespace {

class Embeddings : public HfModule {
 public:
  Embeddings(const ModelConfig& c, const Init& init) : HfModule("Embeddings", tree::NodeKind::kModule) {
    word_embeddings = register_module("word_embeddings", std::make_shared<Embedding>(c.vocab_size, c.hidden_size, init));
    position_embeddings =
        register_module("position_embeddings", std::make_shared<Embedding>(c.max_positions, c.hidden_size, init));
    LayerNorm_ = register_module("LayerNorm", std::make_shared<LayerNorm>(c.hidden_size, 1e-12, init));
    register_module("dropout", make_dropout());
  }
  Tensor forward(const Tensor& input_ids) {
    auto node = scope([=, this] { forward(input_ids); });
    Tensor positions = ops::arange(input_ids.size(1), input_ids.options().dtype(at::kLong));
    positions = ops::expand_as(ops::unsqueeze(positions, 0), input_ids);
    Tensor words = word_embeddings->forward(input_ids);
    Tensor embeddings = ops::add(words, position_embeddings->forward(positions));
    return ops::dropout(LayerNorm_->forward(embeddings));
  }
  std::shared_ptr<Embedding> word_embeddings, position_embeddings;
  std::shared_ptr<LayerNorm> LayerNorm_;
};

class MultiHeadSelfAttention : public HfModule {
 public:
  MultiHeadSelfAttention(const ModelConfig& c, const Init& init)
      : HfModule("MultiHeadSelfAttention", tree::NodeKind::kModule), heads_(c.num_heads),
        head_size_(c.hidden_size / c.num_heads) {
    register_module("dropout", make_dropout());
    q_lin = register_module("q_lin", std::make_shared<Linear>(c.hidden_size, c.hidden_size, init));
    k_lin = register_module("k_lin", std::make_shared<Linear>(c.hidden_size, c.hidden_size, init));
    v_lin = register_module("v_lin", std::make_shared<Linear>(c.hidden_size, c.hidden_size, init));
    out_lin = register_module("out_lin", std::make_shared<Linear>(c.hidden_size, c.hidden_size, init));
  }
  Tensor forward(const Tensor& x, const Tensor& mask) {
    auto node = scope([=, this] { forward(x, mask); });
    Tensor q = shape(q_lin->forward(x));
    Tensor k = shape(k_lin->forward(x));
    Tensor v = shape(v_lin->forward(x));
    q = ops::div(q, std::sqrt(static_cast<double>(head_size_)));
    Tensor scores = ops::ml_matmul(q, ops::transpose(k, 2, 3));
    Tensor masked = ops::expand_as(ops::view(ops::eq(mask, 0), {x.size(0), 1, 1, x.size(1)}), scores);
    ops::masked_fill_(scores, masked, -std::numeric_limits<double>::infinity());
    Tensor weights = ops::dropout(ops::ml_softmax(scores, -1));
    Tensor context = ops::ml_matmul(weights, v);
    context = ops::view(ops::contiguous(ops::transpose(context, 1, 2)), {x.size(0), -1, heads_ * head_size_});
    return out_lin->forward(context);
  }
  std::shared_ptr<Linear> q_lin, k_lin, v_lin, out_lin;

 private:
  Tensor shape(const Tensor& x) { return ops::transpose(ops::view(x, {x.size(0), -1, heads_, head_size_}), 1, 2); }
  int64_t heads_, head_size_;
};

class FFN : public HfModule {
 public:
  FFN(const ModelConfig& c, const Init& init) : HfModule("FFN", tree::NodeKind::kModule), act_(c.activation) {
    register_module("dropout", make_dropout());
    lin1 = register_module("lin1", std::make_shared<Linear>(c.hidden_size, c.intermediate_size, init));
    lin2 = register_module("lin2", std::make_shared<Linear>(c.intermediate_size, c.hidden_size, init));
  }
  Tensor forward(const Tensor& x) {
    auto node = scope([=, this] { forward(x); });
    return ops::dropout(lin2->forward(activation(act_, lin1->forward(x))));
  }
  std::shared_ptr<Linear> lin1, lin2;

 private:
  std::string act_;
};

class TransformerBlock : public HfModule {
 public:
  TransformerBlock(const ModelConfig& c, const Init& init) : HfModule("TransformerBlock", tree::NodeKind::kModule) {
    attention = register_module("attention", std::make_shared<MultiHeadSelfAttention>(c, init));
    sa_layer_norm = register_module("sa_layer_norm", std::make_shared<LayerNorm>(c.hidden_size, 1e-12, init));
    ffn = register_module("ffn", std::make_shared<FFN>(c, init));
    output_layer_norm = register_module("output_layer_norm", std::make_shared<LayerNorm>(c.hidden_size, 1e-12, init));
  }
  Tensor forward(const Tensor& x, const Tensor& mask) {
    auto node = scope([=, this] { forward(x, mask); });
    Tensor sa = sa_layer_norm->forward(ops::add(attention->forward(x, mask), x));
    return output_layer_norm->forward(ops::add(ffn->forward(sa), sa));
  }
  std::shared_ptr<MultiHeadSelfAttention> attention;
  std::shared_ptr<LayerNorm> sa_layer_norm, output_layer_norm;
  std::shared_ptr<FFN> ffn;
};

class Transformer : public HfModule {
 public:
  Transformer(const ModelConfig& c, const Init& init) : HfModule("Transformer", tree::NodeKind::kModule) {
    layer = register_module("layer", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.num_layers; ++i) layer->push_back(std::make_shared<TransformerBlock>(c, init));
  }
  Tensor forward(Tensor x, const Tensor& mask) {
    auto node = scope([=, this] { forward(x, mask); });
    for (const auto& m : *layer) x = m->as<TransformerBlock>()->forward(x, mask);
    return x;
  }
  torch::nn::ModuleList layer;
};

class DistilBertModel : public TransformerModel {
 public:
  DistilBertModel(const ModelConfig& c, const Init& init) : TransformerModel("DistilBertModel") {
    embeddings = register_module("embeddings", std::make_shared<Embeddings>(c, init));
    transformer = register_module("transformer", std::make_shared<Transformer>(c, init));
  }
  Tensor forward(const Tensor& input_ids) override {
    auto node = scope([=, this] { forward(input_ids); });
    Tensor mask = ops::ones({input_ids.size(0), input_ids.size(1)}, input_ids.options().dtype(at::kFloat));
    return transformer->forward(embeddings->forward(input_ids), mask);
  }
  std::shared_ptr<Embeddings> embeddings;
  std::shared_ptr<Transformer> transformer;
};

}  // namespace

std::shared_ptr<TransformerModel> make_distilbert(const ModelConfig& config, const Init& init) {
  return std::make_shared<DistilBertModel>(config, init);
}

}  // namespace irene::models
