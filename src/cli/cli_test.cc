// Runs the real `irene` binary and checks what a user sees: output, messages, exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>
#include <vector>

#include "common/memory.h"

namespace {

struct CliRun {
  int exit_code;
  std::string out;  // stdout and stderr together
};

// Runs a shell command line, stdout and stderr together.
CliRun irene_shell(const std::string& command) {
  const std::string cmd = command + " 2>&1";
  CliRun r{-1, {}};
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

CliRun irene(const std::string& args) { return irene_shell(std::string(IRENE_BINARY_DIR) + "/irene " + args); }

TEST(CliTest, ModelsListsTheZoo) {
  CliRun r = irene("models");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("bert-base-uncased"), std::string::npos);
  EXPECT_NE(r.out.find("109482240"), std::string::npos);
  CliRun j = irene("models --format json");
  ASSERT_EQ(j.exit_code, 0);
  auto rows = nlohmann::json::parse(j.out);
  EXPECT_GE(rows.size(), 9u);
  EXPECT_EQ(rows[0].count("max_seq_len"), 1u);
}

TEST(CliTest, MachinesListsTheCatalogue) {
  CliRun text = irene("machines");
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("h100-sxm5-80gb"), std::string::npos);
  EXPECT_NE(text.out.find("this-cpu"), std::string::npos);
  CliRun json = irene("machines --format json");
  ASSERT_EQ(json.exit_code, 0) << json.out;
  auto doc = nlohmann::json::parse(json.out);
  ASSERT_GE(doc["machines"].size(), 12u);
  EXPECT_EQ(doc["machines"][0]["id"], "a100-sxm4-40gb");
  EXPECT_EQ(doc["machines"][0]["peak_flops"]["bfloat16"], 312e12);
  EXPECT_EQ(irene("machines --format xml").exit_code, 2);
}

TEST(CliTest, PredictOnACataloguedMachineSaysWhatItRestsOn) {
  // A generating decoder: its generation as the machine's newest calibrated engine serves
  // it at its steady state, as `irene serving` answers it at this batch.
  CliRun r = irene("predict --machine h100-sxm5-80gb --model meta-llama/Llama-3.1-8B -b 8 -s 64 -n 16 --max-depth 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("the generation of 8 requests on 1 x h100-sxm5-80gb under vllm-0.11.1"), std::string::npos)
      << r.out;
  for (const char* phase : {"prefill : Prefill", "decode : Decode", "sample : Sampler", "engine : EngineTime"})
    EXPECT_NE(r.out.find(phase), std::string::npos) << phase << "\n" << r.out;
  EXPECT_NE(r.out.find("calibrated on measured serving data of this machine under vllm-0.11.1"), std::string::npos)
      << r.out;
  // One forward pass: every node by the roofline, as transformers launches its ops.
  CliRun pass = irene("predict --machine h100-sxm5-80gb --model meta-llama/Llama-3.1-8B -b 8 -s 64 --max-depth 1");
  ASSERT_EQ(pass.exit_code, 0) << pass.out;
  EXPECT_NE(pass.out.find("roofline on NVIDIA H100 SXM5 80GB with fitted parameters"), std::string::npos) << pass.out;
  EXPECT_NE(pass.out.find("parameters calibrated on measured serving data of this machine"), std::string::npos);
  EXPECT_NE(pass.out.find("predicted latency of the whole tree"), std::string::npos);
  // A decode step alone on its own stays a roofline tree of transformers' ops.
  CliRun step = irene("predict --machine h100-sxm5-80gb --model meta-llama/Llama-3.1-8B -b 8 -s 64 -n 16 "
                      "--decode-step 3 --max-depth 0");
  ASSERT_EQ(step.exit_code, 0) << step.out;
  EXPECT_NE(step.out.find("predicted latency of the whole tree"), std::string::npos) << step.out;
  CliRun l4 = irene("predict --machine l4 --model meta-llama/Llama-3.2-1B -b 1 -s 64 --max-depth 0");
  ASSERT_EQ(l4.exit_code, 0) << l4.out;
  EXPECT_NE(l4.out.find("parameters from the spec sheet alone (no measurements of this machine), with vllm-0.5.4 "
                        "parameters carried over from a100-sxm4-40gb, h100-sxm5-80gb"), std::string::npos) << l4.out;
  CliRun bad = irene("predict --machine tpu-v9 --model gpt2 -b 1 -s 8");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("the catalogue has: a100-sxm4-40gb"), std::string::npos) << bad.out;
  CliRun cpu = irene("predict --machine this-cpu --model gpt2 -b 1 -s 8");
  EXPECT_EQ(cpu.exit_code, 2);
  EXPECT_NE(cpu.out.find("lacks what the roofline needs"), std::string::npos) << cpu.out;
}

