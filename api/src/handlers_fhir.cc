// The FHIR R4 interface under /fhir (docs/FHIR.md): the CapabilityStatement,
// read, search and Patient/$everything over the vault's records, for the
// citizen (their own records) and for care providers (what the citizen's
// grants and restrictions release, as on /v1/patients/…). Every answer
// with records writes its audit entry first, as the /v1 routes do, with
// the same actions (records.read, records.list), so the citizen's access
// log shows FHIR reads like any other.
//
// Errors are OperationOutcome resources (the server writes them for every
// path under /fhir). Unknown search parameters are refused with
// `Prefer: handling=strict` and otherwise ignored and reported in the
// Bundle, as R4's search page says.
//
// From the Api: vault() (finding a citizen by their Patient's id),
// stores(), policies(), audit(), options().
#include "handlers_fhir.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <functional>
#include <set>

#include "api.h"
#include "call.h"
#include "cursor.h"
#include "handlers_citizen.h"
#include "http_error.h"
#include "provider_access.h"
#include "route.h"
#include "smart.h"
#include "tillit/base/build_info.h"
#include "tillit/crypto/random.h"
#include "tillit/fhir/fhir.h"
#include "tillit/fhir/search.h"

namespace tillit::api::internal {
namespace {

constexpr size_t kDefaultCount = 50;
constexpr size_t kMaxCount = 1000;
constexpr size_t kStorePage = 500;

// --- what the interface serves

// A resource type and the search parameters it has besides _id and
// _lastUpdated.
struct TypeInfo {
  std::string_view type;
  std::string_view code_element;  // the member `code` searches; "" for none
  bool category;                  // `category`: the resource's category
  bool dated;                     // `date`: the record's clinical date
  bool compartment;               // `patient` and `subject`
};

// Sorted by type. Every type the vault classifies (fhir_classify.cc), and
// the Organization and Practitioner resources that come with bundles.
constexpr TypeInfo kTypes[] = {
    {"AllergyIntolerance", "code", true, true, true},
    {"CarePlan", "", true, true, true},
    {"CareTeam", "", true, true, true},
    {"Claim", "", false, true, true},
    {"Composition", "", true, true, true},
    {"Condition", "code", true, true, true},
    {"Coverage", "", false, true, true},
    {"Device", "", false, false, true},
    {"DiagnosticReport", "code", true, true, true},
    {"DocumentReference", "", true, true, true},
    {"Encounter", "", false, true, true},
    {"ExplanationOfBenefit", "", false, true, true},
    {"Goal", "", true, true, true},
    {"ImagingStudy", "", false, true, true},
    {"Immunization", "", false, true, true},
    {"Media", "", false, true, true},
    {"MedicationDispense", "medicationCodeableConcept", true, true, true},
    {"MedicationRequest", "medicationCodeableConcept", true, true, true},
    {"MedicationStatement", "medicationCodeableConcept", true, true, true},
    {"Observation", "code", true, true, true},
    {"Organization", "", false, false, false},
    {"Patient", "", false, false, false},
    {"Practitioner", "", false, false, false},
    {"Procedure", "code", true, true, true},
};

const TypeInfo* FindType(std::string_view type) {
  for (const TypeInfo& t : kTypes) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

struct ParamInfo {
  std::string_view name;
  std::string_view type;  // a FHIR search parameter type
  std::string_view documentation;
};

std::vector<ParamInfo> SearchParamsOf(const TypeInfo& t) {
  std::vector<ParamInfo> out = {
      {"_id", "token", "The resource's id; several separated by commas."},
      {"_lastUpdated", "date",
       "When the vault stored this version of the record, with the prefixes "
       "eq, ne, gt, lt, ge and le."},
  };
  if (t.compartment) {
    out.push_back({"patient", "reference",
                   "The patient whose record it is (Patient/<id> or <id>). A "
                   "provider's search needs it."});
    out.push_back({"subject", "reference", "The same as patient."});
  }
  if (t.dated) {
    out.push_back({"date", "date",
                   "The record's clinical date (the effective, onset, "
                   "performed, occurrence or authored date, as the vault "
                   "classifies it), with the prefixes eq, ne, gt, lt, ge and "
                   "le and the precision of the value."});
  }
  if (t.category) {
    out.push_back({"category", "token",
                   "A coding of the resource's category: code, system|code, "
                   "|code or system|."});
  }
  if (!t.code_element.empty()) {
    out.push_back({"code", "token",
                   "A coding of the resource's code (medicationCodeableConcept "
                   "for medications): code, system|code, |code or system|."});
  }
  return out;
}

// --- the media type

// Whether the request accepts FHIR JSON: its _format, then its Accept.
bool AcceptsJson(const Call& call) {
  auto json_type = [](std::string_view t) {
    // "application/fhir json": a '+' the client did not escape in the
    // query reads as a space.
    return t == "json" || t == "application/json" ||
           t == "application/fhir+json" || t == "application/fhir json" ||
           t == "*/*" || t == "application/*" || t.empty();
  };
  auto trimmed = [](std::string_view t) {
    t = t.substr(0, t.find(';'));
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    return t;
  };
  if (call.req.has_param("_format")) {
    return json_type(trimmed(call.req.get_param_value("_format")));
  }
  const std::string accept = call.req.get_header_value("Accept");
  if (accept.empty()) return true;
  std::string_view rest(accept);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    if (json_type(trimmed(rest.substr(0, comma)))) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

void ReplyOutcome(Call& call, int status, std::string_view message) {
  call.res.status = status;
  call.res.set_content(OperationOutcomeBody(status, message, call.request_id()),
                       kFhirJsonType);
}

// Answers 406 and returns false when the client wants another format.
bool NegotiateJson(Call& call) {
  if (AcceptsJson(call)) return true;
  ReplyOutcome(call, 406, "only JSON is served (application/fhir+json)");
  return false;
}

// --- URLs

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The base of the interface as the client addressed it.
std::string BaseUrl(const Api& api, const Call& call) {
  std::string host = call.req.get_header_value("Host");
  const bool safe = !host.empty() && host.size() <= 255 &&
                    std::all_of(host.begin(), host.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) ||
                             c == '.' || c == '-' || c == ':' || c == '[' ||
                             c == ']';
                    });
  if (!safe) host = "localhost";
  return (api.options().tls_cert.empty() ? "http://" : "https://") + host +
         "/fhir";
}

// The request's URL with its query parameters, without _cursor, and with
// `cursor` as the new one when given.
std::string PageUrl(const std::string& base, const Call& call,
                    std::string_view path_after_base,
                    const std::string& cursor) {
  std::string url = base + std::string(path_after_base);
  char sep = '?';
  for (const auto& [name, value] : call.req.params) {
    if (name == "_cursor") continue;
    url += sep;
    url += PercentEncode(name) + "=" + PercentEncode(value);
    sep = '&';
  }
  if (!cursor.empty()) {
    url += sep;
    url += "_cursor=" + cursor;
  }
  return url;
}

// --- search parameters

struct Search {
  const TypeInfo* type = nullptr;  // nullptr for $everything
  std::set<std::string> types;     // $everything's _type (empty: all)
  std::optional<std::string> patient;
  std::vector<std::vector<std::string>> ids;  // _id: each, any of its
  std::vector<fhir::DateParam> dates;         // date: all of them
  std::vector<fhir::DateParam> updated;       // _lastUpdated, _since
  std::vector<std::vector<fhir::TokenParam>> categories;  // each: any
  std::vector<std::vector<fhir::TokenParam>> codes;
  std::optional<int64_t> start, end;  // $everything's care dates
  size_t count = kDefaultCount;
  std::optional<vault::RecordFilter::Position> after;
  std::vector<std::string> ignored;  // what lenient handling ignored
};

bool Strict(const Call& call) {
  const std::string prefer = call.req.get_header_value("Prefer");
  return prefer.find("handling=strict") != std::string::npos;
}

// Values one parameter may list (commas), and parameters one search may
// have: each costs a comparison per record examined.
constexpr size_t kMaxValues = 100;
constexpr size_t kMaxParams = 50;

Status TooManyValues(std::string_view name) {
  return Status::InvalidArgument(std::string(name) + ": at most " +
                                 std::to_string(kMaxValues) + " values");
}

// For the requests that take no search parameters (read, metadata,
// $summary): with Prefer: handling=strict, any other parameter is 400;
// otherwise it is ignored.
Status OnlyFormat(const Call& call) {
  if (!Strict(call)) return Status::Ok();
  for (const auto& [name, value] : call.req.params) {
    if (name != "_format")
      return Status::InvalidArgument(name.substr(0, 64) +
                                     ": not a parameter of this request");
  }
  return Status::Ok();
}

Status Bad(std::string_view name, const Status& s) {
  return Status::InvalidArgument(std::string(name) + ": " + s.message());
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// Reads the query of a search (`type` set) or of $everything.
StatusOr<Search> ParseSearch(const Call& call, const TypeInfo* type) {
  Search q;
  q.type = type;
  const bool everything = type == nullptr;
  const bool strict = Strict(call);
  auto unsupported = [&](const std::string& name,
                         std::string_view why) -> Status {
    const std::string text = name.substr(0, 64) + ": " + std::string(why);
    if (strict) return Status::InvalidArgument(text);
    q.ignored.push_back(text + "; ignored");
    return Status::Ok();
  };
  if (call.req.params.size() > kMaxParams) {
    return Status::InvalidArgument("at most " + std::to_string(kMaxParams) +
                                   " parameters");
  }
  for (const auto& [name, raw] : call.req.params) {
    if (name == "_format") continue;  // NegotiateJson
    // In a date, a zone's '+' the client did not escape reads as a space
    // (a date holds no space).
    std::string value = raw;
    if (name == "date" || name == "_lastUpdated" || name == "_since" ||
        name == "start" || name == "end") {
      std::replace(value.begin(), value.end(), ' ', '+');
    }
    if (name == "_count") {
      auto n = citizen::ParseInteger<int64_t>(value);
      if (!n || *n < 1) return Status::InvalidArgument("_count: 1 or more");
      q.count = std::min<size_t>(static_cast<size_t>(*n), kMaxCount);
    } else if (name == "_cursor") {
      TILLIT_ASSIGN_OR_RETURN(q.after, DecodeProviderCursor(value));
    } else if (!everything && name == "_sort") {
      if (value != "-date") {
        TILLIT_RETURN_IF_ERROR(unsupported(
            name, "only -date (newest first, the default) is supported"));
      }
    } else if (!everything && name == "_id") {
      std::vector<std::string> any = SplitCommas(value);
      if (any.size() > kMaxValues) return TooManyValues(name);
      for (const std::string& id : any) {
        if (!fhir::IsFhirId(id))
          return Status::InvalidArgument("_id: not a FHIR id");
      }
      q.ids.push_back(std::move(any));
    } else if ((!everything && name == "_lastUpdated") ||
               (everything && name == "_since")) {
      auto d = everything ? fhir::ParseDateParam("ge" + value)
                          : fhir::ParseDateParam(value);
      if (!d.ok()) return Bad(name, d.status());
      q.updated.push_back(*d);
    } else if (!everything && type->compartment &&
               (name == "patient" || name == "subject")) {
      auto id = fhir::PatientReferenceId(value);
      if (!id.ok()) return Bad(name, id.status());
      if (q.patient && *q.patient != *id)
        return Status::InvalidArgument(name + ": one patient per search");
      q.patient = *id;
    } else if (!everything && type->dated && name == "date") {
      auto d = fhir::ParseDateParam(value);
      if (!d.ok()) return Bad(name, d.status());
      q.dates.push_back(*d);
    } else if (!everything &&
               ((type->category && name == "category") ||
                (!type->code_element.empty() && name == "code"))) {
      auto tokens = fhir::ParseTokenParam(value);
      if (!tokens.ok()) return Bad(name, tokens.status());
      if (tokens->size() > kMaxValues) return TooManyValues(name);
      (name == "code" ? q.codes : q.categories).push_back(*tokens);
    } else if (everything && (name == "start" || name == "end")) {
      auto d = fhir::ParseDateParam(value);
      if (!d.ok() || value.empty() ||
          !std::isdigit(static_cast<unsigned char>(value[0])))
        return Status::InvalidArgument(name + ": not a FHIR date");
      (name == "start" ? q.start : q.end) = name == "start" ? d->start : d->end;
    } else if (everything && name == "_type") {
      const std::vector<std::string> types = SplitCommas(value);
      if (types.size() > kMaxValues) return TooManyValues(name);
      for (const std::string& t : types) {
        if (FindType(t) == nullptr) {
          return Status::InvalidArgument("_type: " + t.substr(0, 64) +
                                         " is not a type this server serves");
        }
        q.types.insert(t);
      }
    } else {
      TILLIT_RETURN_IF_ERROR(unsupported(
          name, everything ? "not a parameter of $everything"
                           : "not a search parameter of " +
                                 std::string(type->type) + " here"));
    }
  }
  return q;
}

bool Matches(const Search& q, const vault::StoredRecord& r) {
  if (!q.types.empty() && q.types.count(r.type) == 0) return false;
  for (const std::vector<std::string>& any : q.ids) {
    if (std::find(any.begin(), any.end(), r.id) == any.end()) return false;
  }
  for (const fhir::DateParam& d : q.dates) {
    if (!r.effective || !fhir::DateMatches(d, *r.effective)) return false;
  }
  for (const fhir::DateParam& d : q.updated) {
    if (!fhir::DateMatches(d, r.updated_at)) return false;
  }
  // $everything: records of care in [start, end); undated ones (the
  // Patient, organisations) belong to every period.
  if (r.effective && q.start && *r.effective < *q.start) return false;
  if (r.effective && q.end && *r.effective >= *q.end) return false;
  if (!q.categories.empty()) {
    const std::vector<fhir::Coding> codings =
        fhir::CodingsOf(r.resource, "category");
    for (const auto& any : q.categories) {
      if (!fhir::TokenMatches(codings, any)) return false;
    }
  }
  if (!q.codes.empty()) {
    const std::vector<fhir::Coding> codings =
        fhir::CodingsOf(r.resource, q.type->code_element);
    for (const auto& any : q.codes) {
      if (!fhir::TokenMatches(codings, any)) return false;
    }
  }
  return true;
}

struct Page {
  std::vector<vault::StoredRecord> records;
  std::optional<vault::RecordFilter::Position> next;
};

// The records of `store` that `shown` lets the caller see and that match,
// newest first, from q.after on: at most q.count, and `next` set when more
// follow.
StatusOr<Page> Collect(
    vault::CitizenStore& store, const Search& q,
    const std::function<bool(const vault::StoredRecord&)>& shown) {
  Page page;
  vault::RecordFilter f;
  if (q.type != nullptr) f.type = std::string(q.type->type);
  if (q.types.size() == 1) f.type = *q.types.begin();
  f.after = q.after;
  f.limit = kStorePage;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(std::vector<vault::StoredRecord> rows,
                            store.List(f));
    if (!rows.empty()) f.after = PositionOf(rows.back());
    for (vault::StoredRecord& r : rows) {
      if (!shown(r) || !Matches(q, r)) continue;
      if (page.records.size() == q.count) {
        // More follow: the next page resumes after the last record this
        // one answers. Never at a record the caller may not see: the
        // cursor would tell its date and sequence (what lies between is
        // hidden or does not match, and is passed over again).
        page.next = PositionOf(page.records.back());
        return page;
      }
      page.records.push_back(std::move(r));
    }
    if (rows.size() < f.limit) return page;
  }
}

std::string IssueJson(std::string_view severity, std::string_view code,
                      std::string_view diagnostics) {
  return json{
      {"severity", severity}, {"code", code}, {"diagnostics", diagnostics}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

// A searchset Bundle of `page`, with the records' own bytes.
std::string SearchsetBundle(const std::string& base, const Call& call,
                            std::string_view path, const Search& q,
                            const Page& page) {
  std::string out = R"({"resourceType":"Bundle","type":"searchset",)";
  if (!q.after && !page.next) {  // the whole result is here: cheap
    out += "\"total\":" + std::to_string(page.records.size()) + ",";
  }
  out += R"("link":[{"relation":"self","url":)";
  out += json(PageUrl(base, call, path, "")).dump();
  out += '}';
  if (page.next) {
    out += R"(,{"relation":"next","url":)";
    out += json(PageUrl(base, call, path, EncodeProviderCursor(*page.next)))
               .dump();
    out += '}';
  }
  out += ']';
  bool first = true;
  auto open_entry = [&] {
    out += first ? ",\"entry\":[" : ",";
    first = false;
  };
  for (const vault::StoredRecord& r : page.records) {
    open_entry();
    out += "{\"fullUrl\":";
    out += json(base + "/" + r.type + "/" + r.id).dump();
    out += ",\"resource\":";
    out += r.resource;
    out += R"(,"search":{"mode":"match"}})";
  }
  if (!q.ignored.empty()) {
    open_entry();
    out += R"({"resource":{"resourceType":"OperationOutcome","issue":[)";
    for (size_t i = 0; i < q.ignored.size(); ++i) {
      if (i > 0) out += ',';
      out += IssueJson("warning", "not-supported", q.ignored[i]);
    }
    out += R"(]},"search":{"mode":"outcome"}})";
  }
  if (!first) out += ']';
  out += '}';
  return out;
}

// --- whose records

Status NoSuchPatient() { return Status::NotFound("no such patient"); }

// The citizen whose Patient has `patient_id`, as the caller may name them:
// a citizen only themselves, a provider anyone (their grants decide what
// they see). NotFound "no such patient" otherwise, alike for both.
StatusOr<std::string> CitizenOfPatient(Api& api, const Call& call,
                                       const std::string& patient_id) {
  StatusOr<std::string> citizen = api.vault().FindCitizenByPatient(patient_id);
  if (!citizen.ok()) {
    if (citizen.status().code() == StatusCode::kNotFound)
      return NoSuchPatient();
    return citizen.status();
  }
  if (call.who().role != kProvider && *citizen != call.who().id)
    return NoSuchPatient();
  return citizen;
}

std::set<fhir::Category> CategoriesOf(
    const std::vector<vault::StoredRecord>& records) {
  std::set<fhir::Category> out;
  for (const vault::StoredRecord& r : records) out.insert(r.category);
  return out;
}

using Shown = std::function<bool(const vault::StoredRecord&)>;
// What `read` reads of the store: the categories it released.
using Reader = std::function<StatusOr<std::set<fhir::Category>>(
    vault::CitizenStore&, const Shown&)>;

// Reads `citizen`'s records as the caller may see them (the citizen all of
// theirs; a provider what the grants release, minus restrictions) through
// `read`, then writes the audit entry (records.list) before the caller
// answers. NotFound "no such patient" for a provider no grant permits
// (after a deny entry).
Status ReadRecords(Api& api, Call& call, const std::string& citizen,
                   const Reader& read) {
  std::optional<audit::AuditEntry> entry;
  bool denied = false;
  const bool provider = call.who().role == kProvider;
  const int64_t now = api.Now();
  Status s = api.stores().With(citizen, [&](vault::CitizenStore& store) {
    if (!provider) {
      // An app sees what its scopes and the citizen's choices give.
      const AppAuthorization* app = call.who().app.get();
      TILLIT_ASSIGN_OR_RETURN(std::set<fhir::Category> released,
                              read(store, [app](const vault::StoredRecord& r) {
                                return app == nullptr ||
                                       app->Shows(r, /*search=*/true);
                              }));
      entry = citizen::Entry("records.list", call);
      entry->categories = citizen::CategoryNames(released);
      return Status::Ok();
    }
    TILLIT_ASSIGN_OR_RETURN(Standing standing,
                            StandingOf(api, store, call.who().id, now));
    entry = ProviderEntry("records.list", citizen, *standing.policy,
                          standing.decision);
    if (!standing.decision.permit) {
      denied = true;
      return Status::Ok();
    }
    return read(store,
                [&](const vault::StoredRecord& r) {
                  return consent::Releases(*standing.policy, standing.decision,
                                           citizen::Facts(r),
                                           /*primary_use=*/true);
                })
        .status();
  });
  if (s.code() == StatusCode::kNotFound) return NoSuchPatient();
  TILLIT_RETURN_IF_ERROR(s);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, std::move(*entry)).status());
  if (denied) return NoSuchPatient();
  return Status::Ok();
}

// Runs `q` over `citizen`'s records as the caller may see them and answers
// the searchset Bundle.
Status AnswerSearch(Api& api, Call& call, const std::string& citizen,
                    const Search& q, std::string_view path) {
  Page page;
  TILLIT_RETURN_IF_ERROR(ReadRecords(
      api, call, citizen,
      [&](vault::CitizenStore& store,
          const Shown& shown) -> StatusOr<std::set<fhir::Category>> {
        TILLIT_ASSIGN_OR_RETURN(page, Collect(store, q, shown));
        return CategoriesOf(page.records);
      }));
  call.ReplyText(SearchsetBundle(BaseUrl(api, call), call, path, q, page),
                 kFhirJsonType);
  return Status::Ok();
}

// --- the patient summary (Patient/$summary)

// A random UUID (version 4) as urn:uuid:….
std::string UrnUuid(crypto::Random& rng) {
  std::string h = rng.Hex(16);
  h[12] = '4';
  static constexpr char kVariant[] = "89ab";
  h[16] = kVariant[(h[16] >= 'a' ? h[16] - 'a' + 10 : h[16] - '0') & 3];
  return "urn:uuid:" + h.substr(0, 8) + "-" + h.substr(8, 4) + "-" +
         h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // XHTML has no place for C0 control characters but tab and
        // newline.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n')
          out += c;
    }
  }
  return out;
}

