// Energy predictors: IrEne's multi-level regressor (a regressor per ML-op type at the
// leaves; above them each node's energy a learned, feature-weighted sum of its
// children's), the paper's baselines, and irene's default, "additive": each parent is
// its children's energy plus an explicit remainder for the ops no child covers.
//
// Training uses libtorch (autograd, Adam) inside; this header keeps it out.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "predict/features.h"
#include "tree/tree.h"

namespace irene::predict {

enum class Method {
  kAdditive,      // irene's default: per-type physics at the leaves, explicit remainders above
  kIrene,         // the paper's End2End: alpha(c) = 1 + tanh(w . phi(f(c)) + b) / tau, trained end to end
  kPredictedSum,  // the paper's PredictedSum: alpha = 1
  kStepwise,      // the paper's StepWise: parents trained on measured child energies
  kUnstructured,  // the paper's Unstructured: one regressor on all non-leaf nodes, no tree
};

const char* method_name(Method m);  // "additive", "irene", "predicted-sum", "stepwise", "unstructured"
Result<Method> method_from_name(std::string_view name);
std::vector<std::string> method_names();

struct TrainOptions {
  FeatureSet features = FeatureSet::kModel;
  Method method = Method::kAdditive;
  uint64_t seed = 0;
  // The paper's settings for the tree-weighted methods.
  int epochs = 8;
  double learning_rate = 1e-3;
  double tau = 10.0;
};

class Predictor {
 public:
  // Trains on the measured nodes of `trees` (nodes without a measured energy are skipped).
  static Result<Predictor> train(const std::vector<const tree::Tree*>& trees, const TrainOptions& options);

  // Sets energy_j on every model, module and ML node of `t`, and energy_remainder_j on
  // every parent, so that a parent's energy is its children's plus its remainder. An ML
  // leaf whose type the training data lacked (the decoder LLMs' RMSNorm, SiLU, rotary
  // embeddings, fused attention) is predicted by the regressor of a known type of the
  // same arithmetic intensity (> 1 FLOP per byte: Linear, else LayerNorm) from its own
  // features, marked `extrapolated`, and listed in the tree's notes.
  Status predict(tree::Tree& t) const;

  Method method() const;
  FeatureSet features() const;
  const std::string& fingerprint() const;  // of the training data
  void set_fingerprint(std::string fingerprint);
  // Free-form facts kept in the file: "machine" (id, name, description) and
  // "crossval_error_pct" (ml, module, model), as `irene train` records them.
  const nlohmann::json& metadata() const;
  void set_metadata(nlohmann::json metadata);

  nlohmann::json to_json() const;
  static Result<Predictor> from_json(const nlohmann::json& doc);

  struct Impl;

 private:
  explicit Predictor(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// Reads / writes a predictor file (JSON).
Result<Predictor> load_predictor(const std::string& path);
// The predictor in an already read document; `where` (its file) prefixes errors.
Result<Predictor> predictor_from_json(const nlohmann::json& doc, const std::string& where);
Status save_predictor(const Predictor& p, const std::string& path);

}  // namespace irene::predict