TEST(CliTest, AdviseLeaderboardAndWhatIfAnswerAndRefuseBadArguments) {
  CliRun a = irene("advise --model meta-llama/Llama-3.1-8B --machines h100-sxm5-80gb,l4 --max-gpus 2 --itl-slo-ms 50");
  ASSERT_EQ(a.exit_code, 0) << a.out;
  EXPECT_NE(a.out.find("Least energy: "), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("why the pick: "), std::string::npos) << a.out;
  CliRun json = irene("advise --model meta-llama/Llama-3.1-8B --machines l4 --max-gpus 1 --task code --format json");
  ASSERT_EQ(json.exit_code, 0) << json.out;
  EXPECT_TRUE(nlohmann::json::parse(json.out)["best"].is_object());
  EXPECT_EQ(irene("advise --model bert-base-uncased").exit_code, 2);
  EXPECT_EQ(irene("advise --model meta-llama/Llama-3.1-8B --quantization int3").exit_code, 2);
  EXPECT_EQ(irene("advise --model meta-llama/Llama-3.1-8B --task poetry").exit_code, 2);
  EXPECT_EQ(irene("advise --model meta-llama/Llama-3.1-8B --max-gpus 0").exit_code, 2);
  CliRun board = irene("leaderboard --tasks code --machines l4 --models Qwen/Qwen2.5-0.5B,meta-llama/Llama-3.1-8B "
                       "--format csv");
  ASSERT_EQ(board.exit_code, 0) << board.out;
  EXPECT_EQ(board.out.rfind("task,model,machine,", 0), 0u) << board.out;
  EXPECT_EQ(irene("leaderboard --models bert-base-uncased").exit_code, 2);
  CliRun w = irene("whatif --model meta-llama/Llama-3.1-8B --machine h100-sxm5-80gb -b 64 --b quantization=fp8");
  ASSERT_EQ(w.exit_code, 0) << w.out;
  EXPECT_NE(w.out.find("The tree of differences"), std::string::npos) << w.out;
  EXPECT_EQ(irene("whatif --model meta-llama/Llama-3.1-8B --machine h100-sxm5-80gb --b colour=blue").exit_code, 2);
  EXPECT_EQ(irene("whatif --model meta-llama/Llama-3.1-8B --machine h100-sxm5-80gb --b fp8").exit_code, 2);
}

TEST(CliTest, ServingGivesTheSteadyStateFigures) {
  CliRun r = irene("serving --model Qwen/Qwen3-8B --machine a100-sxm4-40gb -b 32 --prompt-len 64 --output-len 128 "
                   "--format json --max-depth 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto doc = nlohmann::json::parse(r.out);
  for (const char* key : {"energy_per_output_token_j", "energy_per_request_j", "power_w", "tpot_s",
                          "throughput_tokens_per_s", "prefill_share"})
    EXPECT_GT(doc[key].get<double>(), 0) << key;
  // The shipped A100 predictor by default; every figure with its interval.
  EXPECT_TRUE(doc["calibrated"].get<bool>());
  EXPECT_NE(doc["basis"].get<std::string>().find("calibrated on measured serving data"), std::string::npos);
  EXPECT_TRUE(doc["intervals"]["energy_per_output_token_j"].is_array());
  EXPECT_EQ(doc["step"]["root"]["class"], "Qwen3ForCausalLM");
  // Where the server's time goes: its parts add up to the batch over the throughput.
  double cycle = 0;
  for (const char* part : {"decode_kernels", "sampler", "decode_engine", "prefill", "admission", "host_wait"})
    cycle += doc["time_split_s"][part].get<double>();
  EXPECT_NEAR(cycle, 32 / doc["throughput_tokens_per_s"].get<double>(), 1e-9 * cycle);
  CliRun spec = irene("serving --model Qwen/Qwen3-8B --machine b200 -b 32 --prompt-len 64 --output-len 128");
  ASSERT_EQ(spec.exit_code, 0) << spec.out;
  EXPECT_NE(spec.out.find("from the spec sheet alone"), std::string::npos) << spec.out;
  EXPECT_NE(spec.out.find("where the time goes"), std::string::npos) << spec.out;
  EXPECT_NE(spec.out.find("90 % interval"), std::string::npos) << spec.out;
  // The time's parts are those the engine has: V1 samples on the GPUs, vLLM 0.5.4 in its
  // own time (no "sampler 0 %"); one engine waits for no other.
  CliRun v1 = irene("serving --model Qwen/Qwen3-8B --machine h100-sxm5-80gb -b 32 --max-depth 0");
  CliRun v0 = irene("serving --model Qwen/Qwen3-8B --machine a100-sxm4-40gb -b 32 --max-depth 0");
  ASSERT_EQ(v1.exit_code, 0) << v1.out;
  ASSERT_EQ(v0.exit_code, 0) << v0.out;
  EXPECT_NE(v1.out.find(", the sampler "), std::string::npos) << v1.out;
  EXPECT_EQ(v0.out.find("sampler"), std::string::npos) << v0.out;
  for (const CliRun* c : {&v0, &v1}) {
    EXPECT_NE(c->out.find("where the time goes"), std::string::npos) << c->out;
    EXPECT_EQ(c->out.find("waiting for the host"), std::string::npos) << c->out;
  }
  EXPECT_FALSE(doc.contains("run"));
  // A benchmark run's time per token, its drain included: below the steady state's.
  CliRun run = irene("serving --model Qwen/Qwen3-8B --machine h100-sxm5-80gb --engine vllm-0.5.4 -b 512 "
                     "--prompt-len 128 --output-len 480 --run-requests 2000 --max-output-len 1024 --format json "
                     "--max-depth 0");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  auto runs = nlohmann::json::parse(run.out);
  EXPECT_LT(runs["run"]["tpot_s"].get<double>(), runs["tpot_s"].get<double>());
  EXPECT_TRUE(runs["intervals"]["run_tpot_s"].is_array());
  CliRun small = irene("serving --model Qwen/Qwen3-8B --machine h100-sxm5-80gb --engine vllm-0.5.4 -b 512 "
                       "--run-requests 100 --max-output-len 1024");
  EXPECT_EQ(small.exit_code, 2);
  EXPECT_NE(small.out.find("more requests than the batch cap"), std::string::npos) << small.out;
  CliRun nocap = irene("serving --model Qwen/Qwen3-8B --machine h100-sxm5-80gb --engine vllm-0.5.4 -b 64 "
                       "--run-requests 2000");
  EXPECT_EQ(nocap.exit_code, 2);
  EXPECT_NE(nocap.out.find("needs a per-request output cap"), std::string::npos) << nocap.out;
  CliRun bad = irene("serving --model Qwen/Qwen3-8B --machine a100-sxm4-40gb -b 9000");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("from 1 to 4096"), std::string::npos) << bad.out;
}

