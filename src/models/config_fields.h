// Typed readers for config.json fields: each checks the field's JSON type and range and
// names the field in its error, so no value a config holds can reach nlohmann's
// exceptions or libtorch. Internal to the models component; no libtorch here.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace irene::models {

// The largest value a size field may take unless a tighter limit is given: enough for
// every published model, small enough that products of a few sizes stay far from int64
// overflow and nothing a config says can make irene build for hours.
inline constexpr int64_t kMaxConfigInt = int64_t{1} << 24;  // positions, vocabulary
inline constexpr int64_t kMaxLayers = 1024;                 // Llama-3.1-405B has 126
inline constexpr int64_t kMaxHeads = 1024;
inline constexpr int64_t kMaxWidth = int64_t{1} << 17;       // hidden and intermediate sizes
inline constexpr int64_t kMaxExperts = 1024;

// A positive integer; `keys` are the spellings tried in order. Missing or null -> fallback.
Result<int64_t> int_field(const nlohmann::json& doc, std::initializer_list<const char*> keys, int64_t fallback,
                          bool required, int64_t max = kMaxConfigInt);
// A non-negative integer (ids, counts that may be 0).
Result<int64_t> count_field(const nlohmann::json& doc, const char* key, int64_t fallback, int64_t max = kMaxConfigInt);
// A positive finite number.
Result<double> float_field(const nlohmann::json& doc, const char* key, double fallback);
// A positive number, or null/absent for "none" (returns 0).
Result<double> optional_float_field(const nlohmann::json& doc, const char* key, double fallback);
Result<bool> bool_field(const nlohmann::json& doc, const char* key, bool fallback);
Result<std::string> string_field(const nlohmann::json& doc, const char* key, const std::string& fallback);

}  // namespace irene::models
