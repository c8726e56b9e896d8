#include "leaderboard/leaderboard.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <sstream>

#include "advisor/advisor.h"
#include "common/parallel.h"
#include "leaderboard/published_scores.h"
#include "models/zoo.h"

namespace irene::leaderboard {

namespace {

// The measured data's tasks standing for a standard task.
bool same_task(const std::string& standard, const std::string& measured) {
  if (standard == "chat") return measured == "chat" || measured == "lm-arena-chat";
  if (standard == "reasoning") return measured == "gpqa";
  return measured == standard;
}

// A measured model is the bundled one, or its instruction-tuned release.
bool same_model(const std::string& bundled, const std::string& measured) {
  return measured == bundled || measured == bundled + "-Instruct";
}

// ML.ENERGY's least measured energy per token for the model on the machine and task,
// among the runs meeting the ITL objective; null where there is none.
nlohmann::json measured_best(const serving::MeasuredData* data, const std::string& model, const std::string& machine,
                             const std::string& task, double itl_slo_s) {
  if (!data) return nullptr;
  const serving::MeasuredServing* best = nullptr;
  for (const serving::MeasuredServing& r : data->rows)
    if (r.machine_id == machine && same_model(model, r.model) && same_task(task, r.task) && r.time_s() > 0 &&
        r.time_s() <= itl_slo_s && (!best || r.energy_per_token_j < best->energy_per_token_j))
      best = &r;
  if (!best) return nullptr;
  return {{"model", best->model},
          {"task", best->task},
          {"engine", best->engine},
          {"num_gpus", best->num_gpus},
          {"max_num_seqs", best->max_num_seqs},
          {"weight_precision", best->weight_precision},
          {"energy_per_output_token_j", best->energy_per_token_j},
          {"energy_per_response_j", best->energy_per_token_j * best->avg_output_tokens},
          {"power_w", best->power_w},
          {"throughput_per_gpu", best->throughput_tokens_per_s / best->num_gpus},
          {"time_s", best->time_s()},
          {"time_is_itl", best->time_is_itl()},
          {"source", best->source}};
}

std::vector<std::string> decoders(const Options& o) {
  if (!o.models.empty()) return o.models;
  std::vector<std::string> out;
  for (const std::string& name : models::bundled_model_names()) {
    auto c = models::bundled_config(name);
    if (c.is_ok() && c->is_decoder()) out.push_back(name);
  }
  return out;
}

}  // namespace

Result<nlohmann::json> build(const Options& o, const std::vector<serving::ServingPredictor>& available,
                             const serving::MeasuredData* measured, const std::function<void(double)>& progress) {
  if (!(o.itl_slo_s > 0)) return Status::invalid_argument("the ITL objective must be positive");
  std::vector<advisor::Task> tasks;
  for (const std::string& t : o.tasks) {
    IRENE_ASSIGN_OR_RETURN(advisor::Task task, advisor::find_task(t));
    tasks.push_back(task);
  }
  const std::vector<std::string> names = decoders(o);
  std::vector<models::ModelConfig> configs;
  for (const std::string& n : names) {
    IRENE_ASSIGN_OR_RETURN(models::ModelConfig c, models::bundled_config(n));
    if (!c.is_decoder()) return Status::invalid_argument("'" + n + "' is not a decoder LLM; the leaderboard ranks those");
    configs.push_back(std::move(c));
  }
  // One advice per (model, task), on every machine at once; models in parallel.
  struct Job {
    size_t model, task;
    Result<advisor::Advice> advice = Status::internal("not run");
  };
  std::vector<Job> jobs;
  for (size_t m = 0; m < configs.size(); ++m)
    for (size_t t = 0; t < tasks.size(); ++t) jobs.push_back({m, t});
  std::atomic<size_t> done{0};
  std::mutex progress_mutex;
  parallel_for(jobs.size(), [&](size_t j) {
    advisor::Request r;
    r.prompt_len = tasks[jobs[j].task].prompt_len;
    r.output_len = tasks[jobs[j].task].output_len;
    r.slo.itl_s = o.itl_slo_s;
    r.max_gpus = o.max_gpus;
    r.machines = o.machines;
    r.quantizations = {""};  // each model as its authors publish it
    r.size_limits = o.size_limits;
    jobs[j].advice = advisor::advise(configs[jobs[j].model], r, available);
    if (progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress(static_cast<double>(++done) / static_cast<double>(jobs.size()));
    }
  });

  nlohmann::json rows = nlohmann::json::array(), skipped = nlohmann::json::array();
  for (const Job& j : jobs) {
    const models::ModelConfig& c = configs[j.model];
    const advisor::Task& task = tasks[j.task];
    if (!j.advice.is_ok()) {
      skipped.push_back({{"model", c.name}, {"task", task.id}, {"reason", j.advice.status().message()}});
      continue;
    }
    const advisor::Advice& a = *j.advice;
    // The least energy on each machine, meeting the objective.
    std::map<std::string, size_t> best;
    for (size_t i = 0; i < a.candidates.size(); ++i) {
      const advisor::Candidate& x = a.candidates[i];
      if (!x.meets_slo) continue;
      auto it = best.find(x.machine_id);
      if (it == best.end() || x.estimate.energy_per_output_token_j <
                                  a.candidates[it->second].estimate.energy_per_output_token_j)
        best[x.machine_id] = i;
    }
    if (best.empty())
      skipped.push_back({{"model", c.name},
                         {"task", task.id},
                         {"reason", a.fitting > 0      ? "no setup meets the ITL objective"
                                    : !a.needs.empty()   ? "fits no machine with at most " + std::to_string(o.max_gpus) +
                                                             " GPUs (" + a.needs + ")"
                                    : !a.excluded.empty() ? a.excluded.back()
                                                          : "fits no machine"}});
    for (const auto& [machine, i] : best) {
      const advisor::Candidate& x = a.candidates[i];
      nlohmann::json row = advisor::to_json(x);
      row["model"] = c.name;
      row["family"] = c.family();
      row["task"] = task.id;
      row["energy_per_response_j"] = x.estimate.energy_per_output_token_j * static_cast<double>(task.output_len);
      row["basis"] = x.calibrated ? "calibrated" : "spec sheet";
      row["measured"] = measured_best(measured, c.name, machine, task.id, o.itl_slo_s);
      rows.push_back(std::move(row));
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    if (a["task"] != b["task"]) return a["task"].get<std::string>() < b["task"].get<std::string>();
    return a["energy_per_response_j"].get<double>() < b["energy_per_response_j"].get<double>();
  });
  // The models' published scores, beside the rows.
  const nlohmann::json& published = published_scores();
  nlohmann::json scores = nlohmann::json::object();
  for (const models::ModelConfig& c : configs) {
    nlohmann::json s = nlohmann::json::object();
    if (published.contains("models") && published["models"].contains(c.name))
      for (const auto& [bench, entry] : published["models"][c.name].items())
        if (entry.is_object()) s[bench] = {{"score", entry.value("score", nlohmann::json())},
                    {"variant", entry.value("variant", nlohmann::json())},
                    {"source", entry.value("source", nlohmann::json())}};
    scores[c.name] = std::move(s);
  }
  nlohmann::json task_docs = nlohmann::json::array();
  for (const advisor::Task& t : tasks)
    task_docs.push_back({{"id", t.id}, {"prompt_len", t.prompt_len}, {"output_len", t.output_len}, {"source", t.source}});
  return nlohmann::json{{"options", {{"itl_slo_s", o.itl_slo_s}, {"max_gpus", o.max_gpus}, {"tasks", std::move(task_docs)}}},
                        {"rows", std::move(rows)},
                        {"skipped", std::move(skipped)},
                        {"scores", std::move(scores)},
                        {"benchmarks", published.value("_benchmarks", nlohmann::json::array())},
                        {"scores_note", published.value("_sources_note", "")}};
}

std::string to_csv(const nlohmann::json& board) {
  const std::vector<std::string> columns = {"task", "model", "machine", "num_gpus", "tensor_parallel", "data_parallel",
                                            "expert_parallel", "batch_size", "quantization", "engine", "basis",
                                            "energy_per_response_j", "energy_per_output_token_j", "power_w",
                                            "throughput_per_gpu", "itl_median_s", "ttft_s"};
  std::ostringstream out;
  out.precision(6);
  for (size_t i = 0; i < columns.size(); ++i) out << (i ? "," : "") << columns[i];
  out << ",measured_energy_per_output_token_j";
  for (const auto& b : board["benchmarks"]) out << "," << b.get<std::string>();
  out << "\n";
  for (const auto& row : board["rows"]) {
    for (size_t i = 0; i < columns.size(); ++i) {
      const auto& v = row[columns[i]];
      out << (i ? "," : "");
      if (v.is_string()) out << v.get<std::string>();
      else if (!v.is_null()) out << v.dump();
    }
    out << ",";
    if (row["measured"].is_object()) out << row["measured"]["energy_per_output_token_j"].get<double>();
    const auto& s = board["scores"][row["model"].get<std::string>()];
    for (const auto& b : board["benchmarks"]) {
      out << ",";
      const std::string name = b.get<std::string>();
      if (s.contains(name) && s[name]["score"].is_number()) out << s[name]["score"].get<double>();
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace irene::leaderboard
