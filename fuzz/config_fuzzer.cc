// libFuzzer harness over what a config sent to the server reaches: JSON parsing,
// parse_config, the request checks, a shapes-only tree (plain or a generation) and its
// writers. Any crash, hang, sanitizer report or uncaught exception is a finding. Seeded
// with the bundled configs (fuzz/CMakeLists.txt).
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DIRENE_FUZZ=ON
//   cmake --build build-fuzz && build-fuzz/fuzz/config_fuzzer -detect_leaks=0 CORPUS_DIR src/models/configs
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include <string_view>

#include "common/python_json.h"
#include "models/zoo.h"
#include "tree/tree_format.h"

namespace {

// Trees the limits allow but that take seconds to build (hundreds of layers, hundreds
// of experts) slow the search without reaching new code: a few of each cover every
// branch, so large counts in the input are cut down before parsing.
void shrink(nlohmann::json& doc, size_t size) {
  if (!doc.is_object()) return;
  const int64_t few = 2 + static_cast<int64_t>(size % 3);
  for (const char* key : {"num_hidden_layers", "n_layer", "n_layers", "num_local_experts", "num_experts",
                          "n_routed_experts"})
    if (doc.contains(key) && doc[key].is_number_integer() && doc[key].get<int64_t>() > 4) doc[key] = few;
  // Per-layer lists must match the layer count: dropped, the family's rule derives them.
  for (const char* key : {"layer_types", "mlp_only_layers", "no_rope_layers", "moe_layers", "mlp_layer_types",
                          "layers_block_type"})
    doc.erase(key);
  if (doc.contains("hybrid_override_pattern") && doc["hybrid_override_pattern"].is_string()) {
    std::string p = doc["hybrid_override_pattern"].get<std::string>();
    if (static_cast<int64_t>(p.size()) > few) doc["hybrid_override_pattern"] = p.substr(0, few);
    doc.erase("num_hidden_layers");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // As config.json files are written: Python's json module (Infinity, NaN).
  nlohmann::json doc = irene::parse_python_json(std::string_view(reinterpret_cast<const char*>(data), size));
  if (doc.is_discarded()) return 0;
  shrink(doc, size);
  if (doc.is_object() && doc.contains("text_config")) shrink(doc["text_config"], size);
  auto config = irene::models::parse_config(doc, "fuzz");
  if (!config.is_ok()) return 0;
  // Request sizes drawn from the input too, small enough that each input stays quick.
  irene::models::RunOptions o{static_cast<int64_t>(1 + size % 3), static_cast<int64_t>(1 + size % 13),
                              /*shapes_only=*/true};
  if (config->is_decoder()) {
    o.new_tokens = static_cast<int64_t>(size % 4);
    if (size % 7 == 0) o.attention = "eager";
  }
  if (!irene::models::validate_run(*config, o).is_ok()) return 0;
  // Wide models (huge hidden sizes) cost nothing on the meta device but build slowly.
  if (config->hidden_size * config->num_layers > (int64_t{1} << 20)) return 0;
  auto tree = irene::models::trace_model(*config, o);
  if (tree.is_ok()) {
    (void)irene::tree::to_json(*tree).dump();
    (void)irene::tree::to_csv(*tree);
  }
  return 0;
}
