#include "models/config_fields.h"

#include <cmath>

namespace irene::models {

namespace {
bool present(const nlohmann::json& doc, const char* key) { return doc.contains(key) && !doc[key].is_null(); }

// A value as config.json spells it: JSON, or Python's words for non-finite numbers
// (nlohmann would print them as null).
std::string spelled(const nlohmann::json& v) {
  if (v.is_number_float() && !std::isfinite(v.get<double>()))
    return std::isnan(v.get<double>()) ? "NaN" : v.get<double>() > 0 ? "Infinity" : "-Infinity";
  return v.dump();
}

Status wrong(const char* key, const std::string& expected, const nlohmann::json& got) {
  return Status::invalid_argument(std::string("config field '") + key + "' must be " + expected + ", got " +
                                  spelled(got));
}
}  // namespace

Result<int64_t> int_field(const nlohmann::json& doc, std::initializer_list<const char*> keys, int64_t fallback,
                          bool required, int64_t max) {
  for (const char* key : keys) {
    if (!present(doc, key)) continue;
    const auto& v = doc[key];
    const std::string expected = "a positive integer of at most " + std::to_string(max);
    // nlohmann stores non-negative integers as unsigned (up to 2^64 - 1): compare as such.
    const bool in_range = v.is_number_unsigned()
                              ? v.get<uint64_t>() >= 1 && v.get<uint64_t>() <= static_cast<uint64_t>(max)
                              : v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= max;
    if (!in_range) return wrong(key, expected, v);
    return v.get<int64_t>();
  }
  if (required) return Status::invalid_argument(std::string("config is missing the field '") + *keys.begin() + "'");
  return fallback;
}

Result<int64_t> count_field(const nlohmann::json& doc, const char* key, int64_t fallback, int64_t max) {
  if (!present(doc, key)) return fallback;
  const auto& v = doc[key];
  const std::string expected = "an integer from 0 to " + std::to_string(max);
  const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(max)
                                               : v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= max;
  if (!in_range) return wrong(key, expected, v);
  return v.get<int64_t>();
}

Result<double> float_field(const nlohmann::json& doc, const char* key, double fallback) {
  if (!present(doc, key)) return fallback;
  const auto& v = doc[key];
  if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
    return wrong(key, "a positive number", v);
  return v.get<double>();
}

Result<double> optional_float_field(const nlohmann::json& doc, const char* key, double fallback) {
  if (doc.contains(key) && doc[key].is_null()) return 0.0;
  return float_field(doc, key, fallback);
}

Result<bool> bool_field(const nlohmann::json& doc, const char* key, bool fallback) {
  if (!present(doc, key)) return fallback;
  if (!doc[key].is_boolean()) return wrong(key, "true or false", doc[key]);
  return doc[key].get<bool>();
}

Result<std::string> string_field(const nlohmann::json& doc, const char* key, const std::string& fallback) {
  if (!present(doc, key)) return fallback;
  if (!doc[key].is_string()) return wrong(key, "a string", doc[key]);
  return doc[key].get<std::string>();
}

}  // namespace irene::models