// What a person reads for a record (`doc`, its content): the text or first
// display of its code (or medication, or vaccine), then its date.
std::string Describe(const vault::StoredRecord& r, const json& doc) {
  std::string what;
  if (doc.is_object()) {
    for (const char* member :
         {"code", "medicationCodeableConcept", "vaccineCode"}) {
      auto it = doc.find(member);
      if (it == doc.end() || !it->is_object()) continue;
      if (it->contains("text") && (*it)["text"].is_string()) {
        what = (*it)["text"].get<std::string>();
      } else if (it->contains("coding") && (*it)["coding"].is_array()) {
        for (const json& c : (*it)["coding"]) {
          if (c.is_object() && c.contains("display") &&
              c["display"].is_string()) {
            what = c["display"].get<std::string>();
            break;
          }
        }
      }
      if (!what.empty()) break;
    }
  }
  if (what.empty()) what = r.type;
  if (what.size() > 200) {
    // Cut at a character's start, never inside a UTF-8 sequence.
    size_t cut = 200;
    while (cut > 0 && (static_cast<unsigned char>(what[cut]) & 0xC0) == 0x80)
      --cut;
    what.resize(cut);
  }
  if (r.effective) what += " (" + consent::FormatIsoDate(*r.effective) + ")";
  return what;
}

