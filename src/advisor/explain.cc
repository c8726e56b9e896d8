#include "advisor/explain.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

namespace irene::advisor {

std::vector<NodeShare> costliest_nodes(const tree::Tree& step, size_t top) {
  if (step.empty()) return {};
  const double total = step.root().energy_j.value_or(0);
  std::map<std::pair<std::string, std::string>, NodeShare> by_path;
  // The lowest nodes above the math ops: ML leaves (Linear, attention) and modules that
  // run math ops alone (gpt-oss's grouped experts), so no energy is counted twice.
  auto lowest = [&](const tree::Node& n) {
    if (n.kind == tree::NodeKind::kMath || n.parent < 0) return false;
    return std::none_of(n.children.begin(), n.children.end(),
                        [&](int c) { return step.nodes[static_cast<size_t>(c)].kind != tree::NodeKind::kMath; });
  };
  for (const tree::Node& n : step.nodes) {
    if (!lowest(n) || !n.energy_j || *n.energy_j <= 0) continue;
    NodeShare& s = by_path[{tree::repeated_path(n.path), n.cls}];
    s.path = tree::repeated_path(n.path);
    s.cls = n.cls;
    s.energy_j += *n.energy_j;
    ++s.copies;
  }
  std::vector<NodeShare> out;
  for (auto& [key, s] : by_path) {
    s.share = total > 0 ? s.energy_j / total : 0;
    out.push_back(s);
  }
  std::sort(out.begin(), out.end(), [](const NodeShare& a, const NodeShare& b) { return a.energy_j > b.energy_j; });
  if (out.size() > top) out.resize(top);
  return out;
}

Result<Explanation> explain(const models::ModelConfig& config, const Candidate& pick, const Request& request,
                            const std::vector<serving::ServingPredictor>& available, size_t top) {
  Explanation x;
  IRENE_ASSIGN_OR_RETURN(x.answer, serving::answer(config, *machines::find_machine(pick.machine_id),
                                                   serving_config(pick, request), available));
  if (x.answer.step) x.top_nodes = costliest_nodes(*x.answer.step, top);
  const serving::ServingEstimate::TimeSplit& t = x.answer.estimate.time_split;
  const double cycle = t.total_s();
  if (cycle > 0) {
    auto pct = [&](double v) { return std::to_string(static_cast<int>(std::lround(100 * v / cycle))) + " %"; };
    x.time_split = "decode kernels " + pct(t.decode_kernels_s) + ", the engine in decode " + pct(t.decode_engine_s) +
                   ", prefill " + pct(t.prefill_s);
    if (t.admission_s + t.host_wait_s > 0.005 * cycle) x.time_split += ", admission and waits " + pct(t.admission_s + t.host_wait_s);
  }
  return x;
}

nlohmann::json to_json(const Explanation& e) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const NodeShare& n : e.top_nodes)
    nodes.push_back({{"path", n.path}, {"class", n.cls}, {"energy_j", n.energy_j}, {"share", n.share}, {"copies", n.copies}});
  return {{"answer", e.answer.doc}, {"top_nodes", std::move(nodes)}, {"time_split", e.time_split}};
}

}  // namespace irene::advisor
