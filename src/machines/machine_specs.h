// The machine spec files shipped inside the binary (src/machines/specs/).
#pragma once

#include "common/embedded.h"

namespace irene::machines {

const std::vector<EmbeddedFile>& machine_spec_files();

}  // namespace irene::machines