// What the summary reads of a record's content, parsed once per record.
struct Content {
  json doc;
  // clinicalStatus's first code, else status; "" if neither.
  std::string status;
  // The record says it is wrong or did not happen (status entered-in-error
  // or not-done, verificationStatus entered-in-error or refuted): no
  // section lists it.
  bool withdrawn = false;
};

Content ReadContent(const vault::StoredRecord& r) {
  Content c;
  c.doc = json::parse(r.resource, nullptr, false);
  if (!c.doc.is_object()) {
    c.withdrawn = true;
    return c;
  }
  std::string own;
  auto status = c.doc.find("status");
  if (status != c.doc.end() && status->is_string())
    own = status->get<std::string>();
  c.withdrawn = own == "entered-in-error" || own == "not-done";
  auto clinical = c.doc.find("clinicalStatus");
  if (clinical != c.doc.end() && clinical->is_object() &&
      clinical->contains("coding") && (*clinical)["coding"].is_array() &&
      !(*clinical)["coding"].empty() &&
      (*clinical)["coding"][0].value("code", json()).is_string()) {
    c.status = (*clinical)["coding"][0]["code"].get<std::string>();
  } else {
    c.status = own;
  }
  // verificationStatus is a CodeableConcept: any of its codings.
  auto verification = c.doc.find("verificationStatus");
  if (!c.withdrawn && verification != c.doc.end() &&
      verification->is_object() && verification->contains("coding") &&
      (*verification)["coding"].is_array()) {
    for (const json& coding : (*verification)["coding"]) {
      const json code =
          coding.is_object() ? coding.value("code", json()) : json();
      if (code == "entered-in-error" || code == "refuted") c.withdrawn = true;
    }
  }
  return c;
}

