// libFuzzer harness over what a config sent to the server reaches: JSON parsing,
// parse_config, the request checks, a shapes-only tree (plain or a generation) and its
// writers. Any crash, hang, sanitizer report or uncaught exception is a finding. Seeded
// with the bundled configs (fuzz/CMakeLists.txt).
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DIRENE_FUZZ=ON
//   cmake --build build-fuzz && build-fuzz/fuzz/config_fuzzer -detect_leaks=0 CORPUS_DIR src/models/configs
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "models/zoo.h"
#include "tree/tree_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json doc = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  // Trees the limits allow but that take seconds to build (hundreds of layers, hundreds
  // of experts) slow the search without reaching new code: a few of each cover every
  // branch, so large counts in the input are cut down before parsing.
  if (doc.is_object()) {
    for (const char* key : {"num_hidden_layers", "n_layer", "n_layers", "num_local_experts", "num_experts"})
      if (doc.contains(key) && doc[key].is_number_integer() && doc[key].get<int64_t>() > 4) doc[key] = 2 + size % 3;
    for (const char* key : {"layer_types", "mlp_only_layers"}) doc.erase(key);  // they must match the layer count
  }
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
