#include "tillit/research/release.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tillit/audit/merkle.h"
#include "tillit/crypto/box.h"
#include "tillit/crypto/encoding.h"
#include "tillit/fhir/synthetic.h"
#include "tillit/research/sealed.h"
#include "tillit/testing/fault_injection_env.h"

namespace tillit::research {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A small bundle whose facts the criteria tests control.
std::string Person(const std::string& pid, const std::string& gender,
                   const std::string& birth, const std::string& condition) {
  json entries = json::array();
  entries.push_back({{"fullUrl", "urn:uuid:" + pid},
                     {"resource",
                      {{"resourceType", "Patient"},
                       {"id", pid},
                       {"name", {{{"family", "Fam" + pid}}}},
                       {"gender", gender},
                       {"birthDate", birth}}}});
  entries.push_back(
      {{"fullUrl", "urn:uuid:" + pid + "-o"},
       {"resource",
        {{"resourceType", "Observation"},
         {"id", pid + "-o"},
         {"status", "final"},
         {"category", {{{"coding", {{{"code", "vital-signs"}}}}}}},
         {"code",
          {{"coding", {{{"system", "http://loinc.org"}, {"code", "8867-4"}}}}}},
         {"subject", {{"reference", "urn:uuid:" + pid}}},
         {"effectiveDateTime", "2024-06-01"}}}});
  entries.push_back(
      {{"fullUrl", "urn:uuid:" + pid + "-c"},
       {"resource",
        {{"resourceType", "Condition"},
         {"id", pid + "-c"},
         {"code",
          {{"coding",
            {{{"system", "http://snomed.info/sct"}, {"code", condition}}}}}},
         {"subject", {{"reference", "urn:uuid:" + pid}}},
         {"onsetDateTime", "2023-01-01"}}}});
  return json{
      {"resourceType", "Bundle"}, {"type", "collection"}, {"entry", entries}}
      .dump();
}

constexpr const char* kGrant =
    R"({"grantee": {"kind": "any-researcher"}, "purposes": ["DUO:0000006"],
        "categories": ["patient-summary", "vital-signs", "lab-results"]})";

class ReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-release-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    vault::VaultOptions o;
    o.data_dir = dir_ + "/data";
    o.clock = &clock_;
    auto created = vault::Vault::Init(o);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    vault_ = std::move(created->vault);
    auto log = audit::AuditLog::OpenInDirectory(vault_->data_dir(), *vault_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    consent_ = std::make_unique<consent::ConsentService>(
        vault_.get(), &clock_, &crypto::Random::System());
    researcher_ = MakeResearcher("r_00000000000000000000000000000001");
  }
  void TearDown() override {
    consent_.reset();
    log_.reset();
    vault_.reset();
    fs::remove_all(dir_);
  }

  consent::ResearcherProfile MakeResearcher(const std::string& id) {
    keys_.push_back(crypto::BoxKeyPair::Generate(crypto::Random::System()));
    consent::ResearcherProfile r{
        id,    consent::OrgType::kAcademic,
        "SE",  "Karolinska",
        "Ada", crypto::Base64Encode(keys_.back().public_key)};
    EXPECT_TRUE(consent_->RegisterResearcher(r).ok());
    return r;
  }

  std::string Import(const std::string& bundle, bool grant = true) {
    auto imp = vault_->Import(bundle, vault::ImportFormat::kJson);
    EXPECT_TRUE(imp.ok()) << imp.status().ToString();
    if (grant) {
      auto g = consent_->AddGrant(imp->citizen_id, kGrant);
      EXPECT_TRUE(g.ok()) << g.status().ToString();
    }
    return imp->citizen_id;
  }

  consent::StudyDefinition Study(const std::string& criteria = "{}",
                                 const std::string& categories =
                                     R"(["patient-summary", "vital-signs",
                                         "lab-results", "encounters"])") {
    auto def = consent::ParseStudyDefinition(
        R"({"title": "Blood pressure", "purpose": "DUO:0000006",
            "categories": )" +
        categories + R"(, "criteria": )" + criteria + "}");
    EXPECT_TRUE(def.ok()) << def.status().ToString();
    def->study.researcher_id = researcher_.id;
    auto stored = consent_->RegisterStudy(*def);
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    return *stored;
  }

  void Run(bool everything);  // the fixture release checks

  StatusOr<ReleaseInfo> TryRelease(
      const consent::StudyDefinition& study, Env* env = Env::Default(),
      std::function<bool(size_t, size_t)> progress = nullptr) {
    auto candidates = consent_->Candidates(researcher_, study.study);
    if (!candidates.ok()) return candidates.status();
    ReleaseInput in;
    in.study = &study;
    in.researcher = &researcher_;
    in.candidates = std::move(candidates).value();
    in.release_id = "rel_" + crypto::Random::System().Hex(16);
    in.now = clock_.NowSeconds();
    in.request_id = "test";
    in.env = env;
    in.progress = std::move(progress);
    vault::DirectStoreAccess stores(vault_.get());
    return MakeRelease(*vault_, stores, *log_, in,
                       [this](const std::vector<audit::AuditEntry>& e) {
                         return log_->AppendBatch(e);
                       });
  }

  // Makes a release and opens it: member name -> content.
  std::map<std::string, std::string> Release(
      const consent::StudyDefinition& study, ReleaseInfo* info = nullptr) {
    auto made = TryRelease(study);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (!made.ok()) return {};
    if (info != nullptr) *info = *made;
    const std::string out = dir_ + "/out-" + made->id;
    Status opened =
        OpenSealedFile(ReleasePath(*vault_, made->id), keys_.front(), out);
    EXPECT_TRUE(opened.ok()) << opened.ToString();
    std::map<std::string, std::string> members;
    for (const auto& f : fs::directory_iterator(out))
      members[f.path().filename().string()] = ReadFile(f.path().string());
    return members;
  }

  static std::vector<json> Lines(const std::string& ndjson) {
    std::vector<json> out;
    std::istringstream in(ndjson);
    std::string line;
    while (std::getline(in, line)) out.push_back(json::parse(line));
    return out;
  }

  // Every resource id in the NDJSON members, as "Type/id".
  static std::set<std::string> Ids(
      const std::map<std::string, std::string>& members) {
    std::set<std::string> ids;
    for (const auto& [name, content] : members) {
      if (name == "manifest.json") continue;
      for (const json& r : Lines(content))
        ids.insert(r["resourceType"].get<std::string>() + "/" +
                   r["id"].get<std::string>());
    }
    return ids;
  }

  std::string dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<consent::ConsentService> consent_;
  std::vector<crypto::BoxKeyPair> keys_;
  consent::ResearcherProfile researcher_;
};

constexpr const char* kEverything =
    R"({"grantee": {"kind": "any-researcher"}, "purposes": ["DUO:0000006"],
        "categories": ["patient-summary", "prescriptions", "dispensations",
                       "lab-results", "vital-signs", "imaging",
                       "discharge-reports", "encounters", "financial",
                       "other"],
        "include_sensitive": true})";
constexpr const char* kAllCategories =
    R"(["patient-summary", "prescriptions", "dispensations", "lab-results",
        "vital-signs", "imaging", "discharge-reports", "encounters",
        "financial", "other"])";

TEST_F(ReleaseTest, FixturesReleaseOnlyPermittedDataAndNothingIdentifying) {
  Run(false);
}

TEST_F(ReleaseTest, EveryResourceTypeOfTheFixturesIsDeidentified) { Run(true); }

