// The config.json files shipped inside the binary (src/models/configs/).
#pragma once

#include <string_view>
#include <vector>

namespace irene::models {

struct BundledConfig {
  std::string_view name;  // Hugging Face model id, e.g. "bert-base-uncased"
  std::string_view json;  // the config.json text
};

const std::vector<BundledConfig>& bundled_configs();

}  // namespace irene::models
