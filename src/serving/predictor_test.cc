#include "serving/predictor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "models/zoo.h"
#include "serving/calibration.h"

namespace irene::serving {
namespace {

const std::string kData = std::string(IRENE_DATA_DIR) + "/../mlenergy";
const std::string kDataV3 = std::string(IRENE_DATA_DIR) + "/../mlenergy-v3";

const ServingPredictor* shipped(const std::string& id, const std::string& engine = engines::kLegacyEngineId) {
  for (const auto& p : shipped_serving_predictors())
    if (p.machine_id == id && p.engine == engine) return &p;
  return nullptr;
}

TEST(ServingPredictorTest, IreneShipsOneForEachGpuAndEngineOfTheSharedData) {
  for (const auto& [id, engine] : {std::pair{"a100-sxm4-40gb", "vllm-0.5.4"}, std::pair{"h100-sxm5-80gb", "vllm-0.5.4"},
                                   std::pair{"h100-sxm5-80gb", "vllm-0.11.1"}}) {
    const ServingPredictor* p = shipped(id, engine);
    ASSERT_NE(p, nullptr) << id;
    EXPECT_TRUE(p->params.calibrated);
    ASSERT_TRUE(p->intervals.energy.has_value()) << id;
    EXPECT_LT(p->intervals.energy->low, p->intervals.energy->high);
    // Carried intervals come from the data's other GPUs: v2 has two, v3's part one.
    EXPECT_EQ(p->carried_intervals.energy.has_value(), std::string(engine) == "vllm-0.5.4") << id;
    ASSERT_TRUE(p->crossval.is_object());
    EXPECT_GT(p->crossval["energy_per_token"].get<double>(), 0);
    EXPECT_GT(p->data["rows"].get<int>(), 50);
  }
}

// Each (machine, engine) file is what `irene train` makes of its data.
TEST(ServingPredictorTest, TheShippedV1ParametersAreTheFitOfTheV3Data) {
  if (!std::filesystem::exists(kDataV3 + "/vllm_v3_h100_measurements.csv")) GTEST_SKIP() << "no v3 data at " << kDataV3;
  auto data = load_measured_serving(kDataV3).value();
  const ServingPredictor* p = shipped("h100-sxm5-80gb", "vllm-0.11.1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->data["fingerprint"].get<std::string>(), data.fingerprint) << "the shared data changed; retrain";
  EXPECT_EQ(p->fitted, engines::find_engine("vllm-0.11.1")->fitted);
  CalibrationOptions o;
  o.default_prompt_len = p->data["default_prompt_len"].get<double>();
  o.max_evaluations = p->data["max_evaluations"].get<int>();
  o.restarts = p->data["restarts"].get<int>();
  auto cases = build_cases(data, o).value();
  std::vector<const ServingCase*> rows;
  for (const auto& c : cases) rows.push_back(&c);
  ASSERT_EQ(rows.size(), p->data["rows"].get<size_t>());
  const Calibration fitted = fit(rows, o);
  for (double predict::RooflineParams::*f :
       {&predict::RooflineParams::gemm_efficiency, &predict::RooflineParams::memory_efficiency,
        &predict::RooflineParams::compute_power, &predict::RooflineParams::per_sequence_overhead_s,
        &predict::RooflineParams::kernel_gap_s, &predict::RooflineParams::host_wait_power,
        &predict::RooflineParams::per_logit_s, &predict::RooflineParams::dequant_power,
        &predict::RooflineParams::expert_parallel_latency_s})
    EXPECT_NEAR(fitted.params.*f, p->params.*f, 1e-6 * std::max(1e-9, p->params.*f));
  EXPECT_EQ(fitted.params.admission_overhead_s, 0);  // not the V1 engine's: no stall to fit
  // LMArena's conversation turns: the share of a prompt the prefix cache held, fitted.
  EXPECT_NEAR(fitted.conversation_cached_share, p->data["conversation_prompt_cached_share"].get<double>(), 1e-6);
  EXPECT_GT(fitted.conversation_cached_share, 0);
  EXPECT_LT(fitted.conversation_cached_share, 1);
}

// Without an engine asked for, a machine answers with the newest engine calibrated on
// it, else the newest calibrated anywhere (carried to its spec sheet).
TEST(ServingPredictorTest, TheDefaultEngineIsTheNewestCalibratedOne) {
  const auto& available = shipped_serving_predictors();
  EXPECT_EQ(default_engine(machines::find_machine("h100-sxm5-80gb").value(), available), "vllm-0.11.1");
  EXPECT_EQ(default_engine(machines::find_machine("a100-sxm4-40gb").value(), available), "vllm-0.5.4");
  EXPECT_EQ(default_engine(machines::find_machine("b200").value(), available), "vllm-0.11.1");
  auto b200 = predictor_for(machines::find_machine("b200").value(), available, nullptr, "vllm-0.11.1").value();
  EXPECT_FALSE(b200.calibrated);
  EXPECT_NE(b200.basis.find("vllm-0.11.1 parameters carried over from h100-sxm5-80gb"), std::string::npos) << b200.basis;
  EXPECT_EQ(b200.basis.find("a100"), std::string::npos) << "only the engine's own calibrations carry";
  // A predictor of one engine is not used for another.
  auto wrong = predictor_for(machines::find_machine("h100-sxm5-80gb").value(), available,
                             shipped("h100-sxm5-80gb", "vllm-0.5.4"), "vllm-0.11.1");
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("fitted on vllm-0.5.4 measurements, not vllm-0.11.1"), std::string::npos);
}

// A GPU owner with one model's rows: the fit moves only what one model identifies (the
// machine's efficiencies and power) and carries the engine's own times from its
// calibrations of other machines; the file says which.
TEST(ServingPredictorTest, OneModelsRowsFitTheMachineAndCarryTheEngine) {
  if (!std::filesystem::exists(kDataV3 + "/vllm_v3_h100_measurements.csv")) GTEST_SKIP() << "no v3 data at " << kDataV3;
  MeasuredData data = load_measured_serving(kDataV3).value();
  std::vector<MeasuredServing> one;
  for (const auto& r : data.rows)
    if (r.model == "google/gemma-3-12b-it") one.push_back(r);
  data.rows = one;
  CalibrationOptions o;
  o.max_evaluations = 400;
  o.restarts = 1;
  auto cases = build_cases(data, o).value();
  // The engine's calibration of another machine to carry from.
  ServingPredictor other = *shipped("h100-sxm5-80gb", "vllm-0.11.1");
  other.machine_id = "h200-sxm";
  auto p = train(cases, data, "h100-sxm5-80gb", o, nullptr, "vllm-0.11.1", {other}).value();
  const engines::Engine engine = engines::find_engine("vllm-0.11.1").value();
  EXPECT_EQ(p.engine, "vllm-0.11.1");
  EXPECT_EQ(p.fitted, engine.fitted_from_one_model);
  EXPECT_EQ(p.carried_from, std::vector<std::string>{"h200-sxm"});
  // Carried as the geometric mean of one calibration (a parameter fitted to ~0 carries as 1e-12).
  EXPECT_NEAR(p.params.step_overhead_s, other.params.step_overhead_s, 1e-11);
  EXPECT_NEAR(p.params.per_sequence_overhead_s, other.params.per_sequence_overhead_s,
              1e-12 * other.params.per_sequence_overhead_s);
  EXPECT_NEAR(p.params.kernel_gap_s, other.params.kernel_gap_s, 1e-12 * other.params.kernel_gap_s);
  EXPECT_NEAR(p.params.per_logit_s, other.params.per_logit_s, 1e-12 * other.params.per_logit_s);
  EXPECT_GT(p.params.per_logit_s, 0);
  EXPECT_NE(p.params.compute_power, other.params.compute_power);
  // The answer says what it rests on.
  auto mp = predictor_for(machines::find_machine("h100-sxm5-80gb").value(), {}, &p, "vllm-0.11.1").value();
  EXPECT_NE(mp.basis.find("carried from h200-sxm"), std::string::npos) << mp.basis;
  // An engine the machine's rows did not run is named.
  auto none = train(cases, data, "h100-sxm5-80gb", o, nullptr, "vllm-0.5.4", {other});
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find("under engine 'vllm-0.5.4'"), std::string::npos) << none.status().message();
}

// The shipped files are what `irene train` makes from the shared data: fitting again
// gives the same parameters (predictors/README.md says how they were made).
TEST(ServingPredictorTest, TheShippedParametersAreTheFitOfTheSharedData) {
  if (!std::filesystem::exists(kData + "/vllm_v2_measurements.csv")) GTEST_SKIP() << "no ML.ENERGY data at " << kData;
  auto data = load_measured_serving(kData).value();
  for (const std::string id : {"a100-sxm4-40gb", "h100-sxm5-80gb"}) {
    const ServingPredictor* p = shipped(id);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->data["fingerprint"].get<std::string>(), data.fingerprint) << "the shared data changed; retrain";
    CalibrationOptions o;
    o.default_prompt_len = p->data["default_prompt_len"].get<double>();
    o.default_run_requests = p->data.value("default_run_requests", 0.0);
    o.max_evaluations = p->data["max_evaluations"].get<int>();
    o.restarts = p->data["restarts"].get<int>();
    auto cases = build_cases(data, o).value();
    std::vector<const ServingCase*> rows;
    for (const auto& c : cases)
      if (c.machine.id == id) rows.push_back(&c);
    ASSERT_EQ(rows.size(), p->data["rows"].get<size_t>());
    EXPECT_EQ(p->engine, "vllm-0.5.4");  // a file from before engines were inputs reads as v2's engine
    const Calibration fitted = fit(rows, o);
    EXPECT_NEAR(fitted.params.gemm_efficiency, p->params.gemm_efficiency, 1e-6 * p->params.gemm_efficiency) << id;
    EXPECT_NEAR(fitted.params.memory_efficiency, p->params.memory_efficiency, 1e-6) << id;
    EXPECT_NEAR(fitted.params.compute_power, p->params.compute_power, 1e-6 * p->params.compute_power) << id;
    EXPECT_NEAR(fitted.params.step_overhead_s, p->params.step_overhead_s, 1e-6 * p->params.step_overhead_s) << id;
    EXPECT_NEAR(fitted.params.admission_overhead_s, p->params.admission_overhead_s, 1e-6 * p->params.admission_overhead_s) << id;
    EXPECT_NEAR(fitted.params.kernel_gap_s, p->params.kernel_gap_s, 1e-6 * p->params.kernel_gap_s) << id;
  }
}

