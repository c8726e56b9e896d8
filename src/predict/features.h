// The features a predictor reads off a tree node, and their standardisation.
// No libtorch here.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tree/tree.h"

namespace irene::predict {

enum class FeatureSet {
  kFull,   // model features + measured resource features
  kModel,  // model features only: answers for any configuration, nothing measured
};

const char* feature_set_name(FeatureSet set);  // "full", "model"
Result<FeatureSet> feature_set_from_name(std::string_view name);

// model: num_parameters, input_size (= batch x seq), batch_size, seq_len, flops, mem_bytes;
// full adds cpu, mem, gpu, gpu_mem, gpu_clk, gpu_mem_clk, times_mean, gpu_energy_mean.
const std::vector<std::string>& feature_names(FeatureSet set);

// True for the nodes a predictor gives an energy: model, module, ML and ML-np nodes.
bool is_energy_node(const tree::Node& n);
// ML leaves: the nodes the per-op-type regressors predict.
bool is_ml_leaf(const tree::Node& n);

// The GPU energy of a measured node: 0 on a machine without a GPU (nothing to count).
inline double gpu_energy_of(const tree::Measurement& m) { return m.gpu_energy_j.value_or(0.0); }

// The feature vector of node `index`. The full set needs a measurement on the node.
Result<std::vector<double>> node_features(const tree::Tree& t, int index, FeatureSet set);

// The ops a node runs itself, outside any child: its direct math children (residual
// adds, GELU, scaling, masking, reshapes).
struct UncoveredOps {
  double kernels = 0;  // ops that compute (non-zero flops or bytes)
  double views = 0;    // ops that only reshape or route
  double flops = 0;
  double bytes = 0;
};
UncoveredOps uncovered_ops(const tree::Tree& t, int index);

// Zero-mean, unit-variance scaling fitted on training rows (population std; a constant
// column keeps scale 1), as scikit-learn's StandardScaler.
struct Standardizer {
  std::vector<double> mean, scale;
  static Standardizer fit(const std::vector<std::vector<double>>& rows);
  std::vector<double> apply(const std::vector<double>& row) const;
  nlohmann::json to_json() const;
  static Result<Standardizer> from_json(const nlohmann::json& j);
};

// All monomials of degree <= 3 of x, bias first (scikit-learn's PolynomialFeatures(3) order).
std::vector<double> polynomial3(const std::vector<double>& x);

}  // namespace irene::predict
