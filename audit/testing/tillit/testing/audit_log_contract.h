// The contract every audit log store keeps, as one parametrised suite: an
// AuditLog in front of the store numbers entries without gaps in one order
// that every handle (process or node) sees, proves each of them under a
// signed checkpoint, keeps its tree across reopening, lists by citizen and
// actor, and writes nothing when a write fails. A test binary includes this
// header once and instantiates it with the stores it builds
// (INSTANTIATE_TEST_SUITE_P(Name, AuditLogContractTest,
// ::testing::Values(AuditLogBackend{...}), AuditLogBackendName)). The data
// directory's audit.db runs it in audit_log_test.
#ifndef TILLIT_TESTING_AUDIT_LOG_CONTRACT_H_
#define TILLIT_TESTING_AUDIT_LOG_CONTRACT_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tillit/audit/audit_log.h"
#include "tillit/audit/checkpoint.h"
#include "tillit/audit/entry.h"
#include "tillit/audit/log_storage.h"
#include "tillit/audit/merkle.h"
#include "tillit/base/status.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/secret.h"
#include "tillit/crypto/signing.h"

namespace tillit::audit {

// One new, empty log in the store under test.
struct AuditLogUnderTest {
  // Opens another handle on the same log (another process or node); may be
  // called many times, handles may be open at once.
  std::function<StatusOr<std::unique_ptr<AuditLog>>()> open;
  // Verifies the stored log offline (VerifyStoredLog or VerifyLog),
  // optionally against a saved note.
  std::function<StatusOr<VerifyReport>(const std::string& external_note)>
      verify;
};

struct AuditLogBackend {
  std::string name;
  std::function<AuditLogUnderTest()> make;  // a new, empty log
};

inline std::string AuditLogBackendName(
    const ::testing::TestParamInfo<AuditLogBackend>& info) {
  return info.param.name;
}

class AuditLogContractTest : public ::testing::TestWithParam<AuditLogBackend> {
 protected:
  static constexpr int64_t kTime = 1767225600;  // 2026-01-01

  // A vault-style id: `prefix` and 32 lowercase hex digits.
  static std::string Id(const char* prefix, uint64_t n) {
    char hex[33];
    std::snprintf(hex, sizeof(hex), "%032" PRIx64, n);
    return std::string(prefix) + hex;
  }
  static std::string Citizen(int n) { return Id("c_", n); }
  static std::string Provider(int n) { return Id("p_", n); }

