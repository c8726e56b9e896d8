#include "tree/combine.h"

#include <string>
#include <unordered_map>

namespace irene::tree {

namespace {

int copy_subtree(Tree& into, int parent, const Tree& from, int index) {
  Node n = from.nodes[index];
  n.parent = parent;
  n.depth = parent >= 0 ? into.nodes[parent].depth + 1 : 0;
  n.children.clear();
  const int at = static_cast<int>(into.nodes.size());
  into.nodes.push_back(std::move(n));
  if (parent >= 0) into.nodes[parent].children.push_back(at);
  for (int c : from.nodes[index].children) copy_subtree(into, at, from, c);
  return at;
}

void add_node_figures(Node& sum, const Node& add) {
  sum.flops += add.flops;
  sum.mem_bytes += add.mem_bytes;
  if (add.latency_s) sum.latency_s = sum.latency_s.value_or(0.0) + *add.latency_s;
}

std::string key_of(const Node& n) { return n.path + '\n' + n.cls; }

void merge(Tree& sum, int si, const Tree& step, int ti) {
  add_node_figures(sum.nodes[si], step.nodes[ti]);
  std::unordered_map<std::string, int> children;
  for (int c : sum.nodes[si].children) children.emplace(key_of(sum.nodes[c]), c);
  for (int c : step.nodes[ti].children) {
    auto it = children.find(key_of(step.nodes[c]));
    if (it != children.end())
      merge(sum, it->second, step, c);
    else
      copy_subtree(sum, si, step, c);
  }
}

Status same_nodes(const Tree& a, const Tree& b) {
  if (a.nodes.size() != b.nodes.size())
    return Status::internal("trees of " + std::to_string(a.nodes.size()) + " and " + std::to_string(b.nodes.size()) +
                            " nodes cannot be summed node by node");
  for (size_t i = 0; i < a.nodes.size(); ++i)
    if (a.nodes[i].path != b.nodes[i].path || a.nodes[i].cls != b.nodes[i].cls)
      return Status::internal("trees differ at node " + std::to_string(i) + " ('" + a.nodes[i].path + "')");
  return Status::ok();
}

}  // namespace

int graft(Tree& into, int parent, const Tree& sub) {
  if (sub.empty()) return -1;
  return copy_subtree(into, parent, sub, 0);
}

void accumulate(Tree& sum, const Tree& step) {
  if (step.empty()) return;
  if (sum.empty()) {
    sum = step;
    return;
  }
  if (same_nodes(sum, step).is_ok()) {  // the common case: steps of one structure
    for (size_t i = 0; i < sum.nodes.size(); ++i) add_node_figures(sum.nodes[i], step.nodes[i]);
    return;
  }
  merge(sum, 0, step, 0);
  reorder(sum);
}

Result<Tree> affine_sum(const Tree& first, const Tree& last, int64_t steps) {
  IRENE_RETURN_IF_ERROR(same_nodes(first, last));
  Tree out = first;
  // steps x (a + b) / 2 is an integer for any sequence of integers changing by a constant.
  auto total = [steps](int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<__int128>(steps) * (static_cast<__int128>(a) + b) / 2);
  };
  for (size_t i = 0; i < out.nodes.size(); ++i) {
    Node& n = out.nodes[i];
    const Node& l = last.nodes[i];
    n.flops = total(n.flops, l.flops);
    n.mem_bytes = total(n.mem_bytes, l.mem_bytes);
    if (n.latency_s && l.latency_s) n.latency_s = static_cast<double>(steps) * (*n.latency_s + *l.latency_s) / 2;
  }
  return out;
}

Status add_figures(Tree& sum, const Tree& add) {
  IRENE_RETURN_IF_ERROR(same_nodes(sum, add));
  for (size_t i = 0; i < sum.nodes.size(); ++i) add_node_figures(sum.nodes[i], add.nodes[i]);
  return Status::ok();
}

void reorder(Tree& t) {
  if (t.empty()) return;
  Tree sorted = t;
  sorted.nodes.clear();
  sorted.nodes.reserve(t.nodes.size());
  copy_subtree(sorted, -1, t, 0);
  t.nodes = std::move(sorted.nodes);
}

}  // namespace irene::tree
