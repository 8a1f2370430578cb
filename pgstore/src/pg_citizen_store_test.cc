// PgCitizenStore: the CitizenStore contract on PostgreSQL, and what only
// it must show: the database holds no health data (pg_dump after importing
// the shared fixtures), rows open only under their citizen's key and in
// their own place, rolled-back rows are refused, and two nodes writing one
// citizen lose nothing.
#include "tillit/pgstore/pg_citizen_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tillit/crypto/random.h"
#include "tillit/pgstore/session.h"
#include "tillit/testing/citizen_store_contract.h"
#include "tillit/testing/pg_cluster.h"

namespace tillit::pgstore {
namespace {

using vault::CitizenStore;
using vault::CitizenStorePlace;

// A new database with the stores' tables, each citizen under a key of its
// own.
class PgPlace final : public CitizenStorePlace {
 public:
  PgPlace() : session_(testing::SharedPgCluster::NewDatabase(&name_)) {
    auto stores = PgCitizenStores::Open(&session_, &rng_);
    EXPECT_TRUE(stores.ok()) << stores.status().ToString();
    if (stores.ok()) stores_ = std::move(stores).value();
  }
  StatusOr<std::unique_ptr<CitizenStore>> Open(
      const std::string& citizen_id,
      CitizenStore::GenerationSink sink) override {
    return OpenAt(citizen_id, 0, std::move(sink));
  }
  StatusOr<std::unique_ptr<CitizenStore>> OpenAt(
      const std::string& citizen_id, int64_t registry_generation,
      CitizenStore::GenerationSink sink = nullptr) {
    if (stores_ == nullptr) return Status::Internal("no stores");
    TILLIT_ASSIGN_OR_RETURN(
        std::unique_ptr<PgCitizenStore> s,
        stores_->OpenStore(citizen_id, KeyOf(citizen_id), registry_generation,
                           std::move(sink)));
    return std::unique_ptr<CitizenStore>(std::move(s));
  }
  const crypto::SecretBytes& KeyOf(const std::string& citizen_id) {
    auto [it, added] = keys_.try_emplace(citizen_id);
    if (added) it->second = rng_.Secret(32);
    return it->second;
  }

  std::string name_;
  crypto::DeterministicRandom rng_{13};
  Session session_;
  std::unique_ptr<PgCitizenStores> stores_;
  std::map<std::string, crypto::SecretBytes> keys_;
};

}  // namespace
}  // namespace tillit::pgstore

namespace tillit::vault {

INSTANTIATE_TEST_SUITE_P(
    PostgreSQL, CitizenStoreContractTest,
    ::testing::Values(CitizenStoreBackend{
        "postgresql", [] { return std::make_unique<pgstore::PgPlace>(); }}),
    CitizenStoreBackendName);

}  // namespace tillit::vault

namespace tillit::pgstore {
namespace {

const std::string kAlice = "c_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fhir::ParsedResource Obs(const std::string& id, int v) {
  auto r = fhir::ParseFhirResource(
      R"({"resourceType":"Observation","id":")" + id +
      R"(","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]},"valueQuantity":{"value":)" +
      std::to_string(v) + "}}");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : fhir::ParsedResource();
}

class PgCitizenStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<CitizenStore> Open(int64_t registry_generation = 0) {
    auto s = place_.OpenAt(kAlice, registry_generation);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  Status Sql(const std::string& sql) {
    return place_.session_.Run(
        [&](Connection& c) { return c.ExecScript(sql); });
  }

  PgPlace place_;
};