  // Entry `n`: provider `actor` read citizen `citizen`'s lab results; with
  // actor 0 the citizen read their own. Entries with different `n` have
  // different canonical bytes (time and request id).
  static AuditEntry Entry(int n, int citizen = 1, int actor = 1) {
    AuditEntry e;
    e.time = kTime + n;
    e.actor_kind = actor == 0 ? "citizen" : "provider";
    e.actor_id = actor == 0 ? Citizen(citizen) : Provider(actor);
    e.action = "records.read";
    e.citizen_id = Citizen(citizen);
    e.categories = {"lab-results"};
    e.decision = "permit";
    e.request_id = "req-" + std::to_string(n);
    return e;
  }
  // The bytes the log must store and hash for `e`.
  static std::string Canonical(const AuditEntry& e) {
    auto c = CanonicalEntry(e);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : std::string();
  }
  static Hash Leaf(const AuditEntry& e) {
    return LeafHash(crypto::AsBytes(Canonical(e)));
  }
  static ListQuery Query(size_t limit) {
    ListQuery q;
    q.limit = limit;
    return q;
  }
  // The indexes of a listing, in the order listed.
  static std::vector<uint64_t> Indexes(const std::vector<StoredEntry>& listed) {
    std::vector<uint64_t> out;
    for (const StoredEntry& e : listed) out.push_back(e.index);
    return out;
  }
  // 0, 1, ..., n - 1.
  static std::vector<uint64_t> Upto(uint64_t n) {
    std::vector<uint64_t> out;
    for (uint64_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }

  void SetUp() override {
    under_test_ = GetParam().make();
    ASSERT_TRUE(under_test_.open != nullptr);
    ASSERT_TRUE(under_test_.verify != nullptr);
    log_ = Open();
    ASSERT_NE(log_, nullptr);
    ASSERT_EQ(log_->size(), 0u) << "a new log must be empty";
  }

  // Another handle on the log, or null (the failure reported).
  std::unique_ptr<AuditLog> Open() {
    auto log = under_test_.open();
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    if (!log.ok()) return nullptr;
    return std::move(log).value();
  }
  // The offline verification's report; a report that is not ok when
  // verification could not run at all.
  VerifyReport Verify(const std::string& note = "") {
    auto r = under_test_.verify(note);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : VerifyReport{};
  }
  // The listing, or nothing (the failure reported).
  std::vector<StoredEntry> List(AuditLog& log, const ListQuery& q) {
    auto listed = log.List(q);
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    return listed.ok() ? *std::move(listed) : std::vector<StoredEntry>{};
  }
  // The opened checkpoint of `note`, checked with `log`'s key.
  static std::optional<Checkpoint> OpenNote(const AuditLog& log,
                                            const std::string& note) {
    auto cp = OpenCheckpoint(note, "tillit-audit", log.public_key());
    EXPECT_TRUE(cp.ok()) << cp.status().ToString();
    if (!cp.ok()) return std::nullopt;
    return *cp;
  }

  // What one appending thread got: the index of each entry number it
  // appended, or its first error.
  struct Appended {
    std::vector<std::pair<uint64_t, int>> index_and_n;
    Status status;
  };
  // Appends entries `from`, `from` + 1, ... (`count` of them), one call
  // each, through `log`.
  static Appended AppendEach(AuditLog& log, int from, int count) {
    Appended out;
    for (int n = from; n < from + count; ++n) {
      auto index = log.Append(Entry(n));
      if (!index.ok()) {
        out.status = index.status();
        return out;
      }
      out.index_and_n.emplace_back(*index, n);
    }
    return out;
  }

  // Declared first, destroyed last: the store outlives every handle.
  AuditLogUnderTest under_test_;
  std::unique_ptr<AuditLog> log_;
};

TEST_P(AuditLogContractTest, AppendsAreNumberedInOrderAndListedBack) {
  for (int i = 0; i < 10; ++i) {
    auto index = log_->Append(Entry(i, 1 + i % 2, i % 2));
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    EXPECT_EQ(*index, static_cast<uint64_t>(i));
  }
  EXPECT_EQ(log_->size(), 10u);

  ListQuery oldest_first = Query(100);
  oldest_first.after = -1;
  const std::vector<StoredEntry> listed = List(*log_, oldest_first);
  ASSERT_EQ(Indexes(listed), Upto(10));
  for (int i = 0; i < 10; ++i) {
    // The stored bytes are exactly the ones hashed for the tree.
    EXPECT_EQ(listed[i].canonical, Canonical(Entry(i, 1 + i % 2, i % 2))) << i;
    EXPECT_EQ(listed[i].entry.request_id, "req-" + std::to_string(i));
    EXPECT_EQ(listed[i].entry.actor_kind, i % 2 == 0 ? "citizen" : "provider");
  }

  std::vector<uint64_t> newest_first = Upto(10);
  std::reverse(newest_first.begin(), newest_first.end());
  EXPECT_EQ(Indexes(List(*log_, Query(100))), newest_first);
}

TEST_P(AuditLogContractTest, ConcurrentAppendsGetUniqueContiguousIndexes) {
  constexpr int kThreads = 8, kEach = 50, kBatch = 5;
  constexpr uint64_t kTotal = kThreads * kEach + kBatch;
  // Every thread starts appending at once, so commits overlap.
  std::latch start(kThreads + 1);
  std::vector<Appended> runs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      runs[t] = AppendEach(*log_, t * 1000, kEach);
    });
  }
  std::vector<AuditEntry> batch;
  for (int i = 0; i < kBatch; ++i) batch.push_back(Entry(100'000 + i));
  std::optional<StatusOr<std::vector<uint64_t>>> batched;
  threads.emplace_back([&] {
    start.arrive_and_wait();
    batched = log_->AppendBatch(batch);
  });
  for (std::thread& t : threads) t.join();

  // Which entry number each index was given to.
  std::vector<std::pair<uint64_t, int>> all;
  for (const Appended& run : runs) {
    ASSERT_TRUE(run.status.ok()) << run.status.ToString();
    all.insert(all.end(), run.index_and_n.begin(), run.index_and_n.end());
  }
  ASSERT_TRUE(batched.has_value());
  ASSERT_TRUE(batched->ok()) << batched->status().ToString();
  ASSERT_EQ((*batched)->size(), static_cast<size_t>(kBatch));
  for (int i = 0; i < kBatch; ++i) {
    all.emplace_back((**batched)[i], 100'000 + i);
    // One transaction: a batch's entries are consecutive.
    EXPECT_EQ((**batched)[i], (**batched)[0] + i);
  }
  std::sort(all.begin(), all.end());
  std::vector<uint64_t> indexes;
  for (const auto& index_and_n : all) indexes.push_back(index_and_n.first);
  ASSERT_EQ(indexes, Upto(kTotal)) << "indexes repeated or missing";
  EXPECT_EQ(log_->size(), kTotal);

  // Each index holds the entry its caller was told it holds.
  ListQuery q = Query(1000);
  q.after = -1;
  const std::vector<StoredEntry> listed = List(*log_, q);
  ASSERT_EQ(Indexes(listed), indexes);
  for (size_t i = 0; i < listed.size(); ++i) {
    EXPECT_EQ(listed[i].canonical, Canonical(Entry(all[i].second))) << i;
  }

  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, kTotal);
}

TEST_P(AuditLogContractTest,
       EveryEntryHasAnInclusionProofUnderTheSignedCheckpoint) {
  constexpr uint64_t kSize = 37;
  // One call per entry, then a batch: rows of more than one size.
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(log_->Append(Entry(i)).ok());
  std::vector<AuditEntry> batch;
  for (int i = 30; i < 37; ++i) batch.push_back(Entry(i));
  ASSERT_TRUE(log_->AppendBatch(batch).ok());

  auto note = log_->SignedCheckpoint();
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  const std::optional<Checkpoint> cp = OpenNote(*log_, *note);
  ASSERT_TRUE(cp.has_value());
  EXPECT_EQ(cp->origin, "tillit.health/audit");
  ASSERT_EQ(cp->size, kSize);
  for (uint64_t i = 0; i < kSize; ++i) {
    auto proof = log_->InclusionProof(i, kSize);
    ASSERT_TRUE(proof.ok()) << i << ": " << proof.status().ToString();
    EXPECT_TRUE(VerifyInclusion(Leaf(Entry(static_cast<int>(i))), i, kSize,
                                *proof, cp->root))
        << "entry " << i << " is not proven under the signed checkpoint";
  }
  // Past the end there is nothing to prove.
  EXPECT_FALSE(log_->InclusionProof(kSize, kSize).ok());
}

TEST_P(AuditLogContractTest, CheckpointsAreStoredOncePerSizeAndConsistent) {
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(log_->Append(Entry(i)).ok());
  auto old_note = log_->SignedCheckpoint();
  ASSERT_TRUE(old_note.ok()) << old_note.status().ToString();
  auto again = log_->SignedCheckpoint();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *old_note);
  // Another handle at the same size gets the note already stored.
  std::unique_ptr<AuditLog> other = Open();
  ASSERT_NE(other, nullptr);
  auto others = other->SignedCheckpoint();
  ASSERT_TRUE(others.ok()) << others.status().ToString();
  EXPECT_EQ(*others, *old_note);

  for (int i = 12; i < 20; ++i) ASSERT_TRUE(log_->Append(Entry(i)).ok());
  auto new_note = log_->SignedCheckpoint();
  ASSERT_TRUE(new_note.ok()) << new_note.status().ToString();
  EXPECT_NE(*new_note, *old_note);
  const std::optional<Checkpoint> before = OpenNote(*log_, *old_note);
  const std::optional<Checkpoint> after = OpenNote(*log_, *new_note);
  ASSERT_TRUE(before.has_value() && after.has_value());
  EXPECT_EQ(before->size, 12u);
  EXPECT_EQ(after->size, 20u);
  auto proof = log_->ConsistencyProof(12, 20);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_TRUE(VerifyConsistency(12, 20, *proof, before->root, after->root))
      << "the log at 20 entries does not extend the log at 12";

  // Three calls at size 12 and one at 20: two stored checkpoints.
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 20u);
  EXPECT_EQ(report.checkpoints, 2u);
  VerifyReport against_old = Verify(*old_note);
  EXPECT_TRUE(against_old.ok) << against_old.problem;
}

