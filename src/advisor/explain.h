// Why the advisor's pick spends what it does: its full serving answer (figures with
// intervals, the memory check, the basis) as `irene serving` gives it for that setup,
// where its time goes, and the nodes of its decode step that spend the most energy,
// each summed over the layers it repeats in.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "advisor/advisor.h"
#include "serving/answer.h"

namespace irene::advisor {

struct NodeShare {
  std::string path;  // Hugging Face's path, layer indices as "*" ("model.layers.*.mlp.down_proj")
  std::string cls;
  double energy_j = 0;  // summed over its copies, one decode step
  double share = 0;     // of the step's energy
  int copies = 0;
};

struct Explanation {
  serving::Answer answer;          // the setup as `irene serving` answers it, with its step tree
  std::vector<NodeShare> top_nodes;  // the five costliest, largest first
  std::string time_split;          // "decode kernels 61 %, the engine 30 %, prefill 9 %"
};

Result<Explanation> explain(const models::ModelConfig& config, const Candidate& pick, const Request& request,
                            const std::vector<serving::ServingPredictor>& available, size_t top = 5);

// The costliest of a step tree's lowest nodes above its math ops (ML leaves, and modules
// that run math ops alone), each summed over the layers it repeats in.
std::vector<NodeShare> costliest_nodes(const tree::Tree& step, size_t top);

nlohmann::json to_json(const Explanation& e);

}  // namespace irene::advisor
