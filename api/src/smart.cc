#include "smart.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "revocation.h"
#include "tillit/crypto/constant_time.h"
#include "tillit/crypto/encoding.h"

namespace tillit::api::internal {
namespace {

using nlohmann::json;

constexpr std::string_view kAppKind = "app";
constexpr std::string_view kAuthorizationKind = "app-authorization";
constexpr std::string_view kRevokedKind = "app-authorization-revoked";
constexpr size_t kMaxScopeBytes = 2000;
constexpr size_t kMaxScopes = 50;

bool IsTypeName(std::string_view s) {
  if (s.empty() || s.size() > 64 ||
      !std::isupper(static_cast<unsigned char>(s[0])))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c));
  });
}

// "patient/<type>.<permissions>[?category=<token>]", or nullopt for a
// scope the vault does not grant.
std::optional<ResourceScope> ParseResourceScope(std::string_view s) {
  constexpr std::string_view kPrefix = "patient/";
  if (s.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = s.substr(kPrefix.size());
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  ResourceScope out;
  out.type = std::string(rest.substr(0, dot));
  if (out.type != "*" && !IsTypeName(out.type)) return std::nullopt;
  const std::string_view perms = rest.substr(dot + 1);
  bool v1 = false;
  if (perms == "read" || perms == "*") {
    out.read = out.search = true;
    v1 = true;
  } else if (perms == "write") {
    return std::nullopt;  // nothing here is written
  } else {
    // v2: a non-empty subsequence of "cruds", in that order.
    constexpr std::string_view kOrder = "cruds";
    size_t at = 0;
    for (char c : perms) {
      const size_t pos = kOrder.find(c, at);
      if (pos == std::string_view::npos) return std::nullopt;
      at = pos + 1;
      out.read = out.read || c == 'r';
      out.search = out.search || c == 's';
    }
    if (perms.empty()) return std::nullopt;
  }
  if (!out.read && !out.search) return std::nullopt;
  if (!query.empty()) {
    // v2 only, and only one filter: category.
    constexpr std::string_view kCategory = "category=";
    if (v1 || query.substr(0, kCategory.size()) != kCategory)
      return std::nullopt;
    auto tokens = fhir::ParseTokenParam(query.substr(kCategory.size()));
    if (!tokens.ok() || tokens->size() != 1 || !tokens->front().code)
      return std::nullopt;
    out.category = tokens->front();
  }
  out.text = "patient/" + out.type + ".";
  if (v1) {
    out.text += "read";
  } else {
    if (out.read) out.text += 'r';
    if (out.search) out.text += 's';
  }
  if (!query.empty()) out.text += "?" + std::string(query);
  return out;
}

std::string CategoryList(consent::CategorySet set) {
  json list = json::array();
  for (fhir::Category c : fhir::AllCategories()) {
    if (set & consent::CategoryBit(c)) list.push_back(fhir::CategoryName(c));
  }
  return list.dump();
}

StatusOr<App> AppFromJson(std::string_view text) {
  const Status bad = Status::DataLoss("a stored app is malformed");
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string() ||
      !j.contains("name") || !j["name"].is_string() ||
      !j.contains("redirect_uris") || !j["redirect_uris"].is_array() ||
      !j.contains("created") || !j["created"].is_number_integer())
    return bad;
  App a;
  a.client_id = j["id"].get<std::string>();
  a.name = j["name"].get<std::string>();
  a.created = j["created"].get<int64_t>();
  for (const json& u : j["redirect_uris"]) {
    if (!u.is_string()) return bad;
    a.redirect_uris.push_back(u.get<std::string>());
  }
  return a;
}

