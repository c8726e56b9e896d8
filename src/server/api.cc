#include "server/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "common/memory.h"
#include "engines/engine.h"
#include "machines/catalogue.h"
#include "models/memory.h"
#include "models/zoo.h"
#include "profile/profile.h"
#include "server/params.h"
#include "serving/tree_on_machine.h"
#include "tree/tree_format.h"

namespace irene::server {

// One request for a tree, its parameters checked and typed.
struct SizeParams {
  models::ModelConfig config;
  int64_t batch_size, seq_len;
  models::RunOptions run;      // shapes-only, with the decoder options the request gave
  tree::FormatOptions format;  // max_depth, kinds: how much of the tree the answer holds
  std::string format_key;

  // The part of a cache key that tells two requests apart.
  std::string key() const {
    return config.name + "|" + std::to_string(batch_size) + "|" + std::to_string(seq_len) + "|" +
           std::to_string(run.new_tokens) + "|" + run.dtype + "|" + run.attention + "|" + format_key;
  }
};

namespace {

constexpr const char* kVersion = "0.1.0";
constexpr const char* kAnswerVersion = "v1";  // bump when the answers' shape changes

// The request's model: a bundled name (`model`), or a config.json posted in the body.
Result<SizeParams> size_params(const ApiRequest& r, int64_t max_batch, const nlohmann::json* posted_config = nullptr) {
  IRENE_ASSIGN_OR_RETURN(models::ModelConfig c, model_param(r, posted_config));
  IRENE_ASSIGN_OR_RETURN(int64_t b, int_param(r, "batch_size", 1, max_batch));
  IRENE_ASSIGN_OR_RETURN(int64_t s, int_param(r, "seq_len", 1, c.max_seq_len()));
  models::RunOptions run{b, s, /*shapes_only=*/true};
  if (!string_param(r, "new_tokens").empty()) {
    IRENE_ASSIGN_OR_RETURN(run.new_tokens, int_param(r, "new_tokens", 0, kMaxNewTokens));
  }
  run.dtype = string_param(r, "dtype");
  run.attention = string_param(r, "attention");
  IRENE_RETURN_IF_ERROR(models::validate_run(c, run));
  SizeParams p{std::move(c), b, s, run};
  IRENE_RETURN_IF_ERROR(format_params(r, p.format, p.format_key));
  return p;
}

// The POST forms of /api/energy and /api/tree.
Result<std::pair<ApiRequest, nlohmann::json>> tree_body(const ApiRequest& r) {
  return body_request(r, {"model", "batch_size", "seq_len", "new_tokens", "dtype", "attention", "machine", "max_depth", "kinds", "root", "max_nodes"},
                      "{\"config\": {...config.json...} or \"model\", \"batch_size\", \"seq_len\", and optionally "
                      "\"new_tokens\", \"dtype\", \"attention\", \"machine\", \"max_depth\", \"kinds\"}");
}

}  // namespace

ApiResponse ApiResponse::json(int status, const nlohmann::json& doc) {
  return {status, std::make_shared<const std::string>(doc.dump())};
}

ApiResponse ApiResponse::error(int status, const std::string& type, const std::string& message) {
  return json(status, {{"error", {{"code", status}, {"type", type}, {"message", message}}}});
}

ApiResponse ApiResponse::from_status(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kCorrupt: return error(400, "invalid_argument", s.message());
    case StatusCode::kUnsupported: return error(400, "unsupported", s.message());
    case StatusCode::kNotFound: return error(404, "not_found", s.message());
    case StatusCode::kCancelled: return error(409, "conflict", s.message());
    default: return error(500, "internal", s.message());
  }
}

