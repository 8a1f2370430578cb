#include "src/common.h"

#include <atomic>
#include <cstdlib>
#include <istream>

#include "tillit/base/clock.h"
#include "tillit/crypto/random.h"
#include "tillit/pgstore/pg_vault_store.h"
#include "tillit/research/privacy_ledger.h"

namespace tillit::cli {
namespace {

constexpr size_t kMaxPassphrase = 4096;

// Set by FailAuditWriteForTesting, taken by the next OpenAuditLog.
std::atomic<int> audit_write_to_fail{0};

// Set by UseEnvForTesting; null means the operating system's.
std::atomic<Env*> test_env{nullptr};

// Reads the first line of `in` into secure memory.
StatusOr<crypto::SecretBytes> ReadPassphrase(std::istream& in) {
  crypto::SecretBytes buf = crypto::SecretBytes::Allocate(kMaxPassphrase);
  size_t n = 0;
  for (;;) {
    int c = in.get();
    if (c == EOF || c == '\n') break;
    if (n == kMaxPassphrase) {
      return Status::InvalidArgument("passphrase longer than 4096 bytes");
    }
    buf.ExposeSecret()[n++] = static_cast<uint8_t>(c);
  }
  if (n > 0 && buf.ExposeSecret()[n - 1] == '\r') --n;
  if (n == 0)
    return Status::InvalidArgument("empty passphrase on standard input");
  return crypto::SecretBytes::CopyFrom(
      std::span<const uint8_t>(buf.ExposeSecret(), n));
}

}  // namespace

Env* FileEnv() {
  Env* env = test_env.load();
  return env != nullptr ? env : Env::Default();
}

void UseEnvForTesting(Env* env) { test_env.store(env); }

int Usage(Io& io, const std::string& verb, const std::string& problem) {
  io.err << "tillit " << verb << ": " << problem << "\n";
  io.err << "Run `tillit " << verb << " --help` for usage.\n";
  return kUsage;
}

int Fail(Io& io, const std::string& verb, const Status& s) {
  io.err << "tillit " << verb << ": " << s.message() << "\n";
  return kFailed;
}

Args& CommonOptions(Args& a) {
  return a.Option("data")
      .Option("store")
      .Option("key-file")
      .Flag("passphrase-stdin")
      .Flag("json")
      .Flag("help");
}

std::string DataDir(const Args& a, const std::string& fallback) {
  if (auto d = a.Get("data")) return *d;
  if (const char* env = std::getenv("TILLIT_DATA"); env && *env) return env;
  return fallback;
}

StatusOr<VaultSetup> MakeSetup(const Args& a, Io& io,
                               const std::string& fallback_dir) {
  TILLIT_ASSIGN_OR_RETURN(VaultSetup s,
                          MakeDirectorySetup(a, io, DataDir(a, fallback_dir)));
  std::optional<std::string> store = a.Get("store");
  if (const char* env = std::getenv("TILLIT_STORE");
      !store && env != nullptr && *env != '\0') {
    store = env;
  }
  if (store) {
    TILLIT_ASSIGN_OR_RETURN(std::string conninfo, StoreConnInfo(*store));
    auto opened = pgstore::PgVaultStore::Open(conninfo);
    if (!opened.ok()) return opened.status().WithContext("the store");
    s.options.shared_store = std::move(opened).value();
  }
  return s;
}

StatusOr<VaultSetup> MakeDirectorySetup(const Args& a, Io& io,
                                        const std::string& data_dir) {
  VaultSetup s;
  s.options.data_dir = data_dir;
  s.options.env = FileEnv();
  if (auto k = a.Get("key-file")) {
    s.options.key_path = *k;
  } else if (const char* env = std::getenv("TILLIT_KEY_FILE"); env && *env) {
    s.options.key_path = env;
  }
  if (a.Has("passphrase-stdin")) {
    TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes p, ReadPassphrase(io.in));
    s.passphrase = std::move(p);
  }
  return s;
}

