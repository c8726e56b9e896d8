#include "common/status.h"

#include <gtest/gtest.h>

namespace irene {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return Status::invalid_argument("must be positive");
  return v;
}

Result<int> doubled(int v) {
  IRENE_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

TEST(StatusTest, OkAndErrorsCarryCodeAndMessage) {
  EXPECT_TRUE(Status::ok().is_ok());
  Status s = Status::not_found("no model 'bert'");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.to_string(), "not_found: no model 'bert'");
  EXPECT_TRUE(s.is_user_error());
  EXPECT_FALSE(Status::io_error("disk").is_user_error());
}

TEST(StatusTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(doubled(3).value(), 6);
  Result<int> r = doubled(-1);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "must be positive");
}

}  // namespace
}  // namespace irene
