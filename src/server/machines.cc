#include "server/machines.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "predict/bundled_predictors.h"
#include "predict/latency_predictor.h"

namespace irene::server {

namespace {

Machine make_machine(predict::Predictor p, const std::string& fallback_id, const std::string& text) {
  Machine m{fallback_id, fallback_id, "", false, p, nullptr, ""};
  const auto& meta = p.metadata();
  if (meta.contains("machine")) {
    m.id = meta["machine"].value("id", fallback_id);
    m.name = meta["machine"].value("name", m.id);
    m.description = meta["machine"].value("description", "");
  }
  if (meta.contains("crossval_error_pct")) m.crossval_error_pct = meta["crossval_error_pct"];
  m.version = p.fingerprint() + "-" + std::to_string(std::hash<std::string>{}(text));
  return m;
}

}  // namespace

Result<LoadedPredictors> load_predictors(const std::string& predictors_dir) {
  LoadedPredictors out;
  out.serving = serving::shipped_serving_predictors();
  std::vector<Machine>& machines = out.machines;
  for (const auto& f : predict::bundled_predictors()) {
    if (f.name != "pc1-model") continue;
    auto doc = nlohmann::json::parse(f.text, nullptr, false);
    IRENE_ASSIGN_OR_RETURN(predict::Predictor p, predict::Predictor::from_json(doc));
    machines.push_back(make_machine(std::move(p), "pc1", std::string(f.text)));
    machines.back().is_default = true;
  }
  if (machines.empty()) return Status::internal("the shipped PC1 predictor is missing from the binary");
  if (predictors_dir.empty()) return out;
  std::error_code ec;
  if (!std::filesystem::is_directory(predictors_dir, ec))
    return Status::not_found("--predictors: '" + predictors_dir + "' is not a folder");
  for (const auto& entry : std::filesystem::directory_iterator(predictors_dir)) {
    if (entry.path().extension() != ".json") continue;
    const std::string path = entry.path().string();
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (serving::is_serving_predictor(doc)) {
      auto p = serving::serving_predictor_from_json(doc, path);
      if (!p.is_ok()) {
        spdlog::warn("skipping serving predictor {}: {}", path, p.status().message());
        continue;
      }
      // A file for a machine replaces the shipped predictor of that machine.
      std::erase_if(out.serving, [&](const auto& q) { return q.machine_id == p->machine_id; });
      out.serving.push_back(std::move(*p));
      continue;
    }
    if (predict::is_latency_predictor(doc)) {
      auto p = predict::latency_predictor_from_json(doc, path);
      if (!p.is_ok()) {
        spdlog::warn("skipping latency predictor {}: {}", path, p.status().message());
        continue;
      }
      std::erase_if(out.latency, [&](const auto& q) { return q.machine_id == p->machine_id; });
      out.latency.push_back(std::move(*p));
      continue;
    }
    auto p = doc.is_discarded() ? Result<predict::Predictor>(Status::corrupt("not valid JSON"))
                                : predict::Predictor::from_json(doc);
    if (!p.is_ok()) {
      spdlog::warn("skipping predictor {}: {}", path, p.status().message());
      continue;
    }
    if (p->features() != predict::FeatureSet::kModel) {
      spdlog::info("skipping predictor {}: it needs measured features; the server serves 'model' predictors", path);
      continue;
    }
    // The version hashes the file's content, so that a retrained file misses the cache.
    Machine m = make_machine(std::move(*p), entry.path().stem().string(), text);
    bool taken = false;
    for (const auto& other : machines) taken = taken || other.id == m.id;
    if (taken) {
      spdlog::warn("skipping predictor {}: machine id '{}' is already served", path, m.id);
      continue;
    }
    machines.push_back(std::move(m));
  }
  return out;
}

}  // namespace irene::server
