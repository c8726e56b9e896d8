#include "predict/predictor.h"

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/json_file.h"
#include "predict/least_squares.h"
#include "predict/tree_weights.h"

namespace irene::predict {

namespace {

constexpr const char* kFormat = "irene.predictor/1";

constexpr std::pair<Method, const char*> kMethodNames[] = {
    {Method::kAdditive, "additive"},   {Method::kIrene, "irene"},          {Method::kPredictedSum, "predicted-sum"},
    {Method::kStepwise, "stepwise"},   {Method::kUnstructured, "unstructured"},
};

// The energy nodes of a tree (everything but math nodes), in pre-order.
struct EnergyView {
  std::vector<int> node;    // tree index
  std::vector<int> parent;  // position of the parent, -1 for the root
  std::vector<int> depth;
  std::vector<std::vector<int>> children;
  std::vector<bool> leaf;

  explicit EnergyView(const tree::Tree& t) {
    std::vector<int> position(t.nodes.size(), -1);
    for (size_t i = 0; i < t.nodes.size(); ++i) {
      const tree::Node& n = t.nodes[i];
      if (!is_energy_node(n)) continue;
      const int pos = static_cast<int>(node.size());
      position[i] = pos;
      node.push_back(static_cast<int>(i));
      parent.push_back(n.parent >= 0 ? position[n.parent] : -1);
      depth.push_back(n.depth);
      children.emplace_back();
      if (parent.back() >= 0) children[parent.back()].push_back(pos);
    }
    for (size_t k = 0; k < node.size(); ++k) leaf.push_back(is_ml_leaf(t.nodes[node[k]]));
  }
  size_t size() const { return node.size(); }
};

double gold_of(const tree::Node& n) {
  return n.measured && n.measured->energy_j && *n.measured->energy_j > 0 ? *n.measured->energy_j : NAN;
}

// --- ML leaves ---

enum class Basis {
  kStandardized,  // the paper: ordinary least squares on standardised features, with intercept
  kPhysics,       // additive, full: energy = a * times_mean + b * gpu_energy_mean
  kCost,          // additive, model: energy = c0 + c1 flops + c2 bytes + c3 b*s + c4 b + c5 s
};

const char* basis_name(Basis b) {
  return b == Basis::kStandardized ? "standardized" : b == Basis::kPhysics ? "physics" : "cost";
}

struct MlRegressor {
  Basis basis = Basis::kStandardized;
  Standardizer scaler;
  std::vector<double> coef;
};

Result<std::vector<double>> basis_row(Basis basis, const Standardizer* scaler, const tree::Tree& t, int i,
                                      FeatureSet set) {
  const tree::Node& n = t.nodes[i];
  switch (basis) {
    case Basis::kPhysics:
      if (!n.measured) return node_features(t, i, FeatureSet::kFull).status();
      return std::vector<double>{n.measured->times_mean_s, gpu_energy_of(*n.measured)};
    case Basis::kCost: {
      const double b = static_cast<double>(t.batch_size), s = static_cast<double>(t.seq_len);
      return std::vector<double>{1.0, static_cast<double>(n.flops), static_cast<double>(n.mem_bytes), b * s, b, s};
    }
    case Basis::kStandardized: {
      IRENE_ASSIGN_OR_RETURN(std::vector<double> f, node_features(t, i, set));
      if (scaler) f = scaler->apply(f);
      f.insert(f.begin(), 1.0);
      return f;
    }
  }
  return Status::internal("unknown basis");
}

Basis leaf_basis(Method m, FeatureSet f) {
  if (m != Method::kAdditive) return Basis::kStandardized;
  return f == FeatureSet::kFull ? Basis::kPhysics : Basis::kCost;
}

}  // namespace

struct Predictor::Impl {
  TrainOptions options;
  std::string fingerprint;
  nlohmann::json metadata = nlohmann::json::object();
  std::map<std::string, MlRegressor> ml;  // by ML class
  // irene, stepwise, unstructured
  Standardizer node_scaler;
  TreeWeights weights;
  // additive: remainder of a parent, on (times, gpu energy) left over by its children
  // (full) or on the ops no child covers (model)
  std::vector<double> remainder_coef;