Result<std::unique_ptr<Api>> Api::create(const ServerOptions& options) {
  std::unique_ptr<Api> api(new Api());
  IRENE_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store,
                         store::open_store(options.db_url.empty() ? store::default_store_url() : options.db_url,
                                           options.db_retry));
  api->store_ = std::move(store);
  api->cache_ = std::make_unique<ResultCache>(api->store_);
  IRENE_ASSIGN_OR_RETURN(LoadedPredictors predictors, load_predictors(options.predictors_dir));
  api->machines_ = std::move(predictors.machines);
  api->latency_predictors_ = std::move(predictors.latency);
  nlohmann::json models = nlohmann::json::array();
  for (const auto& name : models::bundled_model_names()) {
    IRENE_ASSIGN_OR_RETURN(models::ModelConfig c, models::bundled_config(name));
    IRENE_ASSIGN_OR_RETURN(models::ModelSummary s, models::summarize(c));
    models.push_back(models::to_json(s));
  }
  api->models_json_ = std::make_shared<const std::string>(nlohmann::json{{"models", models}}.dump());
  if (!options.data_dir.empty()) {
    IRENE_ASSIGN_OR_RETURN(api->data_, predict::load_dataset(options.data_dir));
    for (size_t i = 0; i < api->data_.trees.size(); ++i) {
      const auto& t = api->data_.trees[i];
      api->measured_index_[{t.model, t.batch_size, t.seq_len}] = i;
    }
    spdlog::info("measured data: {} configurations from {}", api->data_.trees.size(), options.data_dir);
  }
  // Finished jobs live in the cache file too, so they survive restarts. Advisor searches'
  // progress counts the search's parts (a machine, engine and format each).
  ResultCache* cache = api->cache_.get();
  auto archive_in_cache = [cache](const std::string& prefix) {
    return JobArchive{
        [cache, prefix](const std::string& id, const std::string& description) { cache->put(prefix + id, description); },
        [cache, prefix](const std::string& id) -> std::optional<std::string> {
          auto saved = cache->get(prefix + id);
          return saved ? std::optional<std::string>(*saved) : std::nullopt;
        }};
  };
  api->jobs_ = std::make_unique<Jobs>(kProfileJobs, 8, archive_in_cache("profile-job/"));
  api->advise_jobs_ = std::make_unique<Jobs>(JobKind{"a", "parts"}, 8, archive_in_cache("advise-job/"));
  for (const auto& lp : api->latency_predictors_)
    api->latency_versions_.push_back(std::to_string(std::hash<std::string>{}(predict::to_json(lp).dump())));
  IRENE_RETURN_IF_ERROR(api->load_serving(options, std::move(predictors.serving)));
  spdlog::info("cache: {} ({} stored answers); machines: {}", api->cache_->path(), api->cache_->stored(),
               api->machines_.size());
  return api;
}

const Machine* Api::find_machine(const std::string& id) const {
  for (const auto& m : machines_)
    if (m.id == id) return &m;
  return nullptr;
}

const tree::Tree* Api::measured_tree(const std::string& model, int64_t b, int64_t s) const {
  auto it = measured_index_.find({model, b, s});
  return it == measured_index_.end() ? nullptr : &data_.trees[it->second];
}

ApiResponse Api::health(const ApiRequest&) { return ApiResponse::json(200, {{"status", "ok"}, {"version", kVersion}}); }

ApiResponse Api::models(const ApiRequest&) { return {200, models_json_}; }