TEST_F(PgCitizenStoreTest, EveryRowMovesIntoAnotherStoreUnchanged) {
  auto s = Open();
  ASSERT_TRUE(
      s->Put(std::vector{Obs("o1", 1), Obs("o2", 2)}, "import", 10).ok());
  ASSERT_TRUE(
      s->Correct(Obs("o1", 5), "p_x", "rectification rr_1", {}, nullptr, 20)
          .ok());
  const std::vector<vault::DocumentWrite> docs = {
      {"grants", "g1", std::string("{\"ok\":1}")}};
  const vault::IndexUpdate index{"consent", {{"g1", "v"}}};
  ASSERT_TRUE(s->WriteDocuments(docs, &index, 30).ok());

  auto* exporter = dynamic_cast<vault::StoreExport*>(s.get());
  ASSERT_NE(exporter, nullptr);
  auto rows = exporter->ExportRows();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->generation, s->generation());
  ASSERT_EQ(rows->records.size(), 2u);
  EXPECT_EQ(rows->records[0].record.id, "o1");  // insertion order
  EXPECT_NE(rows->records[0].record.resource.find("\"value\":5"),
            std::string::npos);
  ASSERT_EQ(rows->records[0].versions.size(), 1u);
  EXPECT_EQ(rows->records[0].versions[0].note, "rectification rr_1");
  EXPECT_EQ(rows->records[0].versions[0].recorded_at, 10);
  ASSERT_EQ(rows->documents.size(), 1u);
  EXPECT_EQ(rows->documents[0].updated_at, 30);
  ASSERT_EQ(rows->index.size(), 1u);

  // Another database, the same citizen and key.
  PgPlace other;
  const crypto::SecretBytes& key = place_.KeyOf(kAlice);
  auto t = other.stores_->OpenStore(kAlice, key, 0, nullptr);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto* importer = dynamic_cast<vault::StoreImport*>(t->get());
  ASSERT_NE(importer, nullptr);
  ASSERT_TRUE(importer->ImportRows(*rows).ok());
  EXPECT_EQ((*t)->generation(), rows->generation);
  auto again = (*t)->ExportRows();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  std::string what;
  EXPECT_TRUE(vault::SameStoreRows(*rows, *again, &what)) << what;
  EXPECT_EQ((*t)->History("Observation", "o1")->size(), 1u);
  EXPECT_EQ(**(*t)->GetDocument("grants", "g1"), "{\"ok\":1}");
  EXPECT_TRUE(
      other.stores_->OpenStore(kAlice, key, rows->generation, nullptr).ok());
  // Only into a store never written; a difference is named.
  EXPECT_EQ(importer->ImportRows(*rows).code(),
            StatusCode::kFailedPrecondition);
  vault::StoreRows changed = *rows;
  changed.records[1].record.resource += " ";
  EXPECT_FALSE(vault::SameStoreRows(*rows, changed, &what));
  EXPECT_NE(what.find("Observation/o2"), std::string::npos) << what;
}