// Which records a section takes (by type and category), and which of
// their statuses it lists.
bool IsCondition(const vault::StoredRecord& r) { return r.type == "Condition"; }
bool IsAllergy(const vault::StoredRecord& r) {
  return r.type == "AllergyIntolerance";
}
bool IsMedication(const vault::StoredRecord& r) {
  return r.type == "MedicationRequest" || r.type == "MedicationStatement";
}
bool IsImmunization(const vault::StoredRecord& r) {
  return r.type == "Immunization";
}
bool IsResult(const vault::StoredRecord& r) {
  return (r.type == "Observation" || r.type == "DiagnosticReport") &&
         r.category == fhir::Category::kLabResults;
}
bool IsProcedure(const vault::StoredRecord& r) { return r.type == "Procedure"; }
bool IsCurrentProblem(const std::string& status) {
  return status != "resolved" && status != "inactive" && status != "remission";
}
bool IsPastProblem(const std::string& status) {
  return !IsCurrentProblem(status);
}
bool IsCurrentMedication(const std::string& status) {
  return status == "active" || status == "on-hold" || status == "intended" ||
         status.empty();
}

// The sections of the International Patient Summary (HL7 IPS): the three
// it requires, always present (empty ones say so), and the others when
// there is something to put in them.
struct SummarySection {
  std::string_view title;
  std::string_view loinc;
  std::string_view display;
  bool required;
  bool (*takes)(const vault::StoredRecord&);
  bool (*lists)(const std::string& status);  // nullptr: any status
};
constexpr SummarySection kSections[] = {
    {"Active problems", "11450-4", "Problem list - Reported", true, IsCondition,
     IsCurrentProblem},
    {"Allergies and intolerances", "48765-2",
     "Allergies and adverse reactions Document", true, IsAllergy, nullptr},
    {"Medications", "10160-0", "History of Medication use Narrative", true,
     IsMedication, IsCurrentMedication},
    {"Immunizations", "11369-6", "History of Immunization Narrative", false,
     IsImmunization, nullptr},
    {"Results", "30954-2",
     "Relevant diagnostic tests/laboratory data Narrative", false, IsResult,
     nullptr},
    {"Procedures", "47519-4", "History of Procedures Document", false,
     IsProcedure, nullptr},
    {"Past illnesses", "11348-0", "History of Past illness Narrative", false,
     IsCondition, IsPastProblem},
};
// The newest records of a section that the summary lists.
constexpr size_t kSectionMax = 100;