// Today's engine: the default on the H100, its latency figures, its flags, and the real
// deployments the size limits used to refuse (they bound the work done now, and the CLI
// is trusted).
TEST(CliTest, ServingUnderVllmV1) {
  CliRun r = irene("serving --model openai/gpt-oss-120b --machine h100-sxm5-80gb --tensor-parallel 2 -b 256 "
                   "--prompt-len 300 --output-len 1700 --format json --max-depth 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["engine"], "vllm-0.11.1");
  EXPECT_EQ(doc["num_gpus"], 2);
  EXPECT_GT(doc["itl_p90_s"].get<double>(), 0);
  EXPECT_GE(doc["itl_p90_s"].get<double>(), doc["itl_median_s"].get<double>());
  EXPECT_GT(doc["ttft_s"].get<double>(), doc["itl_median_s"].get<double>());
  EXPECT_TRUE(doc["intervals"]["itl_median_s"].is_array());
  EXPECT_TRUE(doc["intervals"]["ttft_s"].is_null());
  EXPECT_TRUE(doc["memory"]["fits"].get<bool>());
  EXPECT_NE(doc["basis"].get<std::string>().find("under vllm-0.11.1"), std::string::npos);
  // The text names the engine and the latency.
  CliRun text = irene("serving --model openai/gpt-oss-20b --machine h100-sxm5-80gb -b 64 --quantization fp8 "
                      "--kv-cache-dtype fp8");
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("under vLLM 0.11.1 (V1 engine)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("inter-token latency, median"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("expert parallel:"), std::string::npos) << text.out;
  // Experts spread whole: the fitted wait of each MoE GEMM launch is said.
  CliRun ep = irene("serving --model Qwen/Qwen3-30B-A3B --machine h100-sxm5-80gb --num-gpus 4 --expert-parallel -b 64 "
                    "--max-depth 0");
  ASSERT_EQ(ep.exit_code, 0) << ep.out;
  EXPECT_NE(ep.out.find("expert parallel: each fused MoE GEMM launch waits"), std::string::npos) << ep.out;
  EXPECT_NE(ep.out.find("(fitted: expert_parallel_latency_s of vllm-0.11.1)"), std::string::npos) << ep.out;
  // Bad flags name what is allowed.
  CliRun engine = irene("serving --model Qwen/Qwen3-8B --machine h100-sxm5-80gb --engine vllm-9");
  EXPECT_EQ(engine.exit_code, 2);
  EXPECT_NE(engine.out.find("vllm-0.5.4, vllm-0.11.1"), std::string::npos) << engine.out;
  CliRun gpus = irene("serving --model Qwen/Qwen3-8B --machine h100-sxm5-80gb --num-gpus 4 --tensor-parallel 2");
  EXPECT_EQ(gpus.exit_code, 2);
  EXPECT_NE(gpus.out.find("--num-gpus 4 is not --tensor-parallel 2"), std::string::npos) << gpus.out;
  CliRun quant = irene("serving --model Qwen/Qwen3-8B --machine h100-sxm5-80gb --quantization mxfp4");
  EXPECT_EQ(quant.exit_code, 2);
  EXPECT_NE(quant.out.find("has none: use fp8, nvfp4 or none"), std::string::npos) << quant.out;
  // Refused before: an MoE of 235 B on 8 GPUs, Llama-3.1-405B at 2,048 running.
  const std::string qwen = std::string(IRENE_DATA_DIR) + "/../hf-configs/Qwen--Qwen3-235B-A22B_config.json";
  if (std::filesystem::exists(qwen)) {
    CliRun moe = irene("serving --config " + qwen + " --machine h100-sxm5-80gb --num-gpus 8 -b 512 --max-depth 0");
    EXPECT_EQ(moe.exit_code, 0) << moe.out;
  }
  CliRun big = irene("serving --model meta-llama/Llama-3.1-405B --machine h100-sxm5-80gb --num-gpus 8 -b 2048 "
                     "--engine vllm-0.5.4 --max-depth 0");
  EXPECT_EQ(big.exit_code, 0) << big.out;
}

// irene train --method roofline on a copy of two models' rows of the shared data: one
// predictor file for the machine, which irene serving then takes with --predictor.
TEST(CliTest, TrainRooflineWritesAServingPredictor) {
  const std::string data = std::string(IRENE_DATA_DIR) + "/../mlenergy";
  if (!std::filesystem::exists(data + "/vllm_v2_measurements.csv")) GTEST_SKIP() << "no ML.ENERGY data";
  const auto dir = std::filesystem::temp_directory_path() / "irene_cli_train_roofline";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "data");
  std::filesystem::copy_file(data + "/model_configs.json", dir / "data/model_configs.json");
  {
    std::ifstream in(data + "/vllm_v2_measurements.csv");
    std::ofstream out(dir / "data/rows.csv");
    std::string line;
    std::getline(in, line);
    out << line << "\n";
    while (std::getline(in, line))
      if (line.find("H100") != std::string::npos &&
          (line.find("Llama-3.1-8B") != std::string::npos || line.find("Mistral-7B") != std::string::npos ||
           line.find("gemma-2-9b") != std::string::npos))
        out << line << "\n";
  }
  const std::string file = (dir / "h100.json").string();
  CliRun several = irene("train --method roofline --data " + data + " -o " + file);
  EXPECT_EQ(several.exit_code, 2);
  EXPECT_NE(several.out.find("choose one with --machine-id"), std::string::npos) << several.out;
  CliRun r = irene("train --method roofline --data " + (dir / "data").string() + " -o " + file);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto doc = nlohmann::json::parse(std::ifstream(file));
  EXPECT_EQ(doc["machine"], "h100-sxm5-80gb");
  EXPECT_EQ(doc["data"]["models"].size(), 3u);
  EXPECT_TRUE(doc["intervals"]["energy_per_token"].is_array());
  EXPECT_TRUE(doc["carried_intervals"]["energy_per_token"].is_null());  // no other GPU in this data
  CliRun serving = irene("serving --model meta-llama/Llama-3.1-8B --machine h100-sxm5-80gb -b 64 --predictor " + file +
                         " --format json --max-depth 0");
  ASSERT_EQ(serving.exit_code, 0) << serving.out;
  EXPECT_EQ(nlohmann::json::parse(serving.out)["crossval_error_pct"]["per_model_energy_per_token"].size(), 3u);
  CliRun missing = irene("train --method roofline --data " + (dir / "data").string() + " --machine-id l4 -o " + file);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.out.find("no rows of machine 'l4'"), std::string::npos) << missing.out;
  std::filesystem::remove_all(dir);
}

