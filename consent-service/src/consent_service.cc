#include "tillit/consent_service/consent_service.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>

#include "json_fields.h"
#include "researcher_json.h"
#include "store_layout.h"
#include "tillit/consent_service/proxies.h"
#include "tillit/fhir/fhir.h"

namespace tillit::consent {
namespace {

using nlohmann::json;
using service_internal::CategoryListJson;
using service_internal::kBreakGlassKind;
using service_internal::kGrantKind;
using service_internal::kIndexKind;
using service_internal::kOptOutKey;
using service_internal::kPrimaryOptOutKey;
using service_internal::kRestrictionsKey;
using service_internal::kSettingKind;
using service_internal::ParseCategoryList;
using service_internal::ParseObject;
using service_internal::RejectUnknown;

constexpr size_t kMaxRestrictedRecords = 10000;
constexpr size_t kMaxReasonBytes = 1000;

// "Type/id" with FHIR's type and id alphabets.
bool IsRecordRef(std::string_view ref) {
  size_t slash = ref.find('/');
  if (slash == std::string_view::npos || slash < 2 || slash > 64) return false;
  std::string_view type = ref.substr(0, slash), id = ref.substr(slash + 1);
  if (id.empty() || id.size() > 64 || type[0] < 'A' || type[0] > 'Z')
    return false;
  for (char c : type) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return false;
  }
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.')
      return false;
  }
  return true;
}

StatusOr<std::vector<Grant>> ReadGrants(vault::CitizenStore& store) {
  TILLIT_ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kGrantKind));
  std::vector<Grant> grants;
  for (const auto& [id, text] : docs) {
    auto g = GrantFromStoredJson(text);
    if (!g.ok()) return Status::DataLoss("a stored grant is malformed");
    grants.push_back(std::move(g).value());
  }
  std::sort(grants.begin(), grants.end(), [](const Grant& a, const Grant& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at
                                        : a.id < b.id;
  });
  return grants;
}

StatusOr<bool> ReadSwitch(vault::CitizenStore& store, std::string_view key) {
  TILLIT_ASSIGN_OR_RETURN(auto v, store.GetDocument(kSettingKind, key));
  return v.has_value() && *v == "true";
}

StatusOr<bool> ReadOptOut(vault::CitizenStore& store) {
  return ReadSwitch(store, kOptOutKey);
}

}  // namespace

ConsentService::ConsentService(vault::Vault* vault, Clock* clock,
                               crypto::Random* rng, vault::StoreAccess* access)
    : vault_(vault),
      clock_(clock),
      rng_(rng),
      direct_(vault),
      access_(access != nullptr ? access : &direct_) {}

Status ConsentService::WriteWithIndex(vault::CitizenStore& store,
                                      std::vector<vault::DocumentWrite> writes,
                                      const std::vector<Grant>& grants,
                                      bool opted_out) {
  vault::IndexUpdate index{std::string(kIndexKind), {}};
  for (const Grant& g : grants) {
    if (g.status == Grant::Status::kActive) {
      index.rows.push_back(vault::IndexRow{g.id, GrantIndexJson(g)});
    }
  }
  if (opted_out)
    index.rows.push_back(vault::IndexRow{std::string(kOptOutKey), "true"});
  return store.WriteDocuments(writes, &index, clock_->NowSeconds());
}

StatusOr<Restrictions> ConsentService::ParseRestrictions(
    std::string_view text) {
  Status error;
  json j = ParseObject(text, "restrictions", &error);
  TILLIT_RETURN_IF_ERROR(error);
  TILLIT_RETURN_IF_ERROR(RejectUnknown(j, {"categories", "records"}, ""));
  Restrictions r;
  if (j.contains("categories")) {
    TILLIT_ASSIGN_OR_RETURN(r.categories,
                            ParseCategoryList(j["categories"], "categories"));
  }
  if (j.contains("records")) {
    if (!j["records"].is_array())
      return Status::InvalidArgument("records: must be an array");
    if (j["records"].size() > kMaxRestrictedRecords) {
      return Status::InvalidArgument("records: at most 10000");
    }
    size_t i = 0;
    for (const auto& ref : j["records"]) {
      if (!ref.is_string() || !IsRecordRef(ref.get<std::string>())) {
        return Status::InvalidArgument("records[" + std::to_string(i) +
                                       "]: must be \"Type/id\"");
      }
      ++i;
      r.records.push_back(ref.get<std::string>());
    }
    std::sort(r.records.begin(), r.records.end());
    r.records.erase(std::unique(r.records.begin(), r.records.end()),
                    r.records.end());
  }
  return r;
}

