#include "tillit/pgstore/pg_privacy_ledger.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include "schema.h"
#include "sealing.h"

namespace tillit::pgstore {
namespace {

using research::CitizenStudySpend;
using research::LedgerQuery;
using research::StudyBudget;

constexpr std::string_view kSealLabel = "tillit pgstore ledger seal v1";
constexpr std::string_view kTagLabel = "tillit pgstore ledger tags v1";
constexpr size_t kTagSize = 16;
constexpr const char* kDefaultCapKey = "default_citizen_cap";

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE ledger_settings (
  key   text   PRIMARY KEY,
  value bigint NOT NULL
);
CREATE TABLE ledger_studies (
  study_id text   PRIMARY KEY,
  total    bigint NOT NULL,        -- micro-epsilon
  spent    bigint NOT NULL         -- micro-epsilon, 0 <= spent <= total
);
CREATE TABLE ledger_queries (
  id            text   PRIMARY KEY,
  seq           bigint GENERATED ALWAYS AS IDENTITY,
  study_id      text   NOT NULL,
  researcher_id text   NOT NULL,
  time          bigint NOT NULL,
  epsilon       bigint NOT NULL,
  description   text   NOT NULL,
  contributors  bigint NOT NULL,
  request_id    text   NOT NULL
);
CREATE TABLE ledger_citizen_spend (
  citizen_tag bytea  NOT NULL,     -- keyed tag of the citizen id
  study_id    text   NOT NULL,
  spent       bigint NOT NULL,     -- micro-epsilon
  citizen     bytea  NOT NULL,     -- the citizen id, sealed
  PRIMARY KEY (citizen_tag, study_id)
);
CREATE INDEX ledger_citizen_spend_by_study ON ledger_citizen_spend (study_id);
CREATE TABLE ledger_citizen_queries (
  citizen_tag bytea NOT NULL,
  query_id    text  NOT NULL,
  PRIMARY KEY (citizen_tag, query_id)
);
)sql";

// Row `i` of columns id, study_id, researcher_id, time, epsilon,
// description, contributors, request_id (in that order).
StatusOr<LedgerQuery> QueryAt(const Result& r, int i) {
  LedgerQuery q;
  q.id = std::string(r.Text(i, 0));
  q.study_id = std::string(r.Text(i, 1));
  q.researcher_id = std::string(r.Text(i, 2));
  TILLIT_ASSIGN_OR_RETURN(q.time, r.Int64(i, 3));
  TILLIT_ASSIGN_OR_RETURN(q.epsilon, r.Int64(i, 4));
  q.description = std::string(r.Text(i, 5));
  TILLIT_ASSIGN_OR_RETURN(q.contributors, r.Int64(i, 6));
  q.request_id = std::string(r.Text(i, 7));
  return q;
}

std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

struct PgPrivacyLedger::Keys : internal::SealingKeys {};

StatusOr<std::unique_ptr<PgPrivacyLedger>> PgPrivacyLedger::Open(
    Session* session, const crypto::SecretBytes& key, crypto::Random* rng) {
  TILLIT_ASSIGN_OR_RETURN(
      internal::SealingKeys keys,
      internal::DeriveSealingKeys(key, kSealLabel, kTagLabel, kTagSize));
  TILLIT_RETURN_IF_ERROR(session->Transact([](Connection& c) {
    return internal::CreateOrCheckSchema(c, "privacy ledger", kSchemaVersion,
                                         kSchemaV1);
  }));
  return std::unique_ptr<PgPrivacyLedger>(new PgPrivacyLedger(
      session, std::make_unique<Keys>(Keys{std::move(keys)}), rng));
}

PgPrivacyLedger::PgPrivacyLedger(Session* session, std::unique_ptr<Keys> keys,
                                 crypto::Random* rng)
    : session_(session), keys_(std::move(keys)), rng_(rng) {}

PgPrivacyLedger::~PgPrivacyLedger() = default;

std::vector<uint8_t> PgPrivacyLedger::CitizenTag(
    std::string_view citizen_id) const {
  return keys_->tags.HashFields({"citizen", citizen_id});
}

Status PgPrivacyLedger::DoSetStudyBudget(std::string_view study_id,
                                         int64_t total) {
  return session_->Transact([&](Connection& c) -> Status {
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec("SELECT spent FROM ledger_studies WHERE study_id = $1 "
                         "FOR UPDATE",
                         {study_id}));
    if (r.rows() == 1) {
      TILLIT_ASSIGN_OR_RETURN(int64_t spent, r.Int64(0, 0));
      if (total < spent) return BelowSpent(spent);
      return c
          .Exec("UPDATE ledger_studies SET total = $2 WHERE study_id = $1",
                {study_id, total})
          .status();
    }
    // Two nodes creating one study's budget at once: the second waits on
    // the key and then updates the first's row.
    return c
        .Exec(
            "INSERT INTO ledger_studies (study_id, total, spent) "
            "VALUES ($1, $2, 0) ON CONFLICT (study_id) DO UPDATE SET total = "
            "EXCLUDED.total WHERE ledger_studies.spent <= EXCLUDED.total",
            {study_id, total})
        .status();
  });
}

