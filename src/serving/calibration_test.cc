#include "serving/calibration.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace irene::serving {
namespace {

// Held-out residuals of `models` models with `rows` rows each: row r of model m has
// ln(measured / predicted) = bias x centred(m) + noise x centred(r), so `bias` is what
// a model's rows share and `noise` what varies between them.
std::vector<HeldOutModel> residuals(int models, int rows, double bias, double noise) {
  std::vector<HeldOutModel> out;
  for (int m = 0; m < models; ++m) {
    HeldOutModel h;
    h.gpu = "gpu";
    h.model = "model-" + std::to_string(m);
    for (int r = 0; r < rows; ++r) {
      const double e = bias * (m - (models - 1) / 2.0) / models + noise * (r - (rows - 1) / 2.0) / rows;
      h.log_residuals.push_back({e, e, e, e});
    }
    out.push_back(std::move(h));
  }
  return out;
}

// Rows that vary on their own give an interval inside their range; rows that move
// together with their model count as few, and the interval stretches to the extremes of
// what the other models showed until there are enough models to leave the farthest
// out. The interval is centred where the residuals are: a bias the models share is
// carried over. The model left out never widens its own interval.
TEST(ServingIntervalsTest, ResidualsClusteredByModelCountAsFewer) {
  // 40 rows of each model spread over [-0.49, 0.49], the same in every model.
  const Intervals independent = intervals_of(residuals(16, 40, 0, 1.0), 0.9);
  ASSERT_TRUE(independent.energy.has_value());
  EXPECT_GT(independent.energy->low, -0.4875 + 1e-9);
  EXPECT_LT(independent.energy->high, 0.4875 - 1e-9);
  EXPECT_LT(independent.energy->low, -0.4);
  EXPECT_GT(independent.energy->high, 0.4);

  // The same spread, but each model's rows all at its own bias: 16 models are too few
  // to leave any out at 90 %.
  auto extremes = [](const std::vector<HeldOutModel>& models) {
    double lowest = 0, highest = 0;
    for (const auto& m : models)
      for (const Figures& r : m.log_residuals) lowest = std::min(lowest, r[0]), highest = std::max(highest, r[0]);
    return std::pair{lowest, highest};
  };
  const auto clustered_models = residuals(16, 10, 1.0, 0);
  const auto [lowest, highest] = extremes(clustered_models);
  const Intervals clustered = intervals_of(clustered_models, 0.9);
  ASSERT_TRUE(clustered.energy.has_value());
  EXPECT_LE(clustered.energy->low, lowest);
  EXPECT_GE(clustered.energy->high, highest);
  // 40 such models: the farthest are left out.
  const auto many_models = residuals(40, 10, 1.0, 0);
  const auto [many_lowest, many_highest] = extremes(many_models);
  const Intervals many = intervals_of(many_models, 0.9);
  EXPECT_GT(many.energy->low, many_lowest);
  EXPECT_LT(many.energy->high, many_highest);

  // Every residual 0.3 higher: the interval moves with them, as wide as before.
  auto shifted_models = residuals(16, 40, 0, 1.0);
  for (auto& m : shifted_models)
    for (Figures& r : m.log_residuals) r[0] += 0.3;
  const Intervals shifted = intervals_of(shifted_models, 0.9);
  EXPECT_NEAR(shifted.energy->low, independent.energy->low + 0.3, 1e-9);
  EXPECT_NEAR(shifted.energy->high, independent.energy->high + 0.3, 1e-9);

  const std::string first = clustered_models.front().model;
  const Intervals without_first = intervals_of(clustered_models, 0.9, &first);
  EXPECT_LT(without_first.energy->high - without_first.energy->low,
            clustered.energy->high - clustered.energy->low);  // the first model held the lowest residuals
  EXPECT_FALSE(intervals_of({}, 0.9).energy.has_value());  // no residuals, no interval
}

// Choosing by prediction: among one model's measured configurations, the predicted
// cheapest under a deadline, against the measured cheapest under it.
TEST(CalibrationTest, PickRegretComparesThePredictedChoiceWithTheMeasuredBest) {
  auto row = [](const char* source, double e, double e_pred, double t, double t_pred) {
    return nlohmann::json{{"source", source}, {"gpu", "G"}, {"model", "m"}, {"task", "chat"},
                          {"energy_per_token", {e, e_pred}}, {"tpot", {t, t_pred}}};
  };
  // a: cheap but slow; b: the measured best under 50 ms; c: predicted cheapest under 50 ms.
  const nlohmann::json rows = nlohmann::json::array(
      {row("a", 0.05, 0.05, 0.080, 0.080), row("b", 0.10, 0.12, 0.040, 0.040), row("c", 0.11, 0.10, 0.045, 0.045)});
  const nlohmann::json r = pick_regret(rows, {0.05, 0.1, 0.01});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_NEAR(r[0]["median_regret"].get<double>(), 0.11 / 0.10 - 1, 1e-12);
  EXPECT_EQ(r[0]["per_group"]["G|m|chat"]["pick"], "c");
  EXPECT_EQ(r[1]["median_regret"].get<double>(), 0);  // 100 ms: a is both
  EXPECT_TRUE(r[2]["median_regret"].is_null());       // 10 ms: nothing meets it
  // A pick predicted fast enough that is not, as measured: a miss, not a saving.
  const nlohmann::json optimistic = nlohmann::json::array({row("a", 0.05, 0.05, 0.080, 0.040), row("b", 0.10, 0.10, 0.040, 0.040)});
  const nlohmann::json m = pick_regret(optimistic, {0.05});
  EXPECT_EQ(m[0]["picks_over_deadline"], 1);
  EXPECT_EQ(m[0]["groups"], 0);
  EXPECT_NEAR(m[0]["per_group"]["G|m|chat"]["over_deadline_by"].get<double>(), 0.6, 1e-12);
}

}  // namespace
}  // namespace irene::serving
