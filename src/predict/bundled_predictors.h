// The predictors shipped inside the binary (predictors/*.json, trained on PC1).
#pragma once

#include "common/embedded.h"

namespace irene::predict {

const std::vector<EmbeddedFile>& bundled_predictors();

}  // namespace irene::predict