// --- handlers

// GET /fhir/metadata
Status Metadata(Api& api, Call& call) {
  if (!NegotiateJson(call)) return Status::Ok();
  TILLIT_RETURN_IF_ERROR(OnlyFormat(call));
  json resources = json::array();
  for (const TypeInfo& t : kTypes) {
    json params = json::array();
    for (const ParamInfo& p : SearchParamsOf(t)) {
      params.push_back({{"name", p.name},
                        {"type", p.type},
                        {"documentation", p.documentation}});
    }
    json r = {{"type", t.type},
              {"interaction",
               json::array({{{"code", "read"}}, {{"code", "search-type"}}})},
              {"searchParam", std::move(params)}};
    if (t.type == "Patient") {
      r["operation"] = json::array(
          {json{{"name", "everything"},
                {"definition",
                 "http://hl7.org/fhir/OperationDefinition/Patient-everything"}},
           json{{"name", "summary"},
                {"definition",
                 "http://hl7.org/fhir/uv/ips/OperationDefinition/summary"}},
           json{{"name", "export"},
                {"definition",
                 "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
                 "patient-export"}}});
    }
    resources.push_back(std::move(r));
  }
  const std::string base = BaseUrl(api, call);
  json statement = {
      {"resourceType", "CapabilityStatement"},
      {"status", "active"},
      {"date", consent::FormatIsoDate(api.Now())},
      {"publisher", "tillit"},
      {"kind", "instance"},
      {"software", {{"name", "tillit"}, {"version", BuildVersion()}}},
      {"implementation",
       {{"description",
         "tillit: a citizen-controlled health data vault. Citizens read "
         "their own records; care providers read what the citizen's grants "
         "release."},
        {"url", base}}},
      {"fhirVersion", "4.0.1"},
      {"format", json::array({"application/fhir+json", "json"})},
      {"rest",
       json::array(
           {{{"mode", "server"},
             {"documentation",
              "Every read is decided by the citizen's consent and written to "
              "the vault's audit log before it is answered. A search "
              "answers the newest records first (_sort=-date) in pages of "
              "_count (default 50, at most 1000), with a next link. "
              "Unknown parameters are refused with Prefer: handling=strict "
              "and otherwise ignored and reported."},
             {"security",
              {{"cors", false},
               {"service",
                json::array({{{"coding",
                               json::array({{{"system",
                                              "http://terminology.hl7.org/"
                                              "CodeSystem/"
                                              "restful-security-service"},
                                             {"code", "SMART-on-FHIR"}}})}}})},
               {"extension",
                json::array(
                    {{{"url",
                       "http://fhir-registry.smarthealthit.org/"
                       "StructureDefinition/oauth-uris"},
                      {"extension",
                       json::array({{{"url", "authorize"},
                                     {"valueUri", base + "/authorize"}},
                                    {{"url", "token"},
                                     {"valueUri", base + "/token"}}})}}})},
               {"description",
                "A bearer token of a citizen or a care provider, issued by "
                "the vault, or of an app the citizen authorised through "
                "SMART App Launch (.well-known/smart-configuration)."}}},
             {"resource", std::move(resources)}}})},
  };
  call.ReplyText(statement.dump(-1, ' ', false, json::error_handler_t::replace),
                 kFhirJsonType);
  return Status::Ok();
}

