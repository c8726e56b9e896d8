// The model zoo: bundled Hugging Face configs, and the runner that builds a model from
// a config with the libtorch C++ frontend and traces its forward pass into a tree.
// This is the models component's public header; it keeps libtorch out.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "models/config.h"
#include "tree/tree.h"

namespace irene::trace {
class Recorder;
}

namespace irene::models {

// Names of the bundled models ("bert-base-uncased", "gpt2", ...), sorted.
std::vector<std::string> bundled_model_names();
// The bundled config of `name`; NotFound names the models that exist.
Result<ModelConfig> bundled_config(std::string_view name);
// A bundled name, or else a path to a config.json.
Result<ModelConfig> resolve_config(const std::string& name_or_path);
// A bundled model, or else a Hub id ("ORG/NAME") found in the local Hugging Face cache
// (see hub_cache.h; `cache_dir` empty: the one the environment names). NotFound says
// both where it looked and what to do.
Result<ModelConfig> find_model(const std::string& name, const std::string& cache_dir = "");

struct ModelSummary {
  std::string name, family, model_type;
  int64_t layers = 0, hidden_size = 0, heads = 0, parameters = 0, max_seq_len = 0;
  bool decoder = false;  // a decoder LLM family: generates (new_tokens), has dtype and attention choices
  // The parameters one token passes through: all but the routed experts it is not sent
  // to (embeddings and lm_head included). Equal to parameters for dense models.
  int64_t active_parameters = 0;
  // Multi-token-prediction layers the checkpoint holds and irene does not build, and their
  // parameters where the family's layout says them (DeepSeek's); counted apart.
  int64_t mtp_layers = 0;
  std::optional<int64_t> mtp_parameters;
  std::string weights;  // how the checkpoint stores its weights ("bfloat16", "fp8_e4m3 (128x128 blocks)", ...)
};
// {"name", "family", "model_type", "layers", "hidden_size", "heads", "parameters",
// "active_parameters", "mtp_layers", "mtp_parameters", "weights", "max_seq_len",
// "decoder"}: the row of `irene models --format json` and GET /api/models.
nlohmann::json to_json(const ModelSummary& s);

// Counts parameters from shapes alone (no weights allocated).
Result<ModelSummary> summarize(const ModelConfig& config);

struct RunOptions {
  int64_t batch_size = 1;
  int64_t seq_len = 128;
  bool shapes_only = false;   // meta tensors: no weights or activations, no latency
  std::string weights_path;   // optional model.safetensors with real weights
  uint64_t seed = 0;          // random weights and input ids
  bool cuda = false;          // run on the first CUDA GPU (needs a libtorch with CUDA)
  bool keep_activations = false;  // trace_captured() will keep every op's inputs (profiles)
  // Decoder families only:
  std::string dtype;          // "float32", "bfloat16", "float16"; "" = the config's torch_dtype
                              // for shapes-only runs, float32 for real ones
  std::string attention;      // "sdpa" (default, as current transformers) or "eager"
  int64_t new_tokens = 0;     // > 0: a generation, a prefill then this many decode steps
  std::optional<int64_t> decode_step;  // with new_tokens: the tree of this decode step alone
  bool prefill_only = false;           // with new_tokens: the tree of the prefill step alone
  // Shapes-only forward passes, decode steps and prefills: each distinct decoder layer
  // traced once and counted in Tree::multiplicity instead of copied (see tree.h).
  bool compact_layers = false;
  // check_tree_size's limits, for untrusted requests (the server); the CLI serves any real model.
  bool size_limits = true;
};

// The element type a run uses (see RunOptions::dtype).
std::string run_dtype(const ModelConfig& config, const RunOptions& options);

// One layer's cache per sequence after `positions` positions, at its stored size: what
// grows with the context (an attention layer's keys and values, of its key/value heads
// only and only the window or chunk it still reads; MLA's latent and rotary key and the
// indexer's keys) and the constant state of a recurrent layer (Mamba-2's and DeltaNet's
// convolution inputs and recurrent state, the latter in float32). Defined in generation.cc.
struct LayerCacheBytes {
  int64_t growing = 0, state = 0;
};
LayerCacheBytes layer_cache_bytes(const ModelConfig& config, int64_t layer, int64_t positions, int element_bytes);
// The whole cache of `batch` sequences holding `positions` positions each, states included.
int64_t kv_cache_bytes(const ModelConfig& config, int64_t batch, int64_t positions, int element_bytes);
// The constant-size part of it: the recurrent layers' states.
int64_t state_bytes(const ModelConfig& config, int64_t batch, int element_bytes);

// Checks sizes against what the config allows; errors say what is allowed. Includes
// check_tree_size.
Status validate_run(const ModelConfig& config, const RunOptions& options);

// What one tree may cost to build, whatever a config says (configs are untrusted input
// on the server): about kMaxTreeNodes nodes, kMaxParameters parameters, kMaxTokens
// tokens, and FLOP and byte counts that stay far inside 64-bit integers. Sized on the
// work the tree does: the tokens it runs (one decode step: its batch; a prefill: its
// prompts; a generation: all of them) and, for a compact trace, its distinct layers.
// Estimated from the config alone, before any work; the error says which limit and by
// how much. Off where RunOptions::size_limits is (trusted callers: the CLI).
inline constexpr double kMaxTreeNodes = 300'000;
inline constexpr double kMaxParameters = 1e13;
inline constexpr double kMaxTokens = 1 << 22;
inline constexpr double kMaxCountedFlops = 1e18;
Status check_tree_size(const ModelConfig& config, const RunOptions& options);
// Ok when CUDA can be used (`cuda_available`: a libtorch with CUDA and a visible GPU);
// otherwise the reason, the same wherever CUDA is asked for.
Status require_cuda(bool cuda_available);

// A built model, ready to run. Not thread-safe: one forward pass at a time.
class ModelRunner {
 public:
  static Result<std::unique_ptr<ModelRunner>> create(const ModelConfig& config, const RunOptions& options);
  ~ModelRunner();

  // One forward pass with the tracer on, or with new_tokens a generation (a prefill and
  // its decode steps, see generation.h); returns the tree with every feature.
  Result<tree::Tree> trace();
  // The same forward pass with the tracer off (for measuring the tracer's overhead).
  Status run_untraced();

  // A traced pass that also keeps, per node, a closure re-running that node alone with
  // the inputs it had (indexed like tree.nodes; empty for math nodes). The closures hold
  // the pass's activations and the model alive; drop them when done.
  struct CapturedRun {
    tree::Tree tree;
    std::vector<std::function<void()>> replays;
  };
  Result<CapturedRun> trace_captured();
  // Runs a captured node `times` times, untraced, in inference mode.
  static Status run_replay(const std::function<void()>& replay, int times);
  // Whether the linked libtorch can use a CUDA GPU here.
  static bool cuda_available();
  // libtorch's intra-op threads for CPU work in this process (torch.set_num_threads);
  // libtorch's own default is the number of physical cores it detects.
  static void set_cpu_threads(int threads);
  static int cpu_threads();

  const ModelConfig& config() const;
  const RunOptions& options() const;

 private:
  struct Impl;
  explicit ModelRunner(std::unique_ptr<Impl> impl);
  Status forward_into(trace::Recorder& recorder);
  std::unique_ptr<Impl> impl_;
};

// create() then trace().
Result<tree::Tree> trace_model(const ModelConfig& config, const RunOptions& options);

}  // namespace irene::models
