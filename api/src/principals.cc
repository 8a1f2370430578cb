#include "tillit/api/principals.h"

#include <nlohmann/json.hpp>

#include "tillit/crypto/box.h"
#include "tillit/crypto/encoding.h"

namespace tillit::api {
namespace {

using nlohmann::json;

constexpr size_t kMaxNameBytes = 200;

StatusOr<json> ParseBody(std::string_view text,
                         std::initializer_list<std::string_view> allowed) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("the body must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) return Status::InvalidArgument(key + ": unknown field");
  }
  return j;
}

// A short printable text: 1..200 bytes, no control characters.
StatusOr<std::string> Text(const json& j, const char* field, bool required) {
  if (!j.contains(field)) {
    if (!required) return std::string();
    return Status::InvalidArgument(std::string(field) + ": required");
  }
  if (!j[field].is_string())
    return Status::InvalidArgument(std::string(field) + ": must be a string");
  std::string s = j[field];
  if (s.empty() || s.size() > kMaxNameBytes) {
    return Status::InvalidArgument(std::string(field) + ": 1 to " +
                                   std::to_string(kMaxNameBytes) + " bytes");
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f)
      return Status::InvalidArgument(std::string(field) +
                                     ": control characters are not allowed");
  }
  return s;
}

StatusOr<Registration> Register(vault::Vault& vault, crypto::Random& rng,
                                std::string_view kind, std::string_view role,
                                char prefix, const json& profile, int64_t ttl) {
  Registration out;
  out.id = std::string(1, prefix) + "_" + rng.Hex(16);
  json stored = profile;
  stored["id"] = out.id;
  TILLIT_RETURN_IF_ERROR(vault.PutDirectoryEntry(kind, out.id, stored.dump()));
  TILLIT_ASSIGN_OR_RETURN(out.token, vault.IssueToken(role, out.id, ttl));
  return out;
}

}  // namespace

StatusOr<NewCitizen> CreateCitizenWithCode(vault::Vault& vault,
                                           int64_t code_ttl_seconds) {
  NewCitizen out;
  TILLIT_ASSIGN_OR_RETURN(out.citizen_id, vault.CreateCitizen());
  TILLIT_ASSIGN_OR_RETURN(
      out.enrollment_code,
      vault.IssueToken("enroll", out.citizen_id, code_ttl_seconds));
  return out;
}

StatusOr<vault::IssuedToken> NewEnrollmentCode(vault::Vault& vault,
                                               const std::string& citizen_id,
                                               int64_t code_ttl_seconds) {
  TILLIT_ASSIGN_OR_RETURN(auto ids, vault.ListCitizenIds());
  if (std::find(ids.begin(), ids.end(), citizen_id) == ids.end())
    return Status::NotFound("no such citizen");
  return vault.IssueToken("enroll", citizen_id, code_ttl_seconds);
}

StatusOr<Registration> RegisterResearcher(vault::Vault& vault,
                                          consent::ConsentService& consents,
                                          crypto::Random& rng,
                                          std::string_view text, int64_t ttl) {
  TILLIT_ASSIGN_OR_RETURN(
      json j, ParseBody(text, {"name", "organization", "org_type", "country",
                               "public_key"}));
  consent::ResearcherProfile r;
  TILLIT_ASSIGN_OR_RETURN(r.name, Text(j, "name", true));
  TILLIT_ASSIGN_OR_RETURN(r.organization, Text(j, "organization", true));
  TILLIT_ASSIGN_OR_RETURN(std::string org_type, Text(j, "org_type", true));
  auto type = consent::ParseOrgType(org_type);
  if (!type) {
    return Status::InvalidArgument(
        "org_type: one of academic, non-profit, public, commercial");
  }
  r.org_type = *type;
  TILLIT_ASSIGN_OR_RETURN(r.country, Text(j, "country", true));
  if (r.country.size() != 2 ||
      !isupper(static_cast<unsigned char>(r.country[0])) ||
      !isupper(static_cast<unsigned char>(r.country[1]))) {
    return Status::InvalidArgument(
        "country: an ISO 3166-1 alpha-2 code such as SE");
  }
  TILLIT_ASSIGN_OR_RETURN(std::string key_text, Text(j, "public_key", true));
  auto key = crypto::Base64Decode(key_text);
  if (!key.ok() || key->size() != crypto::kX25519PublicKeySize) {
    return Status::InvalidArgument(
        "public_key: base64 of a 32-byte X25519 public key (tillit keygen)");
  }
  // A low-order point would make every sealed release readable by anyone
  // (or by no one): refuse it now rather than at release time.
  if (!crypto::X25519PublicKeyFromBytes(*key).ok()) {
    return Status::InvalidArgument("public_key: not a usable X25519 key");
  }
  r.public_key = key_text;
  r.id = "r_" + rng.Hex(16);
  TILLIT_RETURN_IF_ERROR(consents.RegisterResearcher(r));
  Registration out;
  out.id = r.id;
  TILLIT_ASSIGN_OR_RETURN(out.token, vault.IssueToken("researcher", r.id, ttl));
  return out;
}

