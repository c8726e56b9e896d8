#include "predict/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace irene::predict {
namespace {

const std::string kHeader =
    "batch_size,seq_len,flops,mem_bytes,cpu,mem,gpu,gpu_mem,gpu_clk,gpu_mem_clk,times_mean,gpu_energy_mean,"
    "energy_mean,level_name,model_name\n";

// A dataset folder with the given rows per file (header added).
std::string write_dataset(const std::string& name, const std::string& model_rows, const std::string& module_rows,
                          const std::string& ml1_rows, const std::string& ml2_rows) {
  const std::string dir = std::string(IRENE_BINARY_DIR) + "/" + name;
  std::filesystem::create_directories(dir);
  const std::string* rows[] = {&model_rows, &module_rows, &ml1_rows, &ml2_rows};
  for (int i = 0; i < 4; ++i) std::ofstream(dir + "/" + kDatasetFiles[i]) << kHeader << *rows[i];
  return dir;
}

std::string row(const std::string& level_name, const std::string& model, double energy) {
  return "1.0,4.0,1.0,1.0,10,10,50,20,1900,3800,0.001,0.05," + std::to_string(energy) + "," + level_name + "," +
         model + "\n";
}

TEST(DatasetTest, RowsAttachToTheirNodesIncludingRepeatedMatMuls) {
  const std::string dir = write_dataset(
      "dataset_ok", row("distilgpt2", "distilgpt2", 1.0) + row("tiny", "sshleifer/tiny-ctrl", 1.0),
      row("h.0:Block", "distilgpt2", 0.5) + row("h.0.attn:Attention", "distilgpt2", 0.2),
      row("h.0.attn.c_attn:Conv1D", "distilgpt2", 0.05),
      row("h.0.attn:MatMul", "distilgpt2", 0.01) + row("h.0.attn:MatMul", "distilgpt2", 0.02) +
          row("h.0.attn:Softmax", "distilgpt2", 0.03));
  auto ds = load_dataset(dir);
  ASSERT_TRUE(ds.is_ok()) << ds.status().to_string();
  ASSERT_EQ(ds->trees.size(), 1u);
  EXPECT_EQ(ds->rows, 7);
  EXPECT_EQ(ds->skipped_rows, 1);
  EXPECT_EQ(ds->skipped_models.count("sshleifer/tiny-ctrl"), 1u);
  const tree::Tree& t = ds->trees[0];
  EXPECT_EQ(t.batch_size, 1);
  EXPECT_EQ(*t.root().measured->energy_j, 1.0);
  EXPECT_EQ(*t.nodes[t.find("h.0.attn.matmul", "MatMul")].measured->energy_j, 0.01);
  EXPECT_EQ(*t.nodes[t.find("h.0.attn.matmul_1", "MatMul")].measured->energy_j, 0.02);
  EXPECT_DOUBLE_EQ(t.nodes[t.find("h.0.attn.c_attn", "Conv1D")].measured->times_mean_s, 0.001);
  EXPECT_FALSE(t.nodes[t.find("h.1", "Block")].measured.has_value());
  EXPECT_EQ(ds->fingerprint.size(), 16u);
}

TEST(DatasetTest, MalformedFilesNameFileLineAndColumn) {
  auto bad_number = load_dataset(write_dataset("dataset_bad_number", row("gpt2", "gpt2", 1.0),
                                               "1.0,4.0,abc,1,1,1,1,1,1,1,1,1,1,h.0:Block,gpt2\n", "", ""));
  ASSERT_FALSE(bad_number.is_ok());
  EXPECT_EQ(bad_number.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(bad_number.status().message().find("module_level_features.csv:2: column 'flops'"), std::string::npos)
      << bad_number.status().message();

  auto short_row = load_dataset(write_dataset("dataset_short", "1.0,4.0,1\n", "", "", ""));
  EXPECT_NE(short_row.status().message().find("model_level_features.csv:2: 3 fields"), std::string::npos)
      << short_row.status().message();

  auto no_node = load_dataset(write_dataset("dataset_no_node", row("gpt2", "gpt2", 1.0),
                                            row("h.99:Block", "gpt2", 1.0), "", ""));
  EXPECT_EQ(no_node.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(no_node.status().message().find("no node 'h.99:Block'"), std::string::npos);

  const std::string dir = write_dataset("dataset_missing_column", "", "", "", "");
  std::ofstream(dir + "/model_level_features.csv") << "batch_size,seq_len\n";
  EXPECT_NE(load_dataset(dir).status().message().find("missing column 'flops'"), std::string::npos);

  EXPECT_EQ(load_dataset("/nonexistent").status().code(), StatusCode::kNotFound);
}

TEST(DatasetTest, TheIreneDatasetLoadsWhole) {
  const std::string dir = std::string(IRENE_DATA_DIR) + "/device_1";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "dataset not found at " << dir;
  auto ds = load_dataset(dir);
  ASSERT_TRUE(ds.is_ok()) << ds.status().to_string();
  EXPECT_EQ(ds->model_names().size(), 6u);
  EXPECT_EQ(ds->trees.size(), 166u);  // 28 configurations x 6 models, less two without a model row
  EXPECT_EQ(ds->incomplete_configs.size(), 1u);
  int measured = 0;
  for (const auto& t : ds->trees) {
    ASSERT_TRUE(t.root().measured.has_value()) << t.model;
    for (const auto& n : t.nodes)
      if (n.measured) {
        ++measured;
        EXPECT_GT(*n.measured->energy_j, 0);
      }
  }
  EXPECT_EQ(measured, ds->rows);
  EXPECT_GT(ds->rows, 24000);
}

}  // namespace
}  // namespace irene::predict