TEST(ServingPredictorTest, MachinesWithoutDataAreSpecOnlyAndSaySo) {
  const auto& available = shipped_serving_predictors();
  auto a100 = predictor_for(machines::find_machine("a100-sxm4-40gb").value(), available).value();
  EXPECT_TRUE(a100.calibrated);
  EXPECT_NE(a100.basis.find("calibrated"), std::string::npos);
  auto b200 = predictor_for(machines::find_machine("b200").value(), available).value();
  EXPECT_FALSE(b200.calibrated);
  EXPECT_NE(b200.basis.find("spec sheet"), std::string::npos) << b200.basis;
  EXPECT_NE(b200.basis.find("a100-sxm4-40gb"), std::string::npos) << b200.basis;
  ASSERT_TRUE(b200.intervals.energy.has_value());
  // The carried interval is at least as wide as either machine's own.
  EXPECT_GE(b200.intervals.energy->high - b200.intervals.energy->low, 0.0);
  EXPECT_LE(b200.intervals.energy->low, shipped("a100-sxm4-40gb")->carried_intervals.energy->low);
  // A predictor made for another machine is carried over too.
  auto carried = predictor_for(machines::find_machine("h100-sxm5-80gb").value(), available, shipped("a100-sxm4-40gb"));
  EXPECT_FALSE(carried->calibrated);
  EXPECT_NE(carried->basis.find("carried over from a100-sxm4-40gb"), std::string::npos);
  // With nothing calibrated: first guesses, and no interval.
  auto bare = predictor_for(machines::find_machine("l4").value(), {}).value();
  EXPECT_FALSE(bare.intervals.energy.has_value());
}

