// The config.json files shipped inside the binary (src/models/configs/).
#pragma once

#include "common/embedded.h"

namespace irene::models {

const std::vector<EmbeddedFile>& bundled_configs();

}  // namespace irene::models
