#include "trace/recorder.h"

namespace irene::trace {

namespace {
thread_local Recorder* g_active = nullptr;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

Recorder* active_recorder() { return g_active; }

ActiveRecorder::ActiveRecorder(Recorder* recorder) : previous_(g_active) { g_active = recorder; }
ActiveRecorder::~ActiveRecorder() { g_active = previous_; }

Recorder::Recorder(std::string model_name, int64_t batch_size, int64_t seq_len, bool timed)
    : timed_(timed) {
  tree_.model = std::move(model_name);
  tree_.batch_size = batch_size;
  tree_.seq_len = seq_len;
  tree_.shapes_only = !timed;
  tree_.nodes.reserve(4096);
}

int Recorder::add_node(std::string path, std::string cls, tree::NodeKind kind) {
  tree::Node n;
  n.path = std::move(path);
  n.cls = std::move(cls);
  n.kind = kind;
  const int index = static_cast<int>(tree_.nodes.size());
  if (!stack_.empty()) {
    n.parent = stack_.back().index;
    n.depth = tree_.nodes[n.parent].depth + 1;
    tree_.nodes[n.parent].children.push_back(index);
  }
  tree_.nodes.push_back(std::move(n));
  return index;
}

std::string Recorder::child_path(std::string_view base_name) {
  std::string name(base_name);
  if (!stack_.empty()) {
    // The first "matmul" keeps its name, the next is "matmul_1", as torch.fx names them.
    int& uses = stack_.back().name_uses[name];
    if (uses > 0) name += "_" + std::to_string(uses);
    ++uses;
    const std::string& parent = tree_.nodes[stack_.back().index].path;
    if (!parent.empty()) name = parent + "." + name;
  }
  return name;
}

void Recorder::open_module(std::string path, std::string cls, tree::NodeKind kind, int64_t num_parameters,
                           std::function<void()> replay, std::string weight_dtype) {
  const int index = add_node(std::move(path), std::move(cls), kind);
  if (capture_) {
    replays_.resize(tree_.nodes.size());
    replays_[index] = std::move(replay);
  }
  tree_.nodes[index].num_parameters = num_parameters;
  tree_.nodes[index].weight_dtype = std::move(weight_dtype);
  stack_.push_back({index, timed_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{}, {}});
}

void Recorder::open_functional(std::string_view base_name, std::string cls, std::function<void()> replay) {
  std::string path = child_path(base_name);
  open_module(std::move(path), std::move(cls), tree::NodeKind::kMlNp, 0, std::move(replay));
}

void Recorder::close() {
  if (stack_.empty()) return;
  if (timed_) tree_.nodes[stack_.back().index].latency_s = seconds_since(stack_.back().start);
  stack_.pop_back();
}

void Recorder::add_op(std::string_view op, std::vector<TensorMeta> inputs, TensorMeta output,
                      std::optional<double> latency_s, std::optional<OpCost> cost_override) {
  // "aten::add_" -> child name "add_"
  std::string_view short_name = op.substr(op.find("::") == std::string_view::npos ? 0 : op.find("::") + 2);
  const int index = add_node(child_path(short_name), std::string(op), tree::NodeKind::kMath);
  tree::Node& n = tree_.nodes[index];
  const OpCost cost = cost_override ? *cost_override : irene_op_cost(op, inputs, output);
  n.flops = cost.flops;
  n.mem_bytes = cost.mem_bytes;
  n.latency_s = latency_s;
  n.shapes = format_shapes(inputs, output);
  n.dtype = output.dtype;
}

int Recorder::last_child() const {
  if (stack_.empty()) return tree_.nodes.empty() ? -1 : 0;
  const auto& children = tree_.nodes[stack_.back().index].children;
  return children.empty() ? -1 : children.back();
}

void Recorder::repeat_subtree(int source, std::string_view from, std::string_view to) {
  if (source < 0 || source >= static_cast<int>(tree_.nodes.size())) return;
  // Pre-order storage: the subtree is `source` and the nodes after it that are deeper.
  const int depth = tree_.nodes[source].depth;
  int end = source + 1;
  while (end < static_cast<int>(tree_.nodes.size()) && tree_.nodes[end].depth > depth) ++end;
  if (compact_) {
    multiplicity_.resize(tree_.nodes.size(), 1);
    for (int i = source; i < end; ++i) ++multiplicity_[i];
    return;
  }
  const int offset = static_cast<int>(tree_.nodes.size()) - source;
  const int parent = stack_.empty() ? -1 : stack_.back().index;
  const int depth_shift = (parent < 0 ? 0 : tree_.nodes[parent].depth + 1) - depth;
  for (int i = source; i < end; ++i) {
    tree::Node n = tree_.nodes[i];
    if (n.path.compare(0, from.size(), from) == 0) n.path = std::string(to) + n.path.substr(from.size());
    n.parent = i == source ? parent : n.parent + offset;
    n.depth += depth_shift;
    for (int& c : n.children) c += offset;
    tree_.nodes.push_back(std::move(n));
  }
  if (parent >= 0) tree_.nodes[parent].children.push_back(source + offset);
}

Result<tree::Tree> Recorder::finish() {
  if (!stack_.empty())
    return Status::internal("trace finished with node '" + tree_.nodes[stack_.back().index].path + "' still open");
  if (tree_.nodes.empty()) return Status::internal("trace recorded no nodes");
  if (capture_) replays_.resize(tree_.nodes.size());
  if (compact_) {
    multiplicity_.resize(tree_.nodes.size(), 1);
    tree_.multiplicity = std::move(multiplicity_);
  }
  // Pre-order storage: walking backwards visits every child before its parent.
  for (size_t i = tree_.nodes.size(); i-- > 1;) {
    const tree::Node& n = tree_.nodes[i];
    tree::Node& p = tree_.nodes[n.parent];
    p.flops += n.flops;
    p.mem_bytes += n.mem_bytes;
  }
  return std::move(tree_);
}

}  // namespace irene::trace
