// PgPrivacyLedger: the privacy-budget ledger (research::PrivacyLedger) in
// PostgreSQL, shared by every `tillit serve` node of a cluster.
//
// Studies' budgets and the queries (in words, no health data) are plain
// rows. Which citizens' data a query used is not: a study's queries name
// their cohort's criteria, so a row linking a citizen to a query would
// tell an administrator something of the citizen's health. Those rows are
// keyed by a tag of the citizen id (keyed BLAKE2b under a sub-key of the
// ledger key), with the id itself sealed beside it for CitizenSpent.
//
// A charge locks the study's row (SELECT ... FOR UPDATE) for its
// transaction, so charges from several nodes never overspend.
//
// Thread-safety: safe from any thread; statements go through the Session.
#ifndef TILLIT_PGSTORE_PG_PRIVACY_LEDGER_H_
#define TILLIT_PGSTORE_PG_PRIVACY_LEDGER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"
#include "tillit/pgstore/session.h"
#include "tillit/research/privacy_ledger.h"

namespace tillit::pgstore {

class PgPrivacyLedger final : public research::PrivacyLedger {
 public:
  static constexpr int64_t kSchemaVersion = 1;

  // Creates or checks the ledger's tables through `session` (which must
  // outlive it). `key` (32 bytes; every node is given the same) seals and
  // tags the citizens' rows.
  static StatusOr<std::unique_ptr<PgPrivacyLedger>> Open(
      Session* session, const crypto::SecretBytes& key,
      crypto::Random* rng = &crypto::Random::System());
  ~PgPrivacyLedger() override;

 protected:
  Status DoSetStudyBudget(std::string_view study_id, int64_t total) override;
  StatusOr<research::StudyBudget> DoGetStudyBudget(
      std::string_view study_id) override;
  Status DoSetDefaultCitizenCap(int64_t cap) override;
  StatusOr<std::optional<int64_t>> DoDefaultCitizenCap() override;
  StatusOr<std::map<std::string, int64_t>> DoCitizenSpent(
      std::string_view study_id) override;
  Status DoCharge(const research::LedgerQuery& q,
                  const std::vector<std::string>& contributors) override;
  StatusOr<std::vector<research::CitizenStudySpend>> DoForCitizen(
      std::string_view citizen_id) override;
  Status DoForgetCitizen(std::string_view citizen_id) override;
  StatusOr<research::LedgerRows> DoExportRows() override;
  Status DoImportRows(const research::LedgerRows& rows) override;

 private:
  struct Keys;
  PgPrivacyLedger(Session* session, std::unique_ptr<Keys> keys,
                  crypto::Random* rng);
  std::vector<uint8_t> CitizenTag(std::string_view citizen_id) const;

  Session* const session_;
  const std::unique_ptr<Keys> keys_;
  crypto::Random* const rng_;
};

}  // namespace tillit::pgstore

#endif  // TILLIT_PGSTORE_PG_PRIVACY_LEDGER_H_
