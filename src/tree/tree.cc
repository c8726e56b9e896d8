#include "tree/tree.h"

#include <algorithm>
#include <cctype>

namespace irene::tree {

namespace {
constexpr std::pair<NodeKind, const char*> kKindNames[] = {
    {NodeKind::kModel, "model"}, {NodeKind::kModule, "module"}, {NodeKind::kMl, "ml"},
    {NodeKind::kMlNp, "ml-np"},  {NodeKind::kMath, "math"},  {NodeKind::kGeneration, "generation"},
    {NodeKind::kPhase, "phase"},
};
}  // namespace

const char* kind_name(NodeKind kind) {
  for (auto [k, name] : kKindNames)
    if (k == kind) return name;
  return "?";
}

Result<NodeKind> kind_from_name(std::string_view name) {
  for (auto [k, n] : kKindNames)
    if (name == n) return k;
  return Status::invalid_argument("unknown node kind '" + std::string(name) +
                                  "' (allowed: model, module, ml, ml-np, math, generation, phase)");
}

int Tree::find(std::string_view path, std::string_view cls) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].path == path && nodes[i].cls == cls) return static_cast<int>(i);
  return -1;
}

int Tree::count(NodeKind kind) const {
  return static_cast<int>(
      std::count_if(nodes.begin(), nodes.end(), [kind](const Node& n) { return n.kind == kind; }));
}

std::vector<std::string> Tree::phases() const {
  std::vector<std::string> out(nodes.size());
  // Pre-order: a parent's phase is known before its children's.
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].kind == NodeKind::kPhase)
      out[i] = nodes[i].path;
    else if (nodes[i].parent >= 0)
      out[i] = out[nodes[i].parent];
  }
  return out;
}

std::string repeated_path(std::string_view path) {
  std::string out;
  size_t i = 0;
  while (true) {
    const size_t dot = path.find('.', i);
    const std::string_view part = path.substr(i, dot == std::string_view::npos ? std::string_view::npos : dot - i);
    const bool number =
        !part.empty() && std::all_of(part.begin(), part.end(), [](unsigned char ch) { return std::isdigit(ch); });
    out += number ? std::string_view("*") : part;
    if (dot == std::string_view::npos) return out;
    out += '.';
    i = dot + 1;
  }
}

}  // namespace irene::tree
