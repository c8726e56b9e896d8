#include "predict/features.h"

#include <gtest/gtest.h>

#include "models/zoo.h"

namespace irene::predict {
namespace {

TEST(FeaturesTest, PolynomialExpansionInScikitLearnsOrder) {
  EXPECT_EQ(polynomial3({2, 3}), (std::vector<double>{1, 2, 3, 4, 6, 9, 8, 12, 18, 27}));
  EXPECT_EQ(polynomial3(std::vector<double>(6, 1.0)).size(), 84u);
  EXPECT_EQ(polynomial3(std::vector<double>(14, 1.0)).size(), 680u);
}

TEST(FeaturesTest, StandardizerCentresScalesAndSurvivesConstantColumns) {
  Standardizer s = Standardizer::fit({{1, 5}, {3, 5}});
  EXPECT_EQ(s.mean, (std::vector<double>{2, 5}));
  EXPECT_EQ(s.scale, (std::vector<double>{1, 1}));
  EXPECT_EQ(s.apply({3, 5}), (std::vector<double>{1, 0}));
  auto back = Standardizer::from_json(s.to_json());
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back->mean, s.mean);
}

TEST(FeaturesTest, ModelFeaturesComeFromTheTreeAndFullOnesNeedAMeasurement) {
  auto t = models::trace_model(models::bundled_config("gpt2").value(), {4, 16, true}).value();
  const int i = t.find("h.0.mlp.c_fc", "Conv1D");
  auto f = node_features(t, i, FeatureSet::kModel);
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(*f, (std::vector<double>{768.0 * 3072 + 3072, 64, 4, 16, static_cast<double>(t.nodes[i].flops),
                                     static_cast<double>(t.nodes[i].mem_bytes)}));
  auto full = node_features(t, i, FeatureSet::kFull);
  ASSERT_FALSE(full.is_ok());
  EXPECT_NE(full.status().message().find("'full' feature set needs measured"), std::string::npos);
  t.nodes[i].measured = tree::Measurement{};
  auto no_cpu = node_features(t, i, FeatureSet::kFull);
  ASSERT_FALSE(no_cpu.is_ok());
  EXPECT_NE(no_cpu.status().message().find("CPU and memory use"), std::string::npos);
  // A machine without a GPU: the GPU figures count as 0.
  t.nodes[i].measured->cpu_pct = 40;
  t.nodes[i].measured->mem_pct = 20;
  t.nodes[i].measured->times_mean_s = 0.5;
  auto cpu_only = node_features(t, i, FeatureSet::kFull);
  ASSERT_TRUE(cpu_only.is_ok());
  ASSERT_EQ(cpu_only->size(), feature_names(FeatureSet::kFull).size());
  EXPECT_EQ(std::vector<double>(cpu_only->end() - 8, cpu_only->end()),
            (std::vector<double>{40, 20, 0, 0, 0, 0, 0.5, 0}));
}

TEST(FeaturesTest, UncoveredOpsAreTheDirectMathChildren) {
  auto t = models::trace_model(models::bundled_config("bert-base-uncased").value(), {2, 8, true}).value();
  // BertSelfOutput runs dropout (a no-op) and the residual add itself.
  const UncoveredOps u = uncovered_ops(t, t.find("encoder.layer.0.attention.output", "BertSelfOutput"));
  EXPECT_EQ(u.kernels, 1);
  EXPECT_EQ(u.views, 1);
  EXPECT_EQ(u.flops, 2 * 8 * 768);
  EXPECT_EQ(uncovered_ops(t, t.find("encoder.layer.0", "BertLayer")).kernels, 0);
}

TEST(FeaturesTest, NamesParseAndRejectOthers) {
  EXPECT_EQ(feature_set_from_name("model").value(), FeatureSet::kModel);
  EXPECT_NE(feature_set_from_name("all").status().message().find("allowed: full, model"), std::string::npos);
}

}  // namespace
}  // namespace irene::predict
