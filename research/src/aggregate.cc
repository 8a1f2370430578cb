// RunAggregate: who contributes, the true tally, the noise, the charge and
// the audit entries (the order and its reasons: research/aggregate.h).
#include "tillit/research/aggregate.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "cohort.h"
#include "tillit/base/mutex.h"
#include "tillit/research/dp.h"

namespace tillit::research {
namespace {

// Aggregate queries (and erasures of what they recorded) run one at a time
// in a process: the spend each citizen has left is read before the tally
// and charged after it.
Mutex& QueryMutex() {
  static Mutex mu;
  return mu;
}

// The query's answer from the true tally, with one independent noise
// draw per cell.
std::vector<AggregateCell> AddNoise(const std::vector<CellSpec>& cells,
                                    const std::vector<int64_t>& tally,
                                    crypto::Random& rng) {
  std::vector<AggregateCell> out;
  out.reserve(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    const dp::LaplaceMechanism m{cells[i].sensitivity, cells[i].epsilon};
    AggregateCell c;
    c.spec = cells[i];
    c.value = m.Apply(tally[i], rng);
    c.error_bound = m.ErrorBound(0.95);
    c.below_noise = c.value < c.error_bound;
    out.push_back(std::move(c));
  }
  return out;
}

// The mean from the noisy count and sum (post-processing: no further
// privacy loss), clamped to the bounds; none when the count is not
// positive.
std::optional<double> NoisyMean(const AggregateQuery& q,
                                const std::vector<AggregateCell>& cells) {
  if (cells.size() != 2 || cells[0].value <= 0) return std::nullopt;
  const double steps =
      static_cast<double>(cells[1].value) / static_cast<double>(cells[0].value);
  const double mean = q.lower + steps / kMeanSteps * (q.upper - q.lower);
  return std::clamp(mean, q.lower, q.upper);
}

}  // namespace

StatusOr<AggregateResult> RunAggregate(vault::StoreAccess& stores,
                                       PrivacyLedger& ledger,
                                       const AggregateInput& in,
                                       const AuditBatch& audit) {
  if (in.study == nullptr || in.researcher == nullptr || in.rng == nullptr)
    return Status::InvalidArgument(
        "an aggregate needs a study, a researcher and randomness");
  if (!vault::IsValidId(in.id, "agg_"))
    return Status::InvalidArgument("aggregate id must look like agg_…");
  const consent::StudyDefinition& study = *in.study;
  const AggregateQuery& q = in.query;
  MutexLock lock(&QueryMutex());

  StatusOr<StudyBudget> budget = ledger.GetStudyBudget(study.study.id);
  if (!budget.ok()) {
    if (budget.status().code() == StatusCode::kNotFound) {
      return Status::PermissionDenied(
          "the operator has not set a privacy budget for this study, so it "
          "cannot ask aggregate queries yet");
    }
    return budget.status();
  }
  if (budget->remaining() < q.epsilon) {
    return Status::PermissionDenied(
        "the study's privacy budget is spent: epsilon " +
        FormatEpsilon(std::max<int64_t>(0, budget->remaining())) +
        " remains, the query asks " + FormatEpsilon(q.epsilon));
  }
  TILLIT_ASSIGN_OR_RETURN(const auto spent,
                          ledger.CitizenSpent(study.study.id));
  TILLIT_ASSIGN_OR_RETURN(const int64_t default_cap,
                          ledger.DefaultCitizenCap());
  auto has_room = [&](const std::string& citizen, int64_t cap) {
    auto it = spent.find(citizen);
    const int64_t used = it == spent.end() ? 0 : it->second;
    return used <= cap && cap - used >= q.epsilon;
  };

  const std::vector<CellSpec> cells = Cells(q, study);
  std::vector<int64_t> tally(cells.size(), 0);
  AggregateResult result;
  std::vector<std::string> contributors;
  std::vector<audit::AuditEntry> entries;
  auto entry = [&](std::string citizen) {
    return internal::ResearchEntry("research.aggregate", *in.researcher, study,
                                   std::move(citizen), in.now, in.request_id);
  };

  // Every candidate gets one entry, so the log grows by what the consent
  // index already says (the candidates), never by a figure about the
  // cohort: "permit" for a citizen whose data the query used (and who is
  // charged), "deny" for one whose cap had no room (nothing of theirs was
  // read).
  const bool from_index = !NeedsStores(q, study);
  for (const consent::Candidate& c : in.candidates) {
    if (!has_room(c.citizen_id, c.privacy_budget.value_or(default_cap))) {
      ++result.left_out;
      audit::AuditEntry e = entry(c.citizen_id);
      e.decision = "deny";
      entries.push_back(std::move(e));
      continue;
    }
    audit::AuditEntry e = entry(c.citizen_id);
    if (from_index) {
      // The consent index alone: grants, caps and opt-out, no store opened.
      ++tally[0];
      e.grant_ids = c.grant_ids;
    } else {
      internal::CohortMember member;
      Status s = stores.With(c.citizen_id, [&](vault::CitizenStore& store) {
        return internal::ReadCohortMember(store, *in.researcher, study, in.now,
                                          &member);
      });
      // Erased since the index was read: nothing of theirs is left.
      if (s.code() == StatusCode::kNotFound) continue;
      TILLIT_RETURN_IF_ERROR(s);
      if (!member.decision.permit) continue;  // the index was behind
      // Examined: whether they meet the criteria and the filter is itself
      // what the answer could reveal, so they are charged either way.
      if (member.in_cohort) {
        const Contribution part = Contribute(q, study, member.released, in.now);
        for (size_t i = 0; i < tally.size(); ++i) tally[i] += part[i];
      }
      std::set<std::string> categories;
      for (const vault::StoredRecord& r : member.released)
        categories.insert(std::string(fhir::CategoryName(r.category)));
      e.categories.assign(categories.begin(), categories.end());
      for (uint32_t g : member.decision.permitting)
        e.grant_ids.push_back(member.policy.grants[g].id);
    }
    contributors.push_back(c.citizen_id);
    entries.push_back(std::move(e));
  }

  result.id = in.id;
  result.study_id = study.study.id;
  result.query = q;
  result.description = DescribeQuery(q, study);
  result.time = in.now;
  result.cells = AddNoise(cells, tally, *in.rng);
  if (q.kind == AggregateKind::kMean) result.mean = NoisyMean(q, result.cells);

  // The charge first: privacy loss is never under-counted.
  LedgerQuery charge;
  charge.id = in.id;
  charge.study_id = study.study.id;
  charge.researcher_id = in.researcher->id;
  charge.time = in.now;
  charge.epsilon = q.epsilon;
  charge.description = result.description;
  charge.request_id = in.request_id;
  TILLIT_RETURN_IF_ERROR(ledger.Charge(charge, contributors));

  audit::AuditEntry query_entry = entry("");
  for (fhir::Category c : fhir::AllCategories()) {
    if ((study.study.categories & consent::CategoryBit(c)) != 0)
      query_entry.categories.emplace_back(fhir::CategoryName(c));
  }
  entries.push_back(std::move(query_entry));
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint64_t> indexes, audit(entries));
  if (indexes.size() != entries.size())
    return Status::Internal("audit returned the wrong number of indexes");
  result.audit_index = indexes.back();
  TILLIT_ASSIGN_OR_RETURN(result.budget, ledger.GetStudyBudget(study.study.id));
  return result;
}

Status ForgetAggregateParticipation(PrivacyLedger& ledger,
                                    std::string_view citizen_id) {
  MutexLock lock(&QueryMutex());
  return ledger.ForgetCitizen(citizen_id);
}

}  // namespace tillit::research