ApiResponse Api::machines(const ApiRequest&) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : machines_)
    out.push_back({{"id", m.id},
                   {"name", m.name},
                   {"description", m.description},
                   {"default", m.is_default},
                   {"method", predict::method_name(m.predictor.method())},
                   {"feature_set", predict::feature_set_name(m.predictor.features())},
                   {"crossval_error_pct", m.crossval_error_pct},
                   {"calibrated", true}});
  // The catalogue: the machines of /api/serving, calibrated on measured serving data or
  // predicted from their spec sheets; not choices for /api/energy.
  nlohmann::json catalogue = nlohmann::json::array();
  for (const auto& spec : machines::catalogue()) {
    nlohmann::json row = machines::to_json(spec);
    const std::string engine = serving::default_engine(spec, serving_predictors_);
    auto p = serving::predictor_for(spec, serving_predictors_, nullptr, engine);
    // The engines calibrated on this machine, newest last, and the default one.
    nlohmann::json calibrated_engines = nlohmann::json::array();
    for (const auto& e : engines::engine_catalogue())
      for (const auto& sp : serving_predictors_)
        if (sp.engine == e.id && sp.machine_id == spec.id) {
          calibrated_engines.push_back(e.id);
          break;
        }
    row["default_engine"] = engine;
    row["calibrated_engines"] = std::move(calibrated_engines);
    row["calibrated"] = p.is_ok() && p->calibrated;
    row["spec_only"] = !row["calibrated"].get<bool>();
    row["serving_basis"] = p.is_ok() ? p->basis : p.status().message();
    row["crossval_error_pct"] = p.is_ok() ? p->crossval : nlohmann::json();
    catalogue.push_back(std::move(row));
  }
  // The serving engines irene describes, oldest first (engines/specs).
  nlohmann::json engines = nlohmann::json::array();
  for (const auto& e : engines::engine_catalogue())
    engines.push_back({{"id", e.id}, {"name", e.name}, {"chunked_prefill", e.chunked_prefill},
                       {"kernels", engines::kernels_name(e.kernels)}});
  // One list of every machine, with what each answers and on what basis: the trained
  // energy predictors' machines, the catalogue's GPUs and this CPU.
  nlohmann::json all = nlohmann::json::array();
  const std::string gpu_default = default_gpu();
  for (const auto& m : out)
    all.push_back({{"id", m["id"]},
                   {"name", m["name"]},
                   {"kind", "measured"},
                   {"answers", {"energy"}},
                   {"basis", "an energy predictor trained on this machine's measurements (" +
                                 m["method"].get<std::string>() + ", " + m["feature_set"].get<std::string>() +
                                 " features)"},
                   {"calibrated", true},
                   {"default_for", m["default"].get<bool>() ? nlohmann::json("encoders") : nlohmann::json()}});
  for (const auto& row : catalogue) {
    const bool gpu = row["kind"] == "gpu";
    const predict::LatencyPredictor* latency = nullptr;
    for (const auto& lp : latency_predictors_)
      if (lp.machine_id == row["id"]) latency = &lp;
    nlohmann::json answers = gpu ? nlohmann::json({"energy", "serving", "advise", "whatif"}) : nlohmann::json({"profile"});
    if (latency) answers.push_back("latency");
    all.push_back({{"id", row["id"]},
                   {"name", row["name"]},
                   {"kind", row["kind"]},
                   {"answers", std::move(answers)},
                   {"basis", gpu       ? row["serving_basis"]
                             : latency ? nlohmann::json("the CPU irene runs on: every node's time (/api/energy) by a "
                                                        "latency model fitted on its profiles; no energy meter, so "
                                                        "no energy")
                                       : nlohmann::json("the CPU irene runs on: live profiles measure it "
                                                        "(/api/profiles); energy needs a predictor trained on its "
                                                        "profiles, time a latency model (irene train --method "
                                                        "roofline on them)")},
                   {"calibrated", row["calibrated"]},
                   {"default_engine", gpu ? row["default_engine"] : nlohmann::json()},
                   {"memory_bytes", row["memory_bytes"]},
                   {"default_for", row["id"] == gpu_default ? nlohmann::json("decoders") : nlohmann::json()}});
  }
  return ApiResponse::json(200, {{"machines", out}, {"catalogue", catalogue}, {"engines", engines}, {"all", all}});
}

ApiResponse Api::energy(const ApiRequest& r) {
  auto p = size_params(r, kMaxBatchSize);
  if (!p.is_ok()) return refusal(p.status());
  return energy_answer(r, *p);
}

ApiResponse Api::post_energy(const ApiRequest& r) {
  auto q = tree_body(r);
  if (!q.is_ok()) return refusal(q.status());
  auto p = size_params(q->first, kMaxBatchSize, q->second.is_null() ? nullptr : &q->second);
  if (!p.is_ok()) return refusal(p.status());
  return energy_answer(q->first, *p);
}

ApiResponse Api::post_tree(const ApiRequest& r) {
  auto q = tree_body(r);
  if (!q.is_ok()) return refusal(q.status());
  auto p = size_params(q->first, kMaxBatchSize, q->second.is_null() ? nullptr : &q->second);
  if (!p.is_ok()) return refusal(p.status());
  return tree_answer(*p);
}

