// End-to-end: starts the real `irene serve` on a free port and talks HTTP to it.
#include <gtest/gtest.h>

#include <map>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/memory.h"
#include "common/test_process.h"
#include "machines/catalogue.h"
#include "predict/latency_predictor.h"

namespace {

using nlohmann::json;

const std::string kData = std::string(IRENE_DATA_DIR) + "/device_1";
const std::string kServingData = std::string(IRENE_DATA_DIR) + "/../mlenergy";

class ServerProcess {
 public:
  ServerProcess(const std::string& db, bool with_data, const std::vector<std::string>& extra = {})
      : port_(irene::testing::free_port()) {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string bin = std::string(IRENE_BINARY_DIR) + "/irene";
      const std::string port = std::to_string(port_);
      const std::string log = db + ".log";
      freopen(log.c_str(), "a", stderr);
      std::vector<std::string> args = {bin, "serve", "--host", "127.0.0.1", "--port", port, "--db", db};
      if (with_data && std::filesystem::exists(kData)) args.insert(args.end(), {"--data", kData});
      if (with_data && std::filesystem::exists(kServingData + "/vllm_v2_measurements.csv"))
        args.insert(args.end(), {"--serving-data", kServingData});
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_connection_timeout(5, 0);
    client_->set_read_timeout(120, 0);
    for (int i = 0; i < 300; ++i) {  // up to 30 s: loading the dataset takes a moment
      if (auto r = client_->Get("/api/health"); r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~ServerProcess() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  httplib::Client& http() { return *client_; }
  int port() const { return port_; }
  json get(const std::string& path, int expect_status) {
    auto r = client_->Get(path.c_str());
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, expect_status) << path << " -> " << r->body.substr(0, 300);
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
    return json::parse(r->body, nullptr, false);
  }

 private:
  int port_;
  pid_t pid_;
  std::unique_ptr<httplib::Client> client_;
};

std::string temp_db(const char* name) {
  const std::string p = std::string(IRENE_BINARY_DIR) + "/server_test_" + name + ".sqlite";
  for (const char* s : {"", "-wal", "-shm", ".log"}) std::filesystem::remove(p + s);
  return p;
}

// One server for the tests that do not restart it; stopped when the tests end.
std::unique_ptr<ServerProcess> g_shared;

class SharedServerEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { g_shared.reset(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new SharedServerEnvironment);

ServerProcess& shared_server() {
  if (!g_shared) g_shared = std::make_unique<ServerProcess>(temp_db("shared"), true);
  return *g_shared;
}

void expect_error(ServerProcess& s, const std::string& path, int status, const std::string& says) {
  json j = s.get(path, status);
  ASSERT_TRUE(j.contains("error")) << path;
  EXPECT_EQ(j["error"]["code"], status);
  EXPECT_NE(j["error"]["message"].get<std::string>().find(says), std::string::npos)
      << path << ": " << j["error"]["message"];
}

TEST(ServerTest, HealthModelsMachinesAndOpenApi) {
  auto& s = shared_server();
  EXPECT_EQ(s.get("/api/health", 200)["status"], "ok");
  json models = s.get("/api/models", 200)["models"];
  ASSERT_GE(models.size(), 9u);
  bool found = false;
  for (const auto& m : models) found = found || (m["name"] == "gpt2" && m["parameters"] == 124439808);
  EXPECT_TRUE(found);
  json machines = s.get("/api/machines", 200)["machines"];
  ASSERT_GE(machines.size(), 1u);
  EXPECT_EQ(machines[0]["id"], "pc1");
  EXPECT_LT(machines[0]["crossval_error_pct"]["model"].get<double>(), 5.0);
  EXPECT_TRUE(machines[0]["calibrated"].get<bool>());
  // The catalogue beside them, for serving: the GPUs of the shared data calibrated (with
  // their cross-validated error), the others spec-only; every one with its sources.
  json catalogue = s.get("/api/machines", 200)["catalogue"];
  bool h100 = false;
  for (const auto& m : catalogue) {
    const bool measured = m["id"] == "h100-sxm5-80gb" || m["id"] == "a100-sxm4-40gb";
    EXPECT_EQ(m["spec_only"].get<bool>(), !measured) << m["id"];
    EXPECT_FALSE(m["serving_basis"].get<std::string>().empty());
    if (m["id"] != "h100-sxm5-80gb") continue;
    EXPECT_GT(m["crossval_error_pct"]["energy_per_token"].get<double>(), 0);
    h100 = true;
    EXPECT_GT(m["peak_flops"]["bfloat16"].get<double>(), 9e14);
    EXPECT_FALSE(m["sources"]["memory_bandwidth_bytes_per_s"].get<std::string>().empty());
  }
  EXPECT_TRUE(h100);
  json spec = s.get("/api/openapi.json", 200);
  EXPECT_EQ(spec["openapi"], "3.0.3");
  EXPECT_TRUE(spec["paths"].contains("/api/energy"));
  EXPECT_TRUE(spec["paths"].contains("/api/serving"));
  EXPECT_TRUE(spec["paths"].contains("/api/advise/jobs/{id}"));
}

// Shares of each parent's children plus its remainder make the whole.
void check_shares(const json& node) {
  if (!node.contains("energy_j") || node["kind"] == "ml" || node["kind"] == "ml-np") return;
  double sum = node["energy_remainder_j"].get<double>() / node["energy_j"].get<double>();
  for (const auto& c : node["children"])
    if (c.contains("share_of_parent")) sum += c["share_of_parent"].get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-9) << node["path"];
  for (const auto& c : node["children"]) check_shares(c);
}

TEST(ServerTest, EnergyTreeWithSharesAndMeasuredBesidePredicted) {
  auto& s = shared_server();
  json j = s.get("/api/energy?model=bert-base-uncased&batch_size=8&seq_len=32&machine=pc1", 200);
  EXPECT_EQ(j["model"], "bert-base-uncased");
  const json& root = j["tree"]["root"];
  EXPECT_EQ(root["class"], "BertModel");
  EXPECT_DOUBLE_EQ(root["share_of_model"].get<double>(), 1.0);
  EXPECT_GT(j["total_energy_j"].get<double>(), 0);
  check_shares(root);
  if (std::filesystem::exists(kData)) {
    EXPECT_TRUE(j["measured"].get<bool>());
    const double measured = root["measured"]["energy_j"].get<double>();
    EXPECT_NEAR(root["energy_j"].get<double>(), measured, 0.15 * measured);
  }
  json unmeasured = s.get("/api/energy?model=gpt2&batch_size=3&seq_len=50", 200);
  EXPECT_FALSE(unmeasured["measured"].get<bool>());
  EXPECT_FALSE(unmeasured["tree"]["root"].contains("measured"));
  json tree = s.get("/api/tree?model=gpt2&batch_size=1&seq_len=16", 200);
  EXPECT_FALSE(tree["tree"]["root"].contains("energy_j"));
  EXPECT_EQ(tree["tree"]["root"]["num_parameters"], 124439808);
}

TEST(ServerTest, BadRequestsGetJsonErrorsAndTheServerKeepsServing) {
  auto& s = shared_server();
  expect_error(s, "/api/energy?batch_size=8&seq_len=32", 400, "missing parameter 'model'");
  expect_error(s, "/api/energy?model=bert-huge&batch_size=8&seq_len=32", 404, "bundled models");
  expect_error(s, "/api/energy?model=gpt2&batch_size=x&seq_len=32", 400, "'batch_size' must be an integer from 1 to 64");
  expect_error(s, "/api/energy?model=gpt2&batch_size=65&seq_len=32", 400, "from 1 to 64");
  expect_error(s, "/api/energy?model=gpt2&batch_size=1", 400, "missing parameter 'seq_len'");
  expect_error(s, "/api/energy?model=bert-base-uncased&batch_size=1&seq_len=513", 400, "from 1 to 512");
  expect_error(s, "/api/energy?model=gpt2&batch_size=1&seq_len=8&machine=pc9", 404, "unknown machine 'pc9'");
  expect_error(s, "/api/profiles/p999", 404, "no profile job 'p999'");
  expect_error(s, "/api/nowhere", 404, "no such endpoint");
  // A known endpoint with another method: 405 and the methods it has.
  auto put = s.http().Put("/api/energy", "{}", "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  EXPECT_EQ(put->get_header_value("Allow"), "GET, POST");
  EXPECT_EQ(json::parse(put->body)["error"]["message"], "PUT is not allowed on /api/energy; allowed: GET, POST");
  auto del_all = s.http().Delete("/api/profiles");
  ASSERT_TRUE(del_all);
  EXPECT_EQ(del_all->status, 405);
  EXPECT_EQ(del_all->get_header_value("Allow"), "POST, GET");

  auto big = s.http().Post("/api/profiles", std::string(70000, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(json::parse(big->body)["error"]["type"], "too_large");
  auto not_json = s.http().Post("/api/profiles", "{model", "application/json");
  ASSERT_TRUE(not_json);
  EXPECT_EQ(not_json->status, 400);
  auto cuda = s.http().Post("/api/profiles", R"({"model":"gpt2","batch_size":1,"seq_len":8,"device":"cuda"})",
                            "application/json");
  ASSERT_TRUE(cuda);
  EXPECT_EQ(cuda->status, 400);
  EXPECT_NE(cuda->body.find("without CUDA"), std::string::npos);
  // gpt2-xl at (4, 1024) keeps ~125 GB of tensors while profiled: refused up front.
  if (irene::available_memory_bytes().value_or(0) < 100e9) {
    auto huge = s.http().Post("/api/profiles", R"({"model":"gpt2-xl","batch_size":4,"seq_len":1024})", "application/json");
    ASSERT_TRUE(huge);
    EXPECT_EQ(huge->status, 400) << huge->body;
    EXPECT_NE(huge->body.find("not enough memory to profile gpt2-xl"), std::string::npos) << huge->body;
  }
  for (const char* body : {R"({"model":"gpt2","batch_size":1,"seq_len":8,"device":5})",
                           R"({"model":"gpt2","batch_size":1,"seq_len":8,"device":"gpu"})",
                           R"({"model":"gpt2","batch_size":1,"seq_len":8,"settings":{"rounds":4294967297}})"}) {
    auto bad = s.http().Post("/api/profiles", body, "application/json");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400) << body << " -> " << bad->body;
    EXPECT_EQ(json::parse(bad->body)["error"]["type"], "invalid_argument") << bad->body;
  }

  // Static files come only from the web folder.
  auto climb = s.http().Get("/../CMakeLists.txt");
  ASSERT_TRUE(climb);
  EXPECT_NE(climb->status, 200);
  EXPECT_EQ(climb->body.find("cmake_minimum_required"), std::string::npos);

  EXPECT_EQ(s.get("/api/health", 200)["status"], "ok");
}

// Any config.json a client posts: built when good, refused with the field named when
// not, refused with 413 before any work when too large; the server keeps serving.
TEST(ServerTest, PostedConfigsAreCheckedAndBounded) {
  auto& s = shared_server();
  const json tiny = {{"model_type", "llama"},       {"vocab_size", 1000},       {"hidden_size", 64},
                     {"intermediate_size", 128},    {"num_hidden_layers", 2},   {"num_attention_heads", 4},
                     {"num_key_value_heads", 2},    {"max_position_embeddings", 256}};
  auto post = [&](const char* path, const json& body) {
    auto r = s.http().Post(path, body.dump(), "application/json");
    EXPECT_TRUE(r) << path;
    return r ? std::make_pair(r->status, json::parse(r->body, nullptr, false)) : std::make_pair(0, json());
  };
  // On PC1 (a decoder named no machine opens on a GPU: EnergyAnswersOnEveryMachine...).
  auto [status, energy] = post("/api/energy", {{"config", tiny}, {"batch_size", 2}, {"seq_len", 16}, {"new_tokens", 8},
                                               {"machine", "pc1"}});
  ASSERT_EQ(status, 200) << energy.dump().substr(0, 300);
  EXPECT_EQ(energy["tree"]["root"]["kind"], "generation");
  EXPECT_EQ(energy["new_tokens"], 8);
  EXPECT_TRUE(energy["extrapolated"].get<bool>());
  EXPECT_EQ(energy["model"].get<std::string>().rfind("config-", 0), 0u);
  EXPECT_GT(energy["total_energy_j"].get<double>(), 0);
  auto [tree_status, tree] = post("/api/tree", {{"config", tiny}, {"batch_size", 1}, {"seq_len", 8}});
  ASSERT_EQ(tree_status, 200);
  EXPECT_EQ(tree["tree"]["root"]["class"], "LlamaForCausalLM");

  struct Bad {
    json config;
    const char* says;
  };
  const json distil = {{"model_type", "distilbert"}, {"vocab_size", 100}};
  auto with = [](json base, const char* key, json value) {
    base[key] = std::move(value);
    return base;
  };
  const std::vector<Bad> bad = {
      {with(tiny, "num_hidden_layers", "2"), "'num_hidden_layers' must be a positive integer"},
      {with(tiny, "num_hidden_layers", 2147483648LL), "'num_hidden_layers'"},
      {with(distil, "sinusoidal_pos_embds", 5), "'sinusoidal_pos_embds' must be true or false"},
      {{{"model_type", "gpt2"}, {"vocab_size", 100}, {"n_positions", 4611686018427387904LL}}, "'n_positions'"},
      {with(tiny, "rope_scaling", {{"rope_type", "su"}, {"factor", 2}}), "'su'"},
      {{{"model_type", "t5"}}, "'model_type' is 't5'"},
  };
  for (const Bad& b : bad) {
    auto [code, err] = post("/api/energy", {{"config", b.config}, {"batch_size", 1}, {"seq_len", 8}});
    EXPECT_EQ(code, 400) << b.config.dump();
    EXPECT_NE(err["error"]["message"].get<std::string>().find(b.says), std::string::npos) << err.dump();
  }
  // Too large to build: refused up front with what was too large.
  const json moe = {{"model_type", "qwen3_moe"}, {"num_hidden_layers", 1000}, {"num_experts", 1000},
                    {"num_experts_per_tok", 8}};
  auto [code, err] = post("/api/tree", {{"config", moe}, {"batch_size", 64}, {"seq_len", 128}});
  EXPECT_EQ(code, 413);
  EXPECT_NE(err["error"]["message"].get<std::string>().find("a tree of about"), std::string::npos) << err.dump();
  auto [long_code, long_err] = post("/api/tree", {{"model", "meta-llama/Llama-3.1-405B"}, {"batch_size", 64},
                                                  {"seq_len", 131072}});
  EXPECT_EQ(long_code, 413) << long_err.dump();
  auto huge = s.http().Post("/api/energy", std::string(70000, ' '), "application/json");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  auto [both, both_err] = post("/api/energy", {{"config", tiny}, {"model", "gpt2"}, {"batch_size", 1}, {"seq_len", 8}});
  EXPECT_EQ(both, 400);
  EXPECT_EQ(s.get("/api/health", 200)["status"], "ok");
}

// An LLM server's steady state: figures with intervals, the step's tree with shares, a
// sweep, the measured points of the same architecture, and errors naming the parameter.
TEST(ServerTest, ServingAnswersWithIntervalsSweepsAndMeasuredPoints) {
  auto& s = shared_server();
  const std::string base =
      "/api/serving?model=meta-llama/Llama-3.1-8B&machine=h100-sxm5-80gb&prompt_len=128&output_len=480&engine=vllm-0.5.4";
  json a = s.get(base + "&batch_size=128&sweep=batch_size&values=32,64,128,256", 200);
  ASSERT_TRUE(a.contains("energy_per_output_token_j")) << a.dump().substr(0, 300);
  EXPECT_TRUE(a["calibrated"].get<bool>());
  EXPECT_NE(a["basis"].get<std::string>().find("calibrated"), std::string::npos);
  for (const char* k : {"energy_per_output_token_j", "power_w", "tpot_s", "throughput_tokens_per_s"}) {
    ASSERT_TRUE(a["intervals"][k].is_array()) << k;
    EXPECT_LT(a["intervals"][k][0].get<double>(), a["intervals"][k][1].get<double>()) << k;
  }
  EXPECT_EQ(a["step"]["root"]["class"], "LlamaForCausalLM");
  EXPECT_NEAR(a["step"]["root"]["share_of_model"].get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(a["time_split_s"]["decode_kernels"].get<double>() + a["time_split_s"]["decode_engine"].get<double>() +
                  a["time_split_s"]["host_wait"].get<double>() + a["time_split_s"]["sampler"].get<double>(),
              a["tpot_s"].get<double>(), 1e-9 * a["tpot_s"].get<double>());
  ASSERT_EQ(a["sweep"]["points"].size(), 4u);
  double previous = 1e9;
  for (const auto& p : a["sweep"]["points"]) {  // larger batches share the streamed weights
    EXPECT_LT(p["energy_per_output_token_j"].get<double>(), previous);
    previous = p["energy_per_output_token_j"].get<double>();
  }
  EXPECT_DOUBLE_EQ(a["sweep"]["points"][2]["energy_per_output_token_j"].get<double>(),
                   a["energy_per_output_token_j"].get<double>());
  if (std::filesystem::exists(kServingData + "/vllm_v2_measurements.csv")) {
    ASSERT_GT(a["measured"].size(), 3u);  // Meta-Llama-3.1-8B-Instruct: the same architecture
    EXPECT_NE(a["measured"][0]["model"].get<std::string>().find("Llama-3.1-8B"), std::string::npos);
  }
  // A machine without measurements: from its spec sheet, and the answer says so.
  json b200 = s.get("/api/serving?model=meta-llama/Llama-3.1-70B&machine=b200&num_gpus=4&batch_size=64&prompt_len=512&output_len=256", 200);
  EXPECT_TRUE(b200["spec_only"].get<bool>());
  EXPECT_NE(b200["basis"].get<std::string>().find("spec sheet"), std::string::npos);
  EXPECT_TRUE(b200["measured"].empty());
  // The POST form with a config.
  const json tiny = {{"model_type", "llama"}, {"vocab_size", 1000}, {"hidden_size", 64}, {"intermediate_size", 128},
                     {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"max_position_embeddings", 256}};
  auto r = s.http().Post("/api/serving", json{{"config", tiny}, {"machine", "l4"}, {"batch_size", 8}, {"prompt_len", 16},
                                              {"output_len", 16}, {"sweep", "num_gpus"}, {"values", {1, 2}}}.dump(),
                         "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
  EXPECT_EQ(json::parse(r->body)["sweep"]["points"].size(), 2u);
  expect_error(s, base + "&batch_size=5000", 400, "'batch_size' must be an integer from 1 to 4096");
  expect_error(s, base + "&batch_size=8&machine=tpu-v9", 404, "parameter 'machine'");
  expect_error(s, "/api/serving?model=bert-base-uncased&machine=l4&batch_size=8&prompt_len=16&output_len=16", 400,
               "decoder LLM families");
  expect_error(s, base + "&batch_size=8&sweep=prompt_len&values=1", 400, "'sweep' must be batch_size or num_gpus");
  expect_error(s, base + "&batch_size=8&sweep=batch_size&values=1,x", 400, "'values'");
  expect_error(s, base + "&batch_size=8&values=1,2", 400, "needs 'sweep'");
  // Pipeline stages: one virtual engine per stage, half the requests each; the measured
  // points say how they were pipelined.
  const std::string piped = "/api/serving?model=meta-llama/Llama-3.1-405B&machine=h100-sxm5-80gb&num_gpus=16"
                            "&batch_size=512&prompt_len=128&output_len=450&max_depth=1&engine=vllm-0.5.4";
  json pp = s.get(piped + "&pipeline_parallel=2", 200);
  EXPECT_EQ(pp["pipeline_parallel"], 2);
  EXPECT_EQ(pp["step"]["batch_size"], 256);
  if (std::filesystem::exists(kServingData + "/vllm_v2_measurements.csv")) {
    ASSERT_FALSE(pp["measured"].empty());
    EXPECT_EQ(pp["measured"][0]["pipeline_parallel"], 2);
  }
  expect_error(s, piped + "&pipeline_parallel=3", 400, "pipeline stages must divide the GPUs");
  EXPECT_EQ(s.get("/api/health", 200)["status"], "ok");
}

// A benchmark run (run_requests sent at once, max_output_len their cap) adds the time per
// output token averaged over the run, its drain included: shorter than the steady
// state's, since the drain's iterations run fewer requests. A sweep's points whose batch
// is not below the run answer without it.
TEST(ServerTest, ServingAnswersABenchmarkRunsTimePerToken) {
  auto& s = shared_server();
  const std::string base = "/api/serving?model=Qwen/Qwen3-8B&machine=h100-sxm5-80gb&prompt_len=128&output_len=480"
                           "&max_depth=0&engine=vllm-0.5.4";
  json steady = s.get(base + "&batch_size=512", 200);
  EXPECT_FALSE(steady.contains("run"));
  json run = s.get(base + "&batch_size=512&run_requests=2000&max_output_len=1024", 200);
  ASSERT_TRUE(run.contains("run")) << run.dump().substr(0, 300);
  EXPECT_EQ(run["run"]["requests"], 2000);
  EXPECT_EQ(run["run"]["max_output_len"], 1024);
  EXPECT_LT(run["run"]["tpot_s"].get<double>(), run["tpot_s"].get<double>());
  EXPECT_EQ(run["tpot_s"], steady["tpot_s"]);  // the steady state is unchanged
  ASSERT_TRUE(run["intervals"]["run_tpot_s"].is_array());
  json sweep = s.get(base + "&batch_size=512&run_requests=2000&max_output_len=1024&sweep=batch_size&values=256,4096", 200);
  EXPECT_TRUE(sweep["sweep"]["points"][0].contains("run"));
  EXPECT_FALSE(sweep["sweep"]["points"][1].contains("run"));
  expect_error(s, base + "&batch_size=512&run_requests=2000", 400, "needs 'max_output_len'");
  expect_error(s, base + "&batch_size=512&max_output_len=1024", 400, "give 'run_requests' too");
  expect_error(s, base + "&batch_size=512&run_requests=2000&max_output_len=400", 400, "output cap above the mean");
  expect_error(s, base + "&batch_size=512&run_requests=100&max_output_len=1024", 400, "closed run");
  expect_error(s, base + "&batch_size=512&run_requests=-1&max_output_len=1024", 400, "'run_requests'");
  auto r = s.http().Post("/api/serving", json{{"model", "Qwen/Qwen3-8B"}, {"machine", "h100-sxm5-80gb"},
                                              {"engine", "vllm-0.5.4"}, {"batch_size", 512}, {"prompt_len", 128}, {"output_len", 480},
                                              {"run_requests", 2000}, {"max_output_len", 1024}, {"max_depth", 0}}.dump(),
                         "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
  EXPECT_EQ(json::parse(r->body)["run"]["tpot_s"], run["run"]["tpot_s"]);
}

// Today's engine on the API: the default on the H100, its latency and memory, its
// parameters checked, and a deployment the old limits refused.
TEST(ServerTest, ServingUnderVllmV1AnswersWithLatencyAndMemory) {
  auto& s = shared_server();
  const std::string base = "/api/serving?model=openai/gpt-oss-20b&machine=h100-sxm5-80gb&prompt_len=634&output_len=700"
                           "&max_depth=0";
  json a = s.get(base + "&batch_size=256", 200);
  EXPECT_EQ(a["engine"], "vllm-0.11.1");
  EXPECT_GT(a["itl_median_s"].get<double>(), 0);
  EXPECT_TRUE(a["intervals"]["itl_median_s"].is_array());
  EXPECT_TRUE(a["memory"]["fits"].get<bool>());
  json q = s.get(base + "&batch_size=256&quantization=none&kv_cache_dtype=fp8", 200);
  EXPECT_GT(q["memory"]["weights_bytes"].get<double>(), a["memory"]["weights_bytes"].get<double>());
  expect_error(s, base + "&batch_size=256&engine=tgi-3", 400, "parameter 'engine'");
  expect_error(s, base + "&batch_size=256&quantization=int3", 400, "allowed: none, fp8, mxfp4, nvfp4");
  expect_error(s, base + "&batch_size=256&expert_parallel=maybe", 400, "'expert_parallel'");
  // Half of each prompt in the prefix cache: less prefill energy, said in the answer.
  json cached = s.get(base + "&batch_size=256&prompt_cached_share=0.5", 200);
  EXPECT_EQ(cached["prompt_cached_share"], 0.5);
  EXPECT_EQ(a["prompt_cached_share"], 0);
  EXPECT_LT(cached["energy_per_output_token_j"].get<double>(), a["energy_per_output_token_j"].get<double>());
  expect_error(s, base + "&batch_size=256&prompt_cached_share=1.5", 400, "prompt_cached_share");
  expect_error(s, base + "&batch_size=256&prompt_cached_share=1", 400, "below 1");
  // The CLI's range: an explicit 0, and a share past 0.99 applied as given.
  EXPECT_EQ(s.get(base + "&batch_size=256&prompt_cached_share=0", 200)["prompt_cached_share"], 0);
  EXPECT_EQ(s.get(base + "&batch_size=256&prompt_cached_share=0.995", 200)["prompt_cached_share"], 0.995);
  // Pipeline stages under V1: answered; with data-parallel attention beside them, refused.
  json pp = s.get(base + "&batch_size=256&pipeline_parallel=2&num_gpus=2", 200);
  EXPECT_EQ(pp["pipeline_parallel"], 2) << pp.dump().substr(0, 300);
  expect_error(s, base + "&batch_size=256&pipeline_parallel=2&data_parallel=2&num_gpus=4", 400,
               "pipeline stages with data-parallel attention");
  expect_error(s, base + "&batch_size=256&data_parallel=3&num_gpus=4", 400, "must divide the GPUs");
  // Refused before the limits bounded the work done: Llama-3.1-405B at 2,048 running.
  json big = s.get("/api/serving?model=meta-llama/Llama-3.1-405B&machine=h100-sxm5-80gb&num_gpus=8&batch_size=2048"
                   "&prompt_len=128&output_len=256&max_depth=0",
                   200);
  EXPECT_GT(big["energy_per_output_token_j"].get<double>(), 0);
  EXPECT_EQ(s.get("/api/health", 200)["status"], "ok");
}

TEST(ServerTest, AdviseAnswersTheLeastEnergySetupAndRefusesBadRequests) {
  auto& s = shared_server();
  const std::string base = "/api/advise?model=meta-llama/Llama-3.1-8B&machines=h100-sxm5-80gb,l4&max_gpus=2";
  json a = s.get(base + "&itl_slo_ms=50", 200);
  ASSERT_TRUE(a["best"].is_object());
  EXPECT_LE(a["best"]["itl_median_s"].get<double>(), 0.050);
  EXPECT_GT(a["searched"].get<int>(), a["fitting"].get<int>() - 1);
  EXPECT_EQ(a["explanation"]["top_nodes"].size(), 5u);
  EXPECT_TRUE(a["explanation"]["answer"]["intervals"]["energy_per_output_token_j"].is_array());
  EXPECT_NEAR(a["explanation"]["answer"]["energy_per_output_token_j"].get<double>(),
              a["best"]["energy_per_output_token_j"].get<double>(), 1e-6 * a["best"]["energy_per_output_token_j"].get<double>());
  EXPECT_GT(a["frontier_itl"].size(), 2u);
  EXPECT_GT(a["best"]["per_million_tokens"]["cost_usd"].get<double>(), 0);
  // An objective nothing meets: the closest miss, by how much.
  json miss = s.get(base + "&itl_slo_ms=0.1", 200);
  EXPECT_TRUE(miss["best"].is_null());
  EXPECT_GT(miss["closest_miss"]["slo_ratio"].get<double>(), 1);
  // The same setup through POST with the config in the body.
  auto posted = s.http().Post("/api/advise",
                              json{{"model", "meta-llama/Llama-3.1-8B"}, {"machines", "l4"}, {"max_gpus", 1},
                                   {"task", "code"}}.dump(),
                              "application/json");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 200) << posted->body.substr(0, 300);
  expect_error(s, base + "&machines=tpu-v5", 400, "allowed: ");
  expect_error(s, base + "&max_gpus=64", 400, "'max_gpus'");
  expect_error(s, base + "&itl_slo_ms=-1", 400, "'itl_slo_ms'");
  expect_error(s, base + "&task=poetry", 400, "unknown task 'poetry'");
  expect_error(s, base + "&prompt_cached_share=1", 400, "'prompt_cached_share'");
  // A shared prompt half cached: the request says so, the pick costs less.
  json cached = s.get(base + "&itl_slo_ms=50&prompt_cached_share=0.5", 200);
  EXPECT_EQ(cached["request"]["prompt_cached_share"], 0.5);
  EXPECT_LT(cached["best"]["energy_per_output_token_j"].get<double>(), a["best"]["energy_per_output_token_j"].get<double>());
  expect_error(s, base + "&task=chat&prompt_len=10&output_len=10", 400, "not both");
  expect_error(s, "/api/advise?model=bert-base-uncased", 400, "decoder LLMs");
  EXPECT_EQ(s.get("/api/health", 200)["status"], "ok");
}

// The advisor's search as a job: checked when submitted, its progress in the job's status,
// its answer the same as GET /api/advise's; a waiting job can be cancelled.
TEST(ServerTest, AdviseRunsAsAJobWithItsProgress) {
  auto& s = shared_server();
  const std::string query = "model=openai/gpt-oss-20b&machines=h100-sxm5-80gb,a100-sxm4-40gb&max_gpus=2&itl_slo_ms=40";
  auto submitted = s.http().Post("/api/advise/jobs?" + query, "", "application/json");
  ASSERT_TRUE(submitted);
  ASSERT_EQ(submitted->status, 202) << submitted->body;
  const std::string id = json::parse(submitted->body)["id"].get<std::string>();
  EXPECT_EQ(id.front(), 'a');
  json d;
  for (int i = 0; i < 600; ++i) {
    d = s.get("/api/advise/jobs/" + id, 200);
    if (d["status"] != "queued" && d["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(d["status"], "done") << d.dump().substr(0, 300);
  EXPECT_EQ(d["progress"], 1.0);
  EXPECT_GT(d["parts_total"].get<int>(), 1);
  EXPECT_EQ(d["parts_done"], d["parts_total"]);
  EXPECT_EQ(d["request"]["model"], "openai/gpt-oss-20b");
  EXPECT_EQ(d["result"], s.get("/api/advise?" + query, 200));
  bool listed = false;
  const json jobs = s.get("/api/advise/jobs", 200);
  for (const json& j : jobs["jobs"]) listed = listed || j["id"] == id;
  EXPECT_TRUE(listed) << jobs.dump().substr(0, 400);
  // Two searches queued behind one another: the second, cancelled, never answers.
  const std::string big = "model=moonshotai/Kimi-K2-Instruct&itl_slo_ms=";
  auto first = s.http().Post("/api/advise/jobs?" + big + "61", "", "application/json");
  auto second = s.http().Post("/api/advise/jobs?" + big + "62", "", "application/json");
  ASSERT_TRUE(first && second);
  ASSERT_EQ(second->status, 202) << second->body;
  const std::string second_id = json::parse(second->body)["id"].get<std::string>();
  auto cancelled = s.http().Delete("/api/advise/jobs/" + second_id);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, 200);
  for (int i = 0; i < 600; ++i) {
    d = s.get("/api/advise/jobs/" + second_id, 200);
    if (d["status"] != "queued" && d["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(d["status"], "cancelled");
  EXPECT_FALSE(d.contains("result"));
  // Bad requests are refused when submitted; unknown jobs are 404s.
  auto bad = s.http().Post("/api/advise/jobs?model=openai/gpt-oss-20b&max_gpus=64", "", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("'max_gpus'"), std::string::npos) << bad->body;
  auto body = s.http().Post("/api/advise/jobs", json{{"model", "bert-base-uncased"}}.dump(), "application/json");
  ASSERT_TRUE(body);
  EXPECT_EQ(body->status, 400);
  expect_error(s, "/api/advise/jobs/a999", 404, "no advisor job 'a999'");
  EXPECT_EQ(s.get("/api/health", 200)["status"], "ok");
}

TEST(ServerTest, LeaderboardAnswersAsJsonAndCsv) {
  auto& s = shared_server();
  json board = s.get("/api/leaderboard?tasks=code", 200);
  ASSERT_GT(board["rows"].size(), 50u);
  for (const auto& row : board["rows"]) {
    EXPECT_EQ(row["task"], "code");
    EXPECT_LE(row["itl_median_s"].get<double>(), 0.1);
  }
  EXPECT_TRUE(board["scores"].contains("openai/gpt-oss-120b"));
  auto csv = s.http().Get("/api/leaderboard?tasks=code&format=csv");
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv->status, 200);
  EXPECT_EQ(csv->get_header_value("Content-Type"), "text/csv");
  EXPECT_EQ(csv->body.rfind("task,model,machine,", 0), 0u);
  EXPECT_EQ(static_cast<size_t>(std::count(csv->body.begin(), csv->body.end(), '\n')), board["rows"].size() + 1);
  expect_error(s, "/api/leaderboard?tasks=poetry", 400, "allowed: chat, reasoning, code");
  expect_error(s, "/api/leaderboard?format=xml", 400, "json or csv");
}

TEST(ServerTest, WhatIfComparesTwoSetupsNodeByNode) {
  auto& s = shared_server();
  const std::string base = "/api/whatif?model=meta-llama/Llama-3.1-8B&machine=h100-sxm5-80gb&batch_size=64"
                           "&prompt_len=634&output_len=700&engine=vllm-0.11.1";
  json c = s.get(base + "&b.quantization=fp8&max_depth=2", 200);
  EXPECT_LT(c["b"]["energy_per_output_token_j"].get<double>(), c["a"]["energy_per_output_token_j"].get<double>());
  EXPECT_LT(c["tree"]["delta_j"].get<double>(), 0);
  ASSERT_TRUE(c["tree"]["children"].is_array());
  EXPECT_EQ(c["by_kind"][0]["class"], "Linear");
  json gqa = s.get(base + "&b.config.num_key_value_heads=2&max_depth=0", 200);
  EXPECT_LT(gqa["tree"]["delta_j"].get<double>(), 0);
  expect_error(s, base, 400, "b.KEY");
  expect_error(s, base + "&b.colour=blue", 400, "allowed: machine");
  expect_error(s, base + "&b.machine=tpu-v5", 404, "tpu-v5");
  expect_error(s, base + "&b.config.num_hidden_layers=100000", 400, "num_hidden_layers");
  EXPECT_EQ(s.get("/api/health", 200)["status"], "ok");
}

TEST(ServerTest, EnergyAnswersOnEveryMachineAndADecoderOpensOnACalibratedGpu) {
  auto& s = shared_server();
  // No machine named: a decoder LLM opens on the GPU calibrated under the newest engine;
  // its generation tree is the serving answer's at the same batch: the batch's requests,
  // prefill, decode steps and the engine's time.
  json e = s.get("/api/energy?model=meta-llama/Llama-3.1-8B&batch_size=8&seq_len=128&new_tokens=64&max_depth=1", 200);
  EXPECT_EQ(e["machine"], "h100-sxm5-80gb");
  EXPECT_EQ(e["engine"], "vllm-0.11.1");
  json served = s.get("/api/serving?model=meta-llama/Llama-3.1-8B&machine=h100-sxm5-80gb&batch_size=8&prompt_len=128"
                      "&output_len=64&max_depth=0",
                      200);
  const double total = e["total_energy_j"].get<double>();
  EXPECT_NEAR(total, 8 * served["energy_per_request_j"].get<double>(), 1e-9 * total);
  const json& root = e["tree"]["root"];
  EXPECT_EQ(root["kind"], "generation");
  std::map<std::string, double> phases;
  for (const json& p : root["children"]) phases[p["path"].get<std::string>()] = p["energy_j"].get<double>();
  ASSERT_EQ(phases.size(), 4u) << root.dump().substr(0, 400);  // V1's sampler a phase of its own
  EXPECT_NEAR(phases["prefill"] + phases["decode"] + phases["sample"] + phases["engine"], total, 1e-9 * total);
  EXPECT_GT(phases["sample"], 0);
  // The decode phase: 64 steps of the serving answer's step; the prefill its share.
  EXPECT_NEAR(phases["decode"], 64 * served["step"]["root"]["energy_j"].get<double>(), 1e-9 * total);
  EXPECT_NEAR(phases["prefill"], served["prefill_share"].get<double>() * total, 1e-9 * total);
  EXPECT_GT(phases["engine"], 0);
  EXPECT_NEAR(e["serving"]["energy_per_output_token_j"].get<double>(), served["energy_per_output_token_j"].get<double>(),
              1e-9);
  // A model the GPU cannot hold says how many it needs.
  json big = s.get("/api/energy?model=meta-llama/Llama-3.1-405B&batch_size=8&seq_len=128&new_tokens=64&max_depth=0", 200);
  EXPECT_GT(big["gpus_needed"].get<int>(), 8);
  EXPECT_EQ(big["num_gpus"], 8);
  EXPECT_NE(big["memory_note"].get<std::string>().find("needs"), std::string::npos);
  // An encoder still opens on PC1; on a GPU every node is priced by the roofline.
  EXPECT_EQ(s.get("/api/energy?model=bert-base-uncased&batch_size=8&seq_len=32&max_depth=0", 200)["machine"], "pc1");
  json bert = s.get("/api/energy?model=bert-base-uncased&batch_size=8&seq_len=32&max_depth=0&machine=b200", 200);
  EXPECT_GT(bert["total_energy_j"].get<double>(), 0);
  EXPECT_TRUE(bert["engine"].is_null());
  expect_error(s, "/api/energy?model=bert-base-uncased&batch_size=8&seq_len=32&machine=tpu-v5", 404, "b200");
  // One list of machines, with what each answers and on what basis.
  json all = s.get("/api/machines", 200)["all"];
  bool pc1 = false, h100 = false;
  for (const auto& m : all) {
    EXPECT_FALSE(m["basis"].get<std::string>().empty()) << m["id"];
    if (m["id"] == "pc1") pc1 = m["default_for"] == "encoders";
    if (m["id"] == "h100-sxm5-80gb") h100 = m["default_for"] == "decoders" && m["calibrated"].get<bool>();
  }
  EXPECT_TRUE(pc1);
  EXPECT_TRUE(h100);
}

// This CPU with a latency predictor in --predictors: every node's time, no energy.
TEST(ServerTest, ThisCpuAnswersTimeWithoutEnergyFromItsLatencyPredictor) {
  const std::string dir = std::string(IRENE_BINARY_DIR) + "/server_test_latency_predictors";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  irene::predict::LatencyPredictor lp;
  const irene::machines::MachineSpec cpu = irene::machines::host_cpu();
  lp.machine_id = cpu.id;
  lp.machine_name = cpu.name;
  // Figures of the size a fit finds on such a CPU (the file needs each of them positive).
  lp.model = irene::predict::spec_latency_model(cpu);
  irene::predict::RooflineParams& f = lp.model.params;
  f.gemm_efficiency = f.attention_efficiency = f.other_compute_efficiency = f.transcendental_efficiency = 0.5;
  f.memory_efficiency = 0.7;
  f.kernel_overhead_s = 5e-6;
  f.module_overhead_s = 2e-6;
  lp.model.memory.bandwidth_bytes_per_s = 10e9;  // the spec of a VM's CPU gives none (infinite: left out)
  ASSERT_TRUE(irene::predict::save_latency_predictor(lp, dir + "/this-cpu-latency.json").is_ok());
  ServerProcess s(temp_db("latency"), false, {"--predictors", dir});
  json t = s.get("/api/energy?model=gpt2&batch_size=1&seq_len=16&machine=this-cpu&max_depth=1", 200);
  EXPECT_EQ(t["machine"], "this-cpu");
  EXPECT_TRUE(t["total_energy_j"].is_null());
  EXPECT_GT(t["total_latency_s"].get<double>(), 0);
  EXPECT_NEAR(t["tree"]["root"]["predicted_latency_s"].get<double>(), t["total_latency_s"].get<double>(), 1e-12);
  EXPECT_FALSE(t["tree"]["root"].contains("energy_j"));
  bool latency = false;
  const json all = s.get("/api/machines", 200)["all"];
  for (const auto& m : all)
    if (m["id"] == "this-cpu")
      for (const auto& a : m["answers"]) latency = latency || a == "latency";
  EXPECT_TRUE(latency);
}

// max_depth and kinds cut an answer to what a client draws.
TEST(ServerTest, AnswersCanBeCutToADepthAndToKinds) {
  auto& s = shared_server();
  auto size_of = [&](const std::string& path) {
    auto r = s.http().Get(path.c_str());
    EXPECT_TRUE(r && r->status == 200) << path;
    return r ? r->body.size() : 0;
  };
  const std::string base = "/api/energy?model=bert-base-uncased&batch_size=8&seq_len=128";
  const size_t full = size_of(base), shallow = size_of(base + "&max_depth=3");
  EXPECT_LT(shallow * 5, full);
  json j = s.get(base + "&max_depth=2", 200);
  std::function<void(const json&)> check_depth = [&](const json& n) {
    EXPECT_LE(n["depth"].get<int>(), 2);
    for (const auto& c : n["children"]) check_depth(c);
  };
  check_depth(j["tree"]["root"]);
  EXPECT_EQ(j["total_energy_j"], s.get(base, 200)["total_energy_j"]);  // the figures are the whole tree's

  json no_math = s.get("/api/energy?model=Qwen/Qwen3-8B&batch_size=1&seq_len=64&new_tokens=16&machine=pc1"
                       "&kinds=generation,phase,model,module,ml,ml-np", 200);
  std::function<void(const json&)> check_kinds = [&](const json& n) {
    EXPECT_NE(n["kind"], "math");
    for (const auto& c : n["children"]) check_kinds(c);
  };
  check_kinds(no_math["tree"]["root"]);
  EXPECT_EQ(no_math["tree"]["root"]["children"][1]["path"], "decode");
  expect_error(s, base + "&kinds=leaf", 400, "unknown node kind 'leaf'");
  expect_error(s, base + "&max_depth=99", 400, "'max_depth' must be an integer from 0 to 64");

  // Level by level: a node budget cuts whole levels, cut nodes say what they left out,
  // and their subtree comes by index, with the same energies.
  json cut = s.get(base + "&max_nodes=40", 200);
  const int node_count = cut["tree"]["node_count"].get<int>();
  int shown = 0;
  const json* omitted = nullptr;
  std::function<void(const json&)> walk = [&](const json& n) {
    ++shown;
    if (!omitted && n.contains("children_omitted")) omitted = &n;
    for (const auto& c : n["children"]) walk(c);
  };
  walk(cut["tree"]["root"]);
  EXPECT_LE(shown, 40);
  EXPECT_GT(node_count, shown);
  ASSERT_NE(omitted, nullptr);
  json sub = s.get(base + "&max_nodes=40&root=" + std::to_string((*omitted)["index"].get<int>()), 200);
  EXPECT_EQ(sub["tree"]["root"]["path"], (*omitted)["path"]);
  EXPECT_EQ(sub["tree"]["root"]["children"].size(), (*omitted)["children_omitted"].get<size_t>());
  EXPECT_DOUBLE_EQ(sub["tree"]["root"]["energy_j"].get<double>(), (*omitted)["energy_j"].get<double>());
  expect_error(s, base + "&root=" + std::to_string(node_count), 400, "node index below " + std::to_string(node_count));
  expect_error(s, base + "&max_nodes=0", 400, "'max_nodes' must be an integer from 1");
}

TEST(ServerTest, ProfileJobRunsToTheEndAndUnknownJobsAre404) {
  auto& s = shared_server();
  auto r = s.http().Post("/api/profiles", R"({"model":"distilgpt2","batch_size":1,"seq_len":8,"settings":{"rounds":2}})",
                         "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  const std::string id = json::parse(r->body)["id"];
  json job;
  for (int i = 0; i < 600; ++i) {
    job = s.get("/api/profiles/" + id, 200);
    if (job["status"] == "done" || job["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(job["status"], "done") << job.dump().substr(0, 400);
  EXPECT_DOUBLE_EQ(job["progress"].get<double>(), 1.0);
  bool listed = false;
  const json all = s.get("/api/profiles", 200);
  for (const json& p : all["profiles"]) listed = listed || (p["id"] == id && !p.contains("result"));
  EXPECT_TRUE(listed);
  const json& root = job["result"]["root"];
  EXPECT_EQ(root["class"], "GPT2Model");
  EXPECT_GT(root["latency_s"].get<double>(), 0);
  EXPECT_GT(root["measured"]["times_mean_s"].get<double>(), 0);

  auto del = s.http().Delete("/api/profiles/nope");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 404);
}

TEST(ServerTest, CancelAQueuedOrRunningProfile) {
  auto& s = shared_server();
  auto r = s.http().Post("/api/profiles", R"({"model":"gpt2","batch_size":8,"seq_len":256,"settings":{"rounds":20}})",
                         "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202);
  const std::string id = json::parse(r->body)["id"];
  auto del = s.http().Delete(("/api/profiles/" + id).c_str());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(json::parse(del->body)["status"], "cancelled");
  EXPECT_EQ(s.get("/api/profiles/" + id, 200)["status"], "cancelled");
}

// Answers are compressed with gzip for clients that accept it, also when they accept
// brotli too (as every browser does): httplib's brotli costs ~0.8 s per energy tree.
TEST(ServerTest, CompressesWithGzipEvenWhenBrotliIsAccepted) {
  auto& s = shared_server();
  const char* path = "/api/energy?model=distilgpt2&batch_size=1&seq_len=16";
  auto plain = s.http().Get(path);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->get_header_value("Content-Encoding"), "");
  auto browser = s.http().Get(path, {{"Accept-Encoding", "gzip, deflate, br, zstd"}});
  ASSERT_TRUE(browser);
  EXPECT_EQ(browser->status, 200);
  EXPECT_EQ(browser->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(browser->body, plain->body);  // the client unzipped it
  auto only_br = s.http().Get(path, {{"Accept-Encoding", "br;q=1.0"}});
  ASSERT_TRUE(only_br);
  EXPECT_EQ(only_br->get_header_value("Content-Encoding"), "");
  EXPECT_EQ(only_br->body, plain->body);
  // Compressed once, then served from the copy: the same bytes every time, one encoding header.
  httplib::Client raw("127.0.0.1", s.port());
  raw.set_decompress(false);
  auto first = raw.Get(path, {{"Accept-Encoding", "gzip"}});
  auto second = raw.Get(path, {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->get_header_value_count("Content-Encoding"), 1u);
  EXPECT_EQ(first->get_header_value("Vary"), "Accept-Encoding");
  EXPECT_EQ(first->body.substr(0, 2), std::string("\x1f\x8b", 2));  // gzip magic
  EXPECT_EQ(first->body, second->body);
  EXPECT_LT(first->body.size(), plain->body.size() / 5);
  auto page = s.http().Get("/index.html", {{"Accept-Encoding", "br, gzip"}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->get_header_value("Content-Encoding"), "gzip");
}

// A finished profile is in the cache file: it outlives the server.
TEST(ServerTest, FinishedProfilesSurviveARestart) {
  const std::string db = temp_db("profiles");
  std::string id;
  json done;
  {
    ServerProcess s(db, false);
    auto r = s.http().Post("/api/profiles",
                           R"({"model":"distilgpt2","batch_size":1,"seq_len":4,"settings":{"level":"model"}})",
                           "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    id = json::parse(r->body)["id"];
    for (int i = 0; i < 600; ++i) {
      done = s.get("/api/profiles/" + id, 200);
      if (done["status"] != "queued" && done["status"] != "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(done["status"], "done");
  }
  ServerProcess s(db, false);
  const json again = s.get("/api/profiles/" + id, 200);
  EXPECT_EQ(again, done);
  // A new job of the new server gets an id of its own.
  auto r = s.http().Post("/api/profiles", R"({"model":"distilgpt2","batch_size":1,"seq_len":4})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_NE(json::parse(r->body)["id"], id);
}

int rows_in(const std::string& db) {
  sqlite3* h = nullptr;
  sqlite3_open(db.c_str(), &h);
  sqlite3_stmt* st = nullptr;
  int n = -1;
  if (sqlite3_prepare_v2(h, "SELECT COUNT(*) FROM answers", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

TEST(ServerTest, CacheSurvivesRestartAndCorruptFilesAreSetAside) {
  const std::string db = temp_db("restart");
  std::string first;
  {
    ServerProcess s(db, false);
    auto r = s.http().Get("/api/energy?model=distilgpt2&batch_size=2&seq_len=16");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    first = r->body;
  }
  EXPECT_EQ(rows_in(db), 1);
  {
    ServerProcess s(db, false);
    auto r = s.http().Get("/api/energy?model=distilgpt2&batch_size=2&seq_len=16");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, first);
  }
  std::ifstream log(db + ".log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("(1 stored answers)"), std::string::npos);

  std::ofstream(db, std::ios::binary | std::ios::trunc) << std::string(8192, '\x13');
  for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(db + suffix);
  ServerProcess s(db, false);
  EXPECT_EQ(s.get("/api/health", 200)["status"], "ok");
  bool set_aside = false;
  for (const auto& e : std::filesystem::directory_iterator(IRENE_BINARY_DIR))
    set_aside = set_aside || e.path().string().rfind(db + ".corrupt-", 0) == 0;
  EXPECT_TRUE(set_aside);
}

}  // namespace
