// What the FHIR interface (handlers_fhir.cc) shares with SMART App Launch
// (handlers_smart.cc).
//
// Thread-safety: pure functions of their arguments.
#ifndef TILLIT_API_SRC_HANDLERS_FHIR_H_
#define TILLIT_API_SRC_HANDLERS_FHIR_H_

#include <string>
#include <string_view>

#include "tillit/base/status.h"

namespace tillit::api::internal {

class Api;
class Call;

// The base of the interface as the client addressed it:
// http(s)://<Host>/fhir.
std::string FhirBaseUrl(const Api& api, const Call& call);
// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string FhirPercentEncode(std::string_view s);
// Whether /fhir serves this resource type.
bool IsFhirType(std::string_view type);
// Answers 406 and returns false when the client wants other than JSON.
bool FhirNegotiateJson(Call& call);
// An OperationOutcome answer of `status`.
void FhirReplyOutcome(Call& call, int status, std::string_view message);
// The citizen whose Patient has this id, as the caller may name them (a
// citizen or app only their own, a provider anyone); NotFound "no such
// patient" otherwise.
StatusOr<std::string> FhirCitizenOfPatient(Api& api, const Call& call,
                                           const std::string& patient_id);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_HANDLERS_FHIR_H_