namespace {

// Providers and auditors: {"name", "organization" (optional)}.
StatusOr<Registration> RegisterNamed(vault::Vault& vault, crypto::Random& rng,
                                     std::string_view text, int64_t ttl,
                                     std::string_view kind, char prefix) {
  TILLIT_ASSIGN_OR_RETURN(json j, ParseBody(text, {"name", "organization"}));
  json profile;
  TILLIT_ASSIGN_OR_RETURN(std::string name, Text(j, "name", true));
  TILLIT_ASSIGN_OR_RETURN(std::string org, Text(j, "organization", false));
  profile["name"] = name;
  if (!org.empty()) profile["organization"] = org;
  return Register(vault, rng, kind, kind, prefix, profile, ttl);
}

}  // namespace

StatusOr<Registration> RegisterProvider(vault::Vault& vault,
                                        crypto::Random& rng,
                                        std::string_view text, int64_t ttl) {
  return RegisterNamed(vault, rng, text, ttl, "provider", 'p');
}

StatusOr<Registration> RegisterAuditor(vault::Vault& vault, crypto::Random& rng,
                                       std::string_view text, int64_t ttl) {
  return RegisterNamed(vault, rng, text, ttl, "auditor", 'a');
}

Status CheckRedirectUri(std::string_view uri) {
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("redirect_uri: " + std::string(why));
  };
  if (uri.empty() || uri.size() > 2000) return bad("1 to 2000 bytes");
  for (unsigned char c : uri) {
    if (c <= 0x20 || c >= 0x7f) return bad("printable ASCII without spaces");
  }
  if (uri.find('#') != std::string_view::npos)
    return bad("must not have a fragment (#)");
  auto host_ends = [](std::string_view rest) {
    return rest.empty() || rest[0] == ':' || rest[0] == '/' || rest[0] == '?';
  };
  constexpr std::string_view kHttps = "https://";
  if (uri.substr(0, kHttps.size()) == kHttps) {
    std::string_view rest = uri.substr(kHttps.size());
    if (rest.empty() || host_ends(rest)) return bad("names no host");
    return Status::Ok();
  }
  constexpr std::string_view kHttp = "http://";
  if (uri.substr(0, kHttp.size()) == kHttp) {
    std::string_view rest = uri.substr(kHttp.size());
    for (std::string_view host : {"127.0.0.1", "localhost", "[::1]"}) {
      if (rest.substr(0, host.size()) == host &&
          host_ends(rest.substr(host.size())))
        return Status::Ok();
    }
  }
  return bad(
      "an https URL, or http on a loopback host (127.0.0.1, [::1], "
      "localhost)");
}

StatusOr<RegisteredApp> RegisterApp(vault::Vault& vault, crypto::Random& rng,
                                    std::string_view name,
                                    const std::vector<std::string>& uris,
                                    int64_t now) {
  json j = {{"name", std::string(name)}};
  TILLIT_ASSIGN_OR_RETURN(std::string checked, Text(j, "name", true));
  try {
    (void)j.dump();  // strict: refuses text that is not UTF-8
  } catch (const json::exception&) {
    return Status::InvalidArgument("name: must be UTF-8 text");
  }
  if (uris.empty() || uris.size() > 10)
    return Status::InvalidArgument("redirect_uri: 1 to 10 of them");
  for (const std::string& u : uris) TILLIT_RETURN_IF_ERROR(CheckRedirectUri(u));
  RegisteredApp out;
  out.client_id = "app_" + rng.Hex(16);
  out.name = checked;
  out.redirect_uris = uris;
  const json stored = {{"id", out.client_id},
                       {"name", out.name},
                       {"redirect_uris", out.redirect_uris},
                       {"created", now}};
  TILLIT_RETURN_IF_ERROR(
      vault.PutDirectoryEntry("app", out.client_id, stored.dump()));
  return out;
}

}  // namespace tillit::api
