#include "predict/tree_weights.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace irene::predict {

namespace {

struct Level {
  at::Tensor child, parent;  // positions of the nodes at one depth and of their parents
};

struct Tensors {
  at::Tensor phi, leaf_energy, gold, supervised;
  std::vector<Level> levels;  // deepest first
  at::Tensor gold_children, gold_parents;  // StepWise: children with a measurement
};

at::Tensor vec(const std::vector<double>& v) { return torch::tensor(v, torch::kDouble); }
at::Tensor idx(const std::vector<int64_t>& v) { return torch::tensor(v, torch::kLong); }

Tensors to_tensors(const WeightTrainingTree& t) {
  const size_t n = t.phi.size();
  const size_t p = t.phi.front().size();
  Tensors out;
  std::vector<double> flat;
  flat.reserve(n * p);
  for (const auto& row : t.phi) flat.insert(flat.end(), row.begin(), row.end());
  out.phi = vec(flat).view({static_cast<int64_t>(n), static_cast<int64_t>(p)});
  std::vector<double> leaf(n, 0.0), gold(n, 1.0), sup(n, 0.0);
  std::vector<int64_t> gc, gp;
  for (size_t i = 0; i < n; ++i) {
    if (t.leaf[i]) leaf[i] = t.leaf_energy[i];
    const bool measured = !std::isnan(t.gold[i]) && t.gold[i] > 0;
    if (measured) gold[i] = t.gold[i];
    if (measured && !t.leaf[i]) sup[i] = 1.0;
    if (measured && t.parent[i] >= 0) {
      gc.push_back(static_cast<int64_t>(i));
      gp.push_back(t.parent[i]);
    }
  }
  out.leaf_energy = vec(leaf);
  out.gold = vec(gold);
  out.supervised = vec(sup);
  out.gold_children = idx(gc);
  out.gold_parents = idx(gp);
  const int max_depth = *std::max_element(t.depth.begin(), t.depth.end());
  for (int d = max_depth; d >= 1; --d) {
    std::vector<int64_t> c, par;
    for (size_t i = 0; i < n; ++i)
      if (t.depth[i] == d && t.parent[i] >= 0) {
        c.push_back(static_cast<int64_t>(i));
        par.push_back(t.parent[i]);
      }
    if (!c.empty()) out.levels.push_back({idx(c), idx(par)});
  }
  return out;
}

// Predicted energies of every node, bottom-up, from the leaves' predictions.
at::Tensor propagate(const Tensors& t, const at::Tensor& alpha) {
  at::Tensor pe = t.leaf_energy;
  for (const Level& l : t.levels) pe = pe.index_add(0, l.parent, alpha.index_select(0, l.child) * pe.index_select(0, l.child));
  return pe;
}

}  // namespace

Result<TreeWeights> train_tree_weights(const std::vector<WeightTrainingTree>& trees, Method method,
                                       const TrainOptions& options) {
  if (trees.empty()) return Status::invalid_argument("no training trees");
  torch::manual_seed(options.seed);
  std::vector<Tensors> data;
  data.reserve(trees.size());
  for (const auto& t : trees) data.push_back(to_tensors(t));

  const int64_t p = data.front().phi.size(1);
  const double bound = 1.0 / std::sqrt(static_cast<double>(p));  // torch.nn.Linear's initialisation
  at::Tensor w = torch::empty({p}, torch::kDouble).uniform_(-bound, bound).requires_grad_(true);
  at::Tensor b = torch::empty({1}, torch::kDouble).uniform_(-bound, bound).requires_grad_(true);
  torch::optim::Adam adam({w, b}, torch::optim::AdamOptions(options.learning_rate));

  std::vector<size_t> order(data.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(options.seed);
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t k : order) {
      const Tensors& t = data[k];
      at::Tensor lin = t.phi.matmul(w) + b;
      at::Tensor pe;
      if (method == Method::kUnstructured) {
        pe = lin;
      } else {
        at::Tensor alpha = 1.0 + torch::tanh(lin) / options.tau;
        if (method == Method::kStepwise) {
          pe = torch::zeros_like(t.gold).index_add(
              0, t.gold_parents, alpha.index_select(0, t.gold_children) * t.gold.index_select(0, t.gold_children));
        } else {
          pe = propagate(t, alpha);
        }
      }
      at::Tensor loss = (((pe - t.gold) / t.gold).pow(2) * t.supervised).sum();
      adam.zero_grad();
      loss.backward();
      adam.step();
    }
  }
  TreeWeights out;
  at::Tensor wd = w.detach().contiguous();
  out.w.assign(wd.data_ptr<double>(), wd.data_ptr<double>() + p);
  out.b = b.detach().item<double>();
  return out;
}

}  // namespace irene::predict
