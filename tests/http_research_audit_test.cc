// Researcher routes (studies, feasibility) and auditor routes (entries,
// checkpoints, proofs, remote verification) over real HTTP.
#include <set>

#include "http_fixture.h"
#include "tillit/audit/checkpoint.h"
#include "tillit/audit/entry.h"
#include "tillit/audit/merkle.h"
#include "tillit/audit_remote/remote.h"
#include "tillit/base/clock.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/encoding.h"

namespace tillit::testing {
namespace {

json Study(const std::string& title = "HbA1c over time") {
  return {{"title", title},
          {"purpose", "DUO:0000006"},
          {"categories", {"lab-results"}},
          {"data_period", {{"start", "2010-01-01"}, {"end", nullptr}}},
          {"criteria", {{"age", {{"min", 18}}}}},
          {"ethics_approval", "EPM 2024-01234"},
          {"obligations", {"DUO:0000019"}}};
}

json ResearchGrant(const std::string& purpose) {
  return {{"grantee", {{"kind", "any-researcher"}}},
          {"purposes", {purpose}},
          {"categories", {"lab-results"}}};
}

class ResearchTest : public HttpTest {
 protected:
  // `n` new citizens, each with one research grant for `purpose`.
  void CitizensWithGrants(int n, const std::string& purpose) {
    for (int i = 0; i < n; ++i) {
      auto c = vault_->CreateCitizen();
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      auto g = consents_->AddGrant(*c, ResearchGrant(purpose).dump());
      ASSERT_TRUE(g.ok()) << g.status().ToString();
    }
  }
};

TEST_F(ResearchTest, StudiesAreCreatedReadAndListedByTheirOwnerOnly) {
  Principal r = NewResearcher();
  Principal other = NewResearcher("public", "NO");
  Reply created = Post("/v1/studies", Study().dump(), r.token);
  ASSERT_EQ(created.status, 201) << created.body;
  json s = created.Json();
  const std::string id = s["id"];
  EXPECT_EQ(id.rfind("s_", 0), 0u);
  EXPECT_EQ(s["researcher_id"], r.id);
  EXPECT_EQ(s["title"], "HbA1c over time");
  EXPECT_EQ(s["purpose"], "DUO:0000006");
  EXPECT_EQ(s["categories"], json::array({"lab-results"}));
  EXPECT_EQ(s["obligations"], json::array({"DUO:0000019"}));
  EXPECT_EQ(s["criteria"], Study()["criteria"]);

  Reply read = Get("/v1/studies/" + id, r.token);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.Json(), s);
  ASSERT_EQ(Post("/v1/studies", Study("Second").dump(), r.token).status, 201);
  ASSERT_EQ(Post("/v1/studies", Study("Theirs").dump(), other.token).status,
            201);
  Reply list = Get("/v1/studies", r.token);
  ASSERT_EQ(list.status, 200);
  std::set<std::string> titles;
  const json studies = list.Json()["studies"];
  for (const json& x : studies) {
    EXPECT_EQ(x["researcher_id"], r.id);
    titles.insert(x["title"]);
  }
  EXPECT_EQ(titles, (std::set<std::string>{"HbA1c over time", "Second"}));

  // Another researcher's study is not there for them.
  Reply theirs = Get("/v1/studies/" + id, other.token);
  EXPECT_EQ(theirs.status, 404);
  Reply unknown =
      Get("/v1/studies/s_00000000000000000000000000000000", other.token);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(theirs.Json()["error"]["message"],
            unknown.Json()["error"]["message"]);
  EXPECT_EQ(Get("/v1/studies/" + id + "/feasibility", other.token).status, 404);
  EXPECT_EQ(Get("/v1/studies/not-a-study", r.token).status, 404);
  EXPECT_EQ(Get("/v1/studies/not-a-study/feasibility", r.token).status, 404);
  // Only researchers use these routes.
  Principal p = NewProvider();
  EXPECT_EQ(Get("/v1/studies", p.token).status, 403);
  EXPECT_EQ(Post("/v1/studies", Study().dump(), admin_).status, 403);

