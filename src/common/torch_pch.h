// The one heavy header, precompiled once and reused by every target that includes
// libtorch (see irene_use_torch in src/common/CMakeLists.txt).
#pragma once
#include <torch/torch.h>