// The 32 fixtures, each citizen granting kGrant (three categories, no
// sensitive records) or kEverything, released to a study asking for more:
// exactly the permitted records, nothing identifying, every reference
// resolving inside the release.
void ReleaseTest::Run(bool everything) {
  std::set<std::string> forbidden;
  std::vector<std::string> citizens;
  for (const auto& f : fs::directory_iterator(TILLIT_FIXTURES_DIR)) {
    if (f.path().extension() != ".json") continue;
    const std::string text = ReadFile(f.path().string());
    citizens.push_back(Import(text, false));
    ASSERT_TRUE(
        consent_->AddGrant(citizens.back(), everything ? kEverything : kGrant)
            .ok());
    const json bundle = json::parse(text);
    for (const json& e : bundle["entry"]) {
      const json& r = e["resource"];
      forbidden.insert(r["id"].get<std::string>());
      if (e.contains("fullUrl")) {
        std::string url = e["fullUrl"];
        if (url.rfind("urn:uuid:", 0) == 0) forbidden.insert(url.substr(9));
      }
      const bool patient = r["resourceType"] == "Patient";
      if (patient) {
        for (const json& n : r.value("name", json::array())) {
          if (n.contains("family"))
            forbidden.insert(n["family"].get<std::string>());
          for (const json& g : n.value("given", json::array()))
            forbidden.insert(g.get<std::string>());
        }
      }
      for (const json& a : r.value("address", json::array())) {
        for (const json& l : a.value("line", json::array()))
          forbidden.insert(l.get<std::string>());
        if (a.contains("postalCode"))
          forbidden.insert(a["postalCode"].get<std::string>());
      }
      for (const char* field : {"telecom", "identifier"}) {
        for (const json& t : r.value(field, json::array()))
          if (t.contains("value") && t["value"].is_string())
            forbidden.insert(t["value"].get<std::string>());
      }
    }
  }
  ASSERT_EQ(citizens.size(), 32u);

  // What the grants permit, from the vault's own classification: the
  // granted categories, without sensitive records.
  std::map<std::string, int64_t> expected_types;
  for (const std::string& c : citizens) {
    auto store = vault_->OpenCitizen(c);
    ASSERT_TRUE(store.ok());
    auto metas = (*store)->ListRecordMeta();
    ASSERT_TRUE(metas.ok());
    for (const vault::RecordMeta& m : *metas) {
      if (everything ||
          (!m.sensitive && (m.category == fhir::Category::kPatientSummary ||
                            m.category == fhir::Category::kVitalSigns ||
                            m.category == fhir::Category::kLabResults)))
        ++expected_types[m.type];
    }
  }

  ReleaseInfo info;
  const auto members =
      Release(everything ? Study("{}", kAllCategories) : Study(), &info);
  EXPECT_EQ(info.cohort_size, 32);
  EXPECT_EQ(info.by_type, expected_types);
  std::set<std::string> expected_members = {"manifest.json"};
  for (const auto& [type, n] : expected_types)
    expected_members.insert(type + ".ndjson");
  std::set<std::string> got_members;
  for (const auto& [name, content] : members) got_members.insert(name);
  EXPECT_EQ(got_members, expected_members);
  // Encounters were asked for but granted by nobody.
  if (!everything) {
    EXPECT_EQ(info.by_category.count("encounters"), 0u);
  }

  // Every byte of every line, against the source bundles.
  size_t lines = 0;
  for (const auto& [name, content] : members) {
    if (name == "manifest.json") continue;
    lines += Lines(content).size();
    for (const std::string& s : forbidden) {
      const bool number =
          !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
      if (number && s.size() >= 6) {
        // A number counts only as a whole token: 99999999999 (a member
        // number) is not in 107.75999999999999, nor in a hex pseudonym.
        for (size_t at = content.find(s); at != std::string::npos;
             at = content.find(s, at + 1)) {
          auto digitish = [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '.';
          };
          const bool alone = (at == 0 || !digitish(content[at - 1])) &&
                             (at + s.size() == content.size() ||
                              !digitish(content[at + s.size()]));
          ASSERT_FALSE(alone) << name << " contains " << s << ": …"
                              << content.substr(at < 120 ? 0 : at - 120, 240);
        }
      } else if (s.size() >= 6) {
        const size_t at = content.find(s);
        ASSERT_EQ(at, std::string::npos)
            << name << " contains \"" << s << "\": …"
            << content.substr(at < 120 ? 0 : at - 120, 240) << "…";
      } else if (s.size() >= 4) {
        // Shorter ones (practitioner numbers such as "10") collide with
        // codes (CVX 10) and identify nobody.
        ASSERT_EQ(content.find(json(s).dump()), std::string::npos)
            << name << " contains \"" << s << "\"";
      }
    }
  }
  int64_t total = 0;
  for (const auto& [type, n] : expected_types) total += n;
  EXPECT_EQ(static_cast<int64_t>(lines), total);

  // Every reference resolves inside the release.
  const std::set<std::string> ids = Ids(members);
  EXPECT_EQ(ids.size(), static_cast<size_t>(total));
  for (const auto& [name, content] : members) {
    if (name == "manifest.json") continue;
    for (const json& r : Lines(content)) {
      std::vector<const json*> stack = {&r};
      while (!stack.empty()) {
        const json* n = stack.back();
        stack.pop_back();
        if (n->is_object() && n->contains("reference") &&
            (*n)["reference"].is_string()) {
          EXPECT_EQ(ids.count((*n)["reference"].get<std::string>()), 1u)
              << name << ": " << (*n)["reference"];
        }
        if (n->is_structured())
          for (const json& child : *n) stack.push_back(&child);
      }
    }
  }

  // The manifest.
  const json manifest = json::parse(members.at("manifest.json"));
  EXPECT_EQ(manifest["cohort_size"], 32);
  EXPECT_EQ(manifest["study"]["id"], info.study_id);
  EXPECT_EQ(manifest["purpose"], "DUO:0000006");
  EXPECT_EQ(manifest["audit"]["index"], info.audit_index);
  EXPECT_EQ(manifest["by_type"], json(expected_types));
}

