#include "tree/tree.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tree/tree_format.h"

namespace irene::tree {
namespace {

// model -> layer -> {linear -> addmm, add}
Tree small_tree() {
  Tree t;
  t.model = "toy";
  t.batch_size = 2;
  t.seq_len = 3;
  auto add = [&](std::string path, std::string cls, NodeKind kind, int parent, int64_t flops) {
    Node n;
    n.path = std::move(path);
    n.cls = std::move(cls);
    n.kind = kind;
    n.parent = parent;
    n.depth = parent < 0 ? 0 : t.nodes[parent].depth + 1;
    n.flops = flops;
    n.mem_bytes = 10 * flops;
    n.latency_s = 0.001 * (flops + 1);
    if (parent >= 0) t.nodes[parent].children.push_back(static_cast<int>(t.nodes.size()));
    t.nodes.push_back(std::move(n));
  };
  add("", "ToyModel", NodeKind::kModel, -1, 30);
  add("layer", "ToyLayer", NodeKind::kModule, 0, 30);
  add("layer.dense", "Linear", NodeKind::kMl, 1, 20);
  add("layer.dense.addmm", "aten::addmm", NodeKind::kMath, 2, 20);
  add("layer.add", "aten::add", NodeKind::kMath, 1, 10);
  t.nodes[3].shapes = "[2,4] x [4,4] -> [2,4]";
  t.nodes[3].dtype = "float32";
  return t;
}

TEST(TreeTest, KindNamesRoundTripAndRejectUnknown) {
  for (NodeKind k : {NodeKind::kModel, NodeKind::kModule, NodeKind::kMl, NodeKind::kMlNp, NodeKind::kMath})
    EXPECT_EQ(kind_from_name(kind_name(k)).value(), k);
  auto bad = kind_from_name("leaf");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("ml-np"), std::string::npos);
}

TEST(TreeTest, FindAndCount) {
  Tree t = small_tree();
  EXPECT_EQ(t.find("layer.dense", "Linear"), 2);
  EXPECT_EQ(t.find("layer.dense", "Conv1D"), -1);
  EXPECT_EQ(t.count(NodeKind::kMath), 2);
}

TEST(TreeFormatTest, CsvHasTheDocumentedHeaderAndOneRowPerNode) {
  std::string csv = to_csv(small_tree());
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "path,class,kind,depth,num_parameters,flops,mem_bytes,latency_s");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);
  EXPECT_NE(csv.find("\nlayer.dense.addmm,aten::addmm,math,3,0,20,200,0.021\n"), std::string::npos);
  EXPECT_NE(csv.find("\n,ToyModel,model,0,0,30,300,0.031\n"), std::string::npos);
}

TEST(TreeFormatTest, MaxDepthDropsDeeperNodes) {
  FormatOptions o;
  o.max_depth = 1;
  std::string csv = to_csv(small_tree(), o);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  EXPECT_EQ(to_json(small_tree(), o)["root"]["children"][0]["children"].size(), 0u);
}

// Answers a browser loads level by level: a node budget cuts at the deepest whole level
// that fits, cut nodes say how many children they left out, and a subtree is asked for
// by its root's index.
TEST(TreeFormatTest, JsonCanBeCutToANodeBudgetAndRootedAtANode) {
  const Tree t = small_tree();  // levels: 1, 1, 2, 1 nodes
  FormatOptions o;
  o.max_nodes = 4;
  nlohmann::json j = to_json(t, o);
  const auto& layer = j["root"]["children"][0];
  ASSERT_EQ(layer["children"].size(), 2u);  // 1 + 1 + 2 = 4 fit; the addmm level does not
  EXPECT_EQ(layer["children"][0]["path"], "layer.dense");
  EXPECT_EQ(layer["children"][0]["children"].size(), 0u);
  EXPECT_EQ(layer["children"][0]["children_omitted"], 1);
  EXPECT_EQ(layer["children"][0]["index"], 2);
  EXPECT_FALSE(layer["children"][1].contains("children_omitted"));  // layer.add has no children
  o.max_nodes = 2;  // at least one level below the root, even over the budget
  EXPECT_EQ(to_json(t, o)["root"]["children"].size(), 1u);
  EXPECT_EQ(to_json(t, o)["root"]["children"][0]["children_omitted"], 2);
  // Rooted at layer.dense, whole: its subtree alone, depths as in the tree.
  FormatOptions sub;
  sub.root = 2;
  nlohmann::json s = to_json(t, sub);
  EXPECT_EQ(s["root"]["path"], "layer.dense");
  EXPECT_EQ(s["root"]["depth"], 2);
  ASSERT_EQ(s["root"]["children"].size(), 1u);
  EXPECT_EQ(s["root"]["children"][0]["class"], "aten::addmm");
  // max_depth counts from the answer's root; a node cut by kinds is not "omitted".
  sub.max_depth = 0;
  EXPECT_EQ(to_json(t, sub)["root"]["children_omitted"], 1);
  FormatOptions no_math;
  no_math.kinds = {NodeKind::kModel, NodeKind::kModule, NodeKind::kMl};
  no_math.max_depth = 2;
  EXPECT_FALSE(to_json(t, no_math)["root"]["children"][0]["children"][0].contains("children_omitted"));
  sub.root = 99;
  EXPECT_TRUE(to_json(t, sub)["root"].is_null());
}

