#include "serving/tree_on_machine.h"

#include "serving/answer.h"
#include "serving/memory.h"

namespace irene::serving {


Result<MachineTree> tree_on_machine(const models::ModelConfig& config, const models::RunOptions& run,
                                    const machines::MachineSpec& machine, int num_gpus,
                                    const std::vector<ServingPredictor>& available) {
  MachineTree out;
  if (machine.kind == "gpu" && config.is_decoder() && run.new_tokens > 0 && !run.decode_step && !run.prefill_only) {
    ServingConfig s;
    s.batch_size = run.batch_size;
    s.prompt_len = run.seq_len;
    s.output_len = run.new_tokens;
    s.dtype = run.dtype;
    s.size_limits = run.size_limits;
    s.engine = default_engine(machine, available);
    if (machine.memory_bytes) {
      // The fewest GPUs (1, 2, 4, ... 64) whose memory holds the weights and this batch.
      s.num_gpus = 1;
      IRENE_ASSIGN_OR_RETURN(MemoryFit needs, memory_fit(config, s, machine));
      IRENE_ASSIGN_OR_RETURN(engines::Engine engine, engines::find_engine(s.engine));
      out.gpus_needed = fewest_gpus(needs, machine, engine.gpu_memory_utilization, s.batch_size, 64);
    }
    s.num_gpus = num_gpus > 0 ? num_gpus : (out.gpus_needed > 0 ? std::min(out.gpus_needed, 8) : 8);
    if (out.gpus_needed == 0 || out.gpus_needed > s.num_gpus)
      out.memory_note = config.name + " at batch " + std::to_string(s.batch_size) + " needs " +
                        (out.gpus_needed ? std::to_string(out.gpus_needed) : std::string("more than 64")) + " x " +
                        machine.name + " to hold its weights and KV cache; the figures are for " +
                        std::to_string(s.num_gpus) + " of them with the memory to run it";
    IRENE_ASSIGN_OR_RETURN(Answer a, answer(config, machine, s, available, nullptr, WithTree::kGeneration));
    out.tree = std::move(*a.generation);
    out.basis = a.predictor.basis;
    out.num_gpus = a.served.num_gpus;
    out.engine = a.served.engine;
    out.serving = std::move(a.doc);
    return out;
  }
  IRENE_ASSIGN_OR_RETURN(MachinePredictor mp, predictor_for(machine, available, nullptr, engines::kLegacyEngineId));
  IRENE_ASSIGN_OR_RETURN(out.tree, models::trace_model(config, run));
  out.num_gpus = std::max(1, num_gpus);
  predict::RooflineOptions ro{out.num_gpus};
  // One layer's hidden states, all-reduced twice per layer under tensor parallelism.
  const int64_t tokens = run.batch_size * (run.new_tokens > 0 ? 1 : run.seq_len);
  ro.layer_activation_bytes =
      static_cast<double>(tokens * config.hidden_size) * (out.tree.dtype == "float32" ? 4 : 2);
  // A plain forward pass launches its kernels one by one.
  IRENE_ASSIGN_OR_RETURN(double latency,
                         predict::predict_roofline(out.tree, machine, predict::launched_kernels(mp.params), ro));
  out.basis = "roofline, parameters " + mp.basis + " (a serving engine's own time per iteration is not part of a tree)";
  out.tree.notes.push_back(out.basis);
  out.tree.notes.push_back("predicted latency of the whole tree: " + std::to_string(latency * 1e3) + " ms");
  return out;
}

}  // namespace irene::serving
