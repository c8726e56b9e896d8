#include "serving/generation_tree.h"

#include <cmath>
#include <string>

#include "tree/combine.h"

namespace irene::serving {

namespace {

// Every node's work times `work`, its energy times `energy`, its predicted time times
// `time`: a tree of one prompt or one step made the tree of many.
void scale(tree::Tree& t, double work, double energy, double time) {
  for (tree::Node& n : t.nodes) {
    n.flops = static_cast<int64_t>(std::llround(static_cast<double>(n.flops) * work));
    n.mem_bytes = static_cast<int64_t>(std::llround(static_cast<double>(n.mem_bytes) * work));
    if (n.energy_j) *n.energy_j *= energy;
    if (n.energy_remainder_j) *n.energy_remainder_j *= energy;
    if (n.predicted_latency_s) *n.predicted_latency_s *= time;
  }
}

int add_phase(tree::Tree& g, const char* name, const char* cls, double energy_j, double time_s) {
  const int phase = static_cast<int>(g.nodes.size());
  tree::Node p{.path = name, .cls = cls, .kind = tree::NodeKind::kPhase, .depth = 1, .parent = 0};
  p.untraced = true;  // until a model's tree is grafted below it (fill_phase)
  p.energy_j = energy_j;
  p.predicted_latency_s = time_s;
  g.nodes.push_back(std::move(p));
  g.nodes[0].children.push_back(phase);
  return phase;
}

// Below `phase`, the model's tree of that phase; the phase's figures are its root's and
// its own energy the root's (nothing of the phase is outside the model).
void fill_phase(tree::Tree& g, int phase, const tree::Tree& model) {
  tree::graft(g, phase, model);
  tree::Node& p = g.nodes[static_cast<size_t>(phase)];
  p.untraced = false;
  const tree::Node& root = model.root();
  p.num_parameters = root.num_parameters;
  p.flops = root.flops;
  p.mem_bytes = root.mem_bytes;
  p.energy_remainder_j = 0.0;
  tree::Node& top = g.nodes[0];
  top.num_parameters = root.num_parameters;
  top.flops += root.flops;
  top.mem_bytes += root.mem_bytes;
}

}  // namespace

Result<tree::Tree> generation_tree(const ServingWorkload& w, const ServingEstimate& e, const machines::MachineSpec& m,
                                   const predict::RooflineParams& params) {
  const ServingConfig& s = w.config();
  const double b = static_cast<double>(s.batch_size), n = static_cast<double>(s.output_len);
  const double engines = static_cast<double>(s.pipeline_parallel);
  IRENE_ASSIGN_OR_RETURN(tree::Tree step, w.step_tree(m, params));
  IRENE_ASSIGN_OR_RETURN(tree::Tree prompt, w.prompt_tree(m, params));
  const double step_j = step.root().energy_j.value_or(0.0), prompt_j = prompt.root().energy_j.value_or(0.0);
  if (!(step_j > 0) || !(prompt_j > 0))
    return Status::internal("the decode step or the prefill of " + w.model().name + " was priced at no energy");

  // The batch's energy as the serving answer gives it, and its parts.
  const double total_j = b * e.energy_per_request_j;
  const double prefill_j = e.prefill_share * total_j;
  const double decode_j = n * engines * step_j;
  const double sample_j = n * engines * e.sampler_energy_j;
  const double engine_j = total_j - prefill_j - decode_j - sample_j;
  // The kernels the answer prices and the ones the trees price are the same: what is left
  // is the engine's time, never less than nothing (beyond rounding).
  if (engine_j < -1e-6 * total_j)
    return Status::internal("the decode steps' kernels (" + std::to_string(decode_j) + " J) and the prefills' (" +
                            std::to_string(prefill_j) + " J) exceed the serving answer's " + std::to_string(total_j) +
                            " J for " + w.model().name);
  // The wall time of the batch's generation: N iterations of the mean one, split as the
  // answer splits it.
  const ServingEstimate::TimeSplit& t = e.time_split;
  const double iterations = n;
  const double prefill_s = iterations * (t.prefill_s + t.admission_s);
  const double decode_s = iterations * t.decode_kernels_s;
  const double sample_s = iterations * t.sampler_s;
  const double engine_s = iterations * (t.decode_engine_s + t.host_wait_s);

  scale(prompt, b, prefill_j / prompt_j, prompt.root().predicted_latency_s.value_or(0.0) > 0
                                             ? prefill_s / *prompt.root().predicted_latency_s
                                             : 0.0);
  scale(step, n * engines, n * engines, n);

  tree::Tree g;
  g.model = w.model().name;
  g.batch_size = s.batch_size;
  g.seq_len = s.prompt_len;
  g.shapes_only = true;
  g.dtype = step.dtype;
  g.attention = step.attention;
  g.active_parameters = step.active_parameters;
  tree::Generation gen;
  gen.prompt_tokens = s.prompt_len;
  gen.new_tokens = s.output_len;
  const int kv_element = w.model().decoder.quantization.kv_cache_dtype.rfind("fp8", 0) == 0 ? 1
                         : step.dtype == "float32"                                          ? 4
                                                                                            : 2;
  gen.kv_cache_bytes = models::kv_cache_bytes(w.model(), s.batch_size, s.prompt_len + s.output_len, kv_element);
  gen.state_bytes = models::state_bytes(w.model(), s.batch_size, kv_element);
  g.generation = gen;
  tree::Node root{.path = "", .cls = "Generation", .kind = tree::NodeKind::kGeneration};
  root.energy_j = total_j;
  root.energy_remainder_j = 0.0;
  root.predicted_latency_s = prefill_s + decode_s + sample_s + engine_s;
  g.nodes.push_back(std::move(root));
  fill_phase(g, add_phase(g, "prefill", "Prefill", prefill_j, prefill_s), prompt);
  fill_phase(g, add_phase(g, "decode", "Decode", decode_j, decode_s), step);
  if (sample_j > 0) add_phase(g, "sample", "Sampler", sample_j, sample_s);
  add_phase(g, "engine", "EngineTime", std::max(0.0, engine_j), engine_s);

  char line[400];
  std::snprintf(line, sizeof line,
                "%lld requests, each a %lld-token prompt and %lld new tokens, as %s serves them at its steady state: "
                "%.4g J, %.4g J per output token",
                static_cast<long long>(s.batch_size), static_cast<long long>(s.prompt_len),
                static_cast<long long>(s.output_len), w.engine().name.c_str(), total_j, e.energy_per_output_token_j);
  g.notes.push_back(line);
  g.notes.push_back(
      "prefill: the prompts' share of the iterations' energy (they ride in decode iterations or run in their own), "
      "handed to one prompt's nodes in proportion to their kernels' cost alone; figures x " +
      std::to_string(s.batch_size) + " prompts");
  g.notes.push_back("decode: " + std::to_string(s.output_len) + " steps, each the step at the mean context (" +
                    std::to_string(s.prompt_len + s.output_len / 2) + " tokens)" +
                    (engines > 1 ? " of each of " + std::to_string(s.pipeline_parallel) + " virtual engines" : "") +
                    "; math nodes show one step's shapes");
  if (sample_j > 0)
    g.notes.push_back("sample: each iteration's sampler turning the running requests' logits into tokens (B x " +
                      std::to_string(w.model().vocab_size) + " values), on the GPUs, on no node of the model");
  g.notes.push_back(std::string("engine: the engine's own time (scheduling, ") +
                    (sample_j > 0 ? "" : "sampling, ") + "admitting prompts) and the GPUs' waits, on no node of the model");
  for (const std::string& note : step.notes)
    if (note.rfind("the step as ", 0) != 0) g.notes.push_back(note);
  return g;
}

}  // namespace irene::serving
