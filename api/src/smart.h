// SMART App Launch 2 (docs/FHIR.md, "Connecting an app"): the apps the
// operator registered, the citizen's authorisations of them, the scopes
// they ask for, and the short-lived state of a launch (the request the
// citizen answers in the web app, the code the app exchanges).
//
// Apps are kept in the vault's directory (kind "app": client id, name,
// redirect URIs; never a secret: they are public clients that prove
// themselves with PKCE). An authorisation is a grant of its own kind,
// kept there too (kind "app-authorization": id, citizen, app, the scope
// granted, the vault categories the citizen chose, the citizen's Patient;
// no health data), revoked by an entry of kind "app-authorization-revoked"
// so the directory stays append-only, as devices do. Its tokens are vault
// tokens of role "app" (and "app-refresh") whose principal is the
// authorisation's id, so revoking it revokes them.
//
// Requests and codes live in memory only: a restart forgets a launch in
// progress, and the app starts again.
//
// Thread-safety: AppRegistry and LaunchState are safe to use from any
// thread; the rest are values and pure functions.
#ifndef TILLIT_API_SRC_SMART_H_
#define TILLIT_API_SRC_SMART_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/consent/policy.h"
#include "tillit/crypto/hash.h"
#include "tillit/crypto/random.h"
#include "tillit/fhir/search.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/vault.h"

namespace tillit::api::internal {

// --- scopes

// One resource scope the vault grants: read and/or search of a type (or
// "*"), optionally only of records whose category matches a token.
struct ResourceScope {
  std::string text;  // as granted, e.g. "patient/Observation.rs"
  std::string type;  // a resource type, or "*"
  bool read = false;
  bool search = false;
  // The v2 filter "?category=<code>" or "?category=<system>|<code>".
  std::optional<fhir::TokenParam> category;
};

struct Scopes {
  std::vector<ResourceScope> resources;
  bool launch_patient = false;  // launch/patient
  bool openid = false;          // openid (no id_token is issued)
  bool fhir_user = false;       // fhirUser
  bool offline = false;         // offline_access: a refresh token
  bool online = false;          // online_access
};

// What the vault grants of a requested scope string: patient/ scopes of
// SMART v1 (`patient/Observation.read`, `patient/*.*`) and v2
// (`patient/Observation.rs`, `patient/*.cruds?category=laboratory`), of
// which only reading and searching (this interface writes nothing), and
// launch/patient, openid, fhirUser, offline_access, online_access. Other
// scopes (user/, system/, unknown words) are left out, as OAuth allows.
// InvalidArgument for a malformed string (over 2,000 bytes, over 50
// scopes, a character outside printable ASCII); a scope that names no
// valid type or permission is left out.
StatusOr<Scopes> ParseScopes(std::string_view text);
// The granted scope string: launch/patient, the resource scopes in the
// order asked, offline_access, online_access (openid and fhirUser are
// accepted but not granted: the vault issues no id_token).
std::string ScopeString(const Scopes& scopes);

// --- apps and authorisations

struct App {
  std::string client_id;  // app_ + 32 hex digits
  std::string name;
  std::vector<std::string> redirect_uris;
  int64_t created = 0;
};

struct AppAuthorization {
  std::string id;  // aa_ + 32 hex digits
  std::string citizen_id;
  std::string client_id;
  std::string app_name;    // the app's name when it was authorised
  std::string patient_id;  // the citizen's Patient, the launch context
  std::string scope;       // as granted (ScopeString)
  Scopes scopes;           // parsed from `scope`
  consent::CategorySet categories = 0;  // the vault categories chosen
  bool include_sensitive = false;
  int64_t created = 0;
  std::optional<int64_t> revoked;

  // Whether a scope gives reading (`search` false) or searching of `type`.
  bool Allows(std::string_view type, bool search) const;
  // Whether the app may see this record (read or found by a search): its
  // type allowed, its category among the chosen ones, sensitive records
  // only when chosen, and a scope with a category filter only for a
  // record whose category matches it.
  bool Shows(const vault::StoredRecord& record, bool search) const;
};

class AppRegistry {
 public:
  AppRegistry(vault::Vault* vault, crypto::Random* rng)
      : vault_(*vault), rng_(*rng) {}

