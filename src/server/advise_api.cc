// /api/advise: the serving setup with the least energy per output token under latency
// objectives (advisor/advisor.h), with the pick's full answer; /api/leaderboard: every
// bundled decoder on every GPU at its least-energy setup (leaderboard/leaderboard.h), as
// JSON or CSV. Both cached; the advisor's search stays within a second or two, so both
// answer in the request.
#include <cmath>

#include "advisor/advisor.h"
#include "advisor/explain.h"
#include "engines/engine.h"
#include "leaderboard/leaderboard.h"
#include "server/api.h"
#include "server/params.h"

namespace irene::server {

namespace {

constexpr const char* kAdviseVersion = "advise-v1";
constexpr const char* kLeaderboardVersion = "leaderboard-v1";
constexpr int64_t kMaxAdviseGpus = 8;         // one node's GPUs
constexpr int64_t kMaxAdviseOutputLen = 8192;  // tokens per request
constexpr size_t kMaxListed = 16;              // machines, formats or engines of one request

const std::vector<std::string> kAdviseFields = {"model",        "task",           "prompt_len", "output_len",
                                                "itl_slo_ms",   "ttft_slo_s",     "machines",   "max_gpus",
                                                "quantization", "kv_cache_dtype", "engine",     "prompt_cached_share"};
constexpr const char* kAdviseUsage =
    "{\"config\": {...config.json...} or \"model\", and optionally \"task\" (chat, reasoning, code) or \"prompt_len\" "
    "with \"output_len\", \"itl_slo_ms\", \"ttft_slo_s\", \"machines\", \"max_gpus\", \"quantization\", "
    "\"kv_cache_dtype\", \"engine\", \"prompt_cached_share\"}";

std::vector<std::string> ids_of_tasks() {
  std::vector<std::string> out;
  for (const advisor::Task& t : advisor::standard_tasks()) out.push_back(t.id);
  return out;
}

Result<advisor::Request> advise_request(const ApiRequest& r, const models::ModelConfig& config, std::string& key) {
  advisor::Request q;
  const std::string task = string_param(r, "task");
  const bool lengths = !string_param(r, "prompt_len").empty() || !string_param(r, "output_len").empty();
  if (lengths && !task.empty())
    return Status::invalid_argument("give 'task' or 'prompt_len' with 'output_len', not both");
  if (lengths) {
    IRENE_ASSIGN_OR_RETURN(q.prompt_len, int_param(r, "prompt_len", 1, config.max_seq_len()));
    IRENE_ASSIGN_OR_RETURN(q.output_len, int_param(r, "output_len", 1, kMaxAdviseOutputLen));
  } else {
    auto t = advisor::find_task(task.empty() ? "chat" : task);
    if (!t.is_ok()) return Status::invalid_argument("parameter 'task': " + t.status().message());
    q.prompt_len = t->prompt_len;
    q.output_len = t->output_len;
  }
  IRENE_ASSIGN_OR_RETURN(std::optional<double> cached, optional_share_param(r, "prompt_cached_share"));
  q.prompt_cached_share = cached.value_or(0);
  IRENE_ASSIGN_OR_RETURN(std::optional<double> itl_ms, optional_number_param(r, "itl_slo_ms", 0, 1e6));
  IRENE_ASSIGN_OR_RETURN(q.slo.ttft_s, optional_number_param(r, "ttft_slo_s", 0, 1e4));
  if (itl_ms) q.slo.itl_s = *itl_ms / 1e3;
  IRENE_ASSIGN_OR_RETURN(int64_t gpus, optional_int_param(r, "max_gpus", 1, kMaxAdviseGpus, kMaxAdviseGpus));
  q.max_gpus = static_cast<int>(gpus);
  std::vector<std::string> machine_ids, engine_ids;
  for (const machines::MachineSpec& m : machines::catalogue())
    if (m.kind == "gpu") machine_ids.push_back(m.id);
  for (const engines::Engine& e : engines::engine_catalogue()) engine_ids.push_back(e.id);
  IRENE_ASSIGN_OR_RETURN(q.machines, word_list_param(r, "machines", machine_ids, kMaxListed));
  IRENE_ASSIGN_OR_RETURN(q.engines, word_list_param(r, "engine", engine_ids, kMaxListed));
  IRENE_ASSIGN_OR_RETURN(q.quantizations,
                         word_list_param(r, "quantization", {"as-stored", "none", "fp8", "mxfp4", "nvfp4"}, kMaxListed));
  for (std::string& f : q.quantizations)
    if (f == "as-stored") f.clear();
  IRENE_ASSIGN_OR_RETURN(q.kv_cache_dtypes,
                         word_list_param(r, "kv_cache_dtype", {"auto", "fp8", "fp8_e4m3", "fp8_e5m2"}, kMaxListed));
  for (std::string& f : q.kv_cache_dtypes)
    if (f == "auto") f.clear();
  q.size_limits = true;
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += x + ",";
    return s;
  };
  key = std::to_string(q.prompt_len) + "|" + std::to_string(q.output_len) + "|" +
        (itl_ms ? std::to_string(*itl_ms) : "") + "|" + (q.slo.ttft_s ? std::to_string(*q.slo.ttft_s) : "") + "|" +
        std::to_string(q.max_gpus) + "|" + join(q.machines) + "|" + join(q.engines) + "|" + join(q.quantizations) +
        "|" + join(q.kv_cache_dtypes) + "|" + std::to_string(q.prompt_cached_share);
  return q;
}

}  // namespace