std::string ConsentService::RestrictionsToJson(const Restrictions& r) {
  return json{{"categories", CategoryListJson(r.categories)},
              {"records", r.records}}
      .dump();
}

std::string ConsentService::NewGrantId() { return "g_" + rng_->Hex(16); }

StatusOr<Grant> ConsentService::AddGrant(const std::string& citizen_id,
                                         std::string_view text,
                                         const std::string& id) {
  if (!id.empty() && !vault::IsValidId(id, "g_"))
    return Status::InvalidArgument("grant id: not a grant id");
  const int64_t now = clock_->NowSeconds();
  TILLIT_ASSIGN_OR_RETURN(Grant grant, ParseGrant(text, now));
  grant.id = id.empty() ? NewGrantId() : id;
  grant.status = Grant::Status::kActive;
  grant.created_at = now;
  grant.revoked_at.reset();
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(std::vector<Grant> grants, ReadGrants(store));
        for (const Grant& g : grants) {
          if (g.id == grant.id)
            return Status::AlreadyExists("a grant with this id exists");
        }
        TILLIT_ASSIGN_OR_RETURN(bool opted_out, ReadOptOut(store));
        grants.push_back(grant);
        return WriteWithIndex(
            store, {{std::string(kGrantKind), grant.id, GrantToJson(grant)}},
            grants, opted_out);
      }));
  return grant;
}

StatusOr<Grant> ConsentService::RevokeGrant(const std::string& citizen_id,
                                            const std::string& grant_id) {
  Grant revoked;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(std::vector<Grant> grants, ReadGrants(store));
        auto it =
            std::find_if(grants.begin(), grants.end(),
                         [&](const Grant& g) { return g.id == grant_id; });
        if (it == grants.end()) return Status::NotFound("no such grant");
        if (it->status == Grant::Status::kRevoked) {
          return Status::FailedPrecondition("the grant is already revoked");
        }
        it->status = Grant::Status::kRevoked;
        it->revoked_at = clock_->NowSeconds();
        revoked = *it;
        TILLIT_ASSIGN_OR_RETURN(bool opted_out, ReadOptOut(store));
        return WriteWithIndex(
            store, {{std::string(kGrantKind), it->id, GrantToJson(*it)}},
            grants, opted_out);
      }));
  return revoked;
}

StatusOr<std::vector<Grant>> ConsentService::ListGrants(
    const std::string& citizen_id) {
  std::vector<Grant> grants;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(grants, ReadGrants(store));
        return Status::Ok();
      }));
  return grants;
}

StatusOr<Restrictions> ConsentService::GetRestrictions(
    const std::string& citizen_id) {
  TILLIT_ASSIGN_OR_RETURN(CitizenPolicy policy, LoadPolicy(citizen_id));
  return policy.restrictions;
}

StatusOr<Restrictions> ConsentService::SetRestrictions(
    const std::string& citizen_id, std::string_view text) {
  TILLIT_ASSIGN_OR_RETURN(Restrictions r, ParseRestrictions(text));
  std::vector<vault::DocumentWrite> writes = {{std::string(kSettingKind),
                                               std::string(kRestrictionsKey),
                                               RestrictionsToJson(r)}};
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) {
        return store.WriteDocuments(writes, nullptr, clock_->NowSeconds());
      }));
  return r;
}

StatusOr<bool> ConsentService::GetResearchOptOut(
    const std::string& citizen_id) {
  bool opted_out = false;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(opted_out, ReadOptOut(store));
        return Status::Ok();
      }));
  return opted_out;
}

Status ConsentService::SetResearchOptOut(const std::string& citizen_id,
                                         bool opted_out) {
  return access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
    TILLIT_ASSIGN_OR_RETURN(std::vector<Grant> grants, ReadGrants(store));
    return WriteWithIndex(store,
                          {{std::string(kSettingKind), std::string(kOptOutKey),
                            opted_out ? "true" : "false"}},
                          grants, opted_out);
  });
}

StatusOr<bool> ConsentService::GetPrimaryUseOptOut(
    const std::string& citizen_id) {
  bool opted_out = false;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(opted_out,
                                ReadSwitch(store, kPrimaryOptOutKey));
        return Status::Ok();
      }));
  return opted_out;
}

