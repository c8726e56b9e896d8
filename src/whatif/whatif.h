// What if: two serving setups of a model, or two architectures, side by side node by
// node. Side B is side A with changes: the machine, the GPUs and their layout, the batch,
// the engine, the weight and KV formats, and edits of the model's config.json (GQA
// groups, MLP width, activation, experts and top-k, layer types: any key the family
// reads). Each side is answered as `irene serving` answers it (serving/answer.h) and its
// steady-state decode step's tree compared with the other's per output token: the tree
// of differences, largest first, and the same summed over the layers a node repeats in.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "machines/catalogue.h"
#include "models/config.h"
#include "serving/answer.h"
#include "serving/predictor.h"

namespace irene::whatif {

struct Side {
  models::ModelConfig config;
  machines::MachineSpec machine;
  serving::ServingConfig serving;
};

// The serving fields a change may name (the API's and the CLI's), and the config edits
// ("config.KEY", KEY a config.json key, "text_config.KEY" inside a nested config).
const std::vector<std::string>& changeable_fields();

// `a` with `changes` ("machine=b200", "quantization=fp8", "expert_parallel=true",
// "config.num_key_value_heads=4"); a value is read as JSON where it parses (numbers,
// true/false, null), else as a string. Errors name the change and what is allowed.
Result<Side> changed(const Side& a, const std::vector<std::pair<std::string, std::string>>& changes,
                     std::vector<std::string>* notes = nullptr);

// One node of both steps, energies per output token (a node's step energy over the
// step's tokens); absent on a side: 0 there and `in_a`/`in_b` false.
struct NodeDiff {
  std::string path, cls;
  double a_j = 0, b_j = 0;
  bool in_a = false, in_b = false;
  std::vector<NodeDiff> children;  // largest |b - a| first
  double delta() const { return b_j - a_j; }
};

// A node kind summed over the layers it repeats in ("model.layers.*.mlp.down_proj").
struct KindDiff {
  std::string path, cls;
  double a_j = 0, b_j = 0;
};

struct Comparison {
  serving::Answer a, b;
  std::vector<std::pair<std::string, std::string>> changes;
  NodeDiff root;
  std::vector<KindDiff> by_kind;  // largest |b - a| first
  // What a reader must know: config keys the config did not have (the family may not
  // read them: a misspelt key changes nothing).
  std::vector<std::string> notes;
};

Result<Comparison> compare(const Side& a, const std::vector<std::pair<std::string, std::string>>& changes,
                           const std::vector<serving::ServingPredictor>& available);

// "KEY=VALUE" -> {KEY, VALUE}; errors say the form.
Result<std::pair<std::string, std::string>> parse_change(const std::string& text);

// {"a", "b" (each side's serving answer), "changes", "notes", "tree" (to max_depth; -1
// all), "by_kind" (the first `kinds`)}.
nlohmann::json to_json(const Comparison& c, int max_depth, size_t kinds = 12);

}  // namespace irene::whatif