ApiResponse Api::energy_answer(const ApiRequest& r, const SizeParams& p) {
  // A decoder LLM opens on a datacenter GPU calibrated under the newest engine, the rest
  // on the default energy predictor's machine (PC1).
  std::string machine_id = r.query.count("machine") && !r.query.at("machine").empty() ? r.query.at("machine") : "";
  if (machine_id.empty()) machine_id = p.config.is_decoder() ? default_gpu() : default_machine_id();
  const Machine* machine = find_machine(machine_id);
  if (!machine) {
    for (size_t i = 0; i < latency_predictors_.size(); ++i)
      if (latency_predictors_[i].machine_id == machine_id)
        return latency_answer(p, latency_predictors_[i], latency_versions_[i]);
    auto gpu = machines::find_machine(machine_id);
    if (gpu.is_ok() && gpu->kind == "gpu") return gpu_energy_answer(p, *gpu);
    std::string ids;
    for (const auto& m : machines_) ids += (ids.empty() ? "" : ", ") + m.id;
    for (const auto& m : machines::catalogue())
      if (m.kind == "gpu") ids += ", " + m.id;
    for (const auto& lp : latency_predictors_) ids += ", " + lp.machine_id + " (time only)";
    return ApiResponse::error(404, "not_found", "parameter 'machine': unknown machine '" + machine_id + "' (known: " + ids + ")");
  }
  const std::string key = std::string("energy/") + kAnswerVersion + "|" + p.key() + "|" + machine->id + "|" +
                          machine->version + "|" + data_.fingerprint;
  auto body = cache_->get_or_compute(key, [&]() -> Result<std::string> {
    const tree::Tree* measured =
        p.run.new_tokens > 0 ? nullptr : measured_tree(p.config.name, p.batch_size, p.seq_len);
    tree::Tree t;
    if (measured) {
      t = *measured;
    } else {
      IRENE_ASSIGN_OR_RETURN(t, models::trace_model(p.config, p.run));
    }
    IRENE_RETURN_IF_ERROR(check_root(p.format, t));
    IRENE_RETURN_IF_ERROR(machine->predictor.predict(t));
    nlohmann::json tree_doc = tree::to_json(t, p.format);
    const double total = t.root().energy_j.value_or(0.0);
    add_shares(tree_doc["root"], total, total);
    nlohmann::json doc = {{"model", p.config.name},
                          {"batch_size", p.batch_size},
                          {"seq_len", p.seq_len},
                          {"machine", machine->id},
                          {"predictor",
                           {{"method", predict::method_name(machine->predictor.method())},
                            {"feature_set", predict::feature_set_name(machine->predictor.features())},
                            {"fingerprint", machine->predictor.fingerprint()}}},
                          {"new_tokens", p.run.new_tokens},
                          {"dtype", t.dtype},
                          {"attention", t.attention},
                          {"measured", measured != nullptr},
                          {"extrapolated", std::any_of(t.nodes.begin(), t.nodes.end(),
                                                       [](const tree::Node& n) { return n.extrapolated; })},
                          {"total_energy_j", total},
                          {"tree", std::move(tree_doc)}};
    return doc.dump();
  });
  if (!body.is_ok()) return ApiResponse::from_status(body.status());
  return {200, *body};
}

std::string Api::default_machine_id() const {
  for (const auto& m : machines_)
    if (m.is_default) return m.id;
  return machines_.empty() ? "pc1" : machines_.front().id;
}

std::string Api::default_gpu() const {
  // The first catalogued GPU calibrated under the newest engine, else under any.
  const std::string newest = engines::engine_catalogue().back().id;
  for (const bool any_engine : {false, true})
    for (const auto& spec : machines::catalogue())
      for (const auto& sp : serving_predictors_)
        if (spec.kind == "gpu" && sp.machine_id == spec.id && (any_engine || sp.engine == newest)) return spec.id;
  return "h100-sxm5-80gb";
}

// A model's tree on a catalogued GPU (serving/tree_on_machine.h): a generating decoder's
// generation under the machine's default engine at its steady state, else the roofline.
ApiResponse Api::gpu_energy_answer(const SizeParams& p, const machines::MachineSpec& gpu) {
  const std::string key = std::string("energy-gpu/") + kAnswerVersion + "|" + p.key() + "|" + gpu.id + "|" +
                          serving_version_;
  auto body = cache_->get_or_compute(key, [&]() -> Result<std::string> {
    IRENE_ASSIGN_OR_RETURN(serving::MachineTree mt, serving::tree_on_machine(p.config, p.run, gpu, 0, serving_predictors_));
    IRENE_RETURN_IF_ERROR(check_root(p.format, mt.tree));
    nlohmann::json tree_doc = tree::to_json(mt.tree, p.format);
    const double total = mt.tree.root().energy_j.value_or(0.0);
    add_shares(tree_doc["root"], total, total);
    nlohmann::json doc = {{"model", p.config.name},
                          {"batch_size", p.batch_size},
                          {"seq_len", p.seq_len},
                          {"machine", gpu.id},
                          {"machine_name", gpu.name},
                          {"predictor", {{"method", "roofline"}, {"basis", mt.basis}}},
                          {"basis", mt.basis},
                          {"engine", mt.engine.empty() ? nlohmann::json() : nlohmann::json(mt.engine)},
                          {"num_gpus", mt.num_gpus},
                          {"gpus_needed", mt.gpus_needed},
                          {"memory_note", mt.memory_note.empty() ? nlohmann::json() : nlohmann::json(mt.memory_note)},
                          {"serving", mt.serving},
                          {"new_tokens", p.run.new_tokens},
                          {"dtype", mt.tree.dtype},
                          {"attention", mt.tree.attention},
                          {"measured", false},
                          {"extrapolated", false},
                          {"what", mt.engine.empty()
                                       ? "one forward pass, every node priced by the roofline"
                                       : "the batch's generation as " + mt.engine +
                                             " serves it at its steady state: the prompts' prefill, the decode "
                                             "steps, the sampler (engines that sample on the GPUs) and the engine's "
                                             "own time; the engine's kernels priced and handed to the nodes they "
                                             "cover"},
                          {"total_energy_j", total},
                          {"tree", std::move(tree_doc)}};
    return doc.dump();
  });
  if (!body.is_ok()) return refusal(body.status());
  return {200, *body};
}

