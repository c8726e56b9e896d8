#include "models/zoo.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace irene::models {
namespace {

using tree::NodeKind;

// Hugging Face's parameter counts of the base models (model.num_parameters()).
TEST(ZooTest, ParameterCountsEqualHuggingFaces) {
  const std::map<std::string, int64_t> expected = {
      {"bert-base-uncased", 109482240}, {"bert-large-uncased", 335141888}, {"distilbert-base-uncased", 66362880},
      {"roberta-base", 124645632},      {"gpt2", 124439808},               {"gpt2-medium", 354823168},
      {"distilgpt2", 81912576},         {"openai-gpt", 116534784},
  };
  for (const auto& [name, count] : expected) {
    auto c = bundled_config(name);
    ASSERT_TRUE(c.is_ok()) << name;
    auto s = summarize(*c);
    ASSERT_TRUE(s.is_ok()) << name;
    EXPECT_EQ(s->parameters, count) << name;
  }
}

TEST(ZooTest, UnknownModelListsTheBundledOnes) {
  auto r = bundled_config("bert-huge");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("gpt2-medium"), std::string::npos);
  EXPECT_NE(r.status().message().find("distilbert-base-uncased"), std::string::npos);
}

TEST(ZooTest, SizesOutsideWhatTheModelAllowsAreRejected) {
  auto c = bundled_config("bert-base-uncased").value();
  EXPECT_EQ(validate_run(c, {0, 8}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(validate_run(c, {8, -1}).code(), StatusCode::kInvalidArgument);
  Status s = validate_run(c, {8, 513});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("512"), std::string::npos);
  EXPECT_TRUE(validate_run(c, {8, 512}).is_ok());
}

// Paths and classes Hugging Face v4.2.2 prints for these modules.
TEST(ZooTest, TreesUseHuggingFacePathsAndClasses) {
  struct Expect {
    const char* model;
    std::vector<std::pair<const char*, const char*>> nodes;
  };
  const std::vector<Expect> cases = {
      {"google/bert_uncased_L-4_H-256_A-4",
       {{"", "BertModel"},
        {"embeddings", "BertEmbeddings"},
        {"embeddings.word_embeddings", "Embedding"},
        {"encoder", "BertEncoder"},
        {"encoder.layer.3", "BertLayer"},
        {"encoder.layer.3.attention.self", "BertSelfAttention"},
        {"encoder.layer.3.attention.self.query", "Linear"},
        {"encoder.layer.3.attention.self.matmul", "MatMul"},
        {"encoder.layer.3.attention.self.matmul_1", "MatMul"},
        {"encoder.layer.3.attention.self.softmax", "Softmax"},
        {"encoder.layer.3.attention.output.LayerNorm", "LayerNorm"},
        {"encoder.layer.3.intermediate.gelu", "aten::gelu"},
        {"pooler.activation", "Tanh"}}},
      {"distilgpt2",
       {{"", "GPT2Model"},
        {"wte", "Embedding"},
        {"h.5", "Block"},
        {"h.5.attn", "Attention"},
        {"h.5.attn.c_attn", "Conv1D"},
        {"h.5.attn.c_attn.addmm", "aten::addmm"},
        {"h.5.mlp.c_fc", "Conv1D"},
        {"ln_f", "LayerNorm"}}},
      {"distilbert-base-uncased",
       {{"", "DistilBertModel"},
        {"embeddings", "Embeddings"},
        {"transformer", "Transformer"},
        {"transformer.layer.5", "TransformerBlock"},
        {"transformer.layer.5.attention", "MultiHeadSelfAttention"},
        {"transformer.layer.5.attention.q_lin", "Linear"},
        {"transformer.layer.5.ffn", "FFN"},
        {"transformer.layer.5.output_layer_norm", "LayerNorm"}}},
      {"openai-gpt",
       {{"", "OpenAIGPTModel"}, {"tokens_embed", "Embedding"}, {"positions_embed", "Embedding"}, {"h.11.ln_2", "LayerNorm"}}},
      {"roberta-base", {{"", "RobertaModel"}, {"embeddings", "RobertaEmbeddings"}, {"encoder.layer.0.output", "RobertaOutput"}}},
  };
  for (const auto& tc : cases) {
    auto t = trace_model(bundled_config(tc.model).value(), {2, 8, /*shapes_only=*/true});
    ASSERT_TRUE(t.is_ok()) << tc.model << ": " << t.status().to_string();
    for (const auto& [path, cls] : tc.nodes) EXPECT_GE(t->find(path, cls), 0) << tc.model << " " << path << ":" << cls;
  }
}

TEST(ZooTest, ContainersAndDropoutAreNotNodes) {
  auto t = trace_model(bundled_config("gpt2").value(), {1, 4, true}).value();
  for (const auto& n : t.nodes) {
    EXPECT_NE(n.path, "h");
    EXPECT_NE(n.cls, "Dropout");
    EXPECT_NE(n.cls, "ModuleList");
  }
}

// Every flop and byte sits on a math leaf; each parent's figures are its children's sum.
TEST(ZooTest, ParentsCoverTheirSubtrees) {
  auto t = trace_model(bundled_config("bert-base-uncased").value(), {2, 16, true}).value();
  for (const auto& n : t.nodes) {
    if (n.children.empty()) {
      EXPECT_EQ(n.kind, NodeKind::kMath) << n.path;
      continue;
    }
    int64_t flops = 0, bytes = 0;
    for (int c : n.children) {
      flops += t.nodes[c].flops;
      bytes += t.nodes[c].mem_bytes;
      EXPECT_EQ(t.nodes[c].depth, n.depth + 1);
    }
    EXPECT_EQ(flops, n.flops) << n.path;
    EXPECT_EQ(bytes, n.mem_bytes) << n.path;
  }
  EXPECT_EQ(t.root().num_parameters, 109482240);
}

// A shapes-only tree is the real run's tree, minus latency.
TEST(ZooTest, ShapesOnlyGivesTheSameTreeAsARealRun) {
  for (const char* name : {"google/bert_uncased_L-4_H-256_A-4", "distilgpt2", "distilbert-base-uncased", "openai-gpt",
                           "roberta-base"}) {
    auto config = bundled_config(name).value();
    auto real = trace_model(config, {2, 12, false});
    auto meta = trace_model(config, {2, 12, true});
    ASSERT_TRUE(real.is_ok()) << name << ": " << real.status().to_string();
    ASSERT_TRUE(meta.is_ok()) << name << ": " << meta.status().to_string();
    ASSERT_EQ(real->nodes.size(), meta->nodes.size()) << name;
    for (size_t i = 0; i < real->nodes.size(); ++i) {
      const auto &a = real->nodes[i], &b = meta->nodes[i];
      ASSERT_EQ(a.path, b.path) << name;
      EXPECT_EQ(a.cls, b.cls);
      EXPECT_EQ(a.flops, b.flops) << name << " " << a.path;
      EXPECT_EQ(a.mem_bytes, b.mem_bytes) << name << " " << a.path;
      EXPECT_EQ(a.num_parameters, b.num_parameters);
      EXPECT_EQ(a.shapes, b.shapes);
      EXPECT_TRUE(a.latency_s.has_value());
      EXPECT_FALSE(b.latency_s.has_value());
    }
  }
}

TEST(ZooTest, LatencyOfAParentCoversItsChildren) {
  auto t = trace_model(bundled_config("google/bert_uncased_L-4_H-256_A-4").value(), {2, 16, false}).value();
  for (const auto& n : t.nodes) {
    ASSERT_TRUE(n.latency_s.has_value()) << n.path;
    double children = 0;
    for (int c : n.children) children += *t.nodes[c].latency_s;
    EXPECT_GE(*n.latency_s * 1.0001 + 1e-6, children) << n.path;
  }
}

TEST(ZooTest, SevenBillionParameterShapesOnlyTree) {
  auto config = bundled_config("gpt2-scaled-7b").value();
  auto t = trace_model(config, {1, 2048, true});
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_GT(t->root().num_parameters, 6'000'000'000);
  EXPECT_GT(t->root().flops, 2 * t->root().num_parameters);  // ~2 flops per parameter per token
  EXPECT_EQ(t->count(NodeKind::kModule), 32 * 3);            // Block, Attention, MLP per layer
}

TEST(ZooTest, ConfigByPathBuildsTheSameModel) {
  auto by_name = resolve_config("gpt2");
  ASSERT_TRUE(by_name.is_ok());
  EXPECT_EQ(resolve_config("no-such-model").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace irene::models