TEST_F(ReleaseTest, ManifestProvesTheReleaseEntryAgainstASignedCheckpoint) {
  const std::string c =
      Import(Person("p1", "female", "1980-02-03", "44054006"));
  ReleaseInfo info;
  const auto members = Release(Study(), &info);
  const json audit_part = json::parse(members.at("manifest.json"))["audit"];
  auto cp = audit::OpenCheckpoint(audit_part["checkpoint"].get<std::string>(),
                                  log_->key_name(), log_->public_key());
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  EXPECT_EQ(cp->size, audit_part["tree_size"].get<uint64_t>());
  std::vector<audit::Hash> proof;
  for (const json& h : audit_part["inclusion_proof"]) {
    auto bytes = crypto::Base64Decode(h.get<std::string>());
    ASSERT_TRUE(bytes.ok());
    audit::Hash hash;
    std::copy(bytes->begin(), bytes->end(), hash.begin());
    proof.push_back(hash);
  }
  audit::ListQuery q;
  q.after = static_cast<int64_t>(info.audit_index) - 1;
  q.limit = 1;
  auto entries = log_->List(q);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].entry.action, "research.release");
  EXPECT_EQ((*entries)[0].entry.study_id, info.study_id);
  EXPECT_TRUE((*entries)[0].entry.citizen_id.empty());
  EXPECT_TRUE(audit::VerifyInclusion(
      audit::LeafHash(crypto::AsBytes((*entries)[0].canonical)),
      info.audit_index, cp->size, proof, cp->root));

  // The citizen's own access log shows the release.
  audit::ListQuery mine;
  mine.citizen_id = c;
  auto about = log_->List(mine);
  ASSERT_TRUE(about.ok());
  bool seen = false;
  for (const auto& e : *about) {
    if (e.entry.action == "research.release" &&
        e.entry.study_id == info.study_id && e.index < info.audit_index) {
      seen = true;
      EXPECT_EQ(e.entry.actor_id, researcher_.id);
      EXPECT_EQ(e.entry.grant_ids.size(), 1u);
    }
  }
  EXPECT_TRUE(seen);
}

TEST_F(ReleaseTest, PseudonymsAreStablePerStudyAndUnrelatedAcrossStudies) {
  Import(Person("p1", "female", "1980-02-03", "44054006"));
  Import(Person("p2", "male", "1990-05-06", "38341003"));
  const consent::StudyDefinition a = Study(), b = Study();
  const std::set<std::string> a1 = Ids(Release(a)), a2 = Ids(Release(a)),
                              b1 = Ids(Release(b));
  ASSERT_EQ(a1.size(), 6u);
  EXPECT_EQ(a1, a2);
  for (const std::string& id : b1) EXPECT_EQ(a1.count(id), 0u) << id;
  EXPECT_EQ(b1.size(), a1.size());
}