// The roofline's per-node latency on this very CPU, measured for real on every run:
// profiles of four models (BERT, DistilBERT, GPT-2 and a small Llama), then each model's
// node latencies predicted from the spec sheet alone and calibrated on the other three.
// The figures go to the test's output and build/latency-crossval.json.
TEST(CliProfileTest, ProfilesOfOtherModelsCalibrateTheRooflineOnThisCpu) {
  const auto dir = std::filesystem::path(IRENE_BINARY_DIR) / "latency-profiles";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const std::string model : {"bert-base-uncased", "distilbert-base-uncased", "gpt2", "HuggingFaceTB/SmolLM2-135M"}) {
    std::string file = model;
    std::replace(file.begin(), file.end(), '/', '-');
    CliRun p = irene("profile --model " + model + " -b 1 -s 32 --seconds-per-node 0.02 --rounds 10 --threads 1 -o " +
                     (dir / (file + ".json")).string());
    ASSERT_EQ(p.exit_code, 0) << p.out;
  }
  // Each profile measured what a roofline cannot read from the OS: the cost of one tiny op
  // and the copy bandwidth at each cache level and beyond.
  auto header = nlohmann::json::parse(std::ifstream(dir / "gpt2.json"))["profile"];
  EXPECT_GT(header["dispatch_overhead_s"].get<double>(), 0);
  ASSERT_FALSE(header["bandwidth_probe"].empty());
  EXPECT_EQ(header["bandwidth_probe"].back()["level"], "memory");
  EXPECT_GT(header["bandwidth_probe"].back()["bandwidth_bytes_per_s"].get<double>(), 0);
  // A product with its weight stored as Conv1D stores it, against nn.Linear's layout, at
  // two sizes: GPT-2's Conv1D products run at that measured share of a Linear's speed.
  ASSERT_EQ(header["weight_layout_probe"].size(), 2u) << header.dump().substr(0, 400);
  for (const auto& size : header["weight_layout_probe"]) {
    EXPECT_GT(size["speed_ratio"].get<double>(), 0);
    EXPECT_NEAR(size["speed_ratio"].get<double>(),
                size["untransposed_flop_per_s"].get<double>() / size["transposed_flop_per_s"].get<double>(), 1e-9);
  }
  // And the machine's speed at the start of each of the 10 rounds, which the calibration
  // compares profiles at.
  EXPECT_EQ(header["speed_probe"]["flop_per_s_by_round"].size(), 10u);
  CliRun text = irene("crossval --method roofline --data " + dir.string());
  ASSERT_EQ(text.exit_code, 0) << text.out;
  std::cout << text.out;
  // Kept for scripts/test.sh, which prints it after the tests: this run's figures on this
  // machine, in every CI log.
  std::ofstream(std::filesystem::path(IRENE_BINARY_DIR) / "latency-crossval.txt") << text.out;
  CliRun r = irene("crossval --method roofline --data " + dir.string() + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto doc = nlohmann::json::parse(r.out);
  std::ofstream(std::filesystem::path(IRENE_BINARY_DIR) / "latency-crossval.json") << doc.dump(2) << "\n";
  EXPECT_EQ(doc["per_model"].size(), 4u);
  EXPECT_EQ(doc["machine"], "this-cpu");
  EXPECT_NE(doc["note"].get<std::string>().find("measured copy bandwidths"), std::string::npos);
  EXPECT_NE(doc["note"].get<std::string>().find("its own measured machine speed"), std::string::npos);
  EXPECT_NE(doc["note"].get<std::string>().find("Conv1D"), std::string::npos);
  // Calibrating on other models must beat the spec sheet alone, node by node and whole.
  EXPECT_LT(doc["calibrated"]["nodes"].get<double>(), doc["spec_only"]["nodes"].get<double>());
  EXPECT_LT(doc["calibrated"]["model"].get<double>(), doc["spec_only"]["model"].get<double>());
  for (const auto& [model, v] : doc["per_model"].items()) {
    EXPECT_GT(v["measured_nodes"].get<int>(), 10) << model;
    EXPECT_TRUE(std::isfinite(v["calibrated"]["nodes"].get<double>())) << model;
  }
  CliRun one = irene("crossval --method roofline --data " + (dir / "none").string());
  EXPECT_EQ(one.exit_code, 2) << one.out;

  // The same profiles make a latency predictor of this CPU that `irene predict` reads.
  const std::string file = (dir / "this-cpu-latency.json").string();
  CliRun train = irene("train --method roofline --data " + dir.string() + " -o " + file);
  ASSERT_EQ(train.exit_code, 0) << train.out;
  auto predictor = nlohmann::json::parse(std::ifstream(file));
  EXPECT_EQ(predictor["method"], "roofline-latency");
  EXPECT_EQ(predictor["machine"], "this-cpu");
  EXPECT_EQ(predictor["data"]["models"].size(), 4u);
  EXPECT_TRUE(predictor["crossval"]["calibrated"]["nodes"].is_number());
  EXPECT_EQ(predictor["untransposed_weight_speed"].size(), 2u);
  // A model none of the profiles had: every node gets a latency, the whole one its parts'
  // sum and its own module call, and no energy (no meter fitted a power model).
  CliRun qwen = irene("predict --predictor " + file + " --model Qwen/Qwen2.5-0.5B -b 1 -s 32 --format json");
  ASSERT_EQ(qwen.exit_code, 0) << qwen.out;
  auto tree = nlohmann::json::parse(qwen.out);
  const auto& root = tree["root"];
  ASSERT_TRUE(root["predicted_latency_s"].is_number()) << root.dump().substr(0, 400);
  double children = 0;
  for (const auto& c : root["children"]) children += c["predicted_latency_s"].get<double>();
  const double call = predictor["params"]["module_overhead_s"].get<double>();
  EXPECT_NEAR(children + call, root["predicted_latency_s"].get<double>(), 1e-9 * children);
  EXPECT_FALSE(root.contains("energy_j"));
  EXPECT_NE(qwen.out.find("no energy"), std::string::npos);
  // A profiled model, predicted in-sample: within a factor of two of what was measured.
  CliRun bert = irene("predict --predictor " + file + " --model bert-base-uncased -b 1 -s 32 --format json");
  ASSERT_EQ(bert.exit_code, 0) << bert.out;
  auto measured = nlohmann::json::parse(std::ifstream(dir / "bert-base-uncased.json"));
  const double predicted = nlohmann::json::parse(bert.out)["root"]["predicted_latency_s"].get<double>();
  const double actual = measured["root"]["measured"]["times_mean_s"].get<double>();
  EXPECT_GT(predicted, actual / 2);
  EXPECT_LT(predicted, actual * 2);
  // CPU profiles cannot calibrate a GPU.
  CliRun gpu = irene("train --method roofline --data " + dir.string() + " --machine-id h100-sxm5-80gb -o " + file + ".h100");
  EXPECT_EQ(gpu.exit_code, 2) << gpu.out;
  EXPECT_NE(gpu.out.find("profiled on the CPU"), std::string::npos) << gpu.out;
  // A broken file is named, exit 2.
  std::ofstream(dir / "broken.json") << R"({"method": "roofline-latency", "format": "irene-latency-predictor", "version": 1,
    "machine": "this-cpu", "params": {"gemm_efficiency": 2}})";
  CliRun broken = irene("predict --predictor " + (dir / "broken.json").string() + " --model gpt2 -b 1 -s 8");
  EXPECT_EQ(broken.exit_code, 2) << broken.out;
  EXPECT_NE(broken.out.find("broken.json"), std::string::npos) << broken.out;
}