// A request to the advisor, checked: the model, the search and its cache key.
struct AdvisePlan {
  models::ModelConfig config;
  advisor::Request request;
  std::string key;  // without the serving predictors' version
};

namespace {

Result<AdvisePlan> plan_advice(const ApiRequest& r, const nlohmann::json* posted) {
  AdvisePlan plan;
  IRENE_ASSIGN_OR_RETURN(plan.config, model_param(r, posted));
  if (!plan.config.is_decoder())
    return Status::invalid_argument("the advisor serves decoder LLMs; '" + plan.config.name + "' (" +
                                    plan.config.model_type + ") is not one");
  std::string request_key;
  IRENE_ASSIGN_OR_RETURN(plan.request, advise_request(r, plan.config, request_key));
  plan.key = std::string(kAdviseVersion) + "|" + plan.config.name + "|" + (posted ? config_hash(*posted) : std::string()) +
             "|" + request_key;
  return plan;
}

// The query's or the body's request: GET with query parameters, POST with a JSON body.
Result<AdvisePlan> plan_of(const ApiRequest& r) {
  if (r.body.empty()) return plan_advice(r, nullptr);
  IRENE_ASSIGN_OR_RETURN(auto q, body_request(r, kAdviseFields, kAdviseUsage));
  return plan_advice(q.first, q.second.is_null() ? nullptr : &q.second);
}

}  // namespace

// The advice document of `plan`, cached: the search (reporting to `progress`, which may
// stop it) and the pick's explanation.
Result<std::shared_ptr<const std::string>> Api::advice_body(const AdvisePlan& plan,
                                                           const std::function<bool(size_t, size_t)>& progress) {
  auto body = cache_->get_or_compute(plan.key + "|" + serving_version_, [&]() -> Result<std::string> {
    IRENE_ASSIGN_OR_RETURN(advisor::Advice a, advisor::advise(plan.config, plan.request, serving_predictors_, progress));
    nlohmann::json doc = advisor::to_json(a, plan.request);
    doc["model"] = plan.config.name;
    if (a.best) {
      IRENE_ASSIGN_OR_RETURN(advisor::Explanation x,
                             advisor::explain(plan.config, a.candidates[*a.best], plan.request, serving_predictors_));
      doc["explanation"] = advisor::to_json(x);
    }
    return doc.dump();
  });
  if (!body.is_ok()) return body.status();
  return *body;
}

ApiResponse Api::advise(const ApiRequest& r) {
  auto plan = plan_of(r);
  if (!plan.is_ok()) return refusal(plan.status());
  auto body = advice_body(*plan, {});
  if (!body.is_ok()) return refusal(body.status());
  return {200, *body};
}

ApiResponse Api::post_advise(const ApiRequest& r) { return advise(r); }

