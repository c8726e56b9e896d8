// One /api/serving request, its parameters checked and typed (Api::serving_params):
// shared by the handlers that answer about a serving setup (/api/serving, /api/whatif).
#pragma once

#include <string>
#include <vector>

#include "machines/catalogue.h"
#include "models/config.h"
#include "serving/serving.h"
#include "tree/tree_format.h"

namespace irene::server {

struct ServingParams {
  models::ModelConfig config;
  serving::ServingConfig serving;
  machines::MachineSpec machine;
  tree::FormatOptions format;
  std::string format_key;
  std::string sweep;  // "", "batch_size" or "num_gpus"
  std::vector<int64_t> values;

  std::string key() const {
    std::string v;
    for (int64_t x : values) v += std::to_string(x) + ",";
    return config.name + "|" + machine.id + "|" + std::to_string(serving.num_gpus) + "|" +
           std::to_string(serving.pipeline_parallel) + "|" + std::to_string(serving.batch_size) + "|" + std::to_string(serving.prompt_len) + "|" +
           std::to_string(serving.output_len) + "|" + std::to_string(serving.run_requests) + "|" +
           std::to_string(serving.max_output_len) + "|" + serving.dtype + "|" + serving.engine + "|" +
           std::to_string(serving.data_parallel) + "|" + std::to_string(serving.expert_parallel) + "|" +
           serving.quantization + "|" + serving.kv_cache_dtype + "|" + serving.attention + "|" + std::to_string(serving.max_num_batched_tokens) +
           "|" + std::to_string(serving.prompt_cached_share) + "|" + format_key + "|" + sweep + "|" + v;
  }
};

}  // namespace irene::server
