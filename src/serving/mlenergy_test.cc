#include "serving/mlenergy.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "serving/calibration.h"

namespace irene::serving {
namespace {

const std::string kData = std::string(IRENE_DATA_DIR) + "/../mlenergy";

#define REQUIRE_MLENERGY()                                                      \
  if (!std::filesystem::exists(kData + "/vllm_v2_measurements.csv")) {          \
    GTEST_SKIP() << "no ML.ENERGY data at " << kData;                         \
  }

TEST(MlEnergyTest, ReadsTheLeaderboardLayout) {
  REQUIRE_MLENERGY();
  auto data = load_measured_serving(kData);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  EXPECT_GT(data->rows.size(), 150u);
  EXPECT_GE(data->configs.size(), 10u);
  for (const auto& r : data->rows) {
    EXPECT_TRUE(r.machine_id == "a100-sxm4-40gb" || r.machine_id == "h100-sxm5-80gb") << r.machine_id;
    EXPECT_GT(r.energy_per_token_j, 0);
    EXPECT_GT(r.tpot_s, 0);
  }
  EXPECT_FALSE(load_measured_serving("/nonexistent").is_ok());
}

// Leave-one-model-out on one GPU's few models: every held-out model gets its errors,
// computed from a fit that never saw it.
TEST(MlEnergyTest, CrossValidationHoldsEachModelOut) {
  REQUIRE_MLENERGY();
  auto data = load_measured_serving(kData).value();
  CalibrationOptions o;
  o.max_evaluations = 150;
  o.restarts = 0;
  auto cases = build_cases(data, o).value();
  std::vector<ServingCase> some;
  for (const auto& c : cases)
    if (c.row->gpu == "H100-SXM5-80GB" &&
        (c.row->model.find("Llama-3.1-8B") != std::string::npos || c.row->model.find("Mistral-7B") != std::string::npos ||
         c.row->model.find("gemma-2-9b") != std::string::npos))
      some.push_back(c);
  ASSERT_GE(some.size(), 10u);
  auto report = crossval(some, o);
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  const auto& per_model = (*report)["energy_per_token"]["per_model"]["H100-SXM5-80GB"];
  EXPECT_EQ(per_model.size(), 3u);
  for (const auto& [model, err] : per_model.items()) EXPECT_GE(err.get<double>(), 0) << model;
  EXPECT_GT((*report)["coverage"]["held_out_rows"].get<int>(), 0);
  EXPECT_TRUE((*report)["energy_per_token"]["average"].is_number());
}

}  // namespace
}  // namespace irene::serving