TEST(CliTest, TreeCsvHasTheDocumentedColumns) {
  CliRun r = irene("tree --model distilgpt2 -b 2 -s 8 --format csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "path,class,kind,depth,num_parameters,flops,mem_bytes,latency_s");
  EXPECT_NE(r.out.find("\nh.0.attn.c_attn,Conv1D,ml,3,"), std::string::npos);
}

TEST(CliTest, GenerationTreeHasPhasesInEveryFormat) {
  const std::string args = "tree --model Qwen/Qwen3-8B -b 4 -s 64 --new-tokens 32 --shapes-only";
  CliRun csv = irene(args + " --format csv");
  ASSERT_EQ(csv.exit_code, 0) << csv.out;
  EXPECT_EQ(csv.out.substr(0, csv.out.find('\n')),
            "path,class,kind,depth,num_parameters,flops,mem_bytes,latency_s,phase");
  EXPECT_NE(csv.out.find("\nmodel.layers.35.self_attn.k_norm,Qwen3RMSNorm,ml,6,128,"), std::string::npos);
  EXPECT_NE(csv.out.find(",decode\n"), std::string::npos);
  CliRun json = irene(args + " --format json --max-depth 2");
  ASSERT_EQ(json.exit_code, 0) << json.out;
  auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["dtype"], "bfloat16");
  EXPECT_EQ(doc["root"]["kind"], "generation");
  EXPECT_EQ(doc["root"]["new_tokens"], 32);
  // 36 layers x 2 x 4 sequences x 8 kv heads x 96 positions x 128 x 2 bytes
  EXPECT_EQ(doc["root"]["kv_cache_bytes"], int64_t{36} * 2 * 4 * 8 * 96 * 128 * 2);
  EXPECT_EQ(doc["root"]["children"][1]["path"], "decode");
  CliRun one = irene(args + " --decode-step 31 --max-depth 1");
  ASSERT_EQ(one.exit_code, 0) << one.out;
  EXPECT_NE(one.out.find("decode_step=31"), std::string::npos) << one.out;
}