StatusOr<AppAuthorization> AuthorizationFromJson(std::string_view text) {
  const Status bad =
      Status::DataLoss("a stored app authorisation is malformed");
  json j = json::parse(text, nullptr, false);
  for (const char* field :
       {"id", "citizen_id", "client_id", "app_name", "patient_id", "scope"}) {
    if (!j.is_object() || !j.contains(field) || !j[field].is_string())
      return bad;
  }
  if (!j.contains("categories") || !j["categories"].is_array() ||
      !j.contains("include_sensitive") ||
      !j["include_sensitive"].is_boolean() || !j.contains("created") ||
      !j["created"].is_number_integer())
    return bad;
  AppAuthorization a;
  a.id = j["id"].get<std::string>();
  a.citizen_id = j["citizen_id"].get<std::string>();
  a.client_id = j["client_id"].get<std::string>();
  a.app_name = j["app_name"].get<std::string>();
  a.patient_id = j["patient_id"].get<std::string>();
  a.scope = j["scope"].get<std::string>();
  a.include_sensitive = j["include_sensitive"].get<bool>();
  a.created = j["created"].get<int64_t>();
  for (const json& c : j["categories"]) {
    if (!c.is_string()) return bad;
    auto category = fhir::ParseCategory(c.get<std::string>());
    if (!category) return bad;
    a.categories |= consent::CategoryBit(*category);
  }
  auto scopes = ParseScopes(a.scope);
  if (!scopes.ok()) return bad;
  a.scopes = std::move(scopes).value();
  return a;
}

}  // namespace

StatusOr<Scopes> ParseScopes(std::string_view text) {
  if (text.size() > kMaxScopeBytes)
    return Status::InvalidArgument("scope: at most 2000 bytes");
  for (unsigned char c : text) {
    if (c < 0x20 || c > 0x7e)
      return Status::InvalidArgument("scope: printable ASCII only");
  }
  Scopes out;
  size_t count = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view s = text.substr(at, end - at);
    at = end + 1;
    if (s.empty()) continue;
    if (++count > kMaxScopes)
      return Status::InvalidArgument("scope: at most 50 scopes");
    if (s == "launch/patient") {
      out.launch_patient = true;
    } else if (s == "openid") {
      out.openid = true;
    } else if (s == "fhirUser") {
      out.fhir_user = true;
    } else if (s == "offline_access") {
      out.offline = true;
    } else if (s == "online_access") {
      out.online = true;
    } else if (auto r = ParseResourceScope(s)) {
      const bool repeated = std::any_of(
          out.resources.begin(), out.resources.end(),
          [&](const ResourceScope& x) { return x.text == r->text; });
      if (!repeated) out.resources.push_back(std::move(*r));
    }
  }
  return out;
}

std::string ScopeString(const Scopes& s) {
  std::string out;
  auto add = [&](std::string_view word) {
    if (!out.empty()) out += ' ';
    out += word;
  };
  // openid and fhirUser are accepted but not granted: no id_token is
  // issued.
  if (s.launch_patient) add("launch/patient");
  for (const ResourceScope& r : s.resources) add(r.text);
  if (s.offline) add("offline_access");
  if (s.online) add("online_access");
  return out;
}

bool AppAuthorization::Allows(std::string_view type, bool search) const {
  for (const ResourceScope& r : scopes.resources) {
    if ((r.type == "*" || r.type == type) && (search ? r.search : r.read))
      return true;
  }
  return false;
}

bool AppAuthorization::Shows(const vault::StoredRecord& record,
                             bool search) const {
  if ((categories & consent::CategoryBit(record.category)) == 0) return false;
  if (record.sensitive && !include_sensitive) return false;
  std::optional<std::vector<fhir::Coding>> codings;  // read once, if needed
  for (const ResourceScope& r : scopes.resources) {
    if (r.type != "*" && r.type != record.type) continue;
    if (!(search ? r.search : r.read)) continue;
    if (!r.category) return true;
    if (!codings) codings = fhir::CodingsOf(record.resource, "category");
    if (fhir::TokenMatches(*codings, {*r.category})) return true;
  }
  return false;
}

StatusOr<App> AppRegistry::FindApp(const std::string& client_id) {
  const Status unknown = Status::NotFound("no such app");
  if (!vault::IsValidId(client_id, "app_")) return unknown;
  {
    MutexLock lock(&mu_);
    auto it = apps_.find(client_id);
    if (it != apps_.end()) return it->second;
  }
  auto text = vault_.GetDirectoryEntry(kAppKind, client_id);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return unknown;
    return text.status();
  }
  TILLIT_ASSIGN_OR_RETURN(App app, AppFromJson(*text));
  if (app.client_id != client_id)
    return Status::DataLoss("a stored app is malformed");
  MutexLock lock(&mu_);
  apps_[client_id] = app;
  return app;
}

