#include "tillit/consent_service/proxies.h"

#include <algorithm>
#include <utility>

namespace tillit::consent {
namespace {

constexpr std::string_view kKind = "proxy";
constexpr std::string_view kIndexKind = "proxy";

bool Live(const ProxyAuthorisation& a, int64_t now) {
  const std::string_view s = ProxyStatus(a, now);
  return s == "active" || s == "scheduled";
}

// The index rows: every authorisation neither revoked nor ended.
vault::IndexUpdate IndexRows(const std::vector<ProxyAuthorisation>& all,
                             int64_t now) {
  vault::IndexUpdate index{std::string(kIndexKind), {}};
  for (const ProxyAuthorisation& a : all) {
    if (Live(a, now)) index.rows.push_back({a.id, a.proxy_id});
  }
  return index;
}

Status Store(vault::CitizenStore& store, const ProxyAuthorisation& changed,
             std::vector<ProxyAuthorisation> all, int64_t now) {
  bool replaced = false;
  for (ProxyAuthorisation& a : all) {
    if (a.id == changed.id) {
      a = changed;
      replaced = true;
    }
  }
  if (!replaced) all.push_back(changed);
  const vault::IndexUpdate index = IndexRows(all, now);
  const std::vector<vault::DocumentWrite> writes = {
      {std::string(kKind), changed.id, ProxyToStoredJson(changed)}};
  return store.WriteDocuments(writes, &index, now);
}

// What the citizen may change or revoke: their own proxies, while live.
Status CitizensOwnAndLive(const ProxyAuthorisation& a, int64_t now,
                          std::string_view done) {
  if (a.kind == ProxyAuthorisation::Kind::kGuardian) {
    return Status::FailedPrecondition(
        "a guardianship is recorded by the operator, not " + std::string(done) +
        " here");
  }
  if (!Live(a, now)) {
    return Status::FailedPrecondition("this authorisation is " +
                                      std::string(ProxyStatus(a, now)) +
                                      ": it cannot be " + std::string(done));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<ProxyAuthorisation>> ReadProxies(
    vault::CitizenStore& store) {
  TILLIT_ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kKind));
  std::vector<ProxyAuthorisation> out;
  out.reserve(docs.size());
  for (const auto& [id, text] : docs) {
    TILLIT_ASSIGN_OR_RETURN(ProxyAuthorisation a, ProxyFromStoredJson(text));
    if (a.id != id) return Status::DataLoss("a stored proxy is misfiled");
    out.push_back(std::move(a));
  }
  return out;
}

Proxies::Proxies(vault::Vault* vault, Clock* clock, crypto::Random* rng,
                 vault::StoreAccess* access)
    : vault_(vault), clock_(clock), rng_(rng), access_(access) {}

Status Proxies::CheckCitizen(const std::string& id, const char* what) {
  Status s =
      access_->With(id, [](vault::CitizenStore&) { return Status::Ok(); });
  if (s.code() == StatusCode::kNotFound)
    return Status::NotFound(std::string(what) + ": no such citizen");
  return s;
}

StatusOr<ProxyAuthorisation> Proxies::Authorise(const std::string& citizen_id,
                                                ProxyAuthorisation a,
                                                const AdmitFn& admit) {
  if (a.proxy_id == citizen_id)
    return Status::InvalidArgument("proxy: you cannot authorise yourself");
  {
    Status exists = CheckCitizen(a.proxy_id, "proxy");
    if (exists.code() == StatusCode::kNotFound)
      return Status::InvalidArgument(exists.message());
    TILLIT_RETURN_IF_ERROR(exists);
  }
  a.kind = ProxyAuthorisation::Kind::kProxy;
  a.id = "px_" + rng_->Hex(16);
  const int64_t now = clock_->NowSeconds();
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(auto all, ReadProxies(store));
        size_t live = 0;
        for (const ProxyAuthorisation& other : all) {
          if (!Live(other, now)) continue;
          ++live;
          if (other.kind == ProxyAuthorisation::Kind::kProxy &&
              other.proxy_id == a.proxy_id) {
            return Status::FailedPrecondition(
                "this person already acts for you (" + other.id +
                "): change or revoke that authorisation");
          }
        }
        if (live >= kMaxLive) {
          return Status::FailedPrecondition(
              "you have " + std::to_string(kMaxLive) +
              " authorisations: revoke one first");
        }
        if (admit) TILLIT_RETURN_IF_ERROR(admit(a));
        return Store(store, a, std::move(all), now);
      }));
  return a;
}

StatusOr<ProxyAuthorisation> Proxies::Update(
    const std::string& citizen_id, const std::string& id,
    const std::function<Status(ProxyAuthorisation&)>& change,
    const AdmitFn& admit) {
  const int64_t now = clock_->NowSeconds();
  ProxyAuthorisation out;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(auto all, ReadProxies(store));
        auto it = std::find_if(all.begin(), all.end(),
                               [&](const auto& a) { return a.id == id; });
        if (it == all.end()) return Status::NotFound("no such authorisation");
        out = *it;
        TILLIT_RETURN_IF_ERROR(change(out));
        if (admit) TILLIT_RETURN_IF_ERROR(admit(out));
        return Store(store, out, std::move(all), now);
      }));
  return out;
}