TEST(CliTest, PredictMarksExtrapolatedNodes) {
  CliRun r = irene("predict -p " + std::string(IRENE_SOURCE_DIR) +
                   "/predictors/pc1-model.json --model mistralai/Mixtral-8x7B-v0.1 -b 1 -s 32 -n 8 --format csv");
  ASSERT_EQ(r.exit_code, 0) << r.out.substr(0, 2000);
  EXPECT_NE(r.out.find("measured_energy_j,extrapolated,phase\n"), std::string::npos);
  EXPECT_NE(r.out.find("post_attention_layernorm,MixtralRMSNorm,ml,"), std::string::npos);
  EXPECT_NE(r.out.find(",true,prefill\n"), std::string::npos);
  EXPECT_NE(r.out.find(",false,decode\n"), std::string::npos);
}

TEST(CliTest, TreeJsonIsTheNestedTree) {
  CliRun r = irene("tree --model gpt2 -b 1 -s 4 --shapes-only --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["root"]["class"], "GPT2Model");
  EXPECT_EQ(doc["root"]["num_parameters"], 124439808);
  EXPECT_TRUE(doc["root"]["latency_s"].is_null());
}

TEST(CliTest, BadInputExitsTwoWithAClearMessage) {
  struct Case {
    const char* args;
    const char* says;
  };
  const Case cases[] = {
      {"tree --model bert-huge -b 1 -s 8", "bundled models: "},
      {"tree --model bert-base-uncased -b 0 -s 8", "batch size must be a positive integer"},
      {"tree --model bert-base-uncased -b abc -s 8", "batch-size"},
      {"tree --model bert-base-uncased -b 1 -s 600", "maximum of 512"},
      {"tree --model gpt2 -b 1 -s 8 --format xml", "format"},
      {"tree --config /nonexistent/config.json -b 1 -s 8", "cannot read config file '/nonexistent/config.json': No such file"},
      {"tree --model gpt2 -b 1 -s 8 --new-tokens 4", "decoder LLM families"},
      {"tree --model meta-llama/Llama-3.2-1B -b 1 -s 8 --new-tokens 4 --decode-step 4 --shapes-only",
       "decode step must be from 0 to new tokens - 1 (3)"},
      {"tree --model meta-llama/Llama-3.2-1B -b 1 -s 8 --dtype int4 --shapes-only", "float32, bfloat16, float16"},
      {"tree --model meta-llama/Llama-3.2-1B -b 1 -s 8 --attention flash --shapes-only", "sdpa, eager"},
      {"tree --model microsoft/Phi-3-mini-4k-instruct -b 1 -s 4000 -n 200 --shapes-only", "maximum of 4096 positions"},
      {"tree -b 1 -s 8", "--model NAME or --config PATH"},
      {"frobnicate", "frobnicate"},
  };
  for (const Case& c : cases) {
    CliRun r = irene(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << "\n" << r.out;
  }
}

// A campaign file with a mistake is refused before anything is recorded or submitted,
// naming the field and what it allows; so are store URLs irene cannot open.
TEST(CliTest, BadCampaignFilesAndStoresExitTwo) {
  const std::string dir = std::string(IRENE_BINARY_DIR) + "/cli_test_campaign";
  std::filesystem::create_directories(dir);
  const std::string db = " --db sqlite:" + dir + "/store.sqlite";
  std::ofstream(dir + "/typo.json") << R"({"name": "c", "models": ["distilgpt2"], "batch_size": [1], "seq_lens": [8]})";
  std::ofstream(dir + "/slurm.yaml") << "name: c\nmodels: [distilgpt2]\nbatch_sizes: [1]\nseq_lens: [8]\n"
                                     << "slurm: {gpus_per_task: -1}\n";
  std::ofstream(dir + "/model.json") << R"({"name": "c", "models": ["gpt5"], "batch_sizes": [1], "seq_lens": [8]})";
  struct Case {
    std::string args, says;
  };
  const Case cases[] = {
      {"campaign submit " + dir + "/typo.json" + db, "typo.json: batch_size: unknown field (allowed: name, models"},
      {"campaign submit " + dir + "/slurm.yaml" + db, "slurm.gpus_per_task: got -1; allowed: an integer from 0 to 64"},
      {"campaign resume " + dir + "/model.json" + db, "model.json: models[0]: "},
      {"campaign submit " + dir + "/none.json" + db, "cannot be read"},
      {"campaign submit " + dir + "/typo.json", "--db is required"},
      {"campaign status c --db mysql://h/db", "unknown scheme 'mysql'"},
      {"campaign run-task --campaign c --points 1,x" + db, "--points: 'x' is not a point index"},
      {"campaign export c --format parquet -o x" + db, "format"},
      {"train --method roofline -o x.json", "give either --data FOLDER or --campaign NAME"},
  };
  for (const Case& c : cases) {
    CliRun r = irene(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << "\n" << r.out;
  }
  // Nothing was recorded by the refused files.
  CliRun status = irene("campaign status c" + db);
  EXPECT_EQ(status.exit_code, 2) << status.out;
  EXPECT_NE(status.out.find("no campaign 'c'"), std::string::npos) << status.out;
}

// A model whose weights alone do not fit (the synthetic 7B: 28 GB of float32) is refused
// with the figures and the way out, instead of being killed by the kernel.
TEST(CliTest, ARunThatCannotFitInMemoryIsRefused) {
  if (irene::available_memory_bytes().value_or(0) > 25e9) GTEST_SKIP() << "this machine could hold the 7B model's weights";
  CliRun r = irene("tree --model gpt2-scaled-7b -b 1 -s 8");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("not enough memory to run gpt2-scaled-7b at batch size 1, sequence length 8 with real weights"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("try --shapes-only"), std::string::npos) << r.out;
  EXPECT_EQ(irene("tree --model gpt2-scaled-7b -b 1 -s 8 --shapes-only --format csv").exit_code, 0);
}

TEST(CliTest, MalformedConfigNamesTheField) {
  const std::string path = std::string(IRENE_BINARY_DIR) + "/cli_test_config.json";
  FILE* f = fopen(path.c_str(), "w");
  fputs(R"({"model_type": "gpt2", "vocab_size": 100, "n_embd": "wide"})", f);
  fclose(f);
  CliRun r = irene("tree --config " + path + " -b 1 -s 4");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("'n_embd'"), std::string::npos) << r.out;

  f = fopen(path.c_str(), "w");
  fputs(R"({"model_type": "t5", "vocab_size": 100})", f);
  fclose(f);
  r = irene("tree --config " + path + " -b 1 -s 4");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("the zoo builds: bert, roberta, distilbert, gpt2, openai-gpt"), std::string::npos) << r.out;

  // A hidden size its heads cannot split: refused up front naming both fields (libtorch
  // would fail later reshaping a tensor of 0 elements).
  f = fopen(path.c_str(), "w");
  fputs(R"({"model_type": "llama", "hidden_size": 3, "num_attention_heads": 9})", f);
  fclose(f);
  r = irene("tree --config " + path + " -b 1 -s 4");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("hidden_size (3) must be a multiple of num_attention_heads (9)"), std::string::npos) << r.out;

  // Python's Infinity, as Nemotron-H's configs write it, is read.
  f = fopen(path.c_str(), "w");
  fputs(R"({"model_type": "nemotron_h", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
            "hybrid_override_pattern": "M*-", "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
            "mamba_num_heads": 4, "mamba_head_dim": 8, "n_groups": 2, "ssm_state_size": 4,
            "time_step_limit": [0.0, Infinity]})", f);
  fclose(f);
  r = irene("tree --config " + path + " -b 1 -s 4 --shapes-only --format csv");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("irene::ssd_chunk_scan"), std::string::npos) << r.out;
}

}  // namespace