TEST(TreeFormatTest, JsonRoundTripsEveryField) {
  Tree t = small_tree();
  nlohmann::json j = to_json(t);
  EXPECT_EQ(j["schema"], "irene.tree/1");
  EXPECT_EQ(j["node_count"], 5);
  EXPECT_EQ(j["root"]["children"][0]["children"][0]["children"][0]["shapes"], "[2,4] x [4,4] -> [2,4]");
  auto back = from_json(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  ASSERT_EQ(back->nodes.size(), t.nodes.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    EXPECT_EQ(back->nodes[i].path, t.nodes[i].path);
    EXPECT_EQ(back->nodes[i].kind, t.nodes[i].kind);
    EXPECT_EQ(back->nodes[i].parent, t.nodes[i].parent);
    EXPECT_EQ(back->nodes[i].flops, t.nodes[i].flops);
    EXPECT_DOUBLE_EQ(*back->nodes[i].latency_s, *t.nodes[i].latency_s);
  }
}

// Work no trace counted (an engine's own time) has no FLOPs or bytes: null in JSON and
// empty in CSV, read back as untraced, never as 0.
TEST(TreeFormatTest, UntracedWorkHasNoCounts) {
  Tree t = small_tree();
  t.nodes[1].untraced = true;
  t.nodes[1].flops = t.nodes[1].mem_bytes = 0;
  nlohmann::json j = to_json(t);
  const nlohmann::json& layer = j["root"]["children"][0];
  EXPECT_TRUE(layer["flops"].is_null());
  EXPECT_TRUE(layer["mem_bytes"].is_null());
  EXPECT_FALSE(j["root"]["flops"].is_null());
  auto back = from_json(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_TRUE(back->nodes[1].untraced);
  EXPECT_FALSE(back->nodes[0].untraced);
  EXPECT_EQ(back->nodes[0].flops, t.nodes[0].flops);
  const std::string csv = to_csv(t);
  const size_t row = csv.find("\n" + t.nodes[1].path + ",");
  ASSERT_NE(row, std::string::npos) << csv;
  const std::string line = csv.substr(row + 1, csv.find('\n', row + 1) - row - 1);
  EXPECT_NE(line.find(",,,"), std::string::npos) << line;  // flops, mem_bytes empty
}

// What a machine could not measure stays empty through JSON: null, never 0.
TEST(TreeFormatTest, MeasurementsKeepWhatWasNotMeasuredEmpty) {
  Tree t = small_tree();
  Measurement m;
  m.times_mean_s = 0.25;
  m.cpu_pct = 50;
  m.mem_pct = 10;
  m.energy_note = "no energy meter found";
  t.nodes[1].measured = m;
  m.times_min_s = 0.2;  // a profiler that spread its rounds kept the fastest
  m.gpu_pct = 0;  // a GPU that was idle is measured, and 0
  m.gpu_energy_j = 1.5;
  m.energy_j = 3.0;
  m.energy_by_meter_j = {{"rapl:package-0", 1.5}, {"nvml:gpu0", 1.5}};
  m.energy_note.clear();
  t.nodes[2].measured = m;
  nlohmann::json j = to_json(t);
  const nlohmann::json& layer = j["root"]["children"][0]["measured"];
  EXPECT_TRUE(layer["gpu_pct"].is_null());
  EXPECT_TRUE(layer["energy_j"].is_null());
  EXPECT_EQ(layer["energy_note"], "no energy meter found");
  auto back = from_json(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  const Measurement& a = *back->nodes[1].measured;
  EXPECT_DOUBLE_EQ(*a.cpu_pct, 50);
  EXPECT_FALSE(a.gpu_pct.has_value());
  EXPECT_FALSE(a.gpu_energy_j.has_value());
  EXPECT_FALSE(a.energy_j.has_value());
  EXPECT_FALSE(a.times_min_s.has_value());
  EXPECT_FALSE(layer.contains("times_min_s"));
  EXPECT_EQ(a.energy_note, "no energy meter found");
  const Measurement& b = *back->nodes[2].measured;
  EXPECT_DOUBLE_EQ(*b.gpu_pct, 0);
  EXPECT_DOUBLE_EQ(*b.gpu_energy_j, 1.5);
  EXPECT_DOUBLE_EQ(*b.energy_j, 3.0);
  EXPECT_DOUBLE_EQ(b.times_min_s.value_or(0), 0.2);
  EXPECT_TRUE(b.energy_note.empty());
  EXPECT_EQ(b.energy_by_meter_j, m.energy_by_meter_j);
  EXPECT_TRUE(a.energy_by_meter_j.empty());
  EXPECT_FALSE(layer.contains("energy_by_meter_j"));
}

TEST(TreeFormatTest, FromJsonRejectsOtherDocuments) {
  EXPECT_EQ(from_json(nlohmann::json{{"schema", "x"}}).status().code(), StatusCode::kCorrupt);
  nlohmann::json j = to_json(small_tree());
  j["root"]["children"][0]["kind"] = "leaf";
  EXPECT_FALSE(from_json(j).is_ok());
}

TEST(TreeFormatTest, TextShowsPathsClassesAndUnits) {
  std::string text = to_text(small_tree());
  EXPECT_NE(text.find("layer.dense : Linear  [ml]"), std::string::npos);
  EXPECT_NE(text.find("mem=300 B"), std::string::npos);
}

}  // namespace
}  // namespace irene::tree

namespace irene::tree {
namespace {
TEST(TreeTest, RepeatedPathsStarTheirIndices) {
  EXPECT_EQ(repeated_path("model.layers.17.mlp.experts.3.down_proj"), "model.layers.*.mlp.experts.*.down_proj");
  EXPECT_EQ(repeated_path("lm_head"), "lm_head");
  EXPECT_EQ(repeated_path(""), "");
  EXPECT_EQ(repeated_path("h.2a.attn"), "h.2a.attn");  // not a number
}
}  // namespace
}  // namespace irene::tree