Status ConsentService::SetPrimaryUseOptOut(const std::string& citizen_id,
                                           bool opted_out) {
  std::vector<vault::DocumentWrite> writes = {{std::string(kSettingKind),
                                               std::string(kPrimaryOptOutKey),
                                               opted_out ? "true" : "false"}};
  return access_->With(citizen_id, [&](vault::CitizenStore& store) {
    return store.WriteDocuments(writes, nullptr, clock_->NowSeconds());
  });
}

StatusOr<BreakGlass> ConsentService::OpenBreakGlass(
    const std::string& citizen_id, const std::string& provider_id,
    std::string_view reason, int hours, const AdmitFn& admit) {
  if (!vault::IsValidId(provider_id, "p_")) {
    return Status::InvalidArgument("provider_id: not a provider id");
  }
  if (reason.empty() || reason.size() > kMaxReasonBytes) {
    return Status::InvalidArgument("reason: required, 1 to 1000 bytes");
  }
  if (hours < 1 || hours > 24) {
    return Status::InvalidArgument("break-glass lasts 1 to 24 hours");
  }
  BreakGlass bg;
  bg.provider_id = provider_id;
  bg.reason = std::string(reason);
  bg.started = clock_->NowSeconds();
  bg.expires = bg.started + hours * 3600LL;
  const std::string doc = json{
      {"provider_id", bg.provider_id},
      {"reason", bg.reason},
      {"started", bg.started},
      {"expires", bg.expires}}.dump();
  std::vector<vault::DocumentWrite> writes = {
      {std::string(kBreakGlassKind), "bg_" + rng_->Hex(16), doc}};
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        if (admit) {
          TILLIT_ASSIGN_OR_RETURN(CitizenPolicy policy, ReadPolicy(store));
          TILLIT_RETURN_IF_ERROR(admit(policy));
        }
        return store.WriteDocuments(writes, nullptr, bg.started);
      }));
  return bg;
}

StatusOr<CitizenPolicy> ConsentService::ReadPolicy(vault::CitizenStore& store) {
  CitizenPolicy policy;
  TILLIT_ASSIGN_OR_RETURN(policy.grants, ReadGrants(store));
  TILLIT_ASSIGN_OR_RETURN(policy.research_opt_out, ReadOptOut(store));
  TILLIT_ASSIGN_OR_RETURN(policy.primary_use_opt_out,
                          ReadSwitch(store, kPrimaryOptOutKey));
  TILLIT_ASSIGN_OR_RETURN(auto restrictions,
                          store.GetDocument(kSettingKind, kRestrictionsKey));
  if (restrictions) {
    auto r = ParseRestrictions(*restrictions);
    if (!r.ok()) return Status::DataLoss("stored restrictions are malformed");
    policy.restrictions = std::move(r).value();
  }
  TILLIT_ASSIGN_OR_RETURN(policy.proxies, ReadProxies(store));
  TILLIT_ASSIGN_OR_RETURN(auto glass, store.ListDocuments(kBreakGlassKind));
  for (const auto& [id, text] : glass) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j["provider_id"].is_string() ||
        !j["reason"].is_string() || !j["started"].is_number_integer() ||
        !j["expires"].is_number_integer()) {
      return Status::DataLoss("a stored break-glass record is malformed");
    }
    policy.break_glass.push_back(
        BreakGlass{j["provider_id"], j["reason"], j["started"], j["expires"]});
  }
  return policy;
}

StatusOr<CitizenPolicy> ConsentService::LoadPolicy(
    const std::string& citizen_id) {
  CitizenPolicy policy;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(policy, ReadPolicy(store));
        return Status::Ok();
      }));
  return policy;
}

StatusOr<GrantPreview> ConsentService::PreviewGrant(
    const std::string& citizen_id, std::string_view text) {
  const int64_t now = clock_->NowSeconds();
  TILLIT_ASSIGN_OR_RETURN(Grant grant, ParseGrant(text, now));
  grant.id = "preview";
  grant.created_at = now;
  CitizenPolicy current;
  std::vector<vault::RecordMeta> records;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(current, ReadPolicy(store));
        TILLIT_ASSIGN_OR_RETURN(records, store.ListRecordMeta());
        return Status::Ok();
      }));

  const bool primary = grant.grantee.kind == Grantee::Kind::kProvider ||
                       grant.grantee.kind == Grantee::Kind::kAnyProvider;
  CitizenPolicy alone;
  alone.grants.push_back(grant);
  alone.restrictions = current.restrictions;
  alone.research_opt_out = current.research_opt_out;
  Decision d;
  d.permit = true;
  d.permitting = {0};
  d.scope = {ScopePart{0, grant.categories, grant.data_period,
                       grant.include_sensitive}};
  GrantPreview preview;
  for (const vault::RecordMeta& m : records) {
    RecordFacts facts{m.type,      m.id,        m.category,
                      m.effective, m.sensitive, m.codes};
    if (Releases(alone, d, facts, primary)) {
      ++preview.by_category[std::string(fhir::CategoryName(m.category))];
      ++preview.total;
    }
  }
  if (!primary) {
    TILLIT_ASSIGN_OR_RETURN(std::vector<StudyDefinition> studies,
                            ListStudies());
    for (const StudyDefinition& s : studies) {
      auto researcher = GetResearcher(s.study.researcher_id);
      if (!researcher.ok()) continue;
      ResearchRequest request{&*researcher, &s.study};
      DecideResearch(alone, request, now, &d);
      if (d.permit) preview.matching_studies.push_back(s.study.id);
    }
  }
  return preview;
}