StatusOr<StudyBudget> PgPrivacyLedger::DoGetStudyBudget(
    std::string_view study_id) {
  return session_->Run([&](Connection& c) -> StatusOr<StudyBudget> {
    TILLIT_ASSIGN_OR_RETURN(
        Result r,
        c.Exec("SELECT total, spent FROM ledger_studies WHERE study_id = $1",
               {study_id}));
    if (r.rows() == 0) return NoBudget(study_id);
    StudyBudget b;
    b.study_id = std::string(study_id);
    TILLIT_ASSIGN_OR_RETURN(b.total, r.Int64(0, 0));
    TILLIT_ASSIGN_OR_RETURN(b.spent, r.Int64(0, 1));
    TILLIT_RETURN_IF_ERROR(CheckStoredBudget(b));
    return b;
  });
}

Status PgPrivacyLedger::DoSetDefaultCitizenCap(int64_t cap) {
  return session_->Run([&](Connection& c) {
    return c
        .Exec(
            "INSERT INTO ledger_settings (key, value) VALUES ($1, $2) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            {kDefaultCapKey, cap})
        .status();
  });
}

StatusOr<std::optional<int64_t>> PgPrivacyLedger::DoDefaultCitizenCap() {
  return session_->Run([&](Connection& c) -> StatusOr<std::optional<int64_t>> {
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec("SELECT value FROM ledger_settings WHERE key = $1",
                         {kDefaultCapKey}));
    if (r.rows() == 0) return std::optional<int64_t>();
    TILLIT_ASSIGN_OR_RETURN(int64_t cap, r.Int64(0, 0));
    return std::optional<int64_t>(cap);
  });
}

StatusOr<std::map<std::string, int64_t>> PgPrivacyLedger::DoCitizenSpent(
    std::string_view study_id) {
  return session_->Run(
      [&](Connection& c) -> StatusOr<std::map<std::string, int64_t>> {
        TILLIT_ASSIGN_OR_RETURN(
            Result r, c.Exec("SELECT citizen_tag, citizen, spent FROM "
                             "ledger_citizen_spend WHERE study_id = $1",
                             {study_id}));
        std::map<std::string, int64_t> out;
        for (int i = 0; i < r.rows(); ++i) {
          auto id = keys_->seal.Open(r.Bytes(i, 1), r.Bytes(i, 0));
          if (!id.ok()) {
            return Status::DataLoss(
                "a row of the privacy ledger does not open under its key");
          }
          TILLIT_ASSIGN_OR_RETURN(int64_t spent, r.Int64(i, 2));
          out.emplace(std::string(AsText(*id)), spent);
        }
        return out;
      });
}