TEST(ServingPredictorTest, AnswersCarryIntervalsOrNull) {
  auto cfg = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  const auto machine = machines::find_machine("h100-sxm5-80gb").value();
  auto p = predictor_for(machine, shipped_serving_predictors()).value();
  ServingConfig s{64, 512, 256, 1, 1, ""};
  auto e = ServingWorkload::build(cfg, s).value().estimate(machine, p.params).value();
  nlohmann::json doc = serving_answer(cfg, machine, s, e, p);
  for (const char* k : {"energy_per_output_token_j", "energy_per_request_j", "power_w", "tpot_s", "throughput_tokens_per_s"}) {
    ASSERT_TRUE(doc["intervals"][k].is_array()) << k;
    EXPECT_LT(doc["intervals"][k][0].get<double>(), doc["intervals"][k][1].get<double>()) << k;
  }
  p.intervals.power.reset();
  EXPECT_TRUE(serving_answer(cfg, machine, s, e, p)["intervals"]["power_w"].is_null());
}

TEST(ServingPredictorTest, FilesRoundTripAndBadOnesAreNamed) {
  const auto dir = std::filesystem::temp_directory_path() / "irene_serving_predictor_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "p.json").string();
  ASSERT_TRUE(save_serving_predictor(*shipped("a100-sxm4-40gb"), path).is_ok());
  auto back = load_serving_predictor(path);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->machine_id, "a100-sxm4-40gb");
  EXPECT_DOUBLE_EQ(back->params.memory_efficiency, shipped("a100-sxm4-40gb")->params.memory_efficiency);
  nlohmann::json doc = to_json(*back);
  doc["params"]["memory_efficiency"] = 3;
  auto bad = serving_predictor_from_json(doc, "x.json");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("efficiencies"), std::string::npos);
  doc = to_json(*back);
  doc["intervals"]["power"] = nlohmann::json::array({1, 0});
  EXPECT_NE(serving_predictor_from_json(doc, "x.json").status().message().find("intervals.power"), std::string::npos);
  EXPECT_FALSE(load_serving_predictor((dir / "missing.json").string()).is_ok());
  std::filesystem::remove_all(dir);
}

