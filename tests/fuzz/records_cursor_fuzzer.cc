// Fuzz target: the page cursors of the record listings (api/src/cursor.h,
// internal to the api library: GET /v1/me/records and
// GET /v1/patients/{citizen_id}/records take them from the query string).
//
// The bytes are decoded as both cursor forms; a decoded position must
// encode to a cursor that decodes to the same position (for the provider
// form, to the very same text: it has one spelling). The first 16 bytes,
// read as a position, must survive both encoders and decoders whenever
// its sequence number is one the form allows.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "src/cursor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tillit;
  using namespace tillit::fuzz;
  using api::internal::DecodeCitizenCursor;
  using api::internal::DecodeProviderCursor;
  using api::internal::EncodeCitizenCursor;
  using api::internal::EncodeProviderCursor;
  using Position = vault::RecordFilter::Position;
  const std::string_view text = AsText(data, size);

  StatusOr<Position> citizen = DecodeCitizenCursor(text);
  if (citizen.ok()) {
    TILLIT_FUZZ_CHECK(citizen->seq >= 1);
    StatusOr<Position> again =
        DecodeCitizenCursor(EncodeCitizenCursor(*citizen));
    TILLIT_FUZZ_CHECK(again.ok());
    TILLIT_FUZZ_CHECK(again->effective == citizen->effective &&
                      again->seq == citizen->seq);
  } else {
    TILLIT_FUZZ_CHECK(citizen.status().code() == StatusCode::kInvalidArgument);
  }

  StatusOr<Position> provider = DecodeProviderCursor(text);
  if (provider.ok()) {
    TILLIT_FUZZ_CHECK(provider->seq >= 0);
    TILLIT_FUZZ_CHECK(EncodeProviderCursor(*provider) == text);
  } else {
    TILLIT_FUZZ_CHECK(provider.status().code() == StatusCode::kInvalidArgument);
  }

  if (size >= 16) {
    Position p{};
    std::memcpy(&p.effective, data, sizeof p.effective);
    std::memcpy(&p.seq, data + 8, sizeof p.seq);
    StatusOr<Position> c = DecodeCitizenCursor(EncodeCitizenCursor(p));
    TILLIT_FUZZ_CHECK(c.ok() == (p.seq >= 1));
    if (c.ok()) {
      TILLIT_FUZZ_CHECK(c->effective == p.effective && c->seq == p.seq);
    }
    StatusOr<Position> h = DecodeProviderCursor(EncodeProviderCursor(p));
    TILLIT_FUZZ_CHECK(h.ok() == (p.seq >= 0));
    if (h.ok()) {
      TILLIT_FUZZ_CHECK(h->effective == p.effective && h->seq == p.seq);
    }
  }
  return 0;
}