Status PgPrivacyLedger::DoCharge(const LedgerQuery& q,
                                 const std::vector<std::string>& contributors) {
  return session_->Transact([&](Connection& c) -> Status {
    // The study's row stays locked until the commit: another node's charge
    // of the same study reads the budget only after this one is done.
    TILLIT_ASSIGN_OR_RETURN(Result r,
                            c.Exec("SELECT total, spent FROM ledger_studies "
                                   "WHERE study_id = $1 FOR UPDATE",
                                   {q.study_id}));
    if (r.rows() == 0) return NoBudget(q.study_id);
    StudyBudget budget;
    budget.study_id = q.study_id;
    TILLIT_ASSIGN_OR_RETURN(budget.total, r.Int64(0, 0));
    TILLIT_ASSIGN_OR_RETURN(budget.spent, r.Int64(0, 1));
    TILLIT_RETURN_IF_ERROR(CheckStoredBudget(budget));
    TILLIT_ASSIGN_OR_RETURN(
        Result seen,
        c.Exec("SELECT 1 FROM ledger_queries WHERE id = $1", {q.id}));
    if (seen.rows() != 0) return QueryExists(q.id);
    if (budget.remaining() < q.epsilon) {
      return BudgetSpent(budget.remaining(), q.epsilon);
    }
    if (q.epsilon > std::numeric_limits<int64_t>::max() - budget.spent) {
      return ImpossibleSpend();
    }
    TILLIT_RETURN_IF_ERROR(
        c.Exec("UPDATE ledger_studies SET spent = $2 WHERE study_id = $1",
               {q.study_id, budget.spent + q.epsilon})
            .status());
    Status inserted =
        c.Exec(
             "INSERT INTO ledger_queries (id, study_id, researcher_id, time, "
             "epsilon, description, contributors, request_id) VALUES ($1, "
             "$2, $3, $4, $5, $6, $7, $8)",
             {q.id, q.study_id, q.researcher_id, q.time, q.epsilon,
              q.description, static_cast<int64_t>(contributors.size()),
              q.request_id})
            .status();
    if (inserted.code() == StatusCode::kAlreadyExists) {
      return QueryExists(q.id);  // another node charged it just now
    }
    TILLIT_RETURN_IF_ERROR(inserted);
    // Each contributor's spend and listing. A spend only grows with its
    // study's, so it stays within kMaxBudget; the WHERE keeps a row that
    // does not (damaged) from growing, and the count below notices.
    for (const std::string& citizen : contributors) {
      const std::vector<uint8_t> tag = CitizenTag(citizen);
      TILLIT_ASSIGN_OR_RETURN(
          Result spend,
          c.Exec("INSERT INTO ledger_citizen_spend (citizen_tag, study_id, "
                 "spent, citizen) VALUES ($1, $2, $3, $4) ON CONFLICT "
                 "(citizen_tag, study_id) DO UPDATE SET spent = "
                 "ledger_citizen_spend.spent + EXCLUDED.spent WHERE "
                 "ledger_citizen_spend.spent BETWEEN 1 AND $5",
                 {tag, q.study_id, q.epsilon,
                  keys_->seal.Seal(crypto::AsBytes(citizen), tag, *rng_),
                  kMaxBudget - q.epsilon}));
      if (spend.affected() != 1) return ImpossibleSpend();
      TILLIT_RETURN_IF_ERROR(
          c.Exec("INSERT INTO ledger_citizen_queries (citizen_tag, query_id) "
                 "VALUES ($1, $2)",
                 {tag, q.id})
              .status());
    }
    return Status::Ok();
  });
}

