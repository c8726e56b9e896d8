// JSON as Python's json module writes it. Python writes float('inf') and float('nan')
// as the bare words Infinity, -Infinity and NaN, which strict JSON (and nlohmann's
// parser) refuses; transformers' config.json files hold them (Nemotron-H's
// "time_step_limit": [0.0, Infinity]) and transformers reads them back. No libtorch here.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace irene {

// Parses `text`, reading Infinity, -Infinity and NaN outside strings as the double
// values Python gives them. Returns a discarded value (is_discarded()) on malformed
// text, as nlohmann::json::parse(text, nullptr, false) does.
nlohmann::json parse_python_json(std::string_view text);

}  // namespace irene
