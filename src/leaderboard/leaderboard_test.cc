// The leaderboard's rows against the advisor's per-machine least energy, ML.ENERGY's
// measured figures beside them, and the published scores' sources.
#include "leaderboard/leaderboard.h"

#include <gtest/gtest.h>

#include <sstream>

#include "advisor/advisor.h"
#include "leaderboard/published_scores.h"
#include "models/zoo.h"

namespace irene::leaderboard {
namespace {

TEST(LeaderboardTest, EveryPublishedScoreNamesItsSourceAndEveryBundledDecoderHasAnEntry) {
  const nlohmann::json& doc = published_scores();
  ASSERT_TRUE(doc.contains("models"));
  const std::vector<std::string> benchmarks = doc["_benchmarks"].get<std::vector<std::string>>();
  for (const std::string& b : {"MMLU-Pro", "GPQA-Diamond", "LiveCodeBench"})
    EXPECT_NE(std::find(benchmarks.begin(), benchmarks.end(), b), benchmarks.end()) << b;
  int scores = 0;
  for (const auto& [model, entries] : doc["models"].items())
    for (const auto& [bench, e] : entries.items()) {
      if (!e.is_object() || !e["score"].is_number()) continue;  // "_note" and the like
      ++scores;
      const double s = e["score"].get<double>();
      EXPECT_TRUE(s >= 0 && s <= 100) << model << " " << bench;
      ASSERT_TRUE(e["source"].is_string()) << model << " " << bench;
      EXPECT_GT(e["source"].get<std::string>().size(), 10u) << model << " " << bench;
    }
  EXPECT_GT(scores, 100);
  for (const std::string& name : models::bundled_model_names())
    if (models::bundled_config(name).value().is_decoder()) EXPECT_TRUE(doc["models"].contains(name)) << name;
}

TEST(LeaderboardTest, EachRowIsTheAdvisorsLeastEnergyOnThatMachineWithMeasuredFiguresBeside) {
  Options o;
  o.models = {"meta-llama/Llama-3.1-8B", "openai/gpt-oss-20b"};
  o.machines = {"h100-sxm5-80gb", "l4"};
  o.tasks = {"chat"};
  const serving::MeasuredData v3 =
      serving::load_measured_serving(std::string(IRENE_DATA_DIR) + "/../mlenergy-v3").value();
  const nlohmann::json board = build(o, serving::shipped_serving_predictors(), &v3).value();
  ASSERT_GE(board["rows"].size(), 3u);
  double previous = 0;
  for (const auto& row : board["rows"]) {
    EXPECT_LE(row["itl_median_s"].get<double>(), 0.1);
    EXPECT_NEAR(row["energy_per_response_j"].get<double>(), 700 * row["energy_per_output_token_j"].get<double>(), 1e-9);
    EXPECT_GE(row["energy_per_response_j"].get<double>(), previous);  // sorted, least first
    previous = row["energy_per_response_j"].get<double>();
    EXPECT_EQ(row["basis"], row["machine"] == "h100-sxm5-80gb" ? "calibrated" : "spec sheet");
  }
  // The same as the advisor finds for one model on one machine.
  advisor::Request r;
  r.machines = {"h100-sxm5-80gb"};
  r.quantizations = {""};
  r.slo.itl_s = 0.1;
  const advisor::Advice a =
      advisor::advise(models::bundled_config("openai/gpt-oss-20b").value(), r, serving::shipped_serving_predictors())
          .value();
  ASSERT_TRUE(a.best);
  bool found = false;
  for (const auto& row : board["rows"])
    if (row["model"] == "openai/gpt-oss-20b" && row["machine"] == "h100-sxm5-80gb") {
      found = true;
      EXPECT_NEAR(row["energy_per_output_token_j"].get<double>(),
                  a.candidates[*a.best].estimate.energy_per_output_token_j, 1e-12);
      EXPECT_TRUE(row["measured"].is_null());  // v3 measured gpt-oss on gpqa alone
    }
  EXPECT_TRUE(found);
  // ML.ENERGY v3 measured Llama-3.1-8B-Instruct on H100 at chat: its least energy under
  // 100 ms, marked as measured, beside the prediction.
  for (const auto& row : board["rows"])
    if (row["model"] == "meta-llama/Llama-3.1-8B" && row["machine"] == "h100-sxm5-80gb") {
      ASSERT_TRUE(row["measured"].is_object());
      EXPECT_EQ(row["measured"]["model"], "meta-llama/Llama-3.1-8B-Instruct");
      EXPECT_LE(row["measured"]["time_s"].get<double>(), 0.1);
      EXPECT_NE(row["measured"]["source"].get<std::string>().find(".csv"), std::string::npos);
    }
  EXPECT_TRUE(board["scores"]["openai/gpt-oss-20b"]["GPQA-Diamond"]["score"].is_number());

  std::istringstream csv(to_csv(board));
  std::string line;
  size_t lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, board["rows"].size() + 1);
  Options bad = o;
  bad.tasks = {"poetry"};
  EXPECT_FALSE(build(bad, serving::shipped_serving_predictors(), nullptr).is_ok());
}

}  // namespace
}  // namespace irene::leaderboard