namespace {

const std::string kData = std::string(IRENE_DATA_DIR) + "/device_1";
const std::string kPredictors = std::string(IRENE_SOURCE_DIR) + "/predictors";

TEST(CliPredictTest, ModelPredictorGivesEveryNodeAnEnergy) {
  CliRun r = irene("predict -p " + kPredictors + "/pc1-model.json --model distilgpt2 -b 4 -s 64 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_GT(doc["root"]["energy_j"].get<double>(), 0);
  EXPECT_TRUE(doc["root"].contains("energy_remainder_j"));
  CliRun csv = irene("predict -p " + kPredictors + "/pc1-model.json --model gpt2 -b 1 -s 8 --format csv");
  EXPECT_NE(csv.out.find("latency_s,energy_j,energy_remainder_j,measured_energy_j,extrapolated\n"), std::string::npos);
}

TEST(CliPredictTest, FullPredictorNeedsMeasurements) {
  CliRun r = irene("predict -p " + kPredictors + "/pc1-full.json --model gpt2 -b 8 -s 32");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("measured resource features"), std::string::npos) << r.out;
}

TEST(CliPredictTest, BadPredictorAndMethodArguments) {
  EXPECT_EQ(irene("predict -p /nonexistent.json --model gpt2 -b 1 -s 8").exit_code, 2);
  CliRun m = irene("crossval --data " + kData + " --method magic");
  EXPECT_EQ(m.exit_code, 2);
  EXPECT_NE(m.out.find("allowed: additive, irene, predicted-sum, stepwise, unstructured"), std::string::npos);
  CliRun f = irene("train --data " + kData + " --features some -o /tmp/x.json");
  EXPECT_EQ(f.exit_code, 2);
  EXPECT_NE(f.out.find("allowed: full, model"), std::string::npos);
  CliRun r = irene("crossval --data ../shared/data/mlenergy --method roofline --run-requests -3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--run-requests: Value -3 not in range 0"), std::string::npos) << r.out;
}

TEST(CliPredictTest, CrossvalJsonHasTheDocumentedKeys) {
  CliRun r = irene("crossval --data " + kData + " --features model --seeds 1 --format json");
  if (r.out.find("cannot read dataset") != std::string::npos) GTEST_SKIP() << "no dataset";
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  for (const char* level : {"ml", "module", "model"}) {
    EXPECT_EQ(j[level]["per_model"].size(), 6u) << level;
    EXPECT_TRUE(j[level].contains("average"));
    EXPECT_TRUE(j[level].contains("mean_over_models"));
  }
}

}  // namespace

