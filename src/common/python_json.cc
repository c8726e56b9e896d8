#include "common/python_json.h"

#include <limits>
#include <string>

namespace irene {

namespace {

// The non-finite words stand in the text as strings with this prefix while nlohmann
// parses it; a control character no real config key or value holds marks them (written
// escaped in the JSON text, as JSON requires).
constexpr std::string_view kMark = "\x01irene-nonfinite:";
constexpr std::string_view kMarkEscaped = "\\u0001irene-nonfinite:";

struct Word {
  std::string_view text;
  double value;
};
constexpr Word kWords[] = {{"-Infinity", -std::numeric_limits<double>::infinity()},
                           {"Infinity", std::numeric_limits<double>::infinity()},
                           {"NaN", std::numeric_limits<double>::quiet_NaN()}};

// Copies `text`, each non-finite word outside a string replaced by its marked string.
// Returns false when none was found (the text can be parsed as it is).
bool mark_non_finite(std::string_view text, std::string& out) {
  bool found = false, in_string = false;
  out.reserve(text.size() + 64);
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) out += text[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool replaced = false;
    for (const Word& w : kWords) {
      if (text.substr(i, w.text.size()) != w.text) continue;
      out += '"';
      out += kMarkEscaped;
      out += w.text;
      out += '"';
      i += w.text.size() - 1;
      replaced = found = true;
      break;
    }
    if (!replaced) out += c;
  }
  return found;
}

void restore_non_finite(nlohmann::json& j) {
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s.rfind(kMark, 0) != 0) return;
    const std::string_view word = std::string_view(s).substr(kMark.size());
    for (const Word& w : kWords)
      if (word == w.text) j = w.value;
    return;
  }
  if (j.is_structured())
    for (auto& item : j) restore_non_finite(item);
}

}  // namespace

nlohmann::json parse_python_json(std::string_view text) {
  std::string marked;
  if (!mark_non_finite(text, marked)) return nlohmann::json::parse(text, nullptr, false);
  nlohmann::json doc = nlohmann::json::parse(marked, nullptr, false);
  if (!doc.is_discarded()) restore_non_finite(doc);
  return doc;
}

}  // namespace irene
