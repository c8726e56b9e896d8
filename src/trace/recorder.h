// Recorder: turns the events of one forward pass (a module starts, an aten op runs,
// a module ends) into a tree::Tree. The model code reports to the recorder that is
// active on its thread; with none active the same code runs untraced. No libtorch here.
#pragma once

#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/op_cost.h"
#include "tree/tree.h"

namespace irene::trace {

class Recorder {
 public:
  // `timed`: measure wall time per node (false for shapes-only runs).
  Recorder(std::string model_name, int64_t batch_size, int64_t seq_len, bool timed);

  // Opens a node below the current one. `path` is the module's full Hugging Face path.
  void open_module(std::string path, std::string cls, tree::NodeKind kind, int64_t num_parameters,
                   std::function<void()> replay = nullptr, std::string weight_dtype = "");
  // Opens a functional ML leaf (MatMul, Softmax): its path is the calling module's path
  // plus a name of its own ("matmul", "matmul_1", ...).
  void open_functional(std::string_view base_name, std::string cls, std::function<void()> replay = nullptr);
  // Closes the innermost open node.
  void close();

  // Records one aten op as a math node under the innermost open node. Its FLOPs and
  // bytes follow irene_op_cost unless `cost` is given (fused ops such as attention).
  void add_op(std::string_view op, std::vector<TensorMeta> inputs, TensorMeta output,
              std::optional<double> latency_s, std::optional<OpCost> cost = std::nullopt);

  bool timed() const { return timed_; }

  // The last node opened directly below the innermost open node (-1 if none).
  int last_child() const;
  // Appends below the innermost open node a copy of the finished subtree rooted at
  // `source`, its paths moved from prefix `from` to `to`: a shapes-only trace of a
  // layer identical to one already traced (same shapes, same costs) without running it.
  // In compact mode nothing is copied: the subtree's nodes count once more in the
  // finished tree's Tree::multiplicity.
  void repeat_subtree(int source, std::string_view from, std::string_view to);
  void set_compact(bool on) { compact_ = on; }

  // Capture mode keeps, for every module and ML node, a closure that re-runs it with
  // the inputs of this pass (holding those inputs alive), so a profiler can run each
  // node alone. Off by default.
  void set_capture(bool on) { capture_ = on; }
  bool capturing() const { return capture_; }
  // The closures, indexed like the finished tree's nodes (empty for math nodes).
  std::vector<std::function<void()>> take_replays() { return std::move(replays_); }

  // Sums flops and bytes up the tree and hands it over. All nodes must be closed.
  Result<tree::Tree> finish();

 private:
  struct Open {
    int index;
    std::chrono::steady_clock::time_point start;
    std::map<std::string, int, std::less<>> name_uses;  // for unique child names
  };
  int add_node(std::string path, std::string cls, tree::NodeKind kind);
  std::string child_path(std::string_view base_name);

  tree::Tree tree_;
  std::vector<Open> stack_;
  bool timed_;
  bool capture_ = false;
  bool compact_ = false;
  std::vector<int64_t> multiplicity_;  // compact mode, per node (1 where not grown)
  std::vector<std::function<void()>> replays_;
};

// The recorder of the forward pass running on this thread, or nullptr.
Recorder* active_recorder();

// Makes `recorder` the active one for its lifetime (RAII; nests).
class ActiveRecorder {
 public:
  explicit ActiveRecorder(Recorder* recorder);
  ~ActiveRecorder();
  ActiveRecorder(const ActiveRecorder&) = delete;
  ActiveRecorder& operator=(const ActiveRecorder&) = delete;

 private:
  Recorder* previous_;
};

}  // namespace irene::trace