// GET /fhir/{type}
Status SearchType(Api& api, Call& call) {
  if (!NegotiateJson(call)) return Status::Ok();
  const std::string type_name = call.Param("type");
  const TypeInfo* type = FindType(type_name);
  if (type == nullptr)
    return Status::NotFound("this server does not serve that resource type");
  if (const AppAuthorization* app = call.who().app.get();
      app != nullptr && !app->Allows(type->type, /*search=*/true)) {
    return Status::PermissionDenied("the app's scopes do not give searching " +
                                    type_name);
  }
  TILLIT_ASSIGN_OR_RETURN(Search q, ParseSearch(call, type));
  // Whose records: a citizen's own; a provider names the patient (for
  // the Patient type, by its _id; for a citizen that is a filter).
  const bool provider = call.who().role == kProvider;
  std::optional<std::string> patient = q.patient;
  if (provider && !patient && type->type == "Patient" && q.ids.size() == 1 &&
      q.ids.front().size() == 1)
    patient = q.ids.front().front();
  std::string citizen;
  if (patient) {
    TILLIT_ASSIGN_OR_RETURN(citizen, CitizenOfPatient(api, call, *patient));
  } else if (!provider) {
    citizen = call.who().id;
  } else {
    if (type->compartment)
      return Status::InvalidArgument(
          "patient: a provider's search names the patient");
    if (type->type == "Patient")
      return Status::InvalidArgument(
          "_id: a provider finds a Patient by its id (Patient?_id=…)");
    return Status::InvalidArgument(
        "a provider finds " + type_name +
        " records in the patient's Patient/{id}/$everything");
  }
  if (provider && type->type == "Patient" && patient) {
    // A Patient search about a patient: that Patient, by its id.
    q.ids.push_back({*patient});
  }
  return AnswerSearch(api, call, citizen, q, "/" + type_name);
}

