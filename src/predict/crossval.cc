#include "predict/crossval.h"

#include <chrono>
#include <cmath>
#include <cstdio>

namespace irene::predict {

namespace {

enum Level { kMlLevel, kModuleLevel, kModelLevel };

int level_of(const tree::Node& n) {
  switch (n.kind) {
    case tree::NodeKind::kModel: return kModelLevel;
    case tree::NodeKind::kModule: return kModuleLevel;
    case tree::NodeKind::kMl:
    case tree::NodeKind::kMlNp: return kMlLevel;
    default: return -1;
  }
}

struct Sums {
  double sum = 0;
  int count = 0;
  void add(double v) {
    sum += v;
    ++count;
  }
  double mean() const { return count ? sum / count : 0.0; }
};

}  // namespace

PaperFigures paper_figures(FeatureSet set) {
  if (set == FeatureSet::kFull)
    return {0.70,
            8.54,
            5.5,
            {{"bert-base-uncased", 5.8},
             {"distilbert-base-uncased", 11.6},
             {"roberta-base", 7.1},
             {"gpt2", 3.5},
             {"distilgpt2", 2.2},
             {"openai-gpt", 2.7}}};
  return {5.76, 11.54, 7.08, {}};
}

Result<CrossvalReport> crossval(const Dataset& data, const CrossvalOptions& options,
                                const std::function<void(int, int)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> models = data.model_names();
  if (models.size() < 2) return Status::invalid_argument("cross-validation needs at least two models in the data");
  if (options.seeds < 1) return Status::invalid_argument("seeds must be at least 1");

  // Per level: per model sums, overall sums, per type sums (all over seeds).
  std::map<std::string, Sums> per_model[3];
  Sums overall[3];
  std::map<std::string, Sums> per_type;
  int done = 0;
  const int total = static_cast<int>(models.size()) * options.seeds;
  for (int seed = 0; seed < options.seeds; ++seed) {
    for (const std::string& held_out : models) {
      std::vector<const tree::Tree*> train;
      std::vector<tree::Tree> test;
      for (const tree::Tree& t : data.trees) {
        if (t.model == held_out)
          test.push_back(t);
        else
          train.push_back(&t);
      }
      TrainOptions to = options.train;
      to.seed = static_cast<uint64_t>(seed);
      auto predictor = Predictor::train(train, to);
      if (!predictor.is_ok())
        return Status(predictor.status().code(), "fold without " + held_out + ": " + predictor.status().message());
      for (tree::Tree& t : test) {
        IRENE_RETURN_IF_ERROR(predictor->predict(t));
        for (const tree::Node& n : t.nodes) {
          const int level = level_of(n);
          if (level < 0 || !n.measured || !n.measured->energy_j || !n.energy_j) continue;
          const double g = *n.measured->energy_j;
          const double err = 100.0 * std::fabs(*n.energy_j - g) / g;
          per_model[level][held_out].add(err);
          overall[level].add(err);
          if (level == kMlLevel) per_type[n.cls].add(err);
        }
      }
      if (progress) progress(++done, total);
    }
  }

  CrossvalReport r;
  r.method = method_name(options.train.method);
  r.feature_set = feature_set_name(options.train.features);
  r.seeds = options.seeds;
  LevelErrors* levels[3] = {&r.ml, &r.module, &r.model};
  for (int l = 0; l < 3; ++l) {
    LevelErrors& le = *levels[l];
    double sum = 0;
    for (const auto& [m, s] : per_model[l]) {
      le.per_model[m] = s.mean();
      sum += s.mean();
    }
    le.mean_over_models = per_model[l].empty() ? 0 : sum / static_cast<double>(per_model[l].size());
    le.average = overall[l].mean();
    le.nodes = overall[l].count / options.seeds;
  }
  for (const auto& [type, s] : per_type) r.ml.per_type[type] = s.mean();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

nlohmann::json to_json(const CrossvalReport& r) {
  const PaperFigures paper = paper_figures(r.feature_set == "full" ? FeatureSet::kFull : FeatureSet::kModel);
  auto level = [](const LevelErrors& l, double paper_average) {
    nlohmann::json j = {{"per_model", l.per_model},
                        {"average", l.average},
                        {"mean_over_models", l.mean_over_models},
                        {"nodes", l.nodes},
                        {"paper_average", paper_average}};
    if (!l.per_type.empty()) j["per_type"] = l.per_type;
    return j;
  };
  nlohmann::json j = {{"method", r.method},
                      {"feature_set", r.feature_set},
                      {"seeds", r.seeds},
                      {"seconds", r.seconds},
                      {"ml", level(r.ml, paper.ml)},
                      {"module", level(r.module, paper.module)},
                      {"model", level(r.model, paper.model)}};
  if (!paper.model_per_model.empty()) j["model"]["paper_per_model"] = paper.model_per_model;
  return j;
}

std::string to_text(const CrossvalReport& r) {
  const PaperFigures paper = paper_figures(r.feature_set == "full" ? FeatureSet::kFull : FeatureSet::kModel);
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line,
                "Leave-one-model-out error, %% (100 x |predicted - measured| / measured); method %s, features %s, "
                "mean of %d seed%s\n\n",
                r.method.c_str(), r.feature_set.c_str(), r.seeds, r.seeds == 1 ? "" : "s");
  out += line;
  std::snprintf(line, sizeof line, "%-26s %10s %10s %10s %12s\n", "held-out model", "ML", "module", "model",
                "paper model");
  out += line;
  for (const auto& [m, v] : r.model.per_model) {
    auto get = [&](const LevelErrors& l) { return l.per_model.count(m) ? l.per_model.at(m) : NAN; };
    auto p = paper.model_per_model.find(m);
    char paper_cell[32] = "-";
    if (p != paper.model_per_model.end()) std::snprintf(paper_cell, sizeof paper_cell, "%.2f", p->second);
    std::snprintf(line, sizeof line, "%-26s %10.2f %10.2f %10.2f %12s\n", m.c_str(), get(r.ml), get(r.module), v,
                  paper_cell);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-26s %10.2f %10.2f %10.2f\n", "average (node-weighted)", r.ml.average,
                r.module.average, r.model.average);
  out += line;
  std::snprintf(line, sizeof line, "%-26s %10.2f %10.2f %10.2f\n", "mean over models", r.ml.mean_over_models,
                r.module.mean_over_models, r.model.mean_over_models);
  out += line;
  std::snprintf(line, sizeof line, "%-26s %10.2f %10.2f %10.2f\n", "paper (average)", paper.ml, paper.module,
                paper.model);
  out += line;
  out += "\nML level by op type:";
  for (const auto& [type, v] : r.ml.per_type) {
    std::snprintf(line, sizeof line, "  %s %.2f", type.c_str(), v);
    out += line;
  }
  std::snprintf(line, sizeof line, "\n\n%d ML, %d module, %d model nodes per seed; %.1f s\n", r.ml.nodes,
                r.module.nodes, r.model.nodes, r.seconds);
  out += line;
  return out;
}

}  // namespace irene::predict