  // Logged with the study and its purpose.
  Reply entries = Get("/v1/audit/entries?limit=1000", NewAuditor().token);
  ASSERT_EQ(entries.status, 200);
  std::set<std::string> actions;
  const json listed = entries.Json()["entries"];
  for (const json& e : listed) {
    if (e["study"] == id) {
      actions.insert(e["action"]);
      EXPECT_EQ(e["actor"], r.id);
      EXPECT_EQ(e["purpose"], "DUO:0000006");
    }
  }
  EXPECT_EQ(actions, (std::set<std::string>{"study.create", "study.read"}));
}

TEST_F(ResearchTest, BadStudyBodiesAre400) {
  Principal r = NewResearcher();
  std::vector<json> bad;
  json b = Study();
  b.erase("title");
  bad.push_back(b);
  b = Study();
  b["purpose"] = "DUO:0000043";  // clinical care is not research
  bad.push_back(b);
  b = Study();
  b["purpose"] = "DUO:9999999";
  bad.push_back(b);
  b = Study();
  b["categories"] = json::array({"gossip"});
  bad.push_back(b);
  b = Study();
  b["categories"] = json::array();
  bad.push_back(b);
  b = Study();
  b["colour"] = "blue";
  bad.push_back(b);
  b = Study();
  b["id"] = "s_00000000000000000000000000000000";
  bad.push_back(b);
  b = Study();
  b["researcher_id"] = r.id;
  bad.push_back(b);
  b = Study();
  b["obligations"] = json::array({"DUO:0000045"});  // NPU is no obligation
  bad.push_back(b);
  b = Study();
  b["data_period"] = {{"start", "2020-01-01"}, {"end", "2019-01-01"}};
  bad.push_back(b);
  bad.push_back(json::array());
  for (const json& body : bad) {
    Reply reply = Post("/v1/studies", body.dump(), r.token);
    EXPECT_EQ(reply.status, 400) << body.dump() << " " << reply.body;
    EXPECT_EQ(reply.ErrorCode(), "invalid_argument");
  }
  EXPECT_EQ(Post("/v1/studies", "{", r.token).status, 400);
  EXPECT_EQ(Post("/v1/studies", "", r.token).status, 400);
  Reply list = Get("/v1/studies", r.token);
  EXPECT_TRUE(list.Json()["studies"].empty());
}

TEST_F(ResearchTest, FeasibilityHidesCountsBelowTen) {
  Principal r = NewResearcher();
  Reply created = Post("/v1/studies", Study().dump(), r.token);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string path =
      "/v1/studies/" + created.Json()["id"].get<std::string>() + "/feasibility";

  CitizensWithGrants(3, "DUO:0000006");  // HMB: in the cohort
  CitizensWithGrants(2, "DUO:0000011");  // POA: does not serve HMB
  Reply small = Get(path, r.token);
  ASSERT_EQ(small.status, 200) << small.body;
  EXPECT_EQ(small.Json()["cohort_size"], "<10");
  EXPECT_EQ(small.Json()["reasons"], json({{"purpose", "<10"}}));
  EXPECT_FALSE(small.Json().contains("citizens"));

  CitizensWithGrants(9, "DUO:0000042");  // GRU serves HMB: 12 in all
  CitizensWithGrants(9, "DUO:0000011");  // 11 refused for purpose
  Reply large = Get(path, r.token);
  ASSERT_EQ(large.status, 200) << large.body;
  ASSERT_TRUE(large.Json()["cohort_size"].is_number()) << large.body;
  EXPECT_EQ(large.Json()["cohort_size"], 12);
  EXPECT_EQ(large.Json()["reasons"], json({{"purpose", 11}}));

  // Feasibility is logged with the study and its purpose.
  Reply entries =
      Get("/v1/audit/entries?limit=1000&actor=" + r.id, NewAuditor().token);
  int feasibility = 0;
  const json listed = entries.Json()["entries"];
  for (const json& e : listed) {
    if (e["action"] != "study.feasibility") continue;
    ++feasibility;
    EXPECT_EQ(e["study"], created.Json()["id"]);
    EXPECT_EQ(e["purpose"], "DUO:0000006");
    EXPECT_EQ(e["citizen"], "");
  }
  EXPECT_EQ(feasibility, 2);

  // Fail closed: no count without an entry.
  server_->FailAuditWriteForTesting(1);
  Reply failed = Get(path, r.token);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(failed.ErrorCode(), "audit_unavailable");
  EXPECT_EQ(failed.body.find("cohort_size"), std::string::npos);
}

// --- auditor routes

class AuditTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    if (HasFatalFailure()) return;
    auditor_ = NewAuditor();
  }
  // A few entries about two citizens, by a provider.
  void MakeTraffic() {
    c1_ = NewCitizen();
    c2_ = NewCitizen();
    provider_ = NewProvider();
    for (const Principal* c : {&c1_, &c2_}) {
      // Denied reads: logged with the citizen and the provider.
      EXPECT_EQ(
          Get("/v1/patients/" + c->id + "/records", provider_.token).status,
          404);
    }
  }
  json Entries(const std::string& query) {
    Reply r = Get("/v1/audit/entries" + query, auditor_.token);
    EXPECT_EQ(r.status, 200) << query << " " << r.body;
    return r.Json();
  }
  // The canonical bytes of an entry as the API lists it.
  static std::string Canonical(json e) {
    e.erase("index");
    e.erase("actor");
    return e.dump();
  }

  Principal auditor_, c1_, c2_, provider_;
};

