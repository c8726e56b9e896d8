// Python's json module's non-finite numbers, as transformers' config files hold them.
#include "common/python_json.h"

#include <gtest/gtest.h>

#include <cmath>

namespace irene {
namespace {

TEST(PythonJsonTest, ReadsInfinityAndNaNOutsideStrings) {
  const nlohmann::json j = parse_python_json(
      R"({"time_step_limit": [0.0, Infinity], "low": -Infinity, "x": NaN, "s": "Infinity NaN \" -Infinity"})");
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["time_step_limit"][0].get<double>(), 0.0);
  EXPECT_TRUE(std::isinf(j["time_step_limit"][1].get<double>()));
  EXPECT_GT(j["time_step_limit"][1].get<double>(), 0);
  EXPECT_TRUE(std::isinf(j["low"].get<double>()));
  EXPECT_LT(j["low"].get<double>(), 0);
  EXPECT_TRUE(std::isnan(j["x"].get<double>()));
  EXPECT_EQ(j["s"], "Infinity NaN \" -Infinity");  // words inside strings stay text
}

TEST(PythonJsonTest, StrictJsonAndMalformedTextAsBefore) {
  EXPECT_EQ(parse_python_json(R"({"a": [1, 2.5, "b"]})"), nlohmann::json::parse(R"({"a": [1, 2.5, "b"]})"));
  EXPECT_TRUE(parse_python_json(R"({"a": Inf})").is_discarded());
  EXPECT_TRUE(parse_python_json(R"({"a": Infinity)").is_discarded());
  EXPECT_TRUE(parse_python_json("").is_discarded());
}

}  // namespace
}  // namespace irene
