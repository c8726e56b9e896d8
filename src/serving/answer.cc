#include "serving/answer.h"

#include <cstdio>

#include "serving/generation_tree.h"

namespace irene::serving {

Result<Answer> answer(const models::ModelConfig& config, const machines::MachineSpec& machine, ServingConfig s,
                      const std::vector<ServingPredictor>& available, const ServingPredictor* chosen, WithTree with) {
  IRENE_RETURN_IF_ERROR(validate(s));
  if (s.engine.empty()) s.engine = chosen ? chosen->engine : default_engine(machine, available);
  IRENE_ASSIGN_OR_RETURN(engines::Engine engine, engines::find_engine(s.engine));
  Answer a;
  IRENE_ASSIGN_OR_RETURN(a.predictor, predictor_for(machine, available, chosen, engine.id));
  // Built at the batch asked, then re-priced at the batch the memory holds (engines that
  // lower a step read the memory's figures off this workload's trace). A batch that cannot
  // be built as asked (say, one the token budget leaves no room beside) may still be
  // capped to one that can: its memory is traced on its own.
  Result<ServingWorkload> w = ServingWorkload::build(config, s);
  nlohmann::json memory = nullptr;
  if (config.is_decoder() && machine.memory_bytes) {
    IRENE_ASSIGN_OR_RETURN(MemoryFit fit, w.is_ok() ? memory_fit(*w, config, machine) : memory_fit(config, s, machine));
    memory = to_json(fit);
    const int64_t asked = s.batch_size;
    memory["requested_batch"] = asked;
    memory["fits"] = fit.max_batch >= 1;
    memory["batch_capped"] = false;
    char note[320];
    if (fit.max_batch < 1) {
      std::snprintf(note, sizeof note,
                    "the weights (%.1f GB) and activations (%.1f GB) exceed what %s gives itself on %d GPUs (%.1f GB): "
                    "the figures are for a machine with the memory to run it; more GPUs or quantised weights would fit",
                    fit.weights_bytes / 1e9, fit.activation_bytes / 1e9, engine.id.c_str(), s.num_gpus,
                    fit.memory_bytes / 1e9);
      memory["note"] = note;
    } else if (asked > fit.max_batch && fit.max_batch >= s.pipeline_parallel) {
      s.batch_size = fit.max_batch;
      w = w.is_ok() ? w->resized(s.batch_size, s.num_gpus, s.data_parallel, s.expert_parallel, s.pipeline_parallel)
                    : ServingWorkload::build(config, s);
      memory["batch_capped"] = true;
      std::snprintf(note, sizeof note,
                    "%lld running requests do not fit the KV cache (%.1f MB each at the mean context): the engine "
                    "runs at most %lld, and the figures are for %lld",
                    static_cast<long long>(asked), fit.kv_bytes_per_request / 1e6,
                    static_cast<long long>(fit.max_batch), static_cast<long long>(fit.max_batch));
      memory["note"] = note;
    }
  }
  if (!w.is_ok()) return w.status();
  IRENE_ASSIGN_OR_RETURN(a.estimate, w->estimate(machine, a.predictor.params));
  a.served = w->config();
  a.doc = serving_answer(config, machine, a.served, a.estimate, a.predictor);
  a.doc["engine_name"] = engine.name;
  a.doc["memory"] = std::move(memory);
  if (with == WithTree::kStep) {
    IRENE_ASSIGN_OR_RETURN(tree::Tree t, w->step_tree(machine, a.predictor.params));
    a.step = std::move(t);
  } else if (with == WithTree::kGeneration) {
    IRENE_ASSIGN_OR_RETURN(tree::Tree t, generation_tree(*w, a.estimate, machine, a.predictor.params));
    a.generation = std::move(t);
  }
  return a;
}

}  // namespace irene::serving
