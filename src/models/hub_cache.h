// The local Hugging Face cache, where huggingface_hub keeps downloaded models, so that a
// user who has downloaded a model can name it: models--ORG--NAME/snapshots/<rev>/config.json
// under $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. No libtorch here.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace irene::models {

// The cache folder the environment points to (it may not exist).
std::string hub_cache_dir();

// The config.json of `repo_id` ("ORG/NAME") in the cache under `cache_dir`: the snapshot
// refs/main names when it has a config.json, else the most recently modified snapshot
// that has one. NotFound says where it looked.
Result<std::string> find_cached_config(std::string_view repo_id, const std::string& cache_dir);

}  // namespace irene::models