TEST_F(ReleaseTest, CohortCriteriaHoldOnPermittedDataOnly) {
  const std::string woman =
      Import(Person("w", "female", "1980-02-03", "44054006"));
  Import(Person("m", "male", "1980-02-03", "44054006"));
  Import(Person("girl", "female", "2015-02-03", "44054006"));
  Import(Person("other", "female", "1970-02-03", "38341003"));
  // Everything matches, but her grant does not cover the Patient record the
  // age and sex criteria need.
  auto hidden = vault_->Import(Person("h", "female", "1980-02-03", "44054006"),
                               vault::ImportFormat::kJson);
  ASSERT_TRUE(hidden.ok());
  ASSERT_TRUE(consent_
                  ->AddGrant(hidden->citizen_id,
                             R"({"grantee": {"kind": "any-researcher"},
                                 "purposes": ["DUO:0000006"],
                                 "categories": ["vital-signs"]})")
                  .ok());
  ReleaseInfo info;
  const auto members =
      Release(Study(R"({"sex": "female", "age": {"min": 18, "max": 60},
                "conditions": ["http://snomed.info/sct|44054006"]})"),
              &info);
  EXPECT_EQ(info.cohort_size, 1);
  const auto patients = Lines(members.at("Patient.ndjson"));
  ASSERT_EQ(patients.size(), 1u);
  EXPECT_EQ(patients[0]["gender"], "female");
  EXPECT_EQ(patients[0]["birthDate"], "1980");
  EXPECT_EQ(patients[0].count("name"), 0u);
  // A bare code matches in any system.
  EXPECT_EQ(Release(Study(R"({"conditions": ["38341003"]})"), &info).size(),
            4u);  // Patient, Observation, Condition, manifest
  EXPECT_EQ(info.cohort_size, 1);
  (void)woman;
}

TEST_F(ReleaseTest, RevocationBetweenReleasesRemovesTheCitizen) {
  const std::string c1 = Import(Person("p1", "female", "1980-02-03", "1"));
  Import(Person("p2", "male", "1990-05-06", "2"));
  const consent::StudyDefinition s = Study();
  ReleaseInfo first, second;
  Release(s, &first);
  EXPECT_EQ(first.cohort_size, 2);
  auto grants = consent_->ListGrants(c1);
  ASSERT_TRUE(grants.ok());
  ASSERT_TRUE(consent_->RevokeGrant(c1, (*grants)[0].id).ok());
  const auto members = Release(s, &second);
  EXPECT_EQ(second.cohort_size, 1);
  EXPECT_EQ(Lines(members.at("Patient.ndjson")).size(), 1u);
  auto listed = ListReleases(*vault_, s.study.id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].cohort_size + (*listed)[1].cohort_size, 3);
}

TEST_F(ReleaseTest, ExcludesAndSensitiveRecordsAreHeldBack) {
  // 35489007 (depressive disorder) is sensitive: not released without
  // include_sensitive.
  Import(Person("p1", "female", "1980-02-03", "35489007"));
  auto imp = vault_->Import(Person("p2", "female", "1980-02-03", "44054006"),
                            vault::ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  ASSERT_TRUE(consent_
                  ->AddGrant(imp->citizen_id,
                             R"({"grantee": {"kind": "any-researcher"},
                   "purposes": ["DUO:0000006"],
                   "categories": ["patient-summary", "vital-signs"],
                   "exclude": [{"code": "http://loinc.org|8867-4"}]})")
                  .ok());
  ReleaseInfo info;
  Release(Study(), &info);
  EXPECT_EQ(info.cohort_size, 2);
  EXPECT_EQ(info.by_type["Patient"], 2);
  EXPECT_EQ(info.by_type["Condition"], 1);    // p2's; p1's is sensitive
  EXPECT_EQ(info.by_type["Observation"], 1);  // p1's; p2 excluded it
}

