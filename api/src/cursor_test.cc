#include "cursor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace tillit::api::internal {
namespace {

using Position = vault::RecordFilter::Position;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

void ExpectMalformed(const StatusOr<Position>& p) {
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.status().message(), "cursor: malformed");
}

TEST(CursorTest, PositionOfSortsUndatedRecordsFirst) {
  vault::StoredRecord r;
  r.seq = 7;
  EXPECT_EQ(PositionOf(r).effective, kMin);
  EXPECT_EQ(PositionOf(r).seq, 7);
  r.effective = 1420070400;
  EXPECT_EQ(PositionOf(r).effective, 1420070400);
}

TEST(CursorTest, CitizenCursorRoundTrips) {
  for (const Position p : {Position{1420070400, 1}, Position{kMin, 42},
                           Position{kMax, kMax}, Position{-1, 3}}) {
    const std::string text = EncodeCitizenCursor(p);
    StatusOr<Position> back = DecodeCitizenCursor(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(back->effective, p.effective);
    EXPECT_EQ(back->seq, p.seq);
  }
  EXPECT_EQ(EncodeCitizenCursor({1420070400, 12}), "1420070400.12");
}

TEST(CursorTest, CitizenCursorRefusesMalformedText) {
  for (const char* text :
       {"", ".", "12", "12.", ".12", "12.0", "12.-1", "a.1", "1.1.1", "+1.1",
        " 1.1", "1.1 ", "99999999999999999999.1", "1.0x1"}) {
    SCOPED_TRACE(text);
    ExpectMalformed(DecodeCitizenCursor(text));
  }
}

TEST(CursorTest, ProviderCursorRoundTrips) {
  for (const Position p : {Position{1420070400, 0}, Position{kMin, 42},
                           Position{kMax, kMax}, Position{-1, 3}}) {
    const std::string text = EncodeProviderCursor(p);
    EXPECT_EQ(text.size(), 34u);
    StatusOr<Position> back = DecodeProviderCursor(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(back->effective, p.effective);
    EXPECT_EQ(back->seq, p.seq);
  }
  EXPECT_EQ(EncodeProviderCursor({1, 2}), "0100000000000000010000000000000002");
}

TEST(CursorTest, ProviderCursorRefusesAnyOtherSpelling) {
  const std::string good = EncodeProviderCursor({kMin, 42});
  ASSERT_EQ(good.back(), 'a');  // seq 42 ends in "2a"
  std::string upper = good;
  upper.back() = 'A';  // the same bytes in upper-case hex: another spelling
  const std::string negative_seq =
      "01"
      "0000000000000000"
      "ffffffffffffffff";
  for (const std::string& text :
       {std::string(), good.substr(0, 32), good + "00",
        "02" + good.substr(2),  // another version
        upper, negative_seq, std::string(34, 'x')}) {
    SCOPED_TRACE(text);
    ExpectMalformed(DecodeProviderCursor(text));
  }
}

}  // namespace
}  // namespace tillit::api::internal
