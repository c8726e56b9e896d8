// One answer of `irene serving` and /api/serving, made the same way at both edges: the
// engine (asked for, or the default for the machine: serving/predictor.h), the predictor
// of that machine and engine, the memory check (a batch the KV cache cannot hold is
// capped to the largest that it can, and the answer says so), the estimate and the
// step's tree.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "common/status.h"
#include "serving/memory.h"
#include "serving/predictor.h"
#include "serving/serving.h"
#include "tree/tree.h"

namespace irene::serving {

struct Answer {
  nlohmann::json doc;            // serving_answer's, with "memory"
  ServingConfig served;          // as estimated: the engine named, the batch capped
  ServingEstimate estimate;
  MachinePredictor predictor;
  std::optional<tree::Tree> step;        // WithTree::kStep
  std::optional<tree::Tree> generation;  // WithTree::kGeneration (serving/generation_tree.h)
};

// Which tree an answer carries: none (sweeps), the steady-state decode step, or the
// batch's whole generation (prefill, decode steps, the engine's time).
enum class WithTree { kNone, kStep, kGeneration };

Result<Answer> answer(const models::ModelConfig& config, const machines::MachineSpec& machine, ServingConfig serving,
                      const std::vector<ServingPredictor>& available, const ServingPredictor* chosen = nullptr,
                      WithTree with = WithTree::kStep);

}  // namespace irene::serving