// GET /fhir/{type}/{id}
Status Read(Api& api, Call& call) {
  if (!NegotiateJson(call)) return Status::Ok();
  TILLIT_RETURN_IF_ERROR(OnlyFormat(call));
  const std::string type = call.Param("type");
  const std::string id = call.Param("id");
  if (FindType(type) == nullptr)
    return Status::NotFound("this server does not serve that resource type");
  const AppAuthorization* app = call.who().app.get();
  if (app != nullptr && !app->Allows(type, /*search=*/false))
    return Status::PermissionDenied("the app's scopes do not give reading " +
                                    type);
  if (!fhir::IsFhirId(id)) return Status::NotFound("no such resource");
  const bool provider = call.who().role == kProvider;
  std::string citizen = call.who().id;
  if (provider) {
    // Only a Patient names its citizen; other records are found by a
    // search in the patient's compartment.
    if (type != "Patient") {
      return Status::NotFound(
          "no such resource; a provider finds a record with a search that "
          "names the patient (" +
          type + "?patient=…&_id=…)");
    }
    TILLIT_ASSIGN_OR_RETURN(citizen, CitizenOfPatient(api, call, id));
  }
  const int64_t now = api.Now();
  std::optional<audit::AuditEntry> entry;
  std::string resource;
  bool hidden = false;
  bool denied = false;
  Status s = api.stores().With(citizen, [&](vault::CitizenStore& store) {
    StatusOr<vault::StoredRecord> record = store.Get(type, id);
    if (!record.ok() && record.status().code() != StatusCode::kNotFound)
      return record.status();
    if (!provider) {
      if (!record.ok() || (app != nullptr && !app->Shows(*record, false))) {
        hidden = true;  // nothing read: nothing to log
        return Status::Ok();
      }
      entry = citizen::Entry("records.read", call);
      entry->categories = {std::string(fhir::CategoryName(record->category))};
      resource = std::move(record->resource);
      return Status::Ok();
    }
    TILLIT_ASSIGN_OR_RETURN(Standing standing,
                            StandingOf(api, store, call.who().id, now));
    audit::AuditEntry& e = entry.emplace(ProviderEntry(
        "records.read", citizen, *standing.policy, standing.decision));
    if (!standing.decision.permit) {
      denied = true;
      return Status::Ok();
    }
    hidden = !record.ok() ||
             !consent::Releases(*standing.policy, standing.decision,
                                citizen::Facts(*record), /*primary_use=*/true);
    if (hidden) {
      e.decision = "deny";
      e.categories.clear();
      e.grant_ids.clear();
      return Status::Ok();
    }
    e.categories = {std::string(fhir::CategoryName(record->category))};
    resource = std::move(record->resource);
    return Status::Ok();
  });
  if (s.code() == StatusCode::kNotFound) return NoSuchPatient();
  TILLIT_RETURN_IF_ERROR(s);
  if (entry)
    TILLIT_RETURN_IF_ERROR(
        api.audit().Append(call, std::move(*entry)).status());
  if (denied) return NoSuchPatient();
  if (hidden) return Status::NotFound("no such resource");
  call.ReplyText(std::move(resource), kFhirJsonType);
  return Status::Ok();
}

// GET /fhir/Patient/{id}/$everything
Status Everything(Api& api, Call& call) {
  if (!NegotiateJson(call)) return Status::Ok();
  const std::string id = call.Param("id");
  if (!fhir::IsFhirId(id)) return NoSuchPatient();
  TILLIT_ASSIGN_OR_RETURN(Search q, ParseSearch(call, nullptr));
  if (q.start && q.end && *q.end <= *q.start)
    return Status::InvalidArgument("end: must be after start");
  TILLIT_ASSIGN_OR_RETURN(std::string citizen, CitizenOfPatient(api, call, id));
  return AnswerSearch(api, call, citizen, q, "/Patient/" + id + "/$everything");
}

