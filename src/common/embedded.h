// Files compiled into the binary (see cmake/embed_json.cmake), so irene runs with no
// files beside it.
#pragma once

#include <string_view>
#include <vector>

namespace irene {

struct EmbeddedFile {
  std::string_view name;  // e.g. "bert-base-uncased"
  std::string_view text;  // the file's content
};

}  // namespace irene