StatusOr<std::vector<CitizenStudySpend>> PgPrivacyLedger::DoForCitizen(
    std::string_view citizen_id) {
  const std::vector<uint8_t> tag = CitizenTag(citizen_id);
  return session_->Transact(
      [&](Connection& c) -> StatusOr<std::vector<CitizenStudySpend>> {
        // One snapshot for both reads, so the spends and the queries agree.
        TILLIT_RETURN_IF_ERROR(c.ExecScript(
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
        TILLIT_ASSIGN_OR_RETURN(
            Result s, c.Exec("SELECT study_id, spent FROM ledger_citizen_spend "
                             "WHERE citizen_tag = $1",
                             {tag}));
        std::map<std::string, int64_t> spent;
        for (int i = 0; i < s.rows(); ++i) {
          TILLIT_ASSIGN_OR_RETURN(int64_t v, s.Int64(i, 1));
          if (v <= 0 || v > kMaxBudget) return ImpossibleSpend();
          spent.emplace(std::string(s.Text(i, 0)), v);
        }
        TILLIT_ASSIGN_OR_RETURN(
            Result r,
            c.Exec("SELECT q.id, q.study_id, q.researcher_id, q.time, "
                   "q.epsilon, q.description, q.contributors, q.request_id "
                   "FROM ledger_citizen_queries AS cq JOIN ledger_queries AS "
                   "q ON q.id = cq.query_id WHERE cq.citizen_tag = $1 "
                   "ORDER BY q.time DESC, q.seq DESC",
                   {tag}));
        std::vector<LedgerQuery> queries;
        queries.reserve(r.rows());
        for (int i = 0; i < r.rows(); ++i) {
          TILLIT_ASSIGN_OR_RETURN(LedgerQuery q, QueryAt(r, i));
          queries.push_back(std::move(q));
        }
        return GroupByStudy(spent, std::move(queries));
      });
}

StatusOr<research::LedgerRows> PgPrivacyLedger::DoExportRows() {
  return session_->Transact([&](Connection& c)
                                -> StatusOr<research::LedgerRows> {
    TILLIT_RETURN_IF_ERROR(c.ExecScript(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
    research::LedgerRows out;
    TILLIT_ASSIGN_OR_RETURN(
        Result cap, c.Exec("SELECT value FROM ledger_settings WHERE key = $1",
                           {kDefaultCapKey}));
    if (cap.rows() == 1) {
      TILLIT_ASSIGN_OR_RETURN(int64_t v, cap.Int64(0, 0));
      out.default_citizen_cap = v;
    }
    TILLIT_ASSIGN_OR_RETURN(
        Result studies,
        c.Exec("SELECT study_id, total, spent FROM ledger_studies "
               "ORDER BY study_id COLLATE \"C\""));
    for (int i = 0; i < studies.rows(); ++i) {
      StudyBudget b;
      b.study_id = std::string(studies.Text(i, 0));
      TILLIT_ASSIGN_OR_RETURN(b.total, studies.Int64(i, 1));
      TILLIT_ASSIGN_OR_RETURN(b.spent, studies.Int64(i, 2));
      out.studies.push_back(std::move(b));
    }
    TILLIT_ASSIGN_OR_RETURN(
        Result queries,
        c.Exec("SELECT id, study_id, researcher_id, time, epsilon, "
               "description, contributors, request_id FROM ledger_queries "
               "ORDER BY seq"));
    for (int i = 0; i < queries.rows(); ++i) {
      TILLIT_ASSIGN_OR_RETURN(LedgerQuery q, QueryAt(queries, i));
      out.queries.push_back(std::move(q));
    }
    // The citizen ids are sealed in the spends; a listing names its citizen
    // by tag only, and every listed citizen has a spend on the study.
    TILLIT_ASSIGN_OR_RETURN(
        Result spends, c.Exec("SELECT citizen_tag, citizen, study_id, spent "
                              "FROM ledger_citizen_spend"));
    std::map<std::string, std::string> by_tag;
    for (int i = 0; i < spends.rows(); ++i) {
      auto id = keys_->seal.Open(spends.Bytes(i, 1), spends.Bytes(i, 0));
      if (!id.ok()) {
        return Status::DataLoss(
            "a row of the privacy ledger does not open under its key");
      }
      research::LedgerRows::Spend sp;
      sp.citizen_id = std::string(AsText(*id));
      sp.study_id = std::string(spends.Text(i, 2));
      TILLIT_ASSIGN_OR_RETURN(sp.spent, spends.Int64(i, 3));
      by_tag[std::string(AsText(spends.Bytes(i, 0)))] = sp.citizen_id;
      out.spends.push_back(std::move(sp));
    }
    std::sort(out.spends.begin(), out.spends.end(),
              [](const auto& a, const auto& b) {
                return std::tie(a.citizen_id, a.study_id) <
                       std::tie(b.citizen_id, b.study_id);
              });
    TILLIT_ASSIGN_OR_RETURN(
        Result listings,
        c.Exec("SELECT citizen_tag, query_id FROM ledger_citizen_queries"));
    for (int i = 0; i < listings.rows(); ++i) {
      auto citizen = by_tag.find(std::string(AsText(listings.Bytes(i, 0))));
      if (citizen == by_tag.end()) {
        return Status::DataLoss(
            "the privacy ledger lists a query for a citizen without a spend");
      }
      out.listings.push_back(
          {citizen->second, std::string(listings.Text(i, 1))});
    }
    std::sort(out.listings.begin(), out.listings.end(),
              [](const auto& a, const auto& b) {
                return std::tie(a.citizen_id, a.query_id) <
                       std::tie(b.citizen_id, b.query_id);
              });
    return out;
  });
}

Status PgPrivacyLedger::DoImportRows(const research::LedgerRows& rows) {
  return session_->Transact([&](Connection& c) -> Status {
    TILLIT_ASSIGN_OR_RETURN(
        Result held, c.Exec("SELECT (SELECT count(*) FROM ledger_studies) + "
                            "(SELECT count(*) FROM ledger_queries) + "
                            "(SELECT count(*) FROM ledger_citizen_spend) + "
                            "(SELECT count(*) FROM ledger_citizen_queries)"));
    TILLIT_ASSIGN_OR_RETURN(int64_t count, held.Int64(0, 0));
    if (count != 0) {
      return Status::FailedPrecondition(
          "the privacy ledger is not empty; rows are only imported into a "
          "new one");
    }
    if (rows.default_citizen_cap) {
      TILLIT_RETURN_IF_ERROR(
          c.Exec("INSERT INTO ledger_settings (key, value) VALUES ($1, $2) "
                 "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                 {kDefaultCapKey, *rows.default_citizen_cap})
              .status());
    }
    for (const StudyBudget& b : rows.studies) {
      TILLIT_RETURN_IF_ERROR(
          c.Exec("INSERT INTO ledger_studies (study_id, total, spent) "
                 "VALUES ($1, $2, $3)",
                 {b.study_id, b.total, b.spent})
              .status());
    }
    for (const LedgerQuery& q : rows.queries) {
      TILLIT_RETURN_IF_ERROR(
          c.Exec("INSERT INTO ledger_queries (id, study_id, researcher_id, "
                 "time, epsilon, description, contributors, request_id) "
                 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                 {q.id, q.study_id, q.researcher_id, q.time, q.epsilon,
                  q.description, q.contributors, q.request_id})
              .status());
    }
    for (const research::LedgerRows::Spend& sp : rows.spends) {
      const std::vector<uint8_t> tag = CitizenTag(sp.citizen_id);
      TILLIT_RETURN_IF_ERROR(
          c.Exec("INSERT INTO ledger_citizen_spend (citizen_tag, study_id, "
                 "spent, citizen) VALUES ($1, $2, $3, $4)",
                 {tag, sp.study_id, sp.spent,
                  keys_->seal.Seal(crypto::AsBytes(sp.citizen_id), tag, *rng_)})
              .status());
    }
    for (const research::LedgerRows::Listing& l : rows.listings) {
      TILLIT_RETURN_IF_ERROR(
          c.Exec("INSERT INTO ledger_citizen_queries (citizen_tag, query_id) "
                 "VALUES ($1, $2)",
                 {CitizenTag(l.citizen_id), l.query_id})
              .status());
    }
    return Status::Ok();
  });
}

Status PgPrivacyLedger::DoForgetCitizen(std::string_view citizen_id) {
  const std::vector<uint8_t> tag = CitizenTag(citizen_id);
  return session_->Transact([&](Connection& c) -> Status {
    for (const char* sql :
         {"DELETE FROM ledger_citizen_spend WHERE citizen_tag = $1",
          "DELETE FROM ledger_citizen_queries WHERE citizen_tag = $1"}) {
      TILLIT_RETURN_IF_ERROR(c.Exec(sql, {tag}).status());
    }
    return Status::Ok();
  });
}

}  // namespace tillit::pgstore
