#include "limits.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http_error.h"

namespace tillit::api::internal {
namespace {

using nlohmann::json;

TEST(CheckJsonShapeTest, RefusesDeepNestingOutsideStringsOnly) {
  EXPECT_TRUE(CheckJsonShape(R"({"a": [1, {"b": 2}]})", 100, 3).ok());
  EXPECT_EQ(CheckJsonShape(R"({"a": [1, {"b": [2]}]})", 100, 3).code(),
            StatusCode::kInvalidArgument);
  // Brackets inside strings (and escaped quotes) do not count.
  EXPECT_TRUE(CheckJsonShape(R"({"a": "[[[[[\"[[[["})", 100, 1).ok());
  std::string deep(100000, '[');
  EXPECT_EQ(CheckJsonShape(deep, 1 << 20, 64).code(),
            StatusCode::kInvalidArgument);
}

TEST(CheckJsonShapeTest, RefusesBodiesOverTheLimit) {
  EXPECT_TRUE(CheckJsonShape("[1,2,3]", 7, 64).ok());
  EXPECT_EQ(CheckJsonShape("[1,2,3] ", 7, 64).code(),
            StatusCode::kResourceExhausted);
}

TEST(RateLimiterTest, AllowsTheBurstThenRefillsAtTheRate) {
  RateLimiter limiter(2.0, 3.0);
  double retry = 0;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("k", 100.0, &retry));
  EXPECT_FALSE(limiter.Allow("k", 100.0, &retry));
  EXPECT_NEAR(retry, 0.5, 1e-9);
  EXPECT_TRUE(limiter.Allow("other", 100.0, &retry));  // keys are separate
  EXPECT_FALSE(limiter.Allow("k", 100.2, &retry));
  EXPECT_TRUE(limiter.Allow("k", 100.5, &retry));
  EXPECT_TRUE(RateLimiter(0, 1).Allow("k", 0, &retry));  // 0: unlimited
}

TEST(RateLimiterTest, CheckTakesNothingAndOnlyChargesCount) {
  RateLimiter limiter(1.0, 2.0);
  double retry = 0;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.Check("k", 100.0, &retry));
  limiter.Charge("k", 100.0);
  EXPECT_TRUE(limiter.Check("k", 100.0, &retry));
  limiter.Charge("k", 100.0);
  EXPECT_FALSE(limiter.Check("k", 100.0, &retry));
  EXPECT_NEAR(retry, 1.0, 1e-9);
  EXPECT_TRUE(limiter.Check("other", 100.0, &retry));    // keys are separate
  EXPECT_TRUE(limiter.Check("k", 101.0, &retry));        // refilled one
  EXPECT_TRUE(RateLimiter(0, 1).Check("k", 0, &retry));  // 0: unlimited
}

TEST(RateLimiterTest, ChargesBeyondTheBurstAreADebtPaidBackFirst) {
  // Five requests admitted together, all charged: 3 more than the burst.
  RateLimiter limiter(1.0, 2.0);
  double retry = 0;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Check("k", 100.0, &retry));
  for (int i = 0; i < 5; ++i) limiter.Charge("k", 100.0);
  EXPECT_FALSE(limiter.Check("k", 100.0, &retry));
  EXPECT_NEAR(retry, 4.0, 1e-9);  // from -3 back to 1 token
  EXPECT_FALSE(limiter.Check("k", 103.5, &retry));
  EXPECT_NEAR(retry, 0.5, 1e-9);
  EXPECT_TRUE(limiter.Check("k", 104.0, &retry));
}

TEST(RateLimiterTest, ForgetsIdleKeysWhenFull) {
  RateLimiter limiter(1.0, 1.0, 2);
  double retry = 0;
  EXPECT_TRUE(limiter.Allow("a", 0, &retry));
  EXPECT_TRUE(limiter.Allow("b", 0, &retry));
  EXPECT_FALSE(limiter.Allow("a", 0, &retry));
  // A third key at a later time: the refilled buckets are dropped and the
  // new key gets its burst.
  EXPECT_TRUE(limiter.Allow("c", 10, &retry));
  EXPECT_TRUE(limiter.Allow("a", 10, &retry));
}

TEST(ErrorsTest, InternalDetailsNeverReachTheClient) {
  HttpError e = ToHttpError(Status::IoError("sqlite: disk I/O error at /x"));
  EXPECT_EQ(e.status, 503);
  EXPECT_EQ(e.code, "storage_unavailable");
  EXPECT_EQ(e.message.find("/x"), std::string::npos);
  EXPECT_EQ(ToHttpError(Status::DataLoss("file.db damaged")).message,
            "internal error");
  EXPECT_EQ(ToHttpError(Status::NotFound("no such grant")).status, 404);
  EXPECT_EQ(ToHttpError(Status::InvalidArgument("x")).status, 400);
  EXPECT_EQ(ToHttpError(Status::Unauthenticated("x")).status, 401);
  EXPECT_EQ(ToHttpError(Status::PermissionDenied("x")).status, 403);
  EXPECT_EQ(ToHttpError(Status::FailedPrecondition("x")).status, 409);
  json body = json::parse(ErrorBody("not_found", "gone", "abc"));
  EXPECT_EQ(body["error"]["code"], "not_found");
  EXPECT_EQ(body["error"]["message"], "gone");
  EXPECT_EQ(body["error"]["request_id"], "abc");
}

}  // namespace
}  // namespace tillit::api::internal
