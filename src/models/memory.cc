#include "models/memory.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>


namespace irene::models {

namespace {

// Bytes of one element of a dtype as the tree names it.
int element_bytes(const std::string& dtype) {
  if (dtype == "float64" || dtype == "int64") return 8;
  if (dtype == "float16" || dtype == "bfloat16") return 2;
  if (dtype == "bool" || dtype == "uint8") return 1;
  return 4;
}

// Elements of the output in a math node's shapes ("[8,32,768] x [768,768] -> [8,32,768]").
double output_elements(const std::string& shapes) {
  const size_t arrow = shapes.rfind("-> [");
  if (arrow == std::string::npos) return 0;
  double n = 1;
  const char* p = shapes.c_str() + arrow + 4;
  while (*p && *p != ']') {
    char* end = nullptr;
    n *= std::strtod(p, &end);
    if (end == p) return 0;
    p = *end == ',' ? end + 1 : end;
  }
  return n;
}

}  // namespace

Result<MemoryEstimate> estimate_memory(const ModelConfig& config, const RunOptions& options) {
  RunOptions counting{options.batch_size, options.seq_len, /*shapes_only=*/true};
  counting.dtype = run_dtype(config, options);
  counting.attention = options.attention;
  IRENE_ASSIGN_OR_RETURN(tree::Tree t, trace_model(config, counting));
  MemoryEstimate e;
  const int bytes = element_bytes(counting.dtype);
  e.weights_bytes = bytes * static_cast<double>(t.root().num_parameters);
  if (config.is_decoder() && options.new_tokens > 0)
    e.kv_cache_bytes = static_cast<double>(
        kv_cache_bytes(config, options.batch_size, options.seq_len + options.new_tokens, bytes));
  for (const tree::Node& n : t.nodes) {
    // Views move no bytes and share their input's storage; in-place ops (add_) write into it.
    const bool allocates = n.kind == tree::NodeKind::kMath && n.mem_bytes > 0 && n.cls.back() != '_';
    if (!allocates) continue;
    const double bytes = output_elements(n.shapes) * element_bytes(n.dtype);
    e.outputs_bytes += bytes;
    e.largest_output_bytes = std::max(e.largest_output_bytes, bytes);
  }
  return e;
}

Status check_run_memory(const ModelConfig& config, const RunOptions& options, double available_bytes) {
  if (options.shapes_only || options.cuda) return Status::ok();
  IRENE_ASSIGN_OR_RETURN(MemoryEstimate e, estimate_memory(config, options));
  const std::string sizes = config.name + " at batch size " + std::to_string(options.batch_size) +
                            ", sequence length " + std::to_string(options.seq_len);
  if (options.keep_activations)
    return check_fits("profile " + sizes + " (it keeps every intermediate tensor of a forward pass)",
                      e.captured_bytes(), available_bytes, "try a smaller batch size or sequence length");
  return check_fits("run " + sizes + " with real weights", e.forward_peak_bytes(), available_bytes,
                    "try --shapes-only (no weights, no activations), or smaller sizes");
}

Status check_fits(const std::string& doing, double needed_bytes, double available_bytes, const std::string& advice) {
  if (needed_bytes <= 0.9 * available_bytes) return Status::ok();
  char figures[128];
  std::snprintf(figures, sizeof figures, "about %.1f GB, and %.1f GB are available", needed_bytes / 1e9,
                available_bytes / 1e9);
  return Status::invalid_argument("not enough memory to " + doing + ": it needs " + figures + "; " + advice);
}

}  // namespace irene::models