TEST_F(PgCitizenStoreTest, RowsOpenOnlyUnderTheCitizensKey) {
  auto s = Open();
  ASSERT_TRUE(s->Put(std::vector{Obs("o1", 1)}, "import", 1).ok());
  crypto::DeterministicRandom other(99);
  auto wrong = place_.stores_->OpenStore(kAlice, other.Secret(32), 0, nullptr);
  EXPECT_EQ(wrong.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(place_.stores_->OpenStore(kAlice, other.Secret(16), 0, nullptr)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_F(PgCitizenStoreTest, ASealedValueMovedToAnotherRowDoesNotOpen) {
  auto s = Open();
  ASSERT_TRUE(
      s->Put(std::vector{Obs("o1", 1), Obs("o2", 2)}, "import", 1).ok());
  // An administrator swaps the two records' bodies: each is bound to its
  // own row, so neither opens, and nothing is returned in its place.
  ASSERT_TRUE(Sql("UPDATE store_records SET body = (SELECT body FROM "
                  "store_records s WHERE s.seq <> store_records.seq)")
                  .ok());
  EXPECT_EQ(s->Get("Observation", "o1").status().code(), StatusCode::kDataLoss);
  vault::RecordFilter all;
  EXPECT_EQ(s->List(all).status().code(), StatusCode::kDataLoss);
}

TEST_F(PgCitizenStoreTest, RowsRestoredFromAnOlderCopyAreRefused) {
  auto s = Open();
  ASSERT_TRUE(s->Put(std::vector{Obs("o1", 1)}, "import", 1).ok());
  ASSERT_TRUE(Sql("CREATE TABLE old_head AS SELECT * FROM store_heads").ok());
  ASSERT_TRUE(s->Put(std::vector{Obs("o1", 2)}, "import", 2).ok());
  EXPECT_EQ(s->generation(), 2);
  s.reset();
  ASSERT_TRUE(Open(2) != nullptr);
  // The head of generation 1 put back: the registry knows of 2.
  ASSERT_TRUE(
      Sql("UPDATE store_heads SET sealed = (SELECT sealed FROM old_head)")
          .ok());
  auto rolled = place_.OpenAt(kAlice, 2);
  EXPECT_EQ(rolled.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(rolled.status().message().find("rolled back"), std::string::npos);
  // Nor can the counter be written by hand without the key.
  ASSERT_TRUE(Sql("UPDATE store_heads SET sealed = '\\x0102'").ok());
  EXPECT_EQ(place_.OpenAt(kAlice, 0).status().code(), StatusCode::kDataLoss);
}

TEST_F(PgCitizenStoreTest, DropRemovesEveryRowOfOneCitizen) {
  auto s = Open();
  ASSERT_TRUE(s->Put(std::vector{Obs("o1", 1)}, "import", 1).ok());
  ASSERT_TRUE(s->Put(std::vector{Obs("o1", 2)}, "import", 2).ok());
  const vault::DocumentWrite doc{"grant", "g1", "v"};
  const vault::IndexUpdate index{"grant", {{"g1", "p"}}};
  ASSERT_TRUE(s->WriteDocuments({&doc, 1}, &index, 3).ok());
  auto bob = place_.OpenAt("c_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 0);
  ASSERT_TRUE(bob.ok());
  ASSERT_TRUE((*bob)->Put(std::vector{Obs("o1", 1)}, "import", 1).ok());

  ASSERT_TRUE(place_.stores_->Drop(kAlice).ok());
  auto left = place_.session_.Run([](Connection& c) -> StatusOr<int64_t> {
    TILLIT_ASSIGN_OR_RETURN(
        Result r,
        c.Exec("SELECT (SELECT count(*) FROM store_records WHERE citizen_id = "
               "$1) + (SELECT count(*) FROM store_versions WHERE citizen_id = "
               "$1) + (SELECT count(*) FROM store_documents WHERE citizen_id "
               "= $1) + (SELECT count(*) FROM store_index_rows WHERE "
               "citizen_id = $1) + (SELECT count(*) FROM store_heads WHERE "
               "citizen_id = $1)",
               {kAlice}));
    return r.Int64(0, 0);
  });
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_EQ(*left, 0);
  EXPECT_EQ(*(*bob)->Count(), 1);
  EXPECT_EQ(*Open()->Count(), 0);
}

TEST_F(PgCitizenStoreTest, TwoNodesWritingOneCitizenLoseNothing) {
  // Two nodes: two connections, two stores of the same citizen.
  Session other(testing::SharedPgCluster::Get().ConnInfo(place_.name_));
  auto stores = PgCitizenStores::Open(&other);
  ASSERT_TRUE(stores.ok());
  auto a = Open();
  auto b = (*stores)->OpenStore(kAlice, place_.KeyOf(kAlice), 0, nullptr);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  constexpr int kEach = 40;
  auto writer = [](CitizenStore* s, const std::string& prefix) {
    for (int i = 0; i < kEach; ++i) {
      Status st =
          s->Put(std::vector{Obs(prefix + std::to_string(i), i)}, "import", i)
              .status();
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
  };
  std::thread ta(writer, a.get(), "a");
  std::thread tb(writer, b->get(), "b");
  ta.join();
  tb.join();
  EXPECT_EQ(*a->Count(), 2 * kEach);
  // Every write had its own generation: none was lost to the other node.
  auto reopened = Open(2 * kEach);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->generation(), 2 * kEach);
}

// ------------------------------------------------- what the database sees

// Strings of the fixtures that tell of a person's health or identity:
// display texts and narrative, codes, names and addresses. At least 6
// bytes, so that none turns up by chance in the decoded ciphertext.
void CollectNeedles(const nlohmann::json& j, const std::string& key,
                    std::set<std::string>* out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) CollectNeedles(v, k, out);
  } else if (j.is_array()) {
    for (const auto& v : j) CollectNeedles(v, key, out);
  } else if (j.is_string()) {
    static const std::set<std::string> kKeys = {
        "display", "text", "code",        "family", "given",
        "line",    "city", "valueString", "div"};
    const std::string& s = j.get_ref<const std::string&>();
    if (kKeys.count(key) != 0 && s.size() >= 6) out->insert(s);
  }
}

// Measured values as the fixtures write them: the number after each
// "value": with three or more decimals ("value": 72.625).
void CollectDecimals(std::string_view json, std::set<std::string>* out) {
  constexpr std::string_view kKey = "\"value\"";
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (size_t at = json.find(kKey); at != std::string_view::npos;
       at = json.find(kKey, at + 1)) {
    size_t i = at + kKey.size();
    while (i < json.size() && json[i] == ' ') ++i;
    if (i >= json.size() || json[i] != ':') continue;
    ++i;
    while (i < json.size() && json[i] == ' ') ++i;
    const size_t begin = i;
    if (i < json.size() && json[i] == '-') ++i;
    const size_t whole = i;
    while (i < json.size() && digit(json[i])) ++i;
    if (i == whole || i >= json.size() || json[i] != '.') continue;
    const size_t fraction = ++i;
    while (i < json.size() && digit(json[i])) ++i;
    if (i - fraction >= 3) out->emplace(json.substr(begin, i - begin));
  }
}

std::vector<std::string> Found(const std::string& haystack,
                               const std::vector<std::string>& needles) {
  std::vector<std::string> out;
  for (const std::string& n : needles) {
    if (haystack.find(n) != std::string::npos) out.push_back(n);
  }
  return out;
}

TEST_F(PgCitizenStoreTest, TheDatabaseHoldsNoHealthDataOfTheFixtures) {
  const std::filesystem::path dir = TILLIT_FIXTURES_DIR;
  std::vector<std::filesystem::path> bundles;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".json") bundles.push_back(e.path());
  }
  std::sort(bundles.begin(), bundles.end());
  ASSERT_GE(bundles.size(), 30u) << "fixtures not found in " << dir;

  std::set<std::string> needle_set;
  std::set<std::string> ids;
  size_t resources = 0;
  for (size_t i = 0; i < bundles.size(); ++i) {
    std::ifstream in(bundles[i], std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const std::string bytes = text.str();
    auto doc = fhir::ParseFhirDocument(bytes);
    ASSERT_TRUE(doc.ok()) << bundles[i] << ": " << doc.status().ToString();
    std::string citizen = std::to_string(i);
    citizen = "c_" + std::string(32 - citizen.size(), '0') + citizen;
    ids.insert(citizen);
    auto store = place_.OpenAt(citizen, 0);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto put = (*store)->Put(doc->resources, "import", 1);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    resources += put->written;
    CollectNeedles(nlohmann::json::parse(bytes), "", &needle_set);
    CollectDecimals(bytes, &needle_set);
  }
  ASSERT_GT(resources, 5000u);
  // Every fourth of them, for a bounded search (still over a thousand).
  std::vector<std::string> needles;
  size_t k = 0;
  for (const std::string& n : needle_set) {
    if (k++ % 4 == 0) needles.push_back(n);
  }
  ASSERT_GT(needles.size(), 1000u);

  auto dump = testing::SharedPgCluster::Get().Dump(place_.name_);
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  const std::string haystack = testing::DecodeByteaValues(*dump);
  // The dump is of this database: it names the citizens (ids are not
  // secret) ...
  for (const std::string& id : ids) {
    ASSERT_NE(haystack.find(id), std::string::npos) << id;
  }
  // ... and none of what their records say.
  EXPECT_EQ(Found(haystack, needles), std::vector<std::string>{});
  std::cout << "pg_dump: " << resources << " resources of " << bundles.size()
            << " bundles; " << needles.size() << " of their strings searched "
            << "for in " << dump->size() << " bytes of dump: none found\n";

  // The search finds a text stored plainly, and one stored hex-encoded in
  // a bytea, so the emptiness above means something.
  std::vector<std::string> plain;
  for (const std::string& n : needles) {
    if (n.find_first_of("'\\\n") == std::string::npos) plain.push_back(n);
    if (plain.size() == 2) break;
  }
  ASSERT_EQ(plain.size(), 2u);
  ASSERT_TRUE(Sql("CREATE TABLE control (t text, b bytea); INSERT INTO "
                  "control VALUES ('" +
                  plain[0] + "', convert_to('" + plain[1] + "', 'UTF8'))")
                  .ok());
  auto control = testing::SharedPgCluster::Get().Dump(place_.name_);
  ASSERT_TRUE(control.ok());
  EXPECT_EQ(Found(testing::DecodeByteaValues(*control), plain), plain);
}

}  // namespace
}  // namespace tillit::pgstore
