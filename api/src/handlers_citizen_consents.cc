// Citizen routes for consent: grants (list, add, preview, revoke),
// restrictions, the research opt-out and the privacy budget of aggregates
// (see handlers_citizen.h for the audit rules).
//
// From the Api: audit(), consent(), privacy().
#include <algorithm>

#include "api.h"
#include "call.h"
#include "handlers_citizen.h"
#include "server_log.h"
#include "tillit/research/aggregate.h"

namespace tillit::api::internal::citizen {
namespace {

std::string GrantsJson(const std::vector<consent::Grant>& grants) {
  std::string body = "{\"consents\":[";
  for (size_t i = 0; i < grants.size(); ++i) {
    if (i) body += ',';
    body += consent::GrantToJson(grants[i]);
  }
  body += "]}";
  return body;
}

}  // namespace

Status ListConsents(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<consent::Grant> grants,
                          api.consent().ListGrants(call.citizen()));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("consent.list", call)).status());
  call.ReplyText(GrantsJson(grants), "application/json");
  return Status::Ok();
}

Status AddConsent(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  // Validated before the entry is written, so bad input leaves no trace;
  // AddGrant validates again (same clock) and stores the grant under the
  // id the entry names.
  TILLIT_ASSIGN_OR_RETURN(consent::Grant draft,
                          consent::ParseGrant(text, api.Now()));
  const std::string id = api.consent().NewGrantId();
  audit::AuditEntry e = Entry("consent.grant", call);
  e.categories = CategoryNames(draft.categories);
  e.grant_ids = {id};
  if (draft.purposes.size() == 1)
    e.purpose = std::string(consent::DuoId(draft.purposes[0].purpose));
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  TILLIT_ASSIGN_OR_RETURN(consent::Grant grant,
                          api.consent().AddGrant(call.citizen(), text, id));
  call.ReplyText(consent::GrantToJson(grant), "application/json", 201);
  return Status::Ok();
}

Status RevokeConsent(Api& api, Call& call) {
  const std::string id = call.Param("id");
  if (!vault::IsValidId(id, "g_")) return Status::NotFound("no such grant");
  TILLIT_ASSIGN_OR_RETURN(std::vector<consent::Grant> grants,
                          api.consent().ListGrants(call.citizen()));
  auto it = std::find_if(grants.begin(), grants.end(),
                         [&](const consent::Grant& g) { return g.id == id; });
  if (it == grants.end()) return Status::NotFound("no such grant");
  if (it->status == consent::Grant::Status::kRevoked)
    return Status::FailedPrecondition("the grant is already revoked");
  audit::AuditEntry e = Entry("consent.revoke", call);
  e.grant_ids = {id};
  e.categories = CategoryNames(it->categories);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  TILLIT_ASSIGN_OR_RETURN(consent::Grant revoked,
                          api.consent().RevokeGrant(call.citizen(), id));
  call.ReplyText(consent::GrantToJson(revoked), "application/json");
  return Status::Ok();
}

Status PreviewConsent(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(consent::GrantPreview preview,
                          api.consent().PreviewGrant(call.citizen(), text));
  audit::AuditEntry e = Entry("consent.preview", call);
  for (const auto& [name, count] : preview.by_category) {
    if (count > 0) e.categories.push_back(name);
  }
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  call.Reply({{"by_category", preview.by_category},
              {"total", preview.total},
              {"matching_studies", preview.matching_studies}});
  return Status::Ok();
}

// --- restrictions and opt-out

Status GetRestrictions(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(consent::Restrictions r,
                          api.consent().GetRestrictions(call.citizen()));
  audit::AuditEntry e = Entry("restrictions.read", call);
  e.categories = CategoryNames(r.categories);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  call.ReplyText(consent::ConsentService::RestrictionsToJson(r),
                 "application/json");
  return Status::Ok();
}

Status PutRestrictions(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  // Every rule is checked before the entry is written, so bad input
  // leaves no trace; SetRestrictions checks them again.
  TILLIT_ASSIGN_OR_RETURN(consent::Restrictions parsed,
                          consent::ConsentService::ParseRestrictions(text));
  audit::AuditEntry e = Entry("restrictions.update", call);
  e.categories = CategoryNames(parsed.categories);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  TILLIT_ASSIGN_OR_RETURN(consent::Restrictions r,
                          api.consent().SetRestrictions(call.citizen(), text));
  call.ReplyText(consent::ConsentService::RestrictionsToJson(r),
                 "application/json");
  return Status::Ok();
}