// GET /fhir/Patient/{id}/$summary: the International Patient Summary of
// the records the caller may see, as a document Bundle.
Status PatientSummary(Api& api, Call& call) {
  if (!NegotiateJson(call)) return Status::Ok();
  const std::string id = call.Param("id");
  if (!fhir::IsFhirId(id)) return NoSuchPatient();
  TILLIT_RETURN_IF_ERROR(OnlyFormat(call));
  TILLIT_ASSIGN_OR_RETURN(std::string citizen, CitizenOfPatient(api, call, id));
  // The newest records of each section, how many each had, and the
  // Patient; read page by page, so a long record never sits in memory.
  constexpr size_t kCount = std::size(kSections);
  // Each listed record with what its narrative line says.
  struct Listed {
    std::string what;
    vault::StoredRecord record;
  };
  std::array<std::vector<Listed>, kCount> listed;
  std::array<size_t, kCount> found{};
  std::optional<vault::StoredRecord> patient;
  TILLIT_RETURN_IF_ERROR(ReadRecords(
      api, call, citizen,
      [&](vault::CitizenStore& store,
          const Shown& shown) -> StatusOr<std::set<fhir::Category>> {
        std::set<fhir::Category> categories;
        vault::RecordFilter f;
        f.limit = kStorePage;
        for (;;) {
          TILLIT_ASSIGN_OR_RETURN(std::vector<vault::StoredRecord> rows,
                                  store.List(f));
          if (!rows.empty()) f.after = PositionOf(rows.back());
          for (vault::StoredRecord& r : rows) {
            if (!shown(r)) continue;
            if (r.type == "Patient" && r.id == id) {
              categories.insert(r.category);
              patient = std::move(r);
              continue;
            }
            std::optional<Content> content;  // read once, if a section may
            for (size_t i = 0; i < kCount; ++i) {
              const SummarySection& sec = kSections[i];
              if (!sec.takes(r)) continue;
              if (!content) content = ReadContent(r);
              if (content->withdrawn) break;
              if (sec.lists != nullptr && !sec.lists(content->status)) continue;
              ++found[i];
              if (listed[i].size() < kSectionMax) {
                categories.insert(r.category);
                std::string what = Describe(r, content->doc);
                listed[i].push_back({std::move(what), std::move(r)});
              }
              break;
            }
          }
          if (rows.size() < f.limit) return categories;
        }
      }));
  // The caller may not see the Patient (a provider without a grant of
  // patient-summary records): the summary names the patient by reference.
  const std::string base = BaseUrl(api, call);
  const int64_t now = api.Now();
  json sections = json::array();
  for (size_t i = 0; i < kCount; ++i) {
    const SummarySection& sec = kSections[i];
    if (!sec.required && listed[i].empty()) continue;
    json section = json::object();
    section["title"] = sec.title;
    section["code"]["coding"] =
        json::array({json{{"system", "http://loinc.org"},
                          {"code", sec.loinc},
                          {"display", sec.display}}});
    std::string div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">";
    if (listed[i].empty()) {
      div += "<p>No information available.</p>";
      section["emptyReason"]["coding"] = json::array({json{
          {"system", "http://terminology.hl7.org/CodeSystem/list-empty-reason"},
          {"code", "unavailable"},
          {"display", "Unavailable"}}});
    } else {
      if (found[i] > listed[i].size()) {
        div += "<p>The " + std::to_string(listed[i].size()) +
               " most recent of " + std::to_string(found[i]) + ".</p>";
      }
      div += "<ul>";
      json entries = json::array();
      for (const auto& [what, r] : listed[i]) {
        div += "<li>" + XmlEscape(what) + "</li>";
        entries.push_back(
            json{{"reference", base + "/" + r.type + "/" + r.id}});
      }
      div += "</ul>";
      section["entry"] = std::move(entries);
    }
    div += "</div>";
    section["text"] = json{{"status", "generated"}, {"div", div}};
    sections.push_back(std::move(section));
  }
  const std::string composition_urn = UrnUuid(*api.options().rng);
  json composition = {
      {"resourceType", "Composition"},
      {"id", composition_urn.substr(9)},
      {"status", "final"},
      {"type",
       json{{"coding",
             json::array({json{{"system", "http://loinc.org"},
                               {"code", "60591-5"},
                               {"display", "Patient summary Document"}}})}}},
      {"subject", json{{"reference", base + "/Patient/" + id}}},
      {"date", ServerLog::Rfc3339(now)},
      {"author", json::array({json{{"display", "tillit health data vault"}}})},
      {"title", "Patient summary"},
      {"section", std::move(sections)}};
  // The Bundle, with the records' own bytes.
  std::string out = R"({"resourceType":"Bundle","identifier":{"system":)"
                    R"("urn:ietf:rfc:3986","value":)";
  out += json(UrnUuid(*api.options().rng)).dump();
  out += R"(},"type":"document","timestamp":)";
  out += json(ServerLog::Rfc3339(now)).dump();
  out += R"(,"entry":[{"fullUrl":)";
  out += json(composition_urn).dump();
  out += ",\"resource\":";
  out += composition.dump(-1, ' ', false, json::error_handler_t::replace);
  out += '}';
  auto add = [&](const vault::StoredRecord& r) {
    out += ",{\"fullUrl\":";
    out += json(base + "/" + r.type + "/" + r.id).dump();
    out += ",\"resource\":";
    out += r.resource;
    out += '}';
  };
  if (patient) add(*patient);
  for (const auto& records : listed) {
    for (const Listed& l : records) add(l.record);
  }
  out += "]}";
  call.ReplyText(std::move(out), kFhirJsonType);
  return Status::Ok();
}

Route FhirRoute(std::string method, std::string path, uint32_t roles,
                std::vector<std::string> query, Handler handler) {
  Route r{{std::move(method), std::move(path), roles, std::move(query), false},
          handler,
          false,
          {}};
  r.fhir = true;
  return r;
}

}  // namespace

std::vector<Route> FhirRoutes() {
  const uint32_t readers = kCitizen | kProvider | kApp;
  return {
      FhirRoute("GET", "/fhir/metadata", kAnyone, {"_format"}, Metadata),
      FhirRoute(
          "GET", "/fhir/Patient/{id}/$everything", readers,
          {"start", "end", "_since", "_type", "_count", "_cursor", "_format"},
          Everything),
      FhirRoute("GET", "/fhir/Patient/{id}/$summary", readers, {"_format"},
                PatientSummary),
      FhirRoute("GET", "/fhir/{type}", readers,
                {"_id", "_lastUpdated", "patient", "subject", "date",
                 "category", "code", "_count", "_sort", "_cursor", "_format"},
                SearchType),
      FhirRoute("GET", "/fhir/{type}/{id}", readers, {"_format"}, Read),
  };
}

std::string FhirBaseUrl(const Api& api, const Call& call) {
  return BaseUrl(api, call);
}

std::string FhirPercentEncode(std::string_view s) { return PercentEncode(s); }

bool IsFhirType(std::string_view type) { return FindType(type) != nullptr; }

bool FhirNegotiateJson(Call& call) { return NegotiateJson(call); }

void FhirReplyOutcome(Call& call, int status, std::string_view message) {
  ReplyOutcome(call, status, message);
}

StatusOr<std::string> FhirCitizenOfPatient(Api& api, const Call& call,
                                           const std::string& patient_id) {
  return CitizenOfPatient(api, call, patient_id);
}

}  // namespace tillit::api::internal