TEST_F(AuditTest, EntriesPageInIndexOrderWithNext) {
  MakeTraffic();
  std::vector<json> all;
  std::string query = "?after=-1&limit=3";
  for (int pages = 0; pages < 100; ++pages) {
    json page = Entries(query);
    for (const json& e : page["entries"]) all.push_back(e);
    if (page["next"].is_null()) {
      EXPECT_LT(page["entries"].size(), 3u);
      break;
    }
    EXPECT_EQ(page["entries"].size(), 3u);
    EXPECT_EQ(page["next"], page["entries"].back()["index"]);
    query =
        "?after=" + std::to_string(page["next"].get<uint64_t>()) + "&limit=3";
  }
  ASSERT_GE(all.size(), 8u);
  for (size_t i = 0; i < all.size(); ++i) {
    const json& e = all[i];
    EXPECT_EQ(e["index"], i);
    for (const char* field : {"time", "actor", "action", "citizen"})
      EXPECT_TRUE(e.contains(field)) << field << " " << e.dump();
    EXPECT_EQ(e["actor"], e["actor_id"]);
    EXPECT_TRUE(audit::ParseCanonicalEntry(Canonical(e)).ok()) << e.dump();
  }
  EXPECT_EQ(all[0]["action"], "auditor.register");
  EXPECT_EQ(all[0]["actor"], "operator");
  // Without parameters: from the beginning, 100 at most.
  json first = Entries("");
  EXPECT_EQ(first["entries"][0]["index"], 0);
  EXPECT_TRUE(first["next"].is_null());
  // Every listing is itself logged (without a citizen).
  json own = Entries("?actor=" + auditor_.id);
  ASSERT_FALSE(own["entries"].empty());
  for (const json& e : own["entries"]) {
    EXPECT_EQ(e["action"], "audit.entries");
    EXPECT_EQ(e["citizen"], "");
  }
  // Only auditors read entries.
  EXPECT_EQ(Get("/v1/audit/entries", c1_.token).status, 403);
  EXPECT_EQ(Get("/v1/audit/entries", provider_.token).status, 403);
  EXPECT_EQ(Get("/v1/audit/entries").status, 401);
  // A failed audit write lists nothing.
  server_->FailAuditWriteForTesting(1);
  Reply failed = Get("/v1/audit/entries", auditor_.token);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(failed.body.find("actor"), std::string::npos);
}

TEST_F(AuditTest, EntriesFilterByCitizenAndActor) {
  MakeTraffic();
  json about = Entries("?citizen=" + c1_.id);
  ASSERT_FALSE(about["entries"].empty());
  std::set<std::string> actions;
  for (const json& e : about["entries"]) {
    EXPECT_EQ(e["citizen"], c1_.id);
    actions.insert(e["action"]);
  }
  EXPECT_TRUE(actions.count("records.list")) << about.dump();
  EXPECT_TRUE(actions.count("citizen.enroll")) << about.dump();

  json by = Entries("?actor=" + provider_.id);
  ASSERT_EQ(by["entries"].size(), 2u) << by.dump();
  for (const json& e : by["entries"]) {
    EXPECT_EQ(e["actor"], provider_.id);
    EXPECT_EQ(e["decision"], "deny");
  }
  json both = Entries("?actor=" + provider_.id + "&citizen=" + c2_.id);
  ASSERT_EQ(both["entries"].size(), 1u);
  EXPECT_EQ(both["entries"][0]["citizen"], c2_.id);
  // Paging within a filter.
  json one = Entries("?actor=" + provider_.id + "&limit=1");
  ASSERT_EQ(one["entries"].size(), 1u);
  json rest = Entries("?actor=" + provider_.id + "&limit=1&after=" +
                      std::to_string(one["next"].get<uint64_t>()));
  ASSERT_EQ(rest["entries"].size(), 1u);
  EXPECT_EQ(rest["entries"][0]["citizen"], c2_.id);
  EXPECT_TRUE(Entries("?citizen=c_00000000000000000000000000000000")["entries"]
                  .empty());
}

