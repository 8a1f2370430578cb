// What the FHIR interface (handlers_fhir.cc) shares with SMART App Launch
// (handlers_smart.cc).
//
// Thread-safety: pure functions of their arguments.
#ifndef TILLIT_API_SRC_HANDLERS_FHIR_H_
#define TILLIT_API_SRC_HANDLERS_FHIR_H_

#include <string>
#include <string_view>

namespace tillit::api::internal {

class Api;
class Call;

// The base of the interface as the client addressed it:
// http(s)://<Host>/fhir.
std::string FhirBaseUrl(const Api& api, const Call& call);
// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string FhirPercentEncode(std::string_view s);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_HANDLERS_FHIR_H_