  // The registered app; NotFound for an unknown client id.
  StatusOr<App> FindApp(const std::string& client_id);
  // Stores a new authorisation of `app` by the citizen.
  StatusOr<AppAuthorization> Authorize(const std::string& citizen_id,
                                       const App& app,
                                       const std::string& patient_id,
                                       const Scopes& scopes,
                                       consent::CategorySet categories,
                                       bool include_sensitive, int64_t now);
  // The authorisation with its revocation; NotFound for an unknown id.
  StatusOr<AppAuthorization> Find(const std::string& id);
  // The citizen's authorisations, newest first.
  StatusOr<std::vector<AppAuthorization>> List(const std::string& citizen_id);
  // Revokes the authorisation and every token of it. NotFound unless it
  // exists and is the citizen's; FailedPrecondition when already revoked.
  StatusOr<AppAuthorization> Revoke(const std::string& citizen_id,
                                    const std::string& id, int64_t now);
  // Revokes every live authorisation of the citizen (erasure).
  StatusOr<size_t> RevokeAll(const std::string& citizen_id, int64_t now);

 private:
  StatusOr<AppAuthorization> Load(const std::string& id);
  StatusOr<std::optional<int64_t>> LoadRevocation(const std::string& id);

  vault::Vault& vault_;
  crypto::Random& rng_;
  Mutex mu_;
  std::unordered_map<std::string, App> apps_ GUARDED_BY(mu_);
  std::unordered_map<std::string, AppAuthorization> cache_ GUARDED_BY(mu_);
};

// --- a launch in progress

// An app's /authorize request, waiting for the citizen's answer.
struct LaunchRequest {
  std::string id;  // ar_ + 32 hex digits
  App app;
  std::string redirect_uri;
  std::string state;
  std::string code_challenge;  // S256
  Scopes scopes;
  int64_t expires = 0;
};

// The citizen's approval, waiting for the app to exchange its code.
struct IssuedCode {
  std::string authorization_id;
  std::string client_id;
  std::string redirect_uri;
  std::string code_challenge;
  int64_t expires = 0;
};

class LaunchState {
 public:
  static constexpr int64_t kRequestSeconds = 600;
  static constexpr int64_t kCodeSeconds = 60;
  static constexpr size_t kMaxPending = 10000;

  explicit LaunchState(crypto::Random* rng) : rng_(*rng) {}

  // Keeps the request for kRequestSeconds and returns its id;
  // ResourceExhausted when kMaxPending requests wait.
  StatusOr<std::string> AddRequest(LaunchRequest request, int64_t now)
      EXCLUDES(mu_);
  // The waiting request, if it has not expired or been answered.
  std::optional<LaunchRequest> FindRequest(const std::string& id, int64_t now)
      EXCLUDES(mu_);
  // Removes and returns it (an answer uses it up).
  std::optional<LaunchRequest> TakeRequest(const std::string& id, int64_t now)
      EXCLUDES(mu_);
  // Keeps the code for kCodeSeconds (only its hash) and returns its text;
  // ResourceExhausted when kMaxPending codes wait.
  StatusOr<std::string> AddCode(IssuedCode code, int64_t now) EXCLUDES(mu_);
  // Single use: removes and returns the code's approval, if it is known
  // and has not expired.
  std::optional<IssuedCode> TakeCode(std::string_view code, int64_t now)
      EXCLUDES(mu_);

 private:
  void Forget(int64_t now) REQUIRES(mu_);

  crypto::Random& rng_;
  Mutex mu_;
  std::map<std::string, LaunchRequest> requests_ GUARDED_BY(mu_);
  std::map<crypto::Digest, IssuedCode> codes_ GUARDED_BY(mu_);
};

// Whether BASE64URL(SHA-256(verifier)) is the challenge (RFC 7636 S256),
// compared in constant time; false for a verifier outside 43..128
// characters of [A-Za-z0-9-._~].
bool PkceMatches(std::string_view verifier, std::string_view challenge);

// The citizen's Patient: the Patient record in their store that the
// registry links to them. NotFound when they have none.
StatusOr<std::string> LinkedPatient(vault::Vault& vault,
                                    vault::CitizenStore& store);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_SMART_H_