TEST_F(AuditTest, BadParametersAre400) {
  MakeTraffic();
  for (const char* q :
       {"?after=abc", "?after=-2", "?after=1.5", "?after=", "?limit=0",
        "?limit=1001", "?limit=x", "?citizen=bob",
        "?citizen=", "?citizen=p_00000000000000000000000000000000", "?actor=x",
        "?actor=c_0000", "?verbose=1"}) {
    Reply r = Get(std::string("/v1/audit/entries") + q, auditor_.token);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << q;
  }
  const uint64_t size = Get("/healthz").Json()["audit_entries"];
  const std::string n = std::to_string(size);
  const std::string over = std::to_string(size + 1);
  for (const std::string& q : std::vector<std::string>{
           "", "?index=0", "?size=" + n, "?index=x&size=" + n,
           "?index=-1&size=" + n, "?index=" + n + "&size=" + n,
           "?index=0&size=0", "?index=0&size=" + over, "?index=0&size=1&x=1"}) {
    Reply r = Get("/v1/audit/proofs/inclusion" + q, auditor_.token);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
  }
  for (const std::string& q : std::vector<std::string>{
           "", "?from=1", "?to=" + n, "?from=0&to=" + n, "?from=2&to=1",
           "?from=1&to=" + over, "?from=a&to=" + n, "?from=1&to=1e3"}) {
    Reply r = Get("/v1/audit/proofs/consistency" + q, auditor_.token);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
  }
  // Providers and researchers get no proofs; citizens and auditors do.
  EXPECT_EQ(
      Get("/v1/audit/proofs/inclusion?index=0&size=1", provider_.token).status,
      403);
  EXPECT_EQ(Get("/v1/audit/proofs/inclusion?index=0&size=1", c1_.token).status,
            200);
}

TEST_F(AuditTest, CheckpointVerifiesWithThePublicKey) {
  MakeTraffic();
  Reply key = Get("/v1/audit/public-key");
  ASSERT_EQ(key.status, 200);
  std::string vkey = key.body;
  while (!vkey.empty() && vkey.back() == '\n') vkey.pop_back();
  auto parsed = audit::ParseVerifierKey(vkey);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  for (const std::string& token : {auditor_.token, c1_.token}) {
    const uint64_t before = Get("/healthz").Json()["audit_entries"];
    Reply note = Get("/v1/audit/checkpoint", token);
    ASSERT_EQ(note.status, 200) << note.body;
    EXPECT_EQ(note.Header("Content-Type").rfind("text/plain", 0), 0u);
    auto cp = audit::OpenCheckpoint(note.body, parsed->first, parsed->second);
    ASSERT_TRUE(cp.ok()) << cp.status().ToString();
    EXPECT_EQ(cp->size, before);
    // The note is the head of the tree the entries make.
    std::vector<audit::Hash> leaves;
    const json listed = Entries("?limit=1000")["entries"];
    for (const json& e : listed) {
      if (e["index"].get<uint64_t>() >= cp->size) break;
      leaves.push_back(audit::LeafHash(crypto::AsBytes(Canonical(e))));
    }
    ASSERT_EQ(leaves.size(), cp->size);
    EXPECT_EQ(audit::RootFromLeaves(leaves), cp->root);
    // A tampered note does not open.
    std::string bad = note.body;
    char& digit = bad[bad.find('\n') + 1];
    digit = digit == '9' ? '8' : '9';
    EXPECT_FALSE(
        audit::OpenCheckpoint(bad, parsed->first, parsed->second).ok());
  }
  // Polling the checkpoint writes no entries (the listings above did).
  const uint64_t after_listings = Get("/healthz").Json()["audit_entries"];
  EXPECT_EQ(Get("/v1/audit/checkpoint", auditor_.token).status, 200);
  EXPECT_EQ(Get("/healthz").Json()["audit_entries"], after_listings);
  EXPECT_EQ(Get("/v1/audit/checkpoint", provider_.token).status, 403);
  EXPECT_EQ(Get("/v1/audit/checkpoint").status, 401);
}

