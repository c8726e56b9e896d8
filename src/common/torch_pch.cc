// Anchors the precompiled <torch/torch.h> that torch-using targets reuse.
#include "common/torch_pch.h"
