#include "tillit/base/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace tillit {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
    const char* name;
  };
  const Case cases[] = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument,
       "INVALID_ARGUMENT"},
      {Status::NotFound("m"), StatusCode::kNotFound, "NOT_FOUND"},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists,
       "ALREADY_EXISTS"},
      {Status::PermissionDenied("m"), StatusCode::kPermissionDenied,
       "PERMISSION_DENIED"},
      {Status::Unauthenticated("m"), StatusCode::kUnauthenticated,
       "UNAUTHENTICATED"},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition,
       "FAILED_PRECONDITION"},
      {Status::DataLoss("m"), StatusCode::kDataLoss, "DATA_LOSS"},
      {Status::IoError("m"), StatusCode::kIoError, "IO_ERROR"},
      {Status::ResourceExhausted("m"), StatusCode::kResourceExhausted,
       "RESOURCE_EXHAUSTED"},
      {Status::Internal("m"), StatusCode::kInternal, "INTERNAL"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(StatusCodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "OK");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = Status::NotFound("no such citizen").WithContext("load");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "load: no such citizen");
  EXPECT_TRUE(Status::Ok().WithContext("load").ok());
  EXPECT_EQ(Status::Ok().WithContext("load").message(), "");
}

TEST(StatusOrTest, HoldsValue) {
  StatusOr<int> v = 42;
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v.status().ok());
  EXPECT_EQ(v.value(), 42);
  EXPECT_EQ(*v, 42);
  *v = 7;
  EXPECT_EQ(v.value(), 7);
}

TEST(StatusOrTest, HoldsError) {
  StatusOr<int> v = Status::NotFound("gone");
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(v.status().message(), "gone");
}

TEST(StatusOrTest, ArrowReachesMembers) {
  StatusOr<std::string> v = std::string("abc");
  EXPECT_EQ(v->size(), 3u);
  const StatusOr<std::string>& cv = v;
  EXPECT_EQ(cv->size(), 3u);
  EXPECT_EQ(*cv, "abc");
}

TEST(StatusOrTest, MoveOnlyValueMovesOut) {
  StatusOr<std::unique_ptr<int>> v = std::make_unique<int>(5);
  ASSERT_TRUE(v.ok());
  std::unique_ptr<int> p = std::move(v).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
  StatusOr<std::unique_ptr<int>> w = std::make_unique<int>(6);
  std::unique_ptr<int> q = *std::move(w);
  EXPECT_EQ(*q, 6);
}

#ifdef NDEBUG
TEST(StatusOrTest, OkStatusBecomesInternalInReleaseBuilds) {
  StatusOr<int> v = Status::Ok();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInternal);
}
#endif

Status FailIf(bool fail) {
  return fail ? Status::PermissionDenied("denied") : Status::Ok();
}

StatusOr<int> ValueOrError(bool fail) {
  if (fail) return Status::DataLoss("corrupt");
  return 10;
}

Status UsesReturnIfError(bool fail, int* reached) {
  TILLIT_RETURN_IF_ERROR(FailIf(fail));
  ++*reached;
  return Status::Ok();
}

StatusOr<int> UsesAssignOrReturn(bool fail) {
  TILLIT_ASSIGN_OR_RETURN(int v, ValueOrError(fail));
  TILLIT_ASSIGN_OR_RETURN(int w,
                          ValueOrError(false));  // second use, same scope
  return v + w + 1;
}

StatusOr<std::unique_ptr<int>> MakeBox(bool fail) {
  if (fail) return Status::NotFound("none");
  return std::make_unique<int>(3);
}

Status AssignsMoveOnly(bool fail, int* out) {
  std::unique_ptr<int> box;
  TILLIT_ASSIGN_OR_RETURN(box, MakeBox(fail));
  *out = *box;
  return Status::Ok();
}

TEST(StatusMacrosTest, ReturnIfErrorPassesOkThrough) {
  int reached = 0;
  EXPECT_TRUE(UsesReturnIfError(false, &reached).ok());
  EXPECT_EQ(reached, 1);
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsTheError) {
  int reached = 0;
  Status s = UsesReturnIfError(true, &reached);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "denied");
  EXPECT_EQ(reached, 0);
}

TEST(StatusMacrosTest, AssignOrReturnAssigns) {
  StatusOr<int> v = UsesAssignOrReturn(false);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 21);
}

TEST(StatusMacrosTest, AssignOrReturnPropagatesIntoStatusOr) {
  StatusOr<int> v = UsesAssignOrReturn(true);
  EXPECT_EQ(v.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(v.status().message(), "corrupt");
}

TEST(StatusMacrosTest, AssignOrReturnToExistingMoveOnlyVariable) {
  int out = 0;
  EXPECT_TRUE(AssignsMoveOnly(false, &out).ok());
  EXPECT_EQ(out, 3);
  EXPECT_EQ(AssignsMoveOnly(true, &out).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tillit