  // `extrapolated` (when given) is set when the node's type has no regressor of its own
  // and the fallback answered (see fallback_type).
  Result<double> predict_leaf(const tree::Tree& t, int i, bool* extrapolated = nullptr) const {
    auto it = ml.find(t.nodes[i].cls);
    if (it == ml.end() && extrapolated) it = ml.find(fallback_type(t.nodes[i]));
    if (it == ml.end())
      return Status::invalid_argument("the predictor has no regressor for ML op type '" + t.nodes[i].cls +
                                      "' (node '" + t.nodes[i].path + "')");
    if (extrapolated) *extrapolated = it->first != t.nodes[i].cls;
    IRENE_ASSIGN_OR_RETURN(std::vector<double> row,
                           basis_row(it->second.basis, &it->second.scaler, t, i, options.features));
    return dot(row, it->second.coef);
  }

  // The fallback for an ML type the training data never had (RMSNorm, SiLU, rotary
  // embeddings, fused attention, ...): the regressor of a type that does the same kind of
  // work, told apart by the node's arithmetic intensity. Above 1 FLOP per byte it
  // computes like a GEMM (Linear, or Conv1D where the data had no Linear); below, it
  // streams memory like a normalisation (LayerNorm). The regressor then reads the node's
  // own features (FLOPs, bytes, sizes).
  std::string fallback_type(const tree::Node& n) const {
    static const std::vector<std::string> kCompute = {"Linear", "Conv1D"}, kMemory = {"LayerNorm"};
    const bool compute = n.mem_bytes > 0 && static_cast<double>(n.flops) > static_cast<double>(n.mem_bytes);
    for (const std::string& type : compute ? kCompute : kMemory)
      if (ml.count(type)) return type;
    return ml.empty() ? std::string() : ml.begin()->first;
  }

  Result<std::vector<double>> phi(const tree::Tree& t, int i) const {
    IRENE_ASSIGN_OR_RETURN(std::vector<double> f, node_features(t, i, options.features));
    return polynomial3(node_scaler.apply(f));
  }