// A profiled machine's tree with every node's predicted time (its latency predictor);
// no energy: the profiles it was fitted on had no energy meter, so energy is empty.
ApiResponse Api::latency_answer(const SizeParams& p, const predict::LatencyPredictor& lp,
                                const std::string& version) {
  const std::string key = std::string("latency/") + kAnswerVersion + "|" + p.key() + "|" + lp.machine_id + "|" + version;
  auto body = cache_->get_or_compute(key, [&]() -> Result<std::string> {
    IRENE_ASSIGN_OR_RETURN(tree::Tree t, models::trace_model(p.config, p.run));
    IRENE_RETURN_IF_ERROR(check_root(p.format, t));
    IRENE_ASSIGN_OR_RETURN(double latency, predict::predict_latency(t, lp));
    const std::string basis = "every node's time by the latency model fitted on " + lp.machine_id + "'s profiles (" +
                              lp.machine_name + "); no energy meter there, so no energy";
    return nlohmann::json{{"model", p.config.name},
                          {"batch_size", p.batch_size},
                          {"seq_len", p.seq_len},
                          {"machine", lp.machine_id},
                          {"machine_name", lp.machine_name},
                          {"predictor", {{"method", "roofline-latency"}, {"basis", basis}}},
                          {"basis", basis},
                          {"new_tokens", p.run.new_tokens},
                          {"dtype", t.dtype},
                          {"attention", t.attention},
                          {"measured", false},
                          {"extrapolated", false},
                          {"total_energy_j", nullptr},
                          {"total_latency_s", latency},
                          {"crossval", lp.crossval},
                          {"tree", tree::to_json(t, p.format)}}
        .dump();
  });
  if (!body.is_ok()) return refusal(body.status());
  return {200, *body};
}

ApiResponse Api::tree(const ApiRequest& r) {
  auto p = size_params(r, kMaxBatchSize);
  if (!p.is_ok()) return refusal(p.status());
  return tree_answer(*p);
}

ApiResponse Api::tree_answer(const SizeParams& p) {
  const std::string key = std::string("tree/") + kAnswerVersion + "|" + p.key();
  auto body = cache_->get_or_compute(key, [&]() -> Result<std::string> {
    IRENE_ASSIGN_OR_RETURN(tree::Tree t, models::trace_model(p.config, p.run));
    IRENE_RETURN_IF_ERROR(check_root(p.format, t));
    return nlohmann::json{{"model", p.config.name},
                          {"batch_size", p.batch_size},
                          {"seq_len", p.seq_len},
                          {"new_tokens", p.run.new_tokens},
                          {"tree", tree::to_json(t, p.format)}}
        .dump();
  });
  if (!body.is_ok()) return ApiResponse::from_status(body.status());
  return {200, *body};
}