Status ConsentService::RegisterResearcher(const ResearcherProfile& r) {
  if (!vault::IsValidId(r.id, "r_"))
    return Status::InvalidArgument("researcher id");
  return vault_->PutDirectoryEntry("researcher", r.id, ResearcherToJson(r));
}

StatusOr<ResearcherProfile> ConsentService::GetResearcher(
    const std::string& id) {
  TILLIT_ASSIGN_OR_RETURN(std::string text,
                          vault_->GetDirectoryEntry("researcher", id));
  return ResearcherFromJson(text);
}

StatusOr<StudyDefinition> ConsentService::RegisterStudy(StudyDefinition study) {
  TILLIT_ASSIGN_OR_RETURN(ResearcherProfile researcher,
                          GetResearcher(study.study.researcher_id));
  if (researcher.org_type == OrgType::kCommercial)
    study.study.commercial_use = true;
  study.study.id = "s_" + rng_->Hex(16);
  TILLIT_RETURN_IF_ERROR(
      vault_->PutDirectoryEntry("study", study.study.id, StudyToJson(study)));
  return study;
}

StatusOr<StudyDefinition> ConsentService::GetStudy(const std::string& id) {
  TILLIT_ASSIGN_OR_RETURN(std::string text,
                          vault_->GetDirectoryEntry("study", id));
  auto s = ParseStudyDefinition(text);
  if (!s.ok()) return Status::DataLoss("stored study is malformed");
  return s;
}

StatusOr<std::vector<StudyDefinition>> ConsentService::ListStudies() {
  TILLIT_ASSIGN_OR_RETURN(auto rows, vault_->ListDirectory("study"));
  std::vector<StudyDefinition> out;
  for (const auto& [id, text] : rows) {
    auto s = ParseStudyDefinition(text);
    if (!s.ok()) return Status::DataLoss("stored study is malformed");
    out.push_back(std::move(s).value());
  }
  return out;
}

StatusOr<ConsentIndex*> ConsentService::FreshIndex() {
  TILLIT_ASSIGN_OR_RETURN(int64_t version, vault_->IndexVersion());
  if (version != index_version_) {
    TILLIT_ASSIGN_OR_RETURN(index_, ConsentIndex::Load(*vault_));
    index_version_ = version;
  }
  return &index_;
}

StatusOr<Feasibility> ConsentService::CountCohort(const std::string& study_id) {
  TILLIT_ASSIGN_OR_RETURN(StudyDefinition study, GetStudy(study_id));
  TILLIT_ASSIGN_OR_RETURN(ResearcherProfile researcher,
                          GetResearcher(study.study.researcher_id));
  MutexLock lock(&index_mu_);
  TILLIT_ASSIGN_OR_RETURN(ConsentIndex * index, FreshIndex());
  ResearchRequest request{&researcher, &study.study};
  return index->Count(request, clock_->NowSeconds());
}

StatusOr<std::vector<std::string>> ConsentService::Candidates(
    const ResearcherProfile& researcher, const Study& study) {
  MutexLock lock(&index_mu_);
  TILLIT_ASSIGN_OR_RETURN(ConsentIndex * index, FreshIndex());
  ResearchRequest request{&researcher, &study};
  return index->Permitted(request, clock_->NowSeconds());
}

StatusOr<std::vector<Candidate>> ConsentService::AggregateCandidates(
    const ResearcherProfile& researcher, const Study& study) {
  MutexLock lock(&index_mu_);
  TILLIT_ASSIGN_OR_RETURN(ConsentIndex * index, FreshIndex());
  ResearchRequest request{&researcher, &study};
  return index->PermittedCandidates(request, clock_->NowSeconds());
}

}  // namespace tillit::consent
