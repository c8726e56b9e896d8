// Training the node weights of the paper's tree-structured methods with libtorch:
// alpha(c) = 1 + tanh(w . phi(c) + b) / tau, a parent's energy the alpha-weighted sum
// of its children's (End2End, StepWise), or a node's energy w . phi + b directly
// (Unstructured). The loss is the sum over supervised non-leaf nodes of
// ((predicted - measured) / measured)^2; Adam, one step per tree.
// This header is plain C++; the .cc holds the libtorch code.
#pragma once

#include <vector>

#include "common/status.h"
#include "predict/predictor.h"

namespace irene::predict {

// One training tree, flattened to its energy nodes in pre-order.
struct WeightTrainingTree {
  std::vector<std::vector<double>> phi;  // expanded features per node
  std::vector<int> parent;               // position of the parent, -1 for the root
  std::vector<int> depth;
  std::vector<bool> leaf;
  std::vector<double> leaf_energy;  // ML regressor's prediction at leaves
  std::vector<double> gold;         // measured energy, NaN when not measured
};

struct TreeWeights {
  std::vector<double> w;
  double b = 0;
};

Result<TreeWeights> train_tree_weights(const std::vector<WeightTrainingTree>& trees, Method method,
                                       const TrainOptions& options);

}  // namespace irene::predict
