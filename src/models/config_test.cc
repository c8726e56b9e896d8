#include "models/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "models/zoo.h"

namespace irene::models {
namespace {

nlohmann::json bert_json() {
  return {{"model_type", "bert"}, {"vocab_size", 100}, {"hidden_size", 32}, {"num_hidden_layers", 2},
          {"num_attention_heads", 4}, {"intermediate_size", 64}, {"max_position_embeddings", 40}};
}

TEST(ConfigTest, ReadsEachFamilysOwnKeys) {
  auto bert = parse_config(bert_json(), "tiny");
  ASSERT_TRUE(bert.is_ok()) << bert.status().to_string();
  EXPECT_EQ(bert->hidden_size, 32);
  EXPECT_EQ(bert->type_vocab_size, 2);  // Hugging Face's default
  EXPECT_EQ(bert->activation, "gelu");

  auto gpt2 = parse_config({{"model_type", "gpt2"}, {"vocab_size", 100}, {"n_embd", 64}, {"n_head", 4}}, "g");
  ASSERT_TRUE(gpt2.is_ok());
  EXPECT_EQ(gpt2->intermediate_size, 256);  // n_inner null -> 4 x n_embd
  EXPECT_EQ(gpt2->num_layers, 12);
  EXPECT_EQ(gpt2->activation, "gelu_new");
  EXPECT_EQ(gpt2->max_seq_len(), 1024);

  auto distil = parse_config({{"model_type", "distilbert"}, {"vocab_size", 100}, {"dim", 64}, {"n_heads", 4},
                              {"hidden_dim", 128}, {"n_layers", 3}},
                             "d");
  ASSERT_TRUE(distil.is_ok());
  EXPECT_EQ(distil->num_layers, 3);
  EXPECT_EQ(distil->intermediate_size, 128);
}

TEST(ConfigTest, RobertaLosesTwoPositionsToPadding) {
  auto c = bundled_config("roberta-base");
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->max_positions, 514);
  EXPECT_EQ(c->max_seq_len(), 512);
}

TEST(ConfigTest, ErrorsNameTheField) {
  auto j = bert_json();
  j["hidden_size"] = "big";
  auto r = parse_config(j, "x");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'hidden_size'"), std::string::npos);

  j = bert_json();
  j.erase("vocab_size");
  EXPECT_NE(parse_config(j, "x").status().message().find("'vocab_size'"), std::string::npos);

  j = bert_json();
  j["num_attention_heads"] = 5;
  EXPECT_NE(parse_config(j, "x").status().message().find("multiple"), std::string::npos);

  j = bert_json();
  j["hidden_act"] = "swish";
  EXPECT_EQ(parse_config(j, "x").status().code(), StatusCode::kUnsupported);
}

TEST(ConfigTest, UnknownArchitectureListsTheSupportedOnes) {
  auto r = parse_config({{"model_type", "t5"}}, "t5-small");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("'t5'"), std::string::npos);
  EXPECT_NE(r.status().message().find("distilbert"), std::string::npos);
}

TEST(ConfigTest, FilesThatCannotBeReadOrParsed) {
  EXPECT_EQ(load_config_file("/nonexistent/config.json").status().code(), StatusCode::kNotFound);
  const std::string path = std::string(IRENE_BINARY_DIR) + "/config_test_bad.json";
  std::ofstream(path) << "{\"model_type\": \"bert\",";
  auto r = load_config_file(path);
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status().message().find(path), std::string::npos);

  std::ofstream(path) << bert_json().dump();
  auto ok = load_config_file(path);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->name, path);
}

}  // namespace
}  // namespace irene::models