namespace {

TEST(CliProfileTest, BadProfileInputExitsTwo) {
  CliRun cuda = irene("profile --model gpt2 -b 1 -s 8 --device cuda");
  EXPECT_EQ(cuda.exit_code, 2);
  EXPECT_NE(cuda.out.find("without CUDA"), std::string::npos) << cuda.out;
  CliRun level = irene("profile --model gpt2 -b 1 -s 8 --level layers");
  EXPECT_EQ(level.exit_code, 2);
  EXPECT_NE(level.out.find("ml, module, model or all"), std::string::npos);
  CliRun sizes = irene("calibrate --models gpt2 --batch-sizes 1,x --seq-lens 8 -o /tmp/irene-cal");
  EXPECT_EQ(sizes.exit_code, 2);
  EXPECT_NE(sizes.out.find("--batch-sizes must be positive integers"), std::string::npos) << sizes.out;
  CliRun no_meter = irene("calibrate --models distilgpt2 --batch-sizes 1 --seq-lens 4 -o /tmp/irene-cal "
                          "--sysfs-root /nonexistent --nvml-library none.so");
  EXPECT_EQ(no_meter.exit_code, 2);
  EXPECT_NE(no_meter.out.find("no energy meter found (looked for:"), std::string::npos) << no_meter.out;
}

TEST(CliProfileTest, ProfileTextIsTheIndentedTreeWithMeasuredTimes) {
  CliRun r = irene("profile --model distilgpt2 -b 1 -s 4 --seconds-per-node 0.005 --rounds 1 --level module "
                   "--format text --max-depth 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("# meter_summary:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n  h.0 : Block  [module]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" latency="), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("h.0.attn"), std::string::npos) << "deeper than --max-depth 1: " << r.out;
}

// On a terminal (script(1) gives the command one) the profile draws a progress bar on
// stderr: nodes done of all, and the time left. Piped, it draws none.
TEST(CliProfileTest, ProgressBarOnATerminalOnly) {
  const std::string args = "profile --model distilgpt2 -b 1 -s 4 --seconds-per-node 0.005 --rounds 1 --level module -o " +
                           std::string(IRENE_BINARY_DIR) + "/cli_test_progress.json";
  CliRun tty = irene_shell("script -qec '" + std::string(IRENE_BINARY_DIR) + "/irene " + args + "' /dev/null");
  ASSERT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_NE(tty.out.find("\rprofile distilgpt2 ["), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("] 18/18"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find(" s left"), std::string::npos) << tty.out;
  CliRun piped = irene(args);
  ASSERT_EQ(piped.exit_code, 0) << piped.out;
  EXPECT_EQ(piped.out.find(" s left"), std::string::npos) << piped.out;
}

TEST(CliProfileTest, ProfileCsvHasTheMeasuredColumns) {
  const std::string meta = std::string(IRENE_BINARY_DIR) + "/cli_test_profile_meta.json";
  std::remove(meta.c_str());
  CliRun r = irene("profile --model distilgpt2 -b 1 -s 4 --seconds-per-node 0.005 --rounds 1 --level ml --format csv "
                   "--sysfs-root /nonexistent --nvml-library none.so --meta " + meta);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Plain CSV: the header row first (the meter summary goes to stderr, which this merges).
  const size_t header = r.out.find("path,class,kind,");
  ASSERT_NE(header, std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("# "), std::string::npos) << r.out.substr(0, 400);
  EXPECT_NE(r.out.find("latency_s,times_mean_s,times_std_s,cpu_pct,mem_pct,cpu_mhz,gpu_pct,gpu_mem_pct,gpu_clk_mhz,"
                       "gpu_mem_clk_mhz,gpu_energy_j,energy_j\n"),
            std::string::npos);
  std::ifstream meta_file(meta);
  ASSERT_TRUE(meta_file) << "--meta wrote no file";
  auto header_doc = nlohmann::json::parse(meta_file);
  EXPECT_TRUE(header_doc.contains("meter_summary"));
  EXPECT_TRUE(header_doc.contains("machine"));
  // An ML row: time, spread, CPU and memory use measured; no GPU, no meter: empty, not 0.
  const size_t at = r.out.find(",Conv1D,");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string row = r.out.substr(at, r.out.find('\n', at) - at);
  std::vector<std::string> cells;
  for (size_t from = 0, comma; ; from = comma + 1) {
    comma = row.find(',', from);
    cells.push_back(row.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
    if (comma == std::string::npos) break;
  }
  ASSERT_GE(cells.size(), 11u) << row;
  const std::vector<std::string> measured(cells.end() - 11, cells.end());
  for (int k : {0, 2, 3}) EXPECT_FALSE(measured[k].empty()) << "column " << k << " of " << row;
  for (int k : {5, 6, 7, 8, 9, 10}) EXPECT_TRUE(measured[k].empty()) << "column " << k << " of " << row;
}

}  // namespace

namespace {

// Ctrl-C during a profile: the nodes finished so far are written, marked incomplete.
TEST(CliProfileTest, InterruptWritesWhatFinished) {
  const std::string out = std::string(IRENE_BINARY_DIR) + "/cli_test_interrupted.json";
  std::remove(out.c_str());
  CliRun r = irene_shell("timeout --preserve-status -s INT 8 " + std::string(IRENE_BINARY_DIR) +
                         "/irene profile --model distilgpt2 -b 1 -s 64 --seconds-per-node 1 -o " + out);  // ~40 s uninterrupted
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("interrupted"), std::string::npos) << r.out;
  FILE* f = fopen(out.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  fclose(f);
  auto doc = nlohmann::json::parse(text);
  EXPECT_FALSE(doc["profile"]["complete"].get<bool>());
  EXPECT_GT(doc["profile"]["nodes_measured"].get<int>(), 0);
}

}  // namespace
