#include "models/weights.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace irene::models {

namespace {

// Prefixes that Hugging Face task models put before the base model's keys.
constexpr const char* kPrefixes[] = {"bert.", "roberta.", "distilbert.", "transformer."};

struct DtypeInfo {
  at::ScalarType type;
  int64_t bytes;
};

Result<DtypeInfo> dtype_of(const std::string& name) {
  if (name == "F32") return DtypeInfo{at::kFloat, 4};
  if (name == "F16") return DtypeInfo{at::kHalf, 2};
  if (name == "BF16") return DtypeInfo{at::kBFloat16, 2};
  return Status::unsupported("safetensors dtype '" + name + "' (supported: F32, F16, BF16)");
}

std::string strip_prefix(const std::string& key, const std::unordered_map<std::string, at::Tensor>& targets) {
  if (targets.count(key)) return key;
  for (const char* p : kPrefixes) {
    const size_t n = std::strlen(p);
    if (key.compare(0, n, p) == 0 && targets.count(key.substr(n))) return key.substr(n);
  }
  return key;
}

using Targets = std::unordered_map<std::string, at::Tensor>;

// Fills the targets found in one safetensors file, marking them in `filled`.
Status load_file(const Targets& targets, const std::string& path, std::unordered_map<std::string, bool>& filled,
                 LoadReport& report) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot read weights file '" + path + "'");
  in.seekg(0, std::ios::end);
  const int64_t file_size = in.tellg();
  in.seekg(0);
  uint64_t header_len = 0;
  unsigned char len_bytes[8];
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(len_bytes), 8))
    return Status::corrupt(path + ": too short for a safetensors file");
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];  // little-endian
  if (header_len > static_cast<uint64_t>(file_size - 8))
    return Status::corrupt(path + ": header length " + std::to_string(header_len) + " exceeds the file");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  nlohmann::json doc = nlohmann::json::parse(header, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Status::corrupt(path + ": header is not a JSON object");
  const int64_t data_start = 8 + static_cast<int64_t>(header_len);

  torch::NoGradGuard no_grad;
  for (const auto& [raw_key, entry] : doc.items()) {
    if (raw_key == "__metadata__") continue;
    const std::string key = strip_prefix(raw_key, targets);
    auto it = targets.find(key);
    if (it == targets.end()) {
      ++report.ignored;
      continue;
    }
    try {
      IRENE_ASSIGN_OR_RETURN(DtypeInfo dt, dtype_of(entry.at("dtype").get<std::string>()));
      const auto shape = entry.at("shape").get<std::vector<int64_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<int64_t>>();
      at::Tensor target = it->second;
      if (target.sizes() != at::IntArrayRef(shape))
        return Status::invalid_argument(path + ": tensor '" + raw_key + "' has shape " +
                                        nlohmann::json(shape).dump() + ", the model expects " +
                                        nlohmann::json(target.sizes().vec()).dump());
      int64_t numel = 1;
      for (int64_t d : shape) numel *= d;
      if (offsets.size() != 2 || offsets[1] - offsets[0] != numel * dt.bytes || offsets[0] < 0 ||
          data_start + offsets[1] > file_size)
        return Status::corrupt(path + ": tensor '" + raw_key + "' has data_offsets outside the file or of the wrong size");
      at::Tensor raw = at::empty(shape, at::TensorOptions().dtype(dt.type));
      in.seekg(data_start + offsets[0]);
      if (!in.read(static_cast<char*>(raw.data_ptr()), numel * dt.bytes))
        return Status::io_error(path + ": short read of tensor '" + raw_key + "'");
      target.copy_(raw.to(target.scalar_type()));
      filled[key] = true;
      ++report.loaded;
    } catch (const nlohmann::json::exception& e) {
      return Status::corrupt(path + ": entry '" + raw_key + "': " + e.what());
    }
  }
  return Status::ok();
}

// The shard files a model.safetensors.index.json names (its weight_map's values), in
// the order they first appear, as paths beside the index.
Result<std::vector<std::string>> shard_files(const std::string& index_path) {
  std::ifstream in(index_path);
  if (!in) return Status::not_found("cannot read weights index '" + index_path + "'");
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("weight_map") || !doc["weight_map"].is_object())
    return Status::corrupt(index_path + ": not a safetensors index (expected an object with a \"weight_map\" object)");
  const size_t slash = index_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : index_path.substr(0, slash + 1);
  std::vector<std::string> files;
  for (const auto& [key, file] : doc["weight_map"].items()) {
    if (!file.is_string() || file.get<std::string>().find('/') != std::string::npos)
      return Status::corrupt(index_path + ": weight_map entry '" + key + "' must name a file beside the index");
    const std::string path = dir + file.get<std::string>();
    if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
  }
  return files;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<LoadReport> load_safetensors(torch::nn::Module& model, const std::string& path) {
  Targets targets;
  for (const auto& p : model.named_parameters(true)) targets.emplace(p.key(), p.value());
  for (const auto& b : model.named_buffers(true)) targets.emplace(b.key(), b.value());
  std::unordered_map<std::string, bool> filled;
  LoadReport report;
  std::vector<std::string> files{path};
  if (ends_with(path, ".index.json")) {
    IRENE_ASSIGN_OR_RETURN(files, shard_files(path));
  }
  for (const std::string& f : files) IRENE_RETURN_IF_ERROR(load_file(targets, f, filled, report));
  for (const auto& p : model.named_parameters(true))
    if (!filled.count(p.key()))
      return Status::invalid_argument(path + ": no tensor for parameter '" + p.key() + "'");
  return report;
}

}  // namespace irene::models
