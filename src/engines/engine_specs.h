// The engine description files shipped inside the binary (src/engines/specs/).
#pragma once

#include "common/embedded.h"

namespace irene::engines {

const std::vector<EmbeddedFile>& engine_spec_files();

}  // namespace irene::engines