ApiResponse Api::create_profile(const ApiRequest& r) {
  if (r.body.size() > kMaxBodyBytes)
    return ApiResponse::error(413, "too_large", "request body over " + std::to_string(kMaxBodyBytes) + " bytes");
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return ApiResponse::error(400, "invalid_argument", "the body must be a JSON object: {\"model\", \"batch_size\", \"seq_len\", \"device\", \"settings\"}");
  ApiRequest as_query;
  for (const char* k : {"model", "batch_size", "seq_len"}) {
    if (!body.contains(k)) continue;
    as_query.query[k] = body[k].is_string() ? body[k].get<std::string>() : body[k].dump();
  }
  auto p = size_params(as_query, kMaxBatchSize);
  if (!p.is_ok()) return ApiResponse::from_status(p.status());
  if (p->batch_size * p->seq_len > kMaxProfileTokens)
    return ApiResponse::error(400, "invalid_argument", "batch_size x seq_len must be at most " +
                                                           std::to_string(kMaxProfileTokens) + " for a live profile");
  ProfileRequest job{p->config, p->batch_size, p->seq_len};
  job.echo = body;
  if (body.contains("device") && !body["device"].is_string())
    return ApiResponse::error(400, "invalid_argument", "device must be \"cpu\" or \"cuda\"");
  job.device = body.value("device", "cpu");
  if (Status s = profile::validate_device(job.device, models::ModelRunner::cuda_available()); !s.is_ok())
    return ApiResponse::from_status(s);
  models::RunOptions as_profiled{p->batch_size, p->seq_len};
  as_profiled.cuda = job.device == "cuda";
  as_profiled.keep_activations = true;
  if (auto available = available_memory_bytes())
    if (Status s = models::check_run_memory(p->config, as_profiled, *available); !s.is_ok())
      return ApiResponse::from_status(s);
  const nlohmann::json settings = body.value("settings", nlohmann::json::object());
  if (!settings.is_object()) return ApiResponse::error(400, "invalid_argument", "settings must be a JSON object");
  if (settings.contains("rounds")) {
    const auto& v = settings["rounds"];
    if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 20)
      return ApiResponse::error(400, "invalid_argument", "settings.rounds must be an integer from 1 to 20");
    job.rounds = static_cast<int>(v.get<int64_t>());
  }
  if (settings.contains("seconds_per_node")) {
    const auto& v = settings["seconds_per_node"];
    if (!v.is_number() || v.get<double>() <= 0 || v.get<double>() > 10)
      return ApiResponse::error(400, "invalid_argument", "settings.seconds_per_node must be a number above 0, at most 10");
    job.seconds_per_node = v.get<double>();
  }
  if (settings.contains("level")) {
    const std::string level = settings["level"].is_string() ? settings["level"].get<std::string>() : "";
    if (level != "ml" && level != "module" && level != "model" && level != "all")
      return ApiResponse::error(400, "invalid_argument", "settings.level must be ml, module, model or all");
    job.level = level;
  }
  auto id = jobs_->submit(profile_work(std::move(job)));
  if (!id) return ApiResponse::error(429, "too_many_requests", "the profile queue is full; try again later");
  return ApiResponse::json(202, {{"id", *id}, {"status", "queued"}});
}

// The total energy `machine`'s predictor gives a configuration, from the same cached
// answer as /api/energy at max_depth 0; nullopt when it cannot (a model not bundled).
std::optional<double> Api::predicted_energy(const std::string& model, int64_t batch_size, int64_t seq_len,
                                            const std::string& machine) {
  ApiRequest r;
  r.query = {{"model", model},
             {"batch_size", std::to_string(batch_size)},
             {"seq_len", std::to_string(seq_len)},
             {"max_depth", "0"},
             {"machine", machine}};
  auto p = size_params(r, kMaxBatchSize);
  if (!p.is_ok()) return std::nullopt;
  const ApiResponse a = energy_answer(r, *p);
  if (a.status != 200) return std::nullopt;
  const auto doc = nlohmann::json::parse(*a.body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("total_energy_j")) return std::nullopt;
  return doc["total_energy_j"].get<double>();
}

ApiResponse Api::list_profiles(const ApiRequest&) { return ApiResponse::json(200, {{"profiles", jobs_->list()}}); }

ApiResponse Api::get_profile(const ApiRequest& r) { return job_response(*jobs_, r.id, "profile job", false); }

ApiResponse Api::cancel_profile(const ApiRequest& r) { return job_response(*jobs_, r.id, "profile job", true); }

ApiResponse Api::job_response(Jobs& jobs, const std::string& id, const std::string& noun, bool cancel) {
  if (cancel && !jobs.cancel(id)) return ApiResponse::error(404, "not_found", "no " + noun + " '" + id + "'");
  auto d = jobs.describe(id);
  if (!d) return ApiResponse::error(404, "not_found", "no " + noun + " '" + id + "'");
  return ApiResponse::json(200, *d);
}

}  // namespace irene::server
