#include "common/json_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace irene {

Result<nlohmann::json> read_json_file(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) return Status::not_found("cannot read " + what + " '" + path + "': " + std::strerror(errno));
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  if (doc.is_discarded()) return Status::corrupt(path + " is not JSON");
  return doc;
}

Status write_json_file(const nlohmann::json& doc, const std::string& path) {
  std::ofstream out(path);
  if (!out) return Status::io_error("cannot write '" + path + "': " + std::strerror(errno));
  out << doc.dump(2) << "\n";
  return out ? Status::ok() : Status::io_error("cannot write '" + path + "'");
}

}  // namespace irene
