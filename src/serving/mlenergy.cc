#include "serving/mlenergy.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engines/engine.h"
#include "models/zoo.h"

namespace irene::serving {

namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      cells.push_back(cell);
      cell.clear();
    } else if (c != '\r') {
      cell += c;
    }
  }
  cells.push_back(cell);
  return cells;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

Result<MeasuredData> load_measured_serving(const std::string& dir) {
  namespace fs = std::filesystem;
  MeasuredData data;
  const std::string configs_path = dir + "/model_configs.json";
  std::ifstream configs_file(configs_path);
  if (!configs_file) return Status::not_found("cannot read " + configs_path + " (the models' config.json numbers)");
  const std::string configs_text((std::istreambuf_iterator<char>(configs_file)), std::istreambuf_iterator<char>());
  uint64_t hash = 1469598103934665603ULL;
  auto fnv = [&hash](const std::string& s) {
    for (unsigned char ch : s) hash = (hash ^ ch) * 1099511628211ULL;
    hash = (hash ^ '\n') * 1099511628211ULL;
  };
  fnv(configs_text);
  nlohmann::json configs = nlohmann::json::parse(configs_text, nullptr, false);
  if (configs.is_discarded() || !configs.is_object()) return Status::corrupt(configs_path + " is not a JSON object");
  for (const auto& [name, entry] : configs.items()) {
    if (!name.empty() && name[0] == '_') continue;  // "_about", "_not_found": notes, not models
    if (!entry.is_object()) return Status::corrupt(configs_path + ": '" + name + "' is not an object");
    const nlohmann::json& config = entry.contains("config") ? entry["config"] : entry;
    auto c = models::parse_config(config, name);
    if (!c.is_ok()) {  // an architecture irene does not build: its rows are skipped, with the reason
      data.unbuildable[name] = c.status().message();
      continue;
    }
    data.configs.emplace(name, std::move(*c));
  }
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".csv") files.push_back(e.path());
  if (ec) return Status::not_found("cannot list " + dir + ": " + ec.message());
  if (files.empty()) return Status::not_found(dir + " holds no .csv file of measurements");
  std::sort(files.begin(), files.end());
  std::set<std::string> skipped;
  const std::vector<std::string> required = {"model", "gpu", "num_gpus", "tensor_parallel", "pipeline_parallel",
                                             "max_num_seqs", "avg_batch_size", "avg_output_tokens",
                                             "energy_per_token_j", "avg_power_w", "throughput_tokens_per_s"};
  for (const auto& path : files) {
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line)) continue;
    fnv(line);
    const auto header = split_csv_line(line);
    std::map<std::string, size_t> col;
    for (size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
    for (const auto& r : required)
      if (!col.count(r)) return Status::corrupt(path.string() + ": no column '" + r + "'");
    if (!col.count("tpot_avg_s") && !col.count("itl_median_ms"))
      return Status::corrupt(path.string() + ": no time column: 'tpot_avg_s' (mean time per output token) or "
                             "'itl_median_ms' (median inter-token latency)");
    int number = 1;
    while (std::getline(in, line)) {
      ++number;
      fnv(line);
      if (line.empty()) continue;
      const auto cells = split_csv_line(line);
      const std::string where = path.filename().string() + ":" + std::to_string(number);
      auto num = [&](const std::string& name) -> Result<double> {
        const size_t i = col.at(name);
        if (i >= cells.size() || cells[i].empty()) return Status::corrupt(where + ": empty '" + name + "'");
        try {
          return std::stod(cells[i]);
        } catch (const std::exception&) {
          return Status::corrupt(where + ": '" + name + "' is not a number: " + cells[i]);
        }
      };
      MeasuredServing m;
      m.model = cells[col["model"]];
      if (!data.configs.count(m.model) && !data.unbuildable.count(m.model) && !skipped.count(m.model)) {
        // No config in the data: irene's bundled one of the same id, where it has one.
        auto bundled = models::bundled_config(m.model);
        if (bundled.is_ok()) {
          data.config_sources[m.model] = "irene's bundled config (src/models/configs), not the data's model_configs.json";
          data.configs.emplace(m.model, std::move(*bundled));
        }
      }
      if (!data.configs.count(m.model)) {
        skipped.insert(m.model);
        continue;
      }
      auto cell = [&](const char* name) -> std::string {
        return col.count(name) && col[name] < cells.size() ? cells[col[name]] : "";
      };
      m.task = cell("task");
      // ML.ENERGY's LMArena workload makes one request of each turn of a conversation, its
      // prompt the whole conversation up to that turn (ml-energy/benchmark,
      // mlenergy/llm/datasets.py, the LMArena dataset's sample()).
      m.conversation_turns = m.task == "lm-arena-chat";
      m.gpu = cells[col["gpu"]];
      if (auto machine = machines::find_machine_named(m.gpu); machine.is_ok()) {
        m.machine_id = machine->id;
      } else {
        data.unknown_gpus.emplace(m.gpu, machine.status().message());
      }
      const std::string engine = cell("engine"), version = cell("engine_version");
      m.engine = engine.empty() || version.empty() ? engines::kLegacyEngineId : engines::engine_id(engine, version);
      m.weight_precision = lower(cell("weight_precision"));
      IRENE_ASSIGN_OR_RETURN(double g, num("num_gpus"));
      IRENE_ASSIGN_OR_RETURN(double tp, num("tensor_parallel"));
      IRENE_ASSIGN_OR_RETURN(double pp, num("pipeline_parallel"));
      m.num_gpus = static_cast<int>(g);
      m.tensor_parallel = static_cast<int>(tp);
      m.pipeline_parallel = static_cast<int>(pp);
      IRENE_ASSIGN_OR_RETURN(m.max_num_seqs, num("max_num_seqs"));
      IRENE_ASSIGN_OR_RETURN(m.avg_batch_size, num("avg_batch_size"));
      IRENE_ASSIGN_OR_RETURN(m.avg_output_tokens, num("avg_output_tokens"));
      IRENE_ASSIGN_OR_RETURN(m.energy_per_token_j, num("energy_per_token_j"));
      IRENE_ASSIGN_OR_RETURN(m.power_w, num("avg_power_w"));
      IRENE_ASSIGN_OR_RETURN(m.throughput_tokens_per_s, num("throughput_tokens_per_s"));
      // Optional columns: absent or empty leaves the figure unknown.
      auto optional_num = [&](const std::string& name, std::optional<double>& out) -> Status {
        if (!col.count(name) || col[name] >= cells.size() || cells[col[name]].empty()) return Status::ok();
        IRENE_ASSIGN_OR_RETURN(double v, num(name));
        if (!(v > 0)) return Status::corrupt(where + ": '" + name + "' must be positive, got " + cells[col[name]]);
        out = v;
        return Status::ok();
      };
      IRENE_RETURN_IF_ERROR(optional_num("tpot_avg_s", m.tpot_s));
      IRENE_RETURN_IF_ERROR(optional_num("itl_median_ms", m.itl_median_s));
      IRENE_RETURN_IF_ERROR(optional_num("itl_p90_ms", m.itl_p90_s));
      if (m.itl_median_s) *m.itl_median_s /= 1e3;
      if (m.itl_p90_s) *m.itl_p90_s /= 1e3;
      if (!m.tpot_s && !m.itl_median_s)
        return Status::corrupt(where + ": neither 'tpot_avg_s' nor 'itl_median_ms' is given");
      std::optional<double> dp, ep;
      IRENE_RETURN_IF_ERROR(optional_num("data_parallel", dp));
      IRENE_RETURN_IF_ERROR(optional_num("expert_parallel", ep));
      m.data_parallel = static_cast<int>(dp.value_or(1));
      m.expert_parallel = static_cast<int>(ep.value_or(1));
      IRENE_RETURN_IF_ERROR(optional_num("max_num_batched_tokens", m.max_num_batched_tokens));
      IRENE_RETURN_IF_ERROR(optional_num("avg_input_tokens", m.avg_input_tokens));
      IRENE_RETURN_IF_ERROR(optional_num("num_requests", m.num_requests));
      IRENE_RETURN_IF_ERROR(optional_num("max_output_tokens_cap", m.max_output_tokens));
      m.source = where;
      data.rows.push_back(std::move(m));
    }
  }
  data.skipped_models.assign(skipped.begin(), skipped.end());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  data.fingerprint = hex;
  return data;
}

}  // namespace irene::serving