StatusOr<AppAuthorization> AppRegistry::Authorize(
    const std::string& citizen_id, const App& app,
    const std::string& patient_id, const Scopes& scopes,
    consent::CategorySet categories, bool include_sensitive, int64_t now) {
  AppAuthorization a;
  a.id = "aa_" + rng_.Hex(16);
  a.citizen_id = citizen_id;
  a.client_id = app.client_id;
  a.app_name = app.name;
  a.patient_id = patient_id;
  a.scopes = scopes;
  a.scope = ScopeString(scopes);
  a.categories = categories;
  a.include_sensitive = include_sensitive;
  a.created = now;
  const json stored = {{"id", a.id},
                       {"citizen_id", a.citizen_id},
                       {"client_id", a.client_id},
                       {"app_name", a.app_name},
                       {"patient_id", a.patient_id},
                       {"scope", a.scope},
                       {"categories", json::parse(CategoryList(categories))},
                       {"include_sensitive", a.include_sensitive},
                       {"created", a.created}};
  TILLIT_RETURN_IF_ERROR(
      vault_.PutDirectoryEntry(kAuthorizationKind, a.id, stored.dump()));
  MutexLock lock(&mu_);
  cache_[a.id] = a;
  return a;
}

StatusOr<AppAuthorization> AppRegistry::Load(const std::string& id) {
  const Status unknown = Status::NotFound("no such app authorisation");
  if (!vault::IsValidId(id, "aa_")) return unknown;
  {
    MutexLock lock(&mu_);
    auto it = cache_.find(id);
    if (it != cache_.end()) return it->second;
  }
  auto text = vault_.GetDirectoryEntry(kAuthorizationKind, id);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return unknown;
    return text.status();
  }
  TILLIT_ASSIGN_OR_RETURN(AppAuthorization a, AuthorizationFromJson(*text));
  if (a.id != id)
    return Status::DataLoss("a stored app authorisation is malformed");
  MutexLock lock(&mu_);
  cache_[id] = a;
  return a;
}

StatusOr<std::optional<int64_t>> AppRegistry::LoadRevocation(
    const std::string& id) {
  return ReadRevocation(vault_, kRevokedKind, id);
}

StatusOr<AppAuthorization> AppRegistry::Find(const std::string& id) {
  TILLIT_ASSIGN_OR_RETURN(AppAuthorization a, Load(id));
  if (a.revoked) return a;
  TILLIT_ASSIGN_OR_RETURN(a.revoked, LoadRevocation(a.id));
  if (a.revoked) {
    MutexLock lock(&mu_);
    cache_[a.id].revoked = a.revoked;
  }
  return a;
}

StatusOr<std::vector<AppAuthorization>> AppRegistry::List(
    const std::string& citizen_id) {
  TILLIT_ASSIGN_OR_RETURN(auto all, vault_.ListDirectory(kAuthorizationKind));
  std::vector<AppAuthorization> out;
  for (const auto& [id, text] : all) {
    TILLIT_ASSIGN_OR_RETURN(AppAuthorization a, AuthorizationFromJson(text));
    if (a.citizen_id != citizen_id) continue;
    TILLIT_ASSIGN_OR_RETURN(a.revoked, LoadRevocation(a.id));
    out.push_back(std::move(a));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const AppAuthorization& x, const AppAuthorization& y) {
                     return x.created > y.created;
                   });
  return out;
}

StatusOr<AppAuthorization> AppRegistry::Revoke(const std::string& citizen_id,
                                               const std::string& id,
                                               int64_t now) {
  auto found = Find(id);
  if (!found.ok()) return found.status();
  AppAuthorization a = std::move(found).value();
  if (a.citizen_id != citizen_id)
    return Status::NotFound("no such app authorisation");
  if (a.revoked)
    return Status::FailedPrecondition("the app's access is already revoked");
  TILLIT_RETURN_IF_ERROR(WriteRevocation(
      vault_, kRevokedKind, a.id, now, "the app's access is already revoked"));
  {
    MutexLock lock(&mu_);
    cache_[a.id].revoked = now;
  }
  // Its tokens end now; the entry above already refuses them at the next
  // request, should this fail.
  TILLIT_RETURN_IF_ERROR(vault_.RevokePrincipalTokens(a.id).status());
  a.revoked = now;
  return a;
}

