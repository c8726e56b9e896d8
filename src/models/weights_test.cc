#include "models/weights.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "models/layers.h"
#include "models/transformer_model.h"
#include "models/test_safetensors.h"
#include "models/zoo.h"

namespace irene::models {
namespace {

ModelConfig tiny_bert() {
  return parse_config({{"model_type", "bert"}, {"vocab_size", 50}, {"hidden_size", 16}, {"num_hidden_layers", 2},
                       {"num_attention_heads", 2}, {"intermediate_size", 32}, {"max_position_embeddings", 24}},
                      "tiny-bert")
      .value();
}

std::shared_ptr<TransformerModel> build_tiny() {
  auto m = make_bert(tiny_bert(), Init{at::TensorOptions()});
  assign_paths(*m);
  return m;
}

using testing::write_safetensors;

std::vector<std::pair<std::string, at::Tensor>> distinct_weights(torch::nn::Module& m) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  float base = 0;
  for (const auto& p : m.named_parameters()) {
    out.emplace_back(p.key(), at::arange(p.value().numel(), at::kFloat).add(base).div(1000).view(p.value().sizes()));
    base += 1;
  }
  return out;
}

std::string temp_path(const char* name) { return std::string(IRENE_BINARY_DIR) + "/" + name; }

TEST(WeightsTest, LoadsEveryParameterIncludingPrefixedKeys) {
  auto source = build_tiny();
  auto weights = distinct_weights(*source);
  weights.emplace_back("cls.predictions.bias", at::zeros({50}));  // a task head the base model lacks
  const std::string path = temp_path("weights_test_ok.safetensors");
  write_safetensors(path, weights, "bert.");

  auto target = build_tiny();
  auto report = load_safetensors(*target, path);
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_EQ(report->loaded, static_cast<int>(target->named_parameters().size()));
  EXPECT_EQ(report->ignored, 1);
  auto params = target->named_parameters();
  for (const auto& [name, t] : weights) {
    if (name.rfind("cls.", 0) == 0) continue;
    EXPECT_TRUE(at::equal(params[name], t)) << name;
  }

  // And through the public runner.
  RunOptions o;
  o.batch_size = 2;
  o.seq_len = 5;
  o.weights_path = path;
  auto tree = trace_model(tiny_bert(), o);
  ASSERT_TRUE(tree.is_ok()) << tree.status().to_string();
}

TEST(WeightsTest, AMissingParameterIsNamed) {
  auto source = build_tiny();
  auto weights = distinct_weights(*source);
  weights.erase(weights.begin() + 3);
  const std::string missing = build_tiny()->named_parameters().keys()[3];
  const std::string path = temp_path("weights_test_missing.safetensors");
  write_safetensors(path, weights, "");
  auto r = load_safetensors(*build_tiny(), path);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find(missing), std::string::npos) << r.status().message();
}

TEST(WeightsTest, AShapeMismatchIsNamed) {
  auto weights = distinct_weights(*build_tiny());
  weights[0].second = at::zeros({3, 3});
  const std::string path = temp_path("weights_test_shape.safetensors");
  write_safetensors(path, weights, "");
  auto r = load_safetensors(*build_tiny(), path);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find(weights[0].first), std::string::npos);
  EXPECT_NE(r.status().message().find("[3,3]"), std::string::npos);
}

TEST(WeightsTest, TruncatedAndMissingFilesAreErrors) {
  const std::string path = temp_path("weights_test_truncated.safetensors");
  std::ofstream(path, std::ios::binary) << "\x40\x00\x00";
  EXPECT_EQ(load_safetensors(*build_tiny(), path).status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(load_safetensors(*build_tiny(), temp_path("absent.safetensors")).status().code(), StatusCode::kNotFound);

  // A valid header whose data is cut short.
  write_safetensors(path, distinct_weights(*build_tiny()), "");
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(path, std::ios::binary) << all.substr(0, all.size() - 64);
  EXPECT_EQ(load_safetensors(*build_tiny(), path).status().code(), StatusCode::kCorrupt);
}

}  // namespace
}  // namespace irene::models
