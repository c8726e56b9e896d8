// /api/serving: the steady state of an LLM server on a machine of the catalogue, with
// intervals, the tree of one steady-state step, an optional sweep over batch sizes or
// GPUs, and the measured points of the same architecture on that machine when the
// server was given measured serving data.
#include <spdlog/spdlog.h>

#include "machines/catalogue.h"
#include "server/api.h"
#include "server/params.h"
#include "server/serving_params.h"
#include "engines/engine.h"
#include "serving/answer.h"
#include "tree/tree_format.h"

namespace irene::server {

namespace {

constexpr const char* kAnswerVersion = "serving-v2";  // v2: engines, latency, memory
constexpr int64_t kMaxGpus = 64;
constexpr int64_t kMaxRunning = 4096;   // requests in flight, as servers run them
constexpr int64_t kMaxOutputLen = 4096;  // tokens per request
// A benchmark run (serving/closed_run.h): requests sent at once, and their output cap.
constexpr int64_t kMaxRunRequests = 10'000'000;
constexpr int64_t kMaxOutputCap = 1'000'000;
constexpr int64_t kMaxBatchedTokens = 65'536;  // tokens per iteration (chunked prefill)

const std::vector<std::string> kServingFields = {"model",        "machine",        "num_gpus",  "pipeline_parallel",
                                                 "batch_size",   "prompt_len",     "output_len", "run_requests",
                                                 "max_output_len", "dtype",        "max_depth", "kinds",
                                                 "sweep",        "values",         "root",      "max_nodes",
                                                 "engine",       "data_parallel",  "expert_parallel",
                                                 "quantization", "kv_cache_dtype", "max_num_batched_tokens",
                                                 "attention",    "prompt_cached_share"};
constexpr const char* kServingUsage =
    "{\"config\": {...config.json...} or \"model\", \"machine\", \"batch_size\", \"prompt_len\", \"output_len\", and "
    "optionally \"engine\", \"num_gpus\", \"pipeline_parallel\", \"data_parallel\", \"expert_parallel\", "
    "\"quantization\", \"kv_cache_dtype\", \"max_num_batched_tokens\", \"prompt_cached_share\", \"run_requests\" with \"max_output_len\", "
    "\"dtype\", \"max_depth\", \"kinds\", \"sweep\" (batch_size or num_gpus) with \"values\"}";

bool same_architecture(const models::ModelConfig& a, const models::ModelConfig& b) {
  return a.model_type == b.model_type && a.hidden_size == b.hidden_size && a.num_layers == b.num_layers &&
         a.num_heads == b.num_heads && a.intermediate_size == b.intermediate_size && a.vocab_size == b.vocab_size &&
         a.decoder.num_kv_heads == b.decoder.num_kv_heads && a.decoder.num_experts == b.decoder.num_experts;
}

}  // namespace

Status Api::load_serving(const ServerOptions& options, std::vector<serving::ServingPredictor> predictors) {
  serving_predictors_ = std::move(predictors);
  std::string all;
  for (const auto& p : serving_predictors_) all += serving::to_json(p).dump();
  serving_version_ = config_hash(all);
  std::string fingerprints;
  for (const std::string& dir : options.serving_data_dirs) {
    IRENE_ASSIGN_OR_RETURN(serving::MeasuredData data, serving::load_measured_serving(dir));
    spdlog::info("measured serving: {} rows of {} models from {}", data.rows.size(), data.configs.size(), dir);
    serving_data_.rows.insert(serving_data_.rows.end(), data.rows.begin(), data.rows.end());
    serving_data_.configs.insert(data.configs.begin(), data.configs.end());
    fingerprints += data.fingerprint;
  }
  serving_data_.fingerprint = fingerprints;
  return Status::ok();
}

Result<ServingParams> Api::serving_params(const ApiRequest& r, const nlohmann::json* posted) const {
  ServingParams p;
  IRENE_ASSIGN_OR_RETURN(p.config, model_param(r, posted));
  const std::string machine = string_param(r, "machine");
  if (machine.empty()) return Status::invalid_argument("missing parameter 'machine': give an id from /api/machines");
  auto spec = machines::find_machine(machine);
  if (!spec.is_ok()) return Status::not_found("parameter 'machine': " + spec.status().message());
  p.machine = std::move(*spec);
  p.serving.engine = string_param(r, "engine");
  if (!p.serving.engine.empty()) {
    auto engine = engines::find_engine(p.serving.engine);
    if (!engine.is_ok()) return Status::invalid_argument("parameter 'engine': " + engine.status().message());
  }
  IRENE_ASSIGN_OR_RETURN(int64_t replicas, optional_int_param(r, "data_parallel", 1, kMaxGpus, 1));
  p.serving.data_parallel = static_cast<int>(replicas);
  const std::string ep = string_param(r, "expert_parallel");
  if (!ep.empty() && ep != "true" && ep != "false" && ep != "1" && ep != "0")
    return Status::invalid_argument("parameter 'expert_parallel' must be true or false, got '" + ep + "'");
  p.serving.expert_parallel = ep == "true" || ep == "1";
  p.serving.quantization = string_param(r, "quantization");
  p.serving.kv_cache_dtype = string_param(r, "kv_cache_dtype");
  IRENE_ASSIGN_OR_RETURN(p.serving.max_num_batched_tokens,
                         optional_int_param(r, "max_num_batched_tokens", 1, kMaxBatchedTokens, 0));
  IRENE_ASSIGN_OR_RETURN(std::optional<double> cached, optional_share_param(r, "prompt_cached_share"));
  p.serving.prompt_cached_share = cached.value_or(0);
  IRENE_ASSIGN_OR_RETURN(int64_t gpus, optional_int_param(r, "num_gpus", 1, kMaxGpus, 1));
  p.serving.num_gpus = static_cast<int>(gpus);
  IRENE_ASSIGN_OR_RETURN(int64_t stages, optional_int_param(r, "pipeline_parallel", 1, kMaxGpus, 1));
  p.serving.pipeline_parallel = static_cast<int>(stages);
  IRENE_ASSIGN_OR_RETURN(p.serving.batch_size, int_param(r, "batch_size", 1, kMaxRunning));
  IRENE_ASSIGN_OR_RETURN(p.serving.prompt_len, int_param(r, "prompt_len", 1, p.config.max_seq_len()));
  IRENE_ASSIGN_OR_RETURN(p.serving.output_len, int_param(r, "output_len", 1, kMaxOutputLen));
  // A benchmark run: its time per output token as well, averaged over the run.
  IRENE_ASSIGN_OR_RETURN(p.serving.run_requests, optional_int_param(r, "run_requests", 0, kMaxRunRequests, 0));
  IRENE_ASSIGN_OR_RETURN(p.serving.max_output_len, optional_int_param(r, "max_output_len", 1, kMaxOutputCap, 0));
  if (p.serving.run_requests > 0 && p.serving.max_output_len == 0)
    return Status::invalid_argument("parameter 'run_requests' needs 'max_output_len', the per-request output cap "
                                    "(above output_len)");
  if (p.serving.run_requests == 0 && p.serving.max_output_len > 0)
    return Status::invalid_argument("parameter 'max_output_len' is the output cap of a benchmark run: give "
                                    "'run_requests' too");
  p.serving.dtype = string_param(r, "dtype");
  p.serving.attention = string_param(r, "attention");
  p.format.max_depth = 3;
  IRENE_RETURN_IF_ERROR(format_params(r, p.format, p.format_key));
  p.sweep = string_param(r, "sweep");
  if (p.sweep == "batch_size") {
    IRENE_ASSIGN_OR_RETURN(p.values, int_list_param(r, "values", 1, kMaxRunning, kMaxSweepPoints));
  } else if (p.sweep == "num_gpus") {
    IRENE_ASSIGN_OR_RETURN(p.values, int_list_param(r, "values", 1, kMaxGpus, kMaxSweepPoints));
  } else if (!p.sweep.empty()) {
    return Status::invalid_argument("parameter 'sweep' must be batch_size or num_gpus, got '" + p.sweep + "'");
  } else if (!string_param(r, "values").empty()) {
    return Status::invalid_argument("parameter 'values' needs 'sweep' (batch_size or num_gpus)");
  }
  return p;
}

nlohmann::json Api::measured_serving(const models::ModelConfig& config, const std::string& machine_id,
                                     const std::string& engine) const {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& row : serving_data_.rows) {
    if (row.machine_id != machine_id || row.engine != engine) continue;
    const auto it = serving_data_.configs.find(row.model);
    if (it == serving_data_.configs.end() || !same_architecture(it->second, config)) continue;
    points.push_back({{"model", row.model},
                      {"num_gpus", row.num_gpus},
                      {"pipeline_parallel", row.pipeline_parallel},
                      {"engine", row.engine},
                      {"data_parallel", row.data_parallel},
                      {"expert_parallel", row.expert_parallel},
                      {"max_num_seqs", row.max_num_seqs},
                      {"batch_size", row.avg_batch_size},
                      {"output_len", row.avg_output_tokens},
                      {"energy_per_output_token_j", row.energy_per_token_j},
                      {"power_w", row.power_w},
                      {"tpot_s", row.tpot_s ? nlohmann::json(*row.tpot_s) : nlohmann::json(nullptr)},
                      {"itl_median_s", row.itl_median_s ? nlohmann::json(*row.itl_median_s) : nlohmann::json(nullptr)},
                      {"itl_p90_s", row.itl_p90_s ? nlohmann::json(*row.itl_p90_s) : nlohmann::json(nullptr)},
                      {"throughput_tokens_per_s", row.throughput_tokens_per_s},
                      {"source", row.source}});
  }
  return points;
}

