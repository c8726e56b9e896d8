// Reading and writing one JSON document as a file, with errors that name the file and
// what it was meant to hold ("cannot read serving predictor 'x': No such file ...").
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace irene {

// The document in `path`; `what` names it in errors ("latency predictor").
Result<nlohmann::json> read_json_file(const std::string& path, const std::string& what);
// Writes `doc` indented by two spaces, with a final newline.
Status write_json_file(const nlohmann::json& doc, const std::string& path);

}  // namespace irene
