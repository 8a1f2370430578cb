// What every verb of `tillit` shares: exit statuses, the streams of one
// run, usage and failure messages, the common options and opening the
// vault from them, operator audit entries, a progress line for a terminal
// and number parsing.
//
// Thread-safety: one verb runs at a time per process (see cli.h); nothing
// here is shared between threads except the audit test hook, which is
// atomic.
#ifndef TILLIT_CLI_SRC_COMMON_H_
#define TILLIT_CLI_SRC_COMMON_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "src/args.h"
#include "tillit/audit/audit_log.h"
#include "tillit/audit/entry.h"
#include "tillit/base/env.h"
#include "tillit/base/status.h"
#include "tillit/crypto/secret.h"
#include "tillit/vault/vault.h"

namespace tillit::pgstore {
class PgVaultStore;
}  // namespace tillit::pgstore
namespace tillit::research {
class PrivacyLedger;
}  // namespace tillit::research

namespace tillit::cli {

// Exit statuses (see cli.h).
constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

// The streams of one run.
struct Io {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
  bool terminal;  // progress lines only on a terminal
};

// Prints `problem` and where to find the verb's usage; returns kUsage.
int Usage(Io& io, const std::string& verb, const std::string& problem);

// Prints the status's message; returns kFailed.
int Fail(Io& io, const std::string& verb, const Status& s);

// Declares --data, --store, --key-file, --passphrase-stdin, --json and
// --help.
Args& CommonOptions(Args& a);

// --data, else $TILLIT_DATA, else `fallback`.
std::string DataDir(const Args& a,
                    const std::string& fallback = "./tillit-data");

// Holds what VaultOptions points to.
struct VaultSetup {
  vault::VaultOptions options;
  std::optional<crypto::SecretBytes> passphrase;
};

// The vault options of the common options: the data directory (default
// `fallback_dir`), --key-file or $TILLIT_KEY_FILE, with --passphrase-stdin
// the passphrase read from the first line of io.in, and with --store URL
// (or $TILLIT_STORE) the PostgreSQL store, connected (StoreConnInfo).
StatusOr<VaultSetup> MakeSetup(
    const Args& a, Io& io, const std::string& fallback_dir = "./tillit-data");

// The same for the data directory `data_dir` only: never a store, and
// neither --data nor $TILLIT_DATA (`tillit migrate --from DIR`).
StatusOr<VaultSetup> MakeDirectorySetup(const Args& a, Io& io,
                                        const std::string& data_dir);

// The connection string of a --store URL: a postgresql:// (or
// postgres://) URL for libpq. InvalidArgument for anything else, or a URL
// that holds a password (it would show in the process list and in a
// world-readable configuration file: name a password file instead, with
// PGPASSFILE or the URL's passfile parameter). Never echoes the URL.
StatusOr<std::string> StoreConnInfo(std::string_view url);

// The shared store of a vault opened with --store; null for a data
// directory.
pgstore::PgVaultStore* PgStoreOf(vault::Vault& vault);

// Opens the vault that `s` describes.
StatusOr<std::unique_ptr<vault::Vault>> OpenVault(VaultSetup& s);

// A JSON object of counts by name.
nlohmann::json CountsJson(const std::map<std::string, int64_t>& m);
nlohmann::json CountsJson(const std::map<std::string, size_t>& m);

// A one-line progress display on a terminal.
class Progress {
 public:
  explicit Progress(Io& io) : io_(io) {}
  void Show(const std::string& line) {
    if (!io_.terminal) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    io_.err << "\r\033[K" << line << std::flush;
    shown_ = true;
  }
  void Done() {
    if (shown_) io_.err << "\r\033[K" << std::flush;
  }

 private:
  Io& io_;
  std::chrono::steady_clock::time_point last_{};
  bool shown_ = false;
};

// An audit entry for something the operator did on this machine.
audit::AuditEntry OperatorEntry(std::string_view action,
                                const std::string& citizen_id);

// The vault's audit log (DIR/audit.db, or the shared store's).
StatusOr<std::unique_ptr<audit::AuditLog>> OpenAuditLog(vault::Vault& vault);

// Creates a new vault's audit log with a signed checkpoint of the empty
// tree, so that a log deleted later fails verification instead of looking
// empty.
Status StartAuditLog(vault::Vault& vault);

// The vault's privacy ledger (DIR/privacy.db, or the shared store's).
StatusOr<std::unique_ptr<research::PrivacyLedger>> OpenPrivacyLedger(
    vault::Vault& vault);

// Appends operator entries to the audit log and signs a checkpoint.
Status AuditOperator(vault::Vault& vault,
                     const std::vector<audit::AuditEntry>& entries);

// The Env every file of a verb goes through: the operating system's,
// unless a test installed another with UseEnvForTesting.
Env* FileEnv();

// Test hook: verbs run after this call open every file (the vault, its
// SQLite databases, the audit log, the privacy ledger, key files and
// decrypted releases) through `env`; nullptr restores the operating
// system's. `env` must outlive those runs.
void UseEnvForTesting(Env* env);

// Test hook: in the next audit log that OpenAuditLog opens, the Nth
// durable write (1 = the first) fails as if the disk had refused it (see
// AuditLog::FailWriteForTesting).
void FailAuditWriteForTesting(int nth);

// A decimal number from `min` to `max`; `fallback` when absent.
std::optional<uint64_t> ParseNumber(const std::optional<std::string>& s,
                                    uint64_t fallback, uint64_t min,
                                    uint64_t max);

}  // namespace tillit::cli

#endif  // TILLIT_CLI_SRC_COMMON_H_
