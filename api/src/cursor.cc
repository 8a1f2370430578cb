#include "cursor.h"

#include <cstdint>
#include <limits>

#include "handlers_citizen.h"
#include "tillit/crypto/encoding.h"

namespace tillit::api::internal {
namespace {

constexpr uint8_t kCursorVersion = 1;
constexpr size_t kCursorBytes = 17;  // version, effective, seq

void PutBigEndian(uint64_t v, uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetBigEndian(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

Status Malformed() { return Status::InvalidArgument("cursor: malformed"); }

}  // namespace

vault::RecordFilter::Position PositionOf(const vault::StoredRecord& r) {
  return {r.effective.value_or(std::numeric_limits<int64_t>::min()), r.seq};
}

std::string EncodeCitizenCursor(const vault::RecordFilter::Position& p) {
  return std::to_string(p.effective) + "." + std::to_string(p.seq);
}

StatusOr<vault::RecordFilter::Position> DecodeCitizenCursor(
    std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return Malformed();
  std::optional<int64_t> effective =
      citizen::ParseInteger<int64_t>(text.substr(0, dot));
  std::optional<int64_t> seq =
      citizen::ParseInteger<int64_t>(text.substr(dot + 1));
  if (!effective || !seq || *seq < 1) return Malformed();
  return vault::RecordFilter::Position{*effective, *seq};
}

std::string EncodeProviderCursor(const vault::RecordFilter::Position& p) {
  uint8_t bytes[kCursorBytes];
  bytes[0] = kCursorVersion;
  PutBigEndian(static_cast<uint64_t>(p.effective), bytes + 1);
  PutBigEndian(static_cast<uint64_t>(p.seq), bytes + 9);
  return crypto::HexEncode(bytes);
}

StatusOr<vault::RecordFilter::Position> DecodeProviderCursor(
    std::string_view text) {
  if (text.size() != 2 * kCursorBytes) return Malformed();
  auto bytes = crypto::HexDecode(text);
  if (!bytes.ok() || bytes->size() != kCursorBytes ||
      (*bytes)[0] != kCursorVersion) {
    return Malformed();
  }
  vault::RecordFilter::Position p{
      static_cast<int64_t>(GetBigEndian(bytes->data() + 1)),
      static_cast<int64_t>(GetBigEndian(bytes->data() + 9))};
  // One spelling per position (lower-case hex), and a real sequence number.
  if (p.seq < 0 || EncodeProviderCursor(p) != text) return Malformed();
  return p;
}

}  // namespace tillit::api::internal