// A log of many tiles (256 leaves each) and many stored rows: a proof or
// a checkpoint's root then reads leaves back from the store, also while
// verification goes through the stored checkpoints.
TEST_P(AuditLogContractTest, ALogOfManyTilesProvesAndVerifiesThroughout) {
  std::vector<std::string> notes;
  int n = 0;
  for (int batch = 0; batch < 30; ++batch) {
    std::vector<AuditEntry> entries;
    for (int k = 0; k < 100; ++k, ++n) entries.push_back(Entry(n, 1 + n % 3));
    auto indexes = log_->AppendBatch(entries);
    ASSERT_TRUE(indexes.ok()) << indexes.status().ToString();
    if (batch % 10 == 9) {
      auto note = log_->SignedCheckpoint();
      ASSERT_TRUE(note.ok()) << note.status().ToString();
      notes.push_back(*note);
    }
  }
  ASSERT_EQ(log_->size(), 3000u);
  const std::optional<Checkpoint> last = OpenNote(*log_, notes.back());
  ASSERT_TRUE(last.has_value());
  for (uint64_t i : {uint64_t{0}, uint64_t{255}, uint64_t{256}, uint64_t{1500},
                     uint64_t{2999}}) {
    auto proof = log_->InclusionProof(i, 3000);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    const AuditEntry e =
        Entry(static_cast<int>(i), static_cast<int>(1 + i % 3));
    EXPECT_TRUE(VerifyInclusion(Leaf(e), i, 3000, *proof, last->root))
        << "entry " << i;
  }
  // A new handle loads all of it and proves an old entry.
  std::unique_ptr<AuditLog> other = Open();
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->size(), 3000u);
  auto root = other->RootAt(1000);
  const std::optional<Checkpoint> first = OpenNote(*log_, notes.front());
  ASSERT_TRUE(root.ok() && first.has_value());
  EXPECT_EQ(*root, first->root);

  VerifyReport report = Verify(notes.front());
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 3000u);
  EXPECT_EQ(report.checkpoints, 3u);
}

