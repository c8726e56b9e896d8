// Tests only: writes tensors as a safetensors file (float32), as Hugging Face saves them.
#pragma once

#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace irene::models::testing {

// Writes `tensors` (name -> float tensor) to `path`, every key prefixed with `prefix`.
inline void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                              const std::string& prefix = "") {
  nlohmann::json header = {{"__metadata__", {{"format", "pt"}}}};
  int64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const int64_t bytes = t.numel() * 4;
    header[prefix + name] = {{"dtype", "F32"}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << text;
  for (const auto& [name, t] : tensors) {
    at::Tensor c = t.contiguous();
    out.write(static_cast<const char*>(c.data_ptr()), c.numel() * 4);
  }
}

}  // namespace irene::models::testing
