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
// what the other models showed. The model left out never widens its own interval.
TEST(ServingIntervalsTest, ResidualsClusteredByModelCountAsFewer) {
  // 40 rows of each model spread over [-0.49, 0.49], the same in every model.
  const Intervals independent = intervals_of(residuals(16, 40, 0, 1.0), 0.9);
  ASSERT_TRUE(independent.energy.has_value());
  EXPECT_GT(independent.energy->low, -0.4875 + 1e-9);
  EXPECT_LT(independent.energy->high, 0.4875 - 1e-9);
  EXPECT_LT(independent.energy->low, -0.4);
  EXPECT_GT(independent.energy->high, 0.4);

  // The same spread, but each model's rows all at its own bias.
  const auto clustered_models = residuals(16, 10, 1.0, 0);
  const Intervals clustered = intervals_of(clustered_models, 0.9);
  ASSERT_TRUE(clustered.energy.has_value());
  double lowest = 0, highest = 0;
  for (const auto& m : clustered_models)
    for (const Figures& r : m.log_residuals) lowest = std::min(lowest, r[0]), highest = std::max(highest, r[0]);
  EXPECT_DOUBLE_EQ(clustered.energy->low, lowest);
  EXPECT_DOUBLE_EQ(clustered.energy->high, highest);

  const std::string first = clustered_models.front().model;
  const Intervals without_first = intervals_of(clustered_models, 0.9, &first);
  EXPECT_GT(without_first.energy->low, lowest);  // the first model held the lowest residuals
  EXPECT_FALSE(intervals_of({}, 0.9).energy.has_value());  // no residuals, no interval
}

}  // namespace
}  // namespace irene::serving