TEST_P(AuditLogContractTest, AReopenedLogKeepsItsTreeAndGoesOn) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(log_->Append(Entry(i)).ok());
  auto root = log_->RootAt(20);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  auto note = log_->SignedCheckpoint();
  ASSERT_TRUE(note.ok()) << note.status().ToString();

  log_.reset();
  log_ = Open();
  ASSERT_NE(log_, nullptr);
  EXPECT_EQ(log_->size(), 20u);
  auto reopened_root = log_->RootAt(20);
  ASSERT_TRUE(reopened_root.ok()) << reopened_root.status().ToString();
  EXPECT_EQ(*reopened_root, *root);
  auto reopened_note = log_->SignedCheckpoint();
  ASSERT_TRUE(reopened_note.ok()) << reopened_note.status().ToString();
  EXPECT_EQ(*reopened_note, *note);

  auto next = log_->Append(Entry(20));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, 20u);
  // The grown tree still extends the one signed before reopening.
  const std::optional<Checkpoint> cp = OpenNote(*log_, *note);
  ASSERT_TRUE(cp.has_value());
  auto proof = log_->ConsistencyProof(20, 21);
  auto grown = log_->RootAt(21);
  ASSERT_TRUE(proof.ok() && grown.ok());
  EXPECT_TRUE(VerifyConsistency(20, 21, *proof, cp->root, *grown));

  VerifyReport report = Verify(*note);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 21u);
}