namespace {

// `text` with each %XX (two hex digits) replaced by its byte, as libpq
// reads a URL's parameter names; anything else is kept as it is.
std::string PercentDecoded(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
        hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

StatusOr<std::string> StoreConnInfo(std::string_view url) {
  std::string_view rest;
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (url.substr(0, scheme.size()) == scheme)
      rest = url.substr(scheme.size());
  }
  if (rest.empty() && url != "postgresql://" && url != "postgres://") {
    return Status::InvalidArgument(
        "--store takes a postgresql:// URL (the data directory needs none)");
  }
  // user:password@host... : the authority ends at the first '/' or '?'.
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos &&
      authority.substr(0, at).find(':') != std::string_view::npos) {
    return Status::InvalidArgument(
        "the --store URL holds a password, which would show in the process "
        "list: keep it in a password file (PGPASSFILE, or the URL's "
        "passfile=FILE)");
  }
  const size_t query = rest.find('?');
  if (query != std::string_view::npos) {
    for (std::string_view q = rest.substr(query + 1); !q.empty();) {
      const size_t amp = q.find('&');
      const std::string_view param = q.substr(0, amp);
      // libpq decodes %XX in a parameter's name: pass%77ord is password.
      if (PercentDecoded(param.substr(0, param.find('='))) == "password") {
        return Status::InvalidArgument(
            "the --store URL holds a password, which would show in the "
            "process list: keep it in a password file (PGPASSFILE, or the "
            "URL's passfile=FILE)");
      }
      if (amp == std::string_view::npos) break;
      q = q.substr(amp + 1);
    }
  }
  return std::string(url);
}

pgstore::PgVaultStore* PgStoreOf(vault::Vault& vault) {
  // The only shared store this program makes.
  return dynamic_cast<pgstore::PgVaultStore*>(vault.shared_store());
}

StatusOr<std::unique_ptr<vault::Vault>> OpenVault(VaultSetup& s) {
  s.options.passphrase = s.passphrase ? &*s.passphrase : nullptr;
  return vault::Vault::Open(s.options);
}

nlohmann::json CountsJson(const std::map<std::string, int64_t>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

nlohmann::json CountsJson(const std::map<std::string, size_t>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

audit::AuditEntry OperatorEntry(std::string_view action,
                                const std::string& citizen_id) {
  audit::AuditEntry e;
  e.time = Clock::System().NowSeconds();
  e.actor_kind = "operator";
  e.actor_id = "operator";
  e.action = std::string(action);
  e.citizen_id = citizen_id;
  e.decision = "none";
  e.request_id = "cli-" + crypto::Random::System().Hex(8);
  return e;
}

StatusOr<std::unique_ptr<audit::AuditLog>> OpenAuditLog(vault::Vault& vault) {
  pgstore::PgVaultStore* const shared = PgStoreOf(vault);
  TILLIT_ASSIGN_OR_RETURN(
      auto log, shared != nullptr ? shared->OpenAuditLog(vault)
                                  : audit::AuditLog::OpenInDirectory(
                                        vault.data_dir(), vault, vault.env()));
  if (const int nth = audit_write_to_fail.exchange(0); nth > 0)
    log->FailWriteForTesting(nth);
  return log;
}

StatusOr<std::unique_ptr<research::PrivacyLedger>> OpenPrivacyLedger(
    vault::Vault& vault) {
  if (pgstore::PgVaultStore* shared = PgStoreOf(vault)) {
    return shared->OpenPrivacyLedger(vault);
  }
  return research::PrivacyLedger::OpenInDirectory(vault.data_dir(), vault,
                                                  vault.env());
}

Status StartAuditLog(vault::Vault& vault) {
  TILLIT_ASSIGN_OR_RETURN(auto log, OpenAuditLog(vault));
  return log->SignedCheckpoint().status();
}

Status AuditOperator(vault::Vault& vault,
                     const std::vector<audit::AuditEntry>& entries) {
  TILLIT_ASSIGN_OR_RETURN(auto log, OpenAuditLog(vault));
  for (const audit::AuditEntry& e : entries) {
    TILLIT_RETURN_IF_ERROR(log->Append(e).status());
  }
  return log->SignedCheckpoint().status();
}

void FailAuditWriteForTesting(int nth) { audit_write_to_fail.store(nth); }

std::optional<uint64_t> ParseNumber(const std::optional<std::string>& s,
                                    uint64_t fallback, uint64_t min,
                                    uint64_t max) {
  if (!s) return fallback;
  if (s->empty() || s->size() > 19 ||
      s->find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const uint64_t v = std::stoull(*s);
  if (v < min || v > max) return std::nullopt;
  return v;
}

}  // namespace tillit::cli