// Files made before the gap between queued kernels was fitted read it as not fitted (every
// kernel costs its launch, as then), and a machine carried over from such a file as well.
TEST(ServingPredictorTest, OlderFilesWithoutAKernelGapCostEveryLaunch) {
  const ServingPredictor& a100 = *shipped("a100-sxm4-40gb");
  EXPECT_GE(a100.params.kernel_gap_s, 0);
  nlohmann::json doc = to_json(a100);
  doc["params"].erase("kernel_gap_s");
  auto older = serving_predictor_from_json(doc, "older.json");
  ASSERT_TRUE(older.is_ok()) << older.status().to_string();
  EXPECT_LT(older->params.kernel_gap_s, 0);
  EXPECT_FALSE(to_json(*older)["params"].contains("kernel_gap_s"));  // written back as it was read
  auto carried = predictor_for(machines::find_machine("b200").value(), {a100, *older}).value();
  EXPECT_LT(carried.params.kernel_gap_s, 0);
  EXPECT_GT(carried.params.kernel_overhead_s, 0);
  doc["params"]["kernel_gap_s"] = -1;
  EXPECT_NE(serving_predictor_from_json(doc, "x.json").status().message().find("kernel_gap_s"), std::string::npos);
}

}  // namespace
}  // namespace irene::serving