namespace {

// The body of PUT /v1/me/research-opt-out and /v1/me/primary-use-opt-out.
StatusOr<bool> OptOutBody(Call& call) {
  TILLIT_ASSIGN_OR_RETURN(json j, call.Json());
  if (!j.is_object() || j.size() != 1 || !j.contains("opted_out") ||
      !j["opted_out"].is_boolean()) {
    return Status::InvalidArgument(
        "opted_out: the body must be {\"opted_out\": true or false}");
  }
  return j["opted_out"].get<bool>();
}

}  // namespace

Status GetOptOut(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(bool opted_out,
                          api.consent().GetResearchOptOut(call.citizen()));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("research-opt-out.read", call)).status());
  call.Reply({{"opted_out", opted_out}});
  return Status::Ok();
}

Status PutOptOut(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(const bool opted_out, OptOutBody(call));
  const audit::AuditEntry e = Entry("research-opt-out.update", call);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  TILLIT_RETURN_IF_ERROR(
      api.consent().SetResearchOptOut(call.citizen(), opted_out));
  call.Reply({{"opted_out", opted_out}});
  return Status::Ok();
}

Status GetPrimaryOptOut(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(bool opted_out,
                          api.consent().GetPrimaryUseOptOut(call.citizen()));
  TILLIT_RETURN_IF_ERROR(
      api.audit()
          .Append(call, Entry("primary-use-opt-out.read", call))
          .status());
  call.Reply({{"opted_out", opted_out},
              {"break_glass", api.options().break_glass_despite_opt_out}});
  return Status::Ok();
}

Status PutPrimaryOptOut(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(const bool opted_out, OptOutBody(call));
  const audit::AuditEntry e = Entry("primary-use-opt-out.update", call);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  TILLIT_RETURN_IF_ERROR(
      api.consent().SetPrimaryUseOptOut(call.citizen(), opted_out));
  call.Reply({{"opted_out", opted_out},
              {"break_glass", api.options().break_glass_despite_opt_out}});
  return Status::Ok();
}

// Per study that used my data in an aggregate: the spend, my cap for it as
// my grants stand now (null when they no longer let the study in), and the
// queries in words.
Status PrivacyBudget(Api& api, Call& call) {
  const std::string& me = call.citizen();
  TILLIT_ASSIGN_OR_RETURN(std::vector<research::CitizenStudySpend> spends,
                          api.privacy().ForCitizen(me));
  TILLIT_ASSIGN_OR_RETURN(const int64_t default_cap,
                          api.privacy().DefaultCitizenCap());
  TILLIT_ASSIGN_OR_RETURN(consent::CitizenPolicy policy,
                          api.consent().LoadPolicy(me));
  json studies = json::array();
  for (const research::CitizenStudySpend& spend : spends) {
    json study = {{"study_id", spend.study_id},
                  {"spent", EpsilonJson(spend.spent)},
                  {"cap", nullptr},
                  {"remaining", 0}};
    StatusOr<consent::StudyDefinition> s =
        api.consent().GetStudy(spend.study_id);
    if (s.ok()) {
      study["title"] = s->title;
      study["researcher"] = s->study.researcher_id;
      StatusOr<consent::ResearcherProfile> r =
          api.consent().GetResearcher(s->study.researcher_id);
      if (r.ok()) {
        study["organization"] = r->organization;
        consent::Decision d;
        consent::DecideResearch(policy, {&*r, &s->study}, api.Now(), &d);
        if (d.permit) {
          const int64_t cap = research::CitizenCap(policy, d, default_cap);
          study["cap"] = EpsilonJson(cap);
          study["remaining"] =
              EpsilonJson(std::max<int64_t>(0, cap - spend.spent));
        }
      }
    }
    json queries = json::array();
    for (const research::LedgerQuery& q : spend.queries) {
      queries.push_back({{"id", q.id},
                         {"time", ServerLog::Rfc3339(q.time)},
                         {"epsilon", EpsilonJson(q.epsilon)},
                         {"description", q.description}});
    }
    study["queries"] = std::move(queries);
    studies.push_back(std::move(study));
  }
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("privacy-budget.read", call)).status());
  call.Reply({{"default_cap", EpsilonJson(default_cap)},
              {"studies", std::move(studies)}});
  return Status::Ok();
}

}  // namespace tillit::api::internal::citizen
