// The campaign file: read, every field checked where it is read, so that a bad file is
// refused before anything is submitted, with the field and what it allows.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "campaign/campaign.h"
#include "models/zoo.h"

namespace irene::campaign {

namespace {

using nlohmann::json;

// Reads the fields of one JSON object; `known` are all it may have.
class Fields {
 public:
  Fields(const json& obj, std::string source, std::string prefix, std::vector<std::string> known)
      : obj_(obj), source_(std::move(source)), prefix_(std::move(prefix)), known_(std::move(known)) {}

  Status fail(const std::string& field, const std::string& what) const {
    return Status::invalid_argument(source_ + ": " + prefix_ + field + ": " + what);
  }
  const json* find(const std::string& field) {
    auto it = obj_.find(field);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }
  // A typo ("batch_size") is an error, not a silently ignored field; checked first, so
  // that it is what the message names rather than the field it misspelt being missing.
  Status no_others() const {
    for (const auto& [k, v] : obj_.items())
      if (std::find(known_.begin(), known_.end(), k) == known_.end()) {
        std::string list;
        for (const auto& f : known_) list += (list.empty() ? "" : ", ") + f;
        return Status::invalid_argument(source_ + ": " + prefix_ + k + ": unknown field (allowed: " + list + ")");
      }
    return Status::ok();
  }

  Status string(const std::string& field, std::string& out, const std::regex& allowed, const std::string& what,
                bool required = false) {
    const json* v = find(field);
    if (!v) return required ? fail(field, "missing (" + what + ")") : Status::ok();
    if (!v->is_string() || !std::regex_match(v->get<std::string>(), allowed))
      return fail(field, "got " + v->dump() + "; allowed: " + what);
    out = v->get<std::string>();
    return Status::ok();
  }
  Status integer(const std::string& field, int& out, int lo, int hi) {
    const json* v = find(field);
    if (!v) return Status::ok();
    if (!v->is_number_integer() || v->get<int64_t>() < lo || v->get<int64_t>() > hi)
      return fail(field, "got " + v->dump() + "; allowed: an integer from " + std::to_string(lo) + " to " +
                             std::to_string(hi));
    out = static_cast<int>(v->get<int64_t>());
    return Status::ok();
  }
  // A number above 0, at most `hi`.
  Status positive(const std::string& field, double& out, double hi) {
    const json* v = find(field);
    if (!v) return Status::ok();
    if (!v->is_number() || !(v->get<double>() > 0) || v->get<double>() > hi)
      return fail(field, "got " + v->dump() + "; allowed: a number above 0, at most " + nlohmann::json(hi).dump());
    out = v->get<double>();
    return Status::ok();
  }
  Status integers(const std::string& field, std::vector<int64_t>& out, int64_t lo, int64_t hi, bool required) {
    const json* v = find(field);
    const std::string what = "a list of integers from " + std::to_string(lo) + " to " + std::to_string(hi);
    if (!v) return required ? fail(field, "missing (" + what + ")") : Status::ok();
    if (!v->is_array() || v->empty()) return fail(field, "got " + v->dump() + "; allowed: " + what);
    out.clear();
    for (size_t i = 0; i < v->size(); ++i) {
      const json& x = (*v)[i];
      if (!x.is_number_integer() || x.get<int64_t>() < lo || x.get<int64_t>() > hi)
        return fail(field + "[" + std::to_string(i) + "]", "got " + x.dump() + "; allowed: " + what);
      if (std::find(out.begin(), out.end(), x.get<int64_t>()) != out.end())
        return fail(field + "[" + std::to_string(i) + "]", x.dump() + " appears twice");
      out.push_back(x.get<int64_t>());
    }
    return Status::ok();
  }
  Status object(const std::string& field, json& out) {
    const json* v = find(field);
    if (!v) return Status::ok();
    if (!v->is_object()) return fail(field, "got " + v->dump() + "; allowed: an object");
    out = *v;
    return Status::ok();
  }