TEST_F(ReleaseTest, AuditFailureLeavesNoFileAndListsNothing) {
  Import(Person("p1", "female", "1980-02-03", "1"));
  const consent::StudyDefinition s = Study();
  log_->FailWriteForTesting(1);
  auto made = TryRelease(s);
  ASSERT_FALSE(made.ok());
  EXPECT_TRUE(ListReleases(*vault_, s.study.id)->empty());
  size_t files = 0;
  for (const auto& f : fs::directory_iterator(dir_ + "/data/releases")) {
    ++files;
    ADD_FAILURE() << "left behind: " << f.path();
  }
  EXPECT_EQ(files, 0u);
}

TEST_F(ReleaseTest, ProgressCountsTheCandidatesAndCanStopTheRelease) {
  Import(Person("p1", "female", "1980-02-03", "1"));
  Import(Person("p2", "male", "1990-05-06", "2"));
  Import(Person("p3", "female", "1970-02-03", "3"));
  const consent::StudyDefinition s = Study();
  std::vector<std::pair<size_t, size_t>> seen;
  auto made = TryRelease(s, Env::Default(), [&](size_t done, size_t total) {
    seen.emplace_back(done, total);
    return true;
  });
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const std::vector<std::pair<size_t, size_t>> expected = {
      {0, 3}, {1, 3}, {2, 3}, {3, 3}};
  EXPECT_EQ(seen, expected);
  const uint64_t entries = log_->size();

  // Stopped after the second candidate, or after the last: nothing audited,
  // listed or left on disk.
  for (size_t stop_at : {2u, 3u}) {
    auto stopped = TryRelease(
        s, Env::Default(), [&](size_t done, size_t) { return done < stop_at; });
    ASSERT_FALSE(stopped.ok());
    EXPECT_EQ(stopped.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(log_->size(), entries);
    EXPECT_EQ(ListReleases(*vault_, s.study.id)->size(), 1u);
    size_t files = 0;
    for (const auto& f : fs::directory_iterator(dir_ + "/data/releases")) {
      (void)f;
      ++files;
    }
    EXPECT_EQ(files, 1u) << "only the first release's file";
  }
}

// What is left in DATA_DIR/releases.
std::vector<std::string> ReleaseFiles(const std::string& data_dir) {
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(data_dir + "/releases"))
    names.push_back(f.path().filename().string());
  return names;
}

TEST_F(ReleaseTest, EachFailedStepOfTheFileLeavesNoFileAndListsNothing) {
  using testing::FaultOp;
  Import(Person("p1", "female", "1980-02-03", "1"));
  const consent::StudyDefinition s = Study();
  // Writes: 1 is the header, 2 the final chunk.
  for (const auto& [op, nth] :
       std::vector<std::pair<FaultOp, int>>{{FaultOp::kCreate, 1},
                                            {FaultOp::kWrite, 1},
                                            {FaultOp::kWrite, 2},
                                            {FaultOp::kSync, 1},
                                            {FaultOp::kRename, 1}}) {
    testing::FaultInjectionEnv env;
    env.FailNth(op, nth, ENOSPC);
    auto made = TryRelease(s, &env);
    const std::string step =
        std::to_string(static_cast<int>(op)) + "/" + std::to_string(nth);
    ASSERT_FALSE(made.ok()) << step;
    EXPECT_EQ(made.status().code(), StatusCode::kIoError) << step;
    EXPECT_NE(made.status().message().find("No space left on device"),
              std::string::npos)
        << made.status().message();
    EXPECT_EQ(env.Count(op), nth) << step;
    EXPECT_TRUE(ReleaseFiles(vault_->data_dir()).empty()) << step;
    EXPECT_TRUE(ListReleases(*vault_, s.study.id)->empty()) << step;
  }
}

// Counts the random bytes drawn through it.
class CountingRandomEnv final : public EnvWrapper {
 public:
  CountingRandomEnv() : EnvWrapper(Env::Default()) {}
  void FillRandom(std::span<uint8_t> out) override {
    bytes += out.size();
    target()->FillRandom(out);
  }
  size_t bytes = 0;
};