ApiResponse Api::serving(const ApiRequest& r) { return serving_response(r, nullptr); }

ApiResponse Api::post_serving(const ApiRequest& r) {
  auto q = body_request(r, kServingFields, kServingUsage);
  if (!q.is_ok()) return refusal(q.status());
  return serving_response(q->first, q->second.is_null() ? nullptr : &q->second);
}

ApiResponse Api::serving_response(const ApiRequest& r, const nlohmann::json* posted) {
  auto p = serving_params(r, posted);
  if (!p.is_ok()) return refusal(p.status());
  const std::string key = std::string(kAnswerVersion) + "|" + p->key() + "|" + serving_version_ + "|" +
                          serving_data_.fingerprint;
  auto body = cache_->get_or_compute(key, [&]() -> Result<std::string> {
    IRENE_ASSIGN_OR_RETURN(serving::Answer a, serving::answer(p->config, p->machine, p->serving, serving_predictors_));
    const tree::Tree& step = *a.step;
    IRENE_RETURN_IF_ERROR(check_root(p->format, step));
    nlohmann::json doc = std::move(a.doc);
    nlohmann::json step_doc = tree::to_json(step, p->format);
    const double total = step.root().energy_j.value_or(0.0);
    add_shares(step_doc["root"], total, total);
    doc["step"] = std::move(step_doc);
    if (!p->sweep.empty()) {
      nlohmann::json points = nlohmann::json::array();
      for (int64_t v : p->values) {
        serving::ServingConfig s = a.served;
        if (p->sweep == "batch_size") s.batch_size = v;
        else s.num_gpus = static_cast<int>(v);
        // A run no larger than a point's batch has no steady state to drain: that point
        // answers without one.
        if (s.run_requests > 0 && s.run_requests <= s.batch_size) s.run_requests = s.max_output_len = 0;
        IRENE_ASSIGN_OR_RETURN(serving::Answer at, serving::answer(p->config, p->machine, s, serving_predictors_,
                                                                   nullptr, serving::WithTree::kNone));
        nlohmann::json point = std::move(at.doc);
        for (const char* k : {"model", "machine", "machine_name", "basis", "crossval_error_pct", "calibrated", "spec_only",
                              "engine_name"})
          point.erase(k);
        points.push_back(std::move(point));
      }
      doc["sweep"] = {{"over", p->sweep}, {"points", std::move(points)}};
    }
    doc["measured"] = measured_serving(p->config, p->machine.id, a.served.engine);
    return doc.dump();
  });
  if (!body.is_ok()) return refusal(body.status());
  return {200, *body};
}

}  // namespace irene::server