// The same search as a job: checked now (a bad request is a 4xx here), run on the jobs'
// worker with its progress in the job's status, the answer cached as GET /api/advise's.
ApiResponse Api::create_advise_job(const ApiRequest& r) {
  auto plan = plan_of(r);
  if (!plan.is_ok()) return refusal(plan.status());
  nlohmann::json echo = r.body.empty() ? nlohmann::json(r.query) : nlohmann::json::parse(r.body, nullptr, false);
  if (echo.is_object() && echo.contains("config")) echo["config"] = "(a config.json)";
  JobWork work;
  work.echo = std::move(echo);
  work.run = [this, plan = std::make_shared<const AdvisePlan>(std::move(*plan))](
                 const std::atomic<bool>& cancel,
                 const std::function<void(int64_t, int64_t)>& progress) -> Result<JobOutcome> {
    IRENE_ASSIGN_OR_RETURN(std::shared_ptr<const std::string> body,
                           advice_body(*plan, [&](size_t done, size_t total) {
                             progress(static_cast<int64_t>(done), static_cast<int64_t>(total));
                             return !cancel.load();
                           }));
    return JobOutcome{nlohmann::json::parse(*body), true};
  };
  auto id = advise_jobs_->submit(std::move(work));
  if (!id) return ApiResponse::error(429, "too_many_requests", "the advisor's job queue is full; try again later");
  return ApiResponse::json(202, {{"id", *id}, {"status", "queued"}});
}

ApiResponse Api::list_advise_jobs(const ApiRequest&) {
  return ApiResponse::json(200, {{"jobs", advise_jobs_->list()}});
}

ApiResponse Api::get_advise_job(const ApiRequest& r) { return job_response(*advise_jobs_, r.id, "advisor job", false); }

ApiResponse Api::cancel_advise_job(const ApiRequest& r) {
  return job_response(*advise_jobs_, r.id, "advisor job", true);
}

ApiResponse Api::leaderboard(const ApiRequest& r) {
  leaderboard::Options o;
  auto tasks = word_list_param(r, "tasks", ids_of_tasks(), 3);
  if (!tasks.is_ok()) return refusal(tasks.status());
  if (!tasks->empty()) o.tasks = *tasks;
  auto itl_ms = optional_number_param(r, "itl_slo_ms", 0, 1e6);
  if (!itl_ms.is_ok()) return refusal(itl_ms.status());
  if (*itl_ms) o.itl_slo_s = **itl_ms / 1e3;
  auto gpus = optional_int_param(r, "max_gpus", 1, kMaxAdviseGpus, kMaxAdviseGpus);
  if (!gpus.is_ok()) return refusal(gpus.status());
  o.max_gpus = static_cast<int>(*gpus);
  const std::string format = string_param(r, "format");
  if (!format.empty() && format != "json" && format != "csv")
    return ApiResponse::error(400, "invalid_argument", "parameter 'format' must be json or csv, got '" + format + "'");
  // Bundled models and standard tasks alone: the work is bounded without the size limits
  // that guard posted configs, and the largest bundled models take their place.
  o.size_limits = false;
  std::string task_key;
  for (const std::string& t : o.tasks) task_key += t + ",";
  const std::string key = std::string(kLeaderboardVersion) + "|" + task_key + "|" + std::to_string(o.itl_slo_s) + "|" +
                          std::to_string(o.max_gpus) + "|" + serving_version_ + "|" + serving_data_.fingerprint;
  auto body = cache_->get_or_compute(key, [&]() -> Result<std::string> {
    IRENE_ASSIGN_OR_RETURN(nlohmann::json board,
                           leaderboard::build(o, serving_predictors_, serving_data_.rows.empty() ? nullptr : &serving_data_));
    return board.dump();
  });
  if (!body.is_ok()) return refusal(body.status());
  if (format != "csv") return {200, *body};
  // The CSV is made once from the cached answer, and cached beside it.
  auto csv = cache_->get_or_compute(key + "|csv", [&]() -> Result<std::string> {
    return leaderboard::to_csv(nlohmann::json::parse(**body));
  });
  if (!csv.is_ok()) return refusal(csv.status());
  ApiResponse out{200, *csv};
  out.content_type = "text/csv";
  return out;
}

}  // namespace irene::server