TEST_P(AuditLogContractTest, TwoHandlesShareOneOrder) {
  constexpr int kEach = 100;
  std::unique_ptr<AuditLog> other = Open();
  ASSERT_NE(other, nullptr);
  AuditLog* handles[2] = {log_.get(), other.get()};
  // Both nodes start appending at once, so their appends interleave.
  std::latch start(2);
  Appended runs[2];
  std::vector<std::thread> threads;
  for (int h = 0; h < 2; ++h) {
    threads.emplace_back([&, h] {
      start.arrive_and_wait();
      runs[h] = AppendEach(*handles[h], h * 1000, kEach);
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<std::pair<uint64_t, int>> all;
  for (const Appended& run : runs) {
    ASSERT_TRUE(run.status.ok()) << run.status.ToString();
    all.insert(all.end(), run.index_and_n.begin(), run.index_and_n.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<uint64_t> indexes;
  for (const auto& index_and_n : all) indexes.push_back(index_and_n.first);
  ASSERT_EQ(indexes, Upto(2 * kEach)) << "indexes repeated or missing";

  // Both nodes sign the same tree.
  auto note_a = log_->SignedCheckpoint();
  auto note_b = other->SignedCheckpoint();
  ASSERT_TRUE(note_a.ok()) << note_a.status().ToString();
  ASSERT_TRUE(note_b.ok()) << note_b.status().ToString();
  EXPECT_EQ(*note_a, *note_b);
  const std::optional<Checkpoint> cp200 = OpenNote(*log_, *note_a);
  ASSERT_TRUE(cp200.has_value());
  EXPECT_EQ(cp200->size, 2u * kEach);
  EXPECT_EQ(log_->size(), 2u * kEach);
  EXPECT_EQ(other->size(), 2u * kEach);

  // An entry appended through A that B has not seen.
  auto last = log_->Append(Entry(5000));
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(*last, 2u * kEach);
  all.emplace_back(*last, 5000);
  EXPECT_EQ(other->size(), 2u * kEach) << "B cannot have seen A's last entry";
  auto note = log_->SignedCheckpoint();
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  const std::optional<Checkpoint> cp = OpenNote(*log_, *note);
  ASSERT_TRUE(cp.has_value());
  ASSERT_EQ(cp->size, 2u * kEach + 1);
  // B proves every entry, whichever node appended it, under A's
  // checkpoint: for A's last one it must first read it from the store.
  for (const auto& [index, n] : all) {
    auto proof = other->InclusionProof(index, cp->size);
    ASSERT_TRUE(proof.ok()) << index << ": " << proof.status().ToString();
    EXPECT_TRUE(
        VerifyInclusion(Leaf(Entry(n)), index, cp->size, *proof, cp->root))
        << "entry " << index << " does not prove through B";
  }
  EXPECT_EQ(other->size(), cp->size);
  // And B's next entry comes after A's.
  auto from_b = other->Append(Entry(9000));
  ASSERT_TRUE(from_b.ok()) << from_b.status().ToString();
  EXPECT_EQ(*from_b, cp->size);
  ASSERT_TRUE(log_->Refresh().ok());
  EXPECT_EQ(log_->size(), cp->size + 1);

  VerifyReport report = Verify(*note);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, cp->size + 1);
  EXPECT_EQ(report.checkpoints, 2u);
}

TEST_P(AuditLogContractTest, ListingFiltersByCitizenAndActorWithPaging) {
  // Entry i: citizen 1 + i % 3, provider 1 + i % 2.
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(log_->Append(Entry(i, 1 + i % 3, 1 + i % 2)).ok());
  }
  // Citizen 2's entries: 1, 4, 7, ..., 28.
  ListQuery mine = Query(100);
  mine.citizen_id = Citizen(2);
  const std::vector<StoredEntry> listed = List(*log_, mine);
  EXPECT_EQ(Indexes(listed),
            (std::vector<uint64_t>{28, 25, 22, 19, 16, 13, 10, 7, 4, 1}));
  for (const StoredEntry& e : listed) {
    EXPECT_EQ(e.entry.citizen_id, Citizen(2)) << e.index;
  }
  mine.limit = 3;
  EXPECT_EQ(Indexes(List(*log_, mine)), (std::vector<uint64_t>{28, 25, 22}));
  mine.limit = 100;
  mine.before = 16;
  EXPECT_EQ(Indexes(List(*log_, mine)),
            (std::vector<uint64_t>{13, 10, 7, 4, 1}));
  mine.limit = 2;
  EXPECT_EQ(Indexes(List(*log_, mine)), (std::vector<uint64_t>{13, 10}));
  mine.before.reset();
  mine.after = 10;
  mine.limit = 100;
  EXPECT_EQ(Indexes(List(*log_, mine)),
            (std::vector<uint64_t>{13, 16, 19, 22, 25, 28}));
  mine.limit = 2;
  EXPECT_EQ(Indexes(List(*log_, mine)), (std::vector<uint64_t>{13, 16}));
  ListQuery nobody = Query(100);
  nobody.citizen_id = Citizen(9);
  EXPECT_TRUE(List(*log_, nobody).empty());

  // Provider 2's entries: the odd ones.
  ListQuery theirs = Query(100);
  theirs.actor_id = Provider(2);
  const std::vector<StoredEntry> acted = List(*log_, theirs);
  EXPECT_EQ(acted.size(), 15u);
  for (const StoredEntry& e : acted) {
    EXPECT_EQ(e.entry.actor_id, Provider(2)) << e.index;
    EXPECT_EQ(e.index % 2, 1u);
  }
  theirs.limit = 4;
  EXPECT_EQ(Indexes(List(*log_, theirs)),
            (std::vector<uint64_t>{29, 27, 25, 23}));
  theirs.before = 23;
  EXPECT_EQ(Indexes(List(*log_, theirs)),
            (std::vector<uint64_t>{21, 19, 17, 15}));
  theirs.before.reset();
  theirs.after = 20;
  theirs.limit = 3;
  EXPECT_EQ(Indexes(List(*log_, theirs)), (std::vector<uint64_t>{21, 23, 25}));

  // Unfiltered pages too.
  ListQuery page = Query(3);
  page.before = 5;
  EXPECT_EQ(Indexes(List(*log_, page)), (std::vector<uint64_t>{4, 3, 2}));

  EXPECT_EQ(log_->List(Query(0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->List(Query(1001)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(AuditLogContractTest, AFailedWriteReleasesNothingAndLeavesNoGap) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log_->Append(Entry(i)).ok());
  log_->FailWriteForTesting(1);
  bool released = false;
  Status refused = Guarded(*log_, Entry(100), [&](uint64_t) -> Status {
    released = true;
    return Status::Ok();
  });
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition)
      << refused.ToString();
  EXPECT_FALSE(released) << "data was released without a durable audit entry";
  EXPECT_EQ(log_->size(), 3u);

  auto next = log_->Append(Entry(3));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, 3u);
  // Nothing of the refused entry was stored, seen from another handle too.
  std::unique_ptr<AuditLog> other = Open();
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->size(), 4u);
  ListQuery q = Query(100);
  q.after = -1;
  const std::vector<StoredEntry> listed = List(*other, q);
  ASSERT_EQ(Indexes(listed), Upto(4));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(listed[i].canonical, Canonical(Entry(i))) << i;
  }

  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 4u);
}

TEST_P(AuditLogContractTest, AForeignCheckpointDoesNotVerify) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log_->Append(Entry(i)).ok());
  auto root = log_->RootAt(5);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  // The right tree, signed by another key under the log's key name.
  auto foreign = crypto::SigningKey::FromSeed(
      crypto::SecretBytes::CopyFrom(std::string(32, 'f')));
  ASSERT_TRUE(foreign.ok()) << foreign.status().ToString();
  ASSERT_NE(foreign->public_key(), log_->public_key());
  const std::string note = SignCheckpoint(
      Checkpoint{"tillit.health/audit", 5, *root}, "tillit-audit", *foreign);

  VerifyReport report = Verify(note);
  EXPECT_FALSE(report.ok) << "a checkpoint signed by another key verified";
  EXPECT_FALSE(report.problem.empty());
  // The log's own note for the same tree does.
  auto own = log_->SignedCheckpoint();
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  VerifyReport genuine = Verify(*own);
  EXPECT_TRUE(genuine.ok) << genuine.problem;
}

}  // namespace tillit::audit

#endif  // TILLIT_TESTING_AUDIT_LOG_CONTRACT_H_