StatusOr<size_t> AppRegistry::RevokeAll(const std::string& citizen_id,
                                        int64_t now) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<AppAuthorization> all, List(citizen_id));
  size_t revoked = 0;
  for (const AppAuthorization& a : all) {
    if (a.revoked) continue;
    auto r = Revoke(citizen_id, a.id, now);
    if (!r.ok() && r.status().code() != StatusCode::kFailedPrecondition)
      return r.status();
    if (r.ok()) ++revoked;
  }
  return revoked;
}

void LaunchState::Forget(int64_t now) {
  std::erase_if(requests_,
                [&](const auto& r) { return r.second.expires <= now; });
  std::erase_if(codes_, [&](const auto& c) { return c.second.expires <= now; });
}

StatusOr<std::string> LaunchState::AddRequest(LaunchRequest request,
                                              int64_t now) {
  MutexLock lock(&mu_);
  Forget(now);
  if (requests_.size() >= kMaxPending)
    return Status::ResourceExhausted("too many launches wait; retry later");
  request.id = "ar_" + rng_.Hex(16);
  request.expires = now + kRequestSeconds;
  std::string id = request.id;
  requests_.emplace(id, std::move(request));
  return id;
}

std::optional<LaunchRequest> LaunchState::FindRequest(const std::string& id,
                                                      int64_t now) {
  MutexLock lock(&mu_);
  auto it = requests_.find(id);
  if (it == requests_.end() || it->second.expires <= now) return std::nullopt;
  return it->second;
}

std::optional<LaunchRequest> LaunchState::TakeRequest(const std::string& id,
                                                      int64_t now) {
  MutexLock lock(&mu_);
  auto it = requests_.find(id);
  if (it == requests_.end()) return std::nullopt;
  LaunchRequest r = std::move(it->second);
  requests_.erase(it);
  if (r.expires <= now) return std::nullopt;
  return r;
}

StatusOr<std::string> LaunchState::AddCode(IssuedCode code, int64_t now) {
  MutexLock lock(&mu_);
  Forget(now);
  if (codes_.size() >= kMaxPending)
    return Status::ResourceExhausted("too many codes wait; retry later");
  std::string text = rng_.Hex(32);
  code.expires = now + kCodeSeconds;
  codes_[crypto::Sha256(crypto::AsBytes(text))] = std::move(code);
  return text;
}

std::optional<IssuedCode> LaunchState::TakeCode(std::string_view code,
                                                int64_t now) {
  if (code.size() != 64) return std::nullopt;
  MutexLock lock(&mu_);
  auto it = codes_.find(crypto::Sha256(crypto::AsBytes(code)));
  if (it == codes_.end()) return std::nullopt;
  IssuedCode c = std::move(it->second);
  codes_.erase(it);
  if (c.expires <= now) return std::nullopt;
  return c;
}

bool PkceMatches(std::string_view verifier, std::string_view challenge) {
  if (verifier.size() < 43 || verifier.size() > 128) return false;
  for (char c : verifier) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' &&
        c != '_' && c != '~')
      return false;
  }
  std::string encoded =
      crypto::Base64Encode(crypto::Sha256(crypto::AsBytes(verifier)));
  // base64url without padding.
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
  for (char& c : encoded) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return encoded.size() == challenge.size() &&
         crypto::ConstantTimeEquals(crypto::AsBytes(encoded),
                                    crypto::AsBytes(challenge));
}

StatusOr<std::string> LinkedPatient(vault::Vault& vault,
                                    vault::CitizenStore& store) {
  vault::RecordFilter f;
  f.type = "Patient";
  f.limit = 100;
  TILLIT_ASSIGN_OR_RETURN(std::vector<vault::StoredRecord> patients,
                          store.List(f));
  for (const vault::StoredRecord& p : patients) {
    auto citizen = vault.FindCitizenByPatient(p.id);
    if (citizen.ok() && *citizen == store.citizen_id()) return p.id;
    if (!citizen.ok() && citizen.status().code() != StatusCode::kNotFound)
      return citizen.status();
  }
  return Status::NotFound("the vault holds no Patient record of this citizen");
}

}  // namespace tillit::api::internal