 private:
  const json& obj_;
  std::string source_, prefix_;
  std::vector<std::string> known_;
};

const std::regex kName(R"([A-Za-z0-9][A-Za-z0-9_.-]{0,63})");
const std::regex kAnyWord(R"([A-Za-z0-9_.:-]{0,128})");
const std::regex kSlurmTime(R"((\d+-)?\d{1,2}(:\d{2}){0,2}|\d+)");
const std::regex kSlurmMemory(R"((\d+[KMGT]?)?)");

Status read_slurm(const json& doc, const std::string& source, SlurmSettings& s) {
  Fields f(doc, source, "slurm.",
           {"partition", "account", "qos", "gpus_per_task", "cpus_per_task", "memory", "time_limit",
            "points_per_task", "max_parallel"});
  IRENE_RETURN_IF_ERROR(f.no_others());
  IRENE_RETURN_IF_ERROR(f.string("partition", s.partition, kAnyWord, "a Slurm partition name"));
  IRENE_RETURN_IF_ERROR(f.string("account", s.account, kAnyWord, "a Slurm account name"));
  IRENE_RETURN_IF_ERROR(f.string("qos", s.qos, kAnyWord, "a Slurm QOS name"));
  IRENE_RETURN_IF_ERROR(f.integer("gpus_per_task", s.gpus_per_task, 0, 64));
  IRENE_RETURN_IF_ERROR(f.integer("cpus_per_task", s.cpus_per_task, 1, 1024));
  IRENE_RETURN_IF_ERROR(f.string("memory", s.memory, kSlurmMemory, "megabytes, or a size with K, M, G or T (\"16G\")"));
  IRENE_RETURN_IF_ERROR(f.string("time_limit", s.time_limit, kSlurmTime,
                                 "a Slurm time: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"));
  IRENE_RETURN_IF_ERROR(f.integer("points_per_task", s.points_per_task, 1, 10000));
  return f.integer("max_parallel", s.max_parallel, 0, 100000);
}

Status read_profile(const json& doc, const std::string& source, ProfileSettings& p) {
  Fields f(doc, source, "profile.", {"device", "seconds_per_node", "rounds", "level", "threads"});
  IRENE_RETURN_IF_ERROR(f.no_others());
  IRENE_RETURN_IF_ERROR(f.string("device", p.device, std::regex("cpu|cuda"), "cpu or cuda"));
  IRENE_RETURN_IF_ERROR(f.positive("seconds_per_node", p.seconds_per_node, 600));
  IRENE_RETURN_IF_ERROR(f.integer("rounds", p.rounds, 1, 100));
  IRENE_RETURN_IF_ERROR(f.string("level", p.level, std::regex("ml|module|model|all"), "ml, module, model or all"));
  return f.integer("threads", p.threads, 0, 1024);
}

// YAML scalars become JSON numbers, booleans or null where they read as one, unless quoted.
json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : n) out[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : n) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted: a string
      int64_t i;
      double d;
      bool b;
      if (YAML::convert<int64_t>::decode(n, i)) return i;
      if (YAML::convert<double>::decode(n, d)) return d;
      if (YAML::convert<bool>::decode(n, b)) return b;
      if (s == "~" || s == "null") return nullptr;
      return s;
    }
    default: return nullptr;
  }
}

}  // namespace