TEST_F(ReleaseTest, AMadeReleaseSurvivesAPowerCut) {
  Import(Person("p1", "female", "1980-02-03", "1"));
  CountingRandomEnv random_env;
  testing::FaultInjectionEnv env(&random_env);
  auto made = TryRelease(Study(), &env);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_GE(random_env.bytes, 32u);  // the file key came from the Env
  EXPECT_EQ(env.Count(testing::FaultOp::kSync), 1);
  EXPECT_EQ(env.Count(testing::FaultOp::kSyncDirectory), 1);
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(ReleaseFiles(vault_->data_dir()),
            std::vector<std::string>{made->id + ".tillit"});
  const std::string out = dir_ + "/opened";
  Status opened =
      OpenSealedFile(ReleasePath(*vault_, made->id), keys_.front(), out);
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  EXPECT_TRUE(fs::exists(out + "/manifest.json"));
}

TEST_F(ReleaseTest, ResearcherWithoutAKeyIsRefused) {
  Import(Person("p1", "female", "1980-02-03", "1"));
  researcher_.public_key = "";
  ASSERT_TRUE(consent_
                  ->RegisterResearcher({"r_00000000000000000000000000000002",
                                        consent::OrgType::kAcademic, "SE", "KI",
                                        "Bo", ""})
                  .ok());
  researcher_.id = "r_00000000000000000000000000000002";
  auto made = TryRelease(Study());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::kFailedPrecondition);
}

long StatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0)
      return std::atol(line.c_str() + std::strlen(field));
  }
  return -1;
}

// docs/RELEASE_FORMAT.md: a release holds one citizen's records and one
// chunk in memory, whatever the cohort; 2,000 citizens stay within 64 MB
// of resident memory above what the process held before.
TEST_F(ReleaseTest, ReleaseOfTwoThousandCitizensHasBoundedMemory) {
  constexpr int kCitizens = 2000;
  fhir::SyntheticOptions so;
  so.min_encounters = so.max_encounters = 1;
  for (int i = 0; i < kCitizens; ++i)
    Import(fhir::GenerateSyntheticBundle(7, static_cast<uint64_t>(i), so));
  const long before = StatusKb("VmRSS:");
  {
    std::ofstream reset("/proc/self/clear_refs");
    reset << "5";  // VmHWM := VmRSS
  }
  auto made = TryRelease(Study());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const long peak = StatusKb("VmHWM:");
  EXPECT_EQ(made->cohort_size, kCitizens);
  EXPECT_GT(made->ndjson_bytes, 2000u * 1000u);
  std::printf(
      "release of %d citizens: %.1f MB of NDJSON, peak RSS %.1f MB "
      "(%.1f MB before)\n",
      kCitizens, made->ndjson_bytes / 1e6, peak / 1024.0, before / 1024.0);
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "resident memory is not meaningful under AddressSanitizer";
#else
  ASSERT_GT(before, 0);
  EXPECT_LT(peak - before, 64 * 1024)
      << "peak " << peak << " kB, before " << before << " kB";
#endif
}

TEST(CohortCriteria, BadCriteriaAreRefusedAtStudyCreation) {
  for (const char* bad :
       {R"({"age": {"min": -1}})", R"({"age": {"min": 40, "max": 30}})",
        R"({"sex": "f"})", R"({"conditions": "x"})", R"({"colour": 1})",
        R"({"conditions": [""]})", R"({"age": {"min": 1.5}})"}) {
    auto def = consent::ParseStudyDefinition(
        std::string(R"({"title": "t", "purpose": "DUO:0000006",
                        "categories": ["vital-signs"], "criteria": )") +
        bad + "}");
    EXPECT_FALSE(def.ok()) << bad;
    if (!def.ok()) {
      EXPECT_EQ(def.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(def.status().message().find("criteria"), std::string::npos)
          << def.status().message();
    }
  }
}

}  // namespace
}  // namespace tillit::research