TEST_F(AuditTest, InclusionAndConsistencyProofsVerify) {
  MakeTraffic();
  auto key = audit::ParseVerifierKey(
      Get("/v1/audit/public-key")
          .body.substr(0, Get("/v1/audit/public-key").body.find('\n')));
  ASSERT_TRUE(key.ok());
  auto head = [&]() {
    Reply note = Get("/v1/audit/checkpoint", auditor_.token);
    auto cp = audit::OpenCheckpoint(note.body, key->first, key->second);
    EXPECT_TRUE(cp.ok()) << cp.status().ToString();
    return cp.ok() ? *cp : audit::Checkpoint{};
  };
  auto hashes = [](const json& list) {
    std::vector<audit::Hash> out;
    for (const json& h : list) {
      auto bytes = crypto::HexDecode(h.get<std::string>());
      EXPECT_TRUE(bytes.ok() && bytes->size() == 32);
      audit::Hash x{};
      if (bytes.ok() && bytes->size() == 32)
        std::copy(bytes->begin(), bytes->end(), x.begin());
      out.push_back(x);
    }
    return out;
  };
  const audit::Checkpoint first = head();
  ASSERT_GE(first.size, 5u);
  json entries = Entries("?limit=1000")["entries"];
  for (uint64_t i :
       {uint64_t{0}, uint64_t{1}, first.size / 2, first.size - 1}) {
    Reply r = Get("/v1/audit/proofs/inclusion?index=" + std::to_string(i) +
                      "&size=" + std::to_string(first.size),
                  auditor_.token);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["index"], i);
    EXPECT_EQ(r.Json()["size"], first.size);
    const audit::Hash leaf =
        audit::LeafHash(crypto::AsBytes(Canonical(entries[i])));
    std::vector<audit::Hash> proof = hashes(r.Json()["hashes"]);
    EXPECT_TRUE(audit::VerifyInclusion(leaf, i, first.size, proof, first.root))
        << i;
    // The proof does not fit another entry.
    const audit::Hash other =
        audit::LeafHash(crypto::AsBytes(Canonical(entries[(i + 1) % 4])));
    EXPECT_FALSE(
        audit::VerifyInclusion(other, i, first.size, proof, first.root));
  }

  MakeTraffic();  // the log grows
  const audit::Checkpoint second = head();
  ASSERT_GT(second.size, first.size);
  Reply c =
      Get("/v1/audit/proofs/consistency?from=" + std::to_string(first.size) +
              "&to=" + std::to_string(second.size),
          c1_.token);
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.Json()["from"], first.size);
  EXPECT_EQ(c.Json()["to"], second.size);
  std::vector<audit::Hash> proof = hashes(c.Json()["hashes"]);
  EXPECT_TRUE(audit::VerifyConsistency(first.size, second.size, proof,
                                       first.root, second.root));
  audit::Hash forged = first.root;
  forged[0] ^= 1;
  EXPECT_FALSE(audit::VerifyConsistency(first.size, second.size, proof, forged,
                                        second.root));
  Reply same =
      Get("/v1/audit/proofs/consistency?from=" + std::to_string(second.size) +
              "&to=" + std::to_string(second.size),
          auditor_.token);
  ASSERT_EQ(same.status, 200);
  EXPECT_TRUE(same.Json()["hashes"].empty());
}

TEST_F(AuditTest, RemoteVerificationOfTheLiveServerPasses) {
  MakeTraffic();
  audit::RemoteVerifyOptions o;
  o.url = server_->url();
  o.token = auditor_.token;
  o.timeout_seconds = 10;
  auto report = audit::VerifyRemoteLog(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_GE(report->entries, 8u);
  // With the key pinned, and against a checkpoint saved earlier.
  std::string vkey = Get("/v1/audit/public-key").body;
  vkey.pop_back();
  o.pinned_key = vkey;
  o.saved_note = Get("/v1/audit/checkpoint", auditor_.token).body;
  MakeTraffic();
  report = audit::VerifyRemoteLog(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->checkpoints, 2u);
  // A citizen's token cannot list entries.
  o.token = c1_.token;
  EXPECT_EQ(audit::VerifyRemoteLog(o).status().code(),
            StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace tillit::testing