  Result<double> remainder(const tree::Tree& t, const EnergyView& v, int k) const {
    const int i = v.node[k];
    if (options.features == FeatureSet::kFull) {
      if (!t.nodes[i].measured) return node_features(t, i, FeatureSet::kFull).status();
      double dt = t.nodes[i].measured->times_mean_s, dg = gpu_energy_of(*t.nodes[i].measured);
      for (int c : v.children[k]) {
        const tree::Node& child = t.nodes[v.node[c]];
        if (!child.measured) return node_features(t, v.node[c], FeatureSet::kFull).status();
        dt -= child.measured->times_mean_s;
        dg -= gpu_energy_of(*child.measured);
      }
      return remainder_coef[0] * dt + remainder_coef[1] * dg;
    }
    const UncoveredOps u = uncovered_ops(t, i);
    return dot({u.kernels, u.views, u.flops, u.bytes}, remainder_coef);
  }
};

const char* method_name(Method m) {
  for (auto [k, name] : kMethodNames)
    if (k == m) return name;
  return "?";
}

Result<Method> method_from_name(std::string_view name) {
  for (auto [k, n] : kMethodNames)
    if (name == n) return k;
  std::string allowed;
  for (const auto& n : method_names()) allowed += (allowed.empty() ? "" : ", ") + n;
  return Status::invalid_argument("unknown method '" + std::string(name) + "' (allowed: " + allowed + ")");
}

std::vector<std::string> method_names() {
  std::vector<std::string> out;
  for (auto [k, n] : kMethodNames) out.emplace_back(n);
  return out;
}

Predictor::Predictor(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Method Predictor::method() const { return impl_->options.method; }
FeatureSet Predictor::features() const { return impl_->options.features; }
const std::string& Predictor::fingerprint() const { return impl_->fingerprint; }
void Predictor::set_fingerprint(std::string fingerprint) {
  auto copy = std::make_shared<Impl>(*impl_);
  copy->fingerprint = std::move(fingerprint);
  impl_ = std::move(copy);
}
const nlohmann::json& Predictor::metadata() const { return impl_->metadata; }
void Predictor::set_metadata(nlohmann::json metadata) {
  auto copy = std::make_shared<Impl>(*impl_);
  copy->metadata = std::move(metadata);
  impl_ = std::move(copy);
}

Result<Predictor> Predictor::train(const std::vector<const tree::Tree*>& trees, const TrainOptions& options) {
  if (trees.empty()) return Status::invalid_argument("no training trees");
  auto impl = std::make_shared<Impl>();
  impl->options = options;
  const Basis basis = leaf_basis(options.method, options.features);

  // ML leaves: one regressor per op type.
  struct Rows {
    std::vector<std::vector<double>> features;
    std::vector<double> energy;
  };
  std::map<std::string, Rows> by_type;
  for (const tree::Tree* t : trees) {
    for (size_t i = 0; i < t->nodes.size(); ++i) {
      const tree::Node& n = t->nodes[i];
      const double g = gold_of(n);
      if (!is_ml_leaf(n) || std::isnan(g)) continue;
      IRENE_ASSIGN_OR_RETURN(std::vector<double> f, basis == Basis::kStandardized
                                                        ? node_features(*t, static_cast<int>(i), options.features)
                                                        : basis_row(basis, nullptr, *t, static_cast<int>(i), options.features));
      by_type[n.cls].features.push_back(std::move(f));
      by_type[n.cls].energy.push_back(g);
    }
  }
  if (by_type.empty()) return Status::invalid_argument("the training data has no measured ML-level nodes");
  for (auto& [type, rows] : by_type) {
    MlRegressor r;
    r.basis = basis;
    std::vector<double> weights(rows.energy.size(), 1.0);
    if (basis == Basis::kStandardized) {
      r.scaler = Standardizer::fit(rows.features);
      for (auto& f : rows.features) {
        f = r.scaler.apply(f);
        f.insert(f.begin(), 1.0);
      }
    } else {
      for (size_t k = 0; k < weights.size(); ++k) weights[k] = 1.0 / (rows.energy[k] * rows.energy[k]);
    }
    IRENE_ASSIGN_OR_RETURN(r.coef, weighted_least_squares(rows.features, rows.energy, weights));
    impl->ml[type] = std::move(r);
  }

  switch (options.method) {
    case Method::kPredictedSum:
      break;
    case Method::kAdditive: {
      std::vector<std::vector<double>> x;
      std::vector<double> y, w;
      for (const tree::Tree* t : trees) {
        EnergyView v(*t);
        for (size_t k = 0; k < v.size(); ++k) {
          const tree::Node& n = t->nodes[v.node[k]];
          const double g = gold_of(n);
          if (v.leaf[k] || std::isnan(g)) continue;
          if (options.features == FeatureSet::kFull) {
            // The whole-machine energy of any node: rest-of-machine power x time + GPU energy.
            if (!n.measured) continue;
            x.push_back({n.measured->times_mean_s, gpu_energy_of(*n.measured)});
            y.push_back(g);
          } else {
            // What the children do not explain, against the ops no child runs.
            double children = 0;
            bool all_measured = true;
            for (int c : v.children[k]) {
              const double gc = gold_of(t->nodes[v.node[c]]);
              all_measured = all_measured && !std::isnan(gc);
              children += gc;
            }
            if (!all_measured) continue;
            const UncoveredOps u = uncovered_ops(*t, v.node[k]);
            x.push_back({u.kernels, u.views, u.flops, u.bytes});
            y.push_back(g - children);
          }
          w.push_back(1.0 / (g * g));
        }
      }
      IRENE_ASSIGN_OR_RETURN(impl->remainder_coef, weighted_least_squares(x, y, w));
      break;
    }
    case Method::kIrene:
    case Method::kStepwise:
    case Method::kUnstructured: {
      std::vector<std::vector<double>> all;
      for (const tree::Tree* t : trees)
        for (size_t i = 0; i < t->nodes.size(); ++i) {
          if (!is_energy_node(t->nodes[i])) continue;
          IRENE_ASSIGN_OR_RETURN(std::vector<double> f, node_features(*t, static_cast<int>(i), options.features));
          all.push_back(std::move(f));
        }
      impl->node_scaler = Standardizer::fit(all);
      std::vector<WeightTrainingTree> data;
      for (const tree::Tree* t : trees) {
        EnergyView v(*t);
        WeightTrainingTree wt;
        wt.parent = v.parent;
        wt.depth = v.depth;
        wt.leaf = v.leaf;
        for (size_t k = 0; k < v.size(); ++k) {
          const int i = v.node[k];
          IRENE_ASSIGN_OR_RETURN(std::vector<double> p, impl->phi(*t, i));
          wt.phi.push_back(std::move(p));
          double leaf = 0;
          if (v.leaf[k]) {
            IRENE_ASSIGN_OR_RETURN(leaf, impl->predict_leaf(*t, i));
          }
          wt.leaf_energy.push_back(leaf);
          wt.gold.push_back(gold_of(t->nodes[i]));
        }
        data.push_back(std::move(wt));
      }
      IRENE_ASSIGN_OR_RETURN(impl->weights, train_tree_weights(data, options.method, options));
      break;
    }
  }
  return Predictor(impl);
}

Status Predictor::predict(tree::Tree& t) const {
  const Impl& m = *impl_;
  EnergyView v(t);
  std::vector<double> e(v.size(), 0.0);
  std::vector<char> extrapolated(v.size(), 0);
  // Children come after their parent in pre-order: walking backwards finishes every
  // child before its parent.
  for (size_t k = v.size(); k-- > 0;) {
    const int i = v.node[k];
    if (v.leaf[k]) {
      bool fallback = false;
      IRENE_ASSIGN_OR_RETURN(e[k], m.predict_leaf(t, i, &fallback));
      extrapolated[k] = fallback;
      continue;
    }
    double sum = 0;
    switch (m.options.method) {
      case Method::kPredictedSum:
        for (int c : v.children[k]) sum += e[c];
        e[k] = sum;
        break;
      case Method::kAdditive: {
        for (int c : v.children[k]) sum += e[c];
        IRENE_ASSIGN_OR_RETURN(double r, m.remainder(t, v, static_cast<int>(k)));
        e[k] = sum + r;
        break;
      }
      case Method::kIrene:
      case Method::kStepwise:
        for (int c : v.children[k]) {
          IRENE_ASSIGN_OR_RETURN(std::vector<double> p, m.phi(t, v.node[c]));
          sum += (1.0 + std::tanh(dot(p, m.weights.w) + m.weights.b) / m.options.tau) * e[c];
        }
        e[k] = sum;
        break;
      case Method::kUnstructured: {
        IRENE_ASSIGN_OR_RETURN(std::vector<double> p, m.phi(t, i));
        e[k] = dot(p, m.weights.w) + m.weights.b;
        break;
      }
    }
  }
  std::set<std::string> unseen;
  for (size_t k = 0; k < v.size(); ++k) {
    tree::Node& n = t.nodes[v.node[k]];
    n.energy_j = e[k];
    n.extrapolated = extrapolated[k];
    if (extrapolated[k]) unseen.insert(n.cls + " (as " + m.fallback_type(n) + ")");
    if (v.leaf[k]) {
      n.energy_remainder_j.reset();
      continue;
    }
    double children = 0;
    for (int c : v.children[k]) children += e[c];
    n.energy_remainder_j = e[k] - children;
  }
  if (!unseen.empty()) {
    std::string types;
    for (const auto& u : unseen) types += (types.empty() ? "" : ", ") + u;
    t.notes.push_back("extrapolated: the predictor was trained without these ML types, predicted with the "
                      "regressor of a type of the same arithmetic intensity from their own features: " + types);
  }
  return Status::ok();
}

nlohmann::json Predictor::to_json() const {
  const Impl& m = *impl_;
  nlohmann::json ml = nlohmann::json::object();
  for (const auto& [type, r] : m.ml) {
    ml[type] = {{"basis", basis_name(r.basis)}, {"coef", r.coef}};
    if (r.basis == Basis::kStandardized) ml[type]["scaler"] = r.scaler.to_json();
  }
  nlohmann::json doc = {
      {"format", kFormat},
      {"irene_version", "0.1.0"},
      {"method", method_name(m.options.method)},
      {"feature_set", feature_set_name(m.options.features)},
      {"feature_names", feature_names(m.options.features)},
      {"seed", m.options.seed},
      {"training_data_fingerprint", m.fingerprint},
      {"ml", ml},
  };
  for (const auto& [key, value] : m.metadata.items()) doc[key] = value;
  if (m.options.method == Method::kIrene || m.options.method == Method::kStepwise ||
      m.options.method == Method::kUnstructured) {
    doc["tree"] = {{"scaler", m.node_scaler.to_json()},
                   {"polynomial_degree", 3},
                   {"w", m.weights.w},
                   {"b", m.weights.b},
                   {"tau", m.options.tau},
                   {"epochs", m.options.epochs},
                   {"learning_rate", m.options.learning_rate}};
  }
  if (m.options.method == Method::kAdditive) {
    doc["remainder"] = {{"basis", m.options.features == FeatureSet::kFull ? "times_and_gpu_energy_left_by_children"
                                                                          : "uncovered_ops"},
                        {"coef", m.remainder_coef}};
  }
  return doc;
}

Result<Predictor> Predictor::from_json(const nlohmann::json& doc) {
  auto impl = std::make_shared<Impl>();
  try {
    if (doc.value("format", "") != kFormat)
      return Status::corrupt(std::string("not an irene predictor (expected format \"") + kFormat + "\")");
    IRENE_ASSIGN_OR_RETURN(impl->options.method, method_from_name(doc.at("method").get<std::string>()));
    IRENE_ASSIGN_OR_RETURN(impl->options.features, feature_set_from_name(doc.at("feature_set").get<std::string>()));
    impl->options.seed = doc.value("seed", 0);
    impl->fingerprint = doc.value("training_data_fingerprint", "");
    for (const char* key : {"machine", "crossval_error_pct"})
      if (doc.contains(key)) impl->metadata[key] = doc[key];
    const Basis basis = leaf_basis(impl->options.method, impl->options.features);
    const size_t n_features = feature_names(impl->options.features).size();
    for (const auto& [type, r] : doc.at("ml").items()) {
      MlRegressor reg;
      reg.basis = basis;
      reg.coef = r.at("coef").get<std::vector<double>>();
      if (basis == Basis::kStandardized) {
        IRENE_ASSIGN_OR_RETURN(reg.scaler, Standardizer::from_json(r.at("scaler")));
        if (reg.scaler.mean.size() != n_features || reg.coef.size() != n_features + 1)
          return Status::corrupt("predictor: regressor '" + type + "' does not fit the feature set");
      }
      impl->ml[type] = std::move(reg);
    }
    if (doc.contains("tree")) {
      const auto& t = doc["tree"];
      IRENE_ASSIGN_OR_RETURN(impl->node_scaler, Standardizer::from_json(t.at("scaler")));
      impl->weights.w = t.at("w").get<std::vector<double>>();
      impl->weights.b = t.at("b").get<double>();
      impl->options.tau = t.at("tau").get<double>();
      if (impl->weights.w.size() != polynomial3(std::vector<double>(n_features, 0.0)).size())
        return Status::corrupt("predictor: tree weights do not fit the feature set");
    }
    if (doc.contains("remainder")) impl->remainder_coef = doc["remainder"].at("coef").get<std::vector<double>>();
    if (impl->options.method == Method::kAdditive &&
        impl->remainder_coef.size() != (impl->options.features == FeatureSet::kFull ? 2u : 4u))
      return Status::corrupt("predictor: remainder coefficients missing or of the wrong length");
  } catch (const nlohmann::json::exception& e) {
    return Status::corrupt(std::string("predictor: ") + e.what());
  }
  return Predictor(impl);
}

Result<Predictor> load_predictor(const std::string& path) {
  IRENE_ASSIGN_OR_RETURN(nlohmann::json doc, read_json_file(path, "predictor file"));
  return predictor_from_json(doc, path);
}

Result<Predictor> predictor_from_json(const nlohmann::json& doc, const std::string& where) {
  auto p = Predictor::from_json(doc);
  if (!p.is_ok()) return Status(p.status().code(), where + ": " + p.status().message());
  return p;
}

Status save_predictor(const Predictor& p, const std::string& path) {
  std::ofstream out(path);
  if (!out) return Status::io_error("cannot write predictor file '" + path + "'");
  out << p.to_json().dump(1) << "\n";
  if (!out) return Status::io_error("failed writing predictor file '" + path + "'");
  return Status::ok();
}

}  // namespace irene::predict