StatusOr<ProxyAuthorisation> Proxies::Change(const std::string& citizen_id,
                                             const std::string& id,
                                             const ProxyAuthorisation& scope,
                                             const AdmitFn& admit) {
  const int64_t now = clock_->NowSeconds();
  return Update(
      citizen_id, id,
      [&](ProxyAuthorisation& a) -> Status {
        TILLIT_RETURN_IF_ERROR(CitizensOwnAndLive(a, now, "changed"));
        a.access = scope.access;
        a.categories = scope.categories;
        a.purpose = scope.purpose;
        a.until = scope.until;
        a.include_sensitive = scope.include_sensitive;
        a.include_restricted = scope.include_restricted;
        return Status::Ok();
      },
      admit);
}

StatusOr<ProxyAuthorisation> Proxies::Revoke(const std::string& citizen_id,
                                             const std::string& id,
                                             const AdmitFn& admit) {
  const int64_t now = clock_->NowSeconds();
  return Update(
      citizen_id, id,
      [&](ProxyAuthorisation& a) -> Status {
        TILLIT_RETURN_IF_ERROR(CitizensOwnAndLive(a, now, "revoked"));
        a.revoked_at = now;
        return Status::Ok();
      },
      admit);
}

StatusOr<std::vector<ProxyAuthorisation>> Proxies::List(
    const std::string& citizen_id) {
  std::vector<ProxyAuthorisation> out;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(out, ReadProxies(store));
        return Status::Ok();
      }));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at
                                        : a.id > b.id;
  });
  return out;
}

StatusOr<std::vector<Proxies::Represented>> Proxies::RepresentedBy(
    const std::string& proxy_id) {
  TILLIT_ASSIGN_OR_RETURN(auto rows, vault_->ReadIndex(kIndexKind));
  const int64_t now = clock_->NowSeconds();
  std::vector<Represented> out;
  for (const vault::IndexEntry& row : rows) {
    if (row.value != proxy_id) continue;
    // The store is the authority: the row may be of an authorisation that
    // has since expired.
    Status s = access_->With(
        row.citizen_id, [&](vault::CitizenStore& store) -> Status {
          TILLIT_ASSIGN_OR_RETURN(auto all, ReadProxies(store));
          for (ProxyAuthorisation& a : all) {
            if (a.id == row.key && a.proxy_id == proxy_id &&
                ProxyActive(a, now)) {
              out.push_back({row.citizen_id, std::move(a)});
            }
          }
          return Status::Ok();
        });
    // An erased citizen is represented by nobody.
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  return out;
}

StatusOr<ProxyAuthorisation> Proxies::RecordGuardianship(const Guardianship& g,
                                                         const AdmitFn& admit) {
  TILLIT_RETURN_IF_ERROR(CheckCitizen(g.authorisation.proxy_id, "guardian"));
  TILLIT_RETURN_IF_ERROR(CheckCitizen(g.citizen_id, "citizen"));
  ProxyAuthorisation a = g.authorisation;
  a.kind = ProxyAuthorisation::Kind::kGuardian;
  a.id = "gd_" + rng_->Hex(16);
  const int64_t now = clock_->NowSeconds();
  TILLIT_RETURN_IF_ERROR(
      access_->With(g.citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(auto all, ReadProxies(store));
        for (const ProxyAuthorisation& other : all) {
          if (Live(other, now) &&
              other.kind == ProxyAuthorisation::Kind::kGuardian &&
              other.proxy_id == a.proxy_id) {
            return Status::FailedPrecondition(
                "this guardianship is already recorded (" + other.id + ")");
          }
        }
        if (admit) TILLIT_RETURN_IF_ERROR(admit(a));
        return Store(store, a, std::move(all), now);
      }));
  return a;
}

StatusOr<Proxies::Represented> Proxies::EndGuardianship(
    const std::string& id, const EndAdmitFn& admit) {
  TILLIT_ASSIGN_OR_RETURN(auto rows, vault_->ReadIndex(kIndexKind));
  for (const vault::IndexEntry& row : rows) {
    if (row.key != id) continue;
    const int64_t now = clock_->NowSeconds();
    auto ended = Update(
        row.citizen_id, id,
        [&](ProxyAuthorisation& a) -> Status {
          if (a.kind != ProxyAuthorisation::Kind::kGuardian || !Live(a, now))
            return Status::NotFound("no such guardianship");
          a.revoked_at = now;
          return Status::Ok();
        },
        [&](const ProxyAuthorisation& a) {
          return admit ? admit(row.citizen_id, a) : Status::Ok();
        });
    if (!ended.ok()) return ended.status();
    return Represented{row.citizen_id, std::move(ended).value()};
  }
  return Status::NotFound("no such guardianship");
}

}  // namespace tillit::consent
