// A model's tree on a catalogued machine, as `irene predict --machine` and /api/energy give
// it: for a decoder LLM that generates (new_tokens > 0), the batch's generation as the
// machine's default engine serves it at its steady state (serving/generation_tree.h:
// prefill, decode steps and the engine's time; node energies are the engine's kernels'
// costs handed to the nodes they cover, summing to the batch x `irene serving`'s energy per
// request at the same batch), on the fewest GPUs whose memory holds the weights and the
// batch's KV cache; otherwise every node priced by the roofline as transformers' forward
// pass launches it (the vLLM 0.5.4 calibration, whose kernels are those aten ops); a
// machine without the figures the roofline needs is refused, saying which.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "machines/catalogue.h"
#include "models/config.h"
#include "models/zoo.h"
#include "serving/predictor.h"
#include "tree/tree.h"

namespace irene::serving {

struct MachineTree {
  tree::Tree tree;
  std::string basis;      // what the energies rest on
  int num_gpus = 1;
  std::string engine;     // the engine whose kernels were priced; "" for a plain forward pass
  // Decoders under an engine: the serving answer at this batch (figures with intervals,
  // the memory check); null otherwise.
  nlohmann::json serving;
  // The fewest GPUs of this machine whose memory holds the model at this batch (0: more
  // than 64), and a sentence when the answer's GPUs do not.
  int gpus_needed = 1;
  std::string memory_note;
};

// `num_gpus` 0: the fewest that hold it (at most 8; more are said, and 8 are priced).
Result<MachineTree> tree_on_machine(const models::ModelConfig& config, const models::RunOptions& run,
                                    const machines::MachineSpec& machine, int num_gpus,
                                    const std::vector<ServingPredictor>& available);

}  // namespace irene::serving
