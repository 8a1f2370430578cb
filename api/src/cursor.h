// The page cursors of the record listings: where the next page resumes,
// as the store position (effective date, sequence number) of the last
// record of a page. Clients treat both forms as opaque strings.
//
//   citizen  GET /v1/me/records                      "<effective>.<seq>"
//   provider GET /v1/provider/citizens/{id}/records  34 lowercase hex digits
//            of (version 1, effective, seq) as 1 + 8 + 8 big-endian bytes
//
// A cursor comes from the query string, so from anyone: decoding refuses
// every malformed one with InvalidArgument "cursor: malformed".
//
// Thread-safety: pure functions.
#ifndef TILLIT_API_SRC_CURSOR_H_
#define TILLIT_API_SRC_CURSOR_H_

#include <string>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/vault/citizen_store.h"

namespace tillit::api::internal {

// The store position of `r`: records without a date sort at INT64_MIN.
vault::RecordFilter::Position PositionOf(const vault::StoredRecord& r);

// "<effective>.<seq>" in decimal.
std::string EncodeCitizenCursor(const vault::RecordFilter::Position& p);
// Its reader: two decimal integers as citizen::ParseInteger reads them (an
// optional '-', then digits; at most 20 characters) joined by the first
// '.', seq at least 1.
StatusOr<vault::RecordFilter::Position> DecodeCitizenCursor(
    std::string_view text);

// Lowercase hex of (version 1, effective, seq).
std::string EncodeProviderCursor(const vault::RecordFilter::Position& p);
// Its reader: only the exact spelling EncodeProviderCursor writes, seq >= 0.
StatusOr<vault::RecordFilter::Position> DecodeProviderCursor(
    std::string_view text);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_CURSOR_H_