Result<CampaignSpec> parse_campaign(const json& doc, const std::string& source, bool resolve_models) {
  if (!doc.is_object()) return Status::invalid_argument(source + ": a campaign file is one object (see README: On a cluster)");
  CampaignSpec spec;
  Fields f(doc, source, "",
           {"name", "models", "batch_sizes", "seq_lens", "new_tokens", "repetitions", "slurm", "profile"});
  IRENE_RETURN_IF_ERROR(f.no_others());
  IRENE_RETURN_IF_ERROR(f.string("name", spec.name, kName, "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", true));
  const json* models = f.find("models");
  if (!models || !models->is_array() || models->empty())
    return f.fail("models", std::string(models ? "got " + models->dump() : "missing") +
                                "; allowed: a list of model names (`irene models`, or ORG/NAME in the Hugging Face cache)");
  std::vector<models::ModelConfig> configs;
  for (size_t i = 0; i < models->size(); ++i) {
    const json& m = (*models)[i];
    const std::string field = "models[" + std::to_string(i) + "]";
    if (!m.is_string()) return f.fail(field, "got " + m.dump() + "; allowed: a model name");
    if (std::find(spec.models.begin(), spec.models.end(), m.get<std::string>()) != spec.models.end())
      return f.fail(field, m.dump() + " appears twice");
    spec.models.push_back(m.get<std::string>());
    if (!resolve_models) continue;
    auto config = models::find_model(m.get<std::string>());
    if (!config.is_ok()) return f.fail(field, config.status().message());
    configs.push_back(std::move(config).value());
  }
  IRENE_RETURN_IF_ERROR(f.integers("batch_sizes", spec.batch_sizes, 1, 65536, true));
  IRENE_RETURN_IF_ERROR(f.integers("seq_lens", spec.seq_lens, 1, 1 << 20, true));
  IRENE_RETURN_IF_ERROR(f.integers("new_tokens", spec.new_tokens, 0, 4096, false));
  for (size_t i = 0; i < spec.new_tokens.size(); ++i)
    if (spec.new_tokens[i] != 0)
      return f.fail("new_tokens[" + std::to_string(i) + "]",
                    "got " + std::to_string(spec.new_tokens[i]) +
                        "; allowed: 0 (irene profile measures one forward pass, the prefill; decode steps are not "
                        "profiled yet)");
  IRENE_RETURN_IF_ERROR(f.integer("repetitions", spec.repetitions, 1, 1000));
  json slurm = json::object(), profile = json::object();
  IRENE_RETURN_IF_ERROR(f.object("slurm", slurm));
  IRENE_RETURN_IF_ERROR(f.object("profile", profile));
  IRENE_RETURN_IF_ERROR(read_slurm(slurm, source, spec.slurm));
  IRENE_RETURN_IF_ERROR(read_profile(profile, source, spec.profile));
  if (spec.profile.device == "cuda" && spec.slurm.gpus_per_task == 0)
    return f.fail("profile.device", "cuda needs a GPU: set slurm.gpus_per_task to 1 or more");
  // Every point must be a size its model runs: found now, not by a task hours later.
  for (size_t i = 0; i < configs.size(); ++i)
    for (int64_t b : spec.batch_sizes)
      for (int64_t s : spec.seq_lens) {
        models::RunOptions run{b, s};
        run.keep_activations = true;
        if (Status st = models::validate_run(configs[i], run); !st.is_ok())
          return f.fail("models[" + std::to_string(i) + "]", spec.models[i] + " at batch size " + std::to_string(b) +
                                                                 " and sequence length " + std::to_string(s) + ": " +
                                                                 st.message());
      }
  const size_t points = spec.models.size() * spec.batch_sizes.size() * spec.seq_lens.size() *
                        spec.new_tokens.size() * static_cast<size_t>(spec.repetitions);
  if (points > 100000) return f.fail("models", std::to_string(points) + " points in all; allowed: at most 100,000");
  return spec;
}

Result<CampaignSpec> load_campaign(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("campaign file '" + path + "' cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  json doc;
  const bool yaml = path.size() > 5 && (path.substr(path.size() - 5) == ".yaml" || path.substr(path.size() - 4) == ".yml");
  if (yaml) {
    try {
      doc = yaml_to_json(YAML::Load(text.str()));
    } catch (const YAML::Exception& e) {
      return Status::invalid_argument(path + ": not YAML: " + e.what());
    }
  } else {
    doc = json::parse(text.str(), nullptr, false);
    if (doc.is_discarded()) return Status::invalid_argument(path + ": not JSON (YAML files end in .yaml or .yml)");
  }
  return parse_campaign(doc, path);
}

json to_json(const CampaignSpec& s) {
  return {{"name", s.name},
          {"models", s.models},
          {"batch_sizes", s.batch_sizes},
          {"seq_lens", s.seq_lens},
          {"new_tokens", s.new_tokens},
          {"repetitions", s.repetitions},
          {"slurm",
           {{"partition", s.slurm.partition},
            {"account", s.slurm.account},
            {"qos", s.slurm.qos},
            {"gpus_per_task", s.slurm.gpus_per_task},
            {"cpus_per_task", s.slurm.cpus_per_task},
            {"memory", s.slurm.memory},
            {"time_limit", s.slurm.time_limit},
            {"points_per_task", s.slurm.points_per_task},
            {"max_parallel", s.slurm.max_parallel}}},
          {"profile",
           {{"device", s.profile.device},
            {"seconds_per_node", s.profile.seconds_per_node},
            {"rounds", s.profile.rounds},
            {"level", s.profile.level},
            {"threads", s.profile.threads}}}};
}

}  // namespace irene::campaign
