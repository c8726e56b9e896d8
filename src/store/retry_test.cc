#include "store/retry.h"

#include <gtest/gtest.h>

namespace irene::store {
namespace {

TEST(RetryTest, TransientFailuresAreTriedAgainWithADoublingWait) {
  std::vector<double> waits;
  int calls = 0;
  Status s = run_with_retry({5, 0.5, 30}, "postgresql://db", [&]() -> Attempt {
    ++calls;
    if (calls < 3) return {Status::io_error("connection refused"), true};
    return {Status::ok()};
  }, [&](double w) { waits.push_back(w); });
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(waits, (std::vector<double>{0.5, 1.0}));
}

TEST(RetryTest, LastingFailuresEndInAnIoErrorThatSaysSo) {
  std::vector<double> waits;
  int calls = 0;
  Status s = run_with_retry({4, 1, 2.5}, "postgresql://db", [&]() -> Attempt {
    ++calls;
    return {Status::io_error("server closed the connection"), true};
  }, [&](double w) { waits.push_back(w); });
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(waits, (std::vector<double>{1, 2, 2.5}));  // capped at max_delay_s
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("could not be reached after 4 tries over 5.5 s"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("server closed the connection"), std::string::npos);
  EXPECT_NE(s.message().find("everything written before is kept"), std::string::npos);
}

TEST(RetryTest, OtherFailuresAreNotRetried) {
  int calls = 0;
  Status s = run_with_retry({5, 1, 1}, "sqlite:x", [&]() -> Attempt {
    ++calls;
    return {Status::invalid_argument("bad"), false};
  }, [](double) { FAIL() << "no wait expected"; });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace irene::store
