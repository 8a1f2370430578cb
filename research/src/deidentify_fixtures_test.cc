// Deidentify on the 32 Synthea fixtures: nothing identifying survives,
// references resolve, studies cannot link, and kept data is still there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "deidentify_test_util.h"
#include "tillit/fhir/fhir.h"
#include "tillit/research/deidentify.h"

namespace tillit::research {
namespace {

using json = nlohmann::json;
using testing::Pseudonyms;

bool IsPseudonym(const std::string& s) {
  static const std::regex kForm("[0-9a-f]{32}");
  return std::regex_match(s, kForm);
}

// ---- The 32 Synthea fixtures ----------------------------------------------

struct Citizen {
  std::string id;          // the vault's citizen id (made up here)
  std::string patient_id;  // the Patient's id in the bundle
  std::vector<fhir::ParsedResource> resources;
};

struct Fixtures {
  std::vector<Citizen> citizens;
  // Strings of the source bundles that must not reach a release.
  std::set<std::string> secrets;
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void AddSecret(const json& value, std::set<std::string>& secrets) {
  if (value.is_string()) secrets.insert(value.get<std::string>());
  if (value.is_array()) {
    for (const json& v : value) AddSecret(v, secrets);
  }
}

// Every identifying string of one source bundle: names, address parts,
// telecom and identifier values, ids and fullUrls, reference displays of
// people and organisations, free-text extensions, DICOM uids.
void CollectSecrets(const json& bundle, std::set<std::string>& secrets) {
  for (const json& entry : bundle["entry"]) {
    const std::string full_url = entry.value("fullUrl", "");
    if (!full_url.empty()) {
      secrets.insert(full_url);
      secrets.insert(full_url.substr(full_url.rfind(':') + 1));
    }
    const json& r = entry["resource"];
    const std::string type = r["resourceType"];
    secrets.insert(r.value("id", ""));
    for (const json& id : r.value("identifier", json::array())) {
      AddSecret(id["value"], secrets);
    }
    for (const json& name : r.value("name", json::array())) {
      if (!name.is_object()) continue;
      AddSecret(name.value("family", json()), secrets);
      AddSecret(name.value("given", json()), secrets);
    }
    if (type == "Organization") AddSecret(r["name"], secrets);
    for (const json& t : r.value("telecom", json::array())) {
      AddSecret(t["value"], secrets);
    }
    for (const json& a : r.value("address", json::array())) {
      AddSecret(a.value("line", json()), secrets);
      AddSecret(a.value("city", json()), secrets);
      AddSecret(a.value("postalCode", json()), secrets);
    }
    if (type == "Patient") {
      secrets.insert("\"" + r["birthDate"].get<std::string>() + "\"");
      for (const json& e : r["extension"]) {
        AddSecret(e.value("valueString", json()), secrets);  // maiden name
        if (e.contains("valueAddress")) {
          AddSecret(e["valueAddress"].value("city", json()), secrets);
        }
      }
    }
    if (type == "ImagingStudy") {
      for (const json& s : r["series"]) {
        secrets.insert(s["uid"].get<std::string>());
        for (const json& i : s["instance"]) {
          secrets.insert(i["uid"].get<std::string>());
        }
      }
    }
  }
}

const Fixtures& LoadFixtures() {
  static const Fixtures* fixtures = [] {
    auto* f = new Fixtures;
    std::vector<std::filesystem::path> files;
    for (const auto& e :
         std::filesystem::directory_iterator(TILLIT_FIXTURES_DIR)) {
      if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string bytes = ReadFile(files[i]);
      CollectSecrets(json::parse(bytes), f->secrets);
      StatusOr<fhir::ParsedDocument> doc = fhir::ParseFhirDocument(bytes);
      if (!doc.ok()) {
        ADD_FAILURE() << files[i] << ": " << doc.status().ToString();
        continue;
      }
      Citizen c;
      c.id = "cit-" + std::to_string(i);
      if (doc->patient_index) {
        c.patient_id = doc->resources[*doc->patient_index].id;
      }
      c.resources = std::move(doc->resources);
      f->citizens.push_back(std::move(c));
    }
    f->secrets.erase("");
    return f;
  }();
  return *fixtures;
}

// One citizen's release: NDJSON lines and the parsed resources.
struct Released {
  std::vector<std::string> lines;
  std::vector<json> resources;
};

Released Release(const Citizen& c, const Pseudonymiser& p) {
  Released out;
  for (const fhir::ParsedResource& r : c.resources) {
    StatusOr<json> clean =
        Deidentify(json::parse(r.json), c.id, c.patient_id, p);
    EXPECT_TRUE(clean.ok()) << r.type << ": " << clean.status().ToString();
    if (!clean.ok()) continue;
    out.lines.push_back(clean->dump());
    out.resources.push_back(std::move(clean).value());
  }
  return out;
}

void CollectStrings(const json& v, std::set<std::string>& out) {
  if (v.is_string()) out.insert(v.get<std::string>());
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      out.insert(it.key());
      CollectStrings(it.value(), out);
    }
  }
  if (v.is_array()) {
    for (const json& e : v) CollectStrings(e, out);
  }
}

void CollectReferences(const json& v, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "reference" && it.value().is_string()) {
        out.push_back(it.value());
      } else {
        CollectReferences(it.value(), out);
      }
    }
  }
  if (v.is_array()) {
    for (const json& e : v) CollectReferences(e, out);
  }
}

TEST(DeidentifyFixturesTest, AllFixturesLoad) {
  const Fixtures& f = LoadFixtures();
  EXPECT_EQ(f.citizens.size(), 32u);
  for (const Citizen& c : f.citizens) EXPECT_FALSE(c.patient_id.empty());
  EXPECT_GT(f.secrets.size(), 5000u);
}

bool AllOf(const std::string& s, int (*pred)(int)) {
  return std::all_of(s.begin(), s.end(), [pred](char c) {
    return pred(static_cast<unsigned char>(c)) != 0;
  });
}

TEST(DeidentifyFixturesTest, NoIdentifyingStringSurvives) {
  const Fixtures& f = LoadFixtures();
  // Three checks, so that short or common secrets give no false positives:
  //  - `anywhere`: ids, fullUrls, identifier and telecom values, address
  //    lines, quoted birth dates (6+ bytes, not a single word or number)
  //    are searched for at every byte of every line, indexed by their
  //    first kWindow bytes;
  //  - `tokens`: single-word names and cities, and long numbers, must not
  //    be a maximal run of letters and digits anywhere in a line (the
  //    practitioner "America" is inside "American house dust mite", the
  //    claim group 99999999999 inside the amount 112.41199999999999);
  //  - `strings`: every secret of 3+ bytes (postal codes, NPI numbers) must
  //    not be a whole JSON string of the output.
  constexpr size_t kWindow = 6;
  std::unordered_map<std::string, std::vector<const std::string*>> anywhere;
  std::set<std::string, std::less<>> tokens;
  std::set<std::string> strings;
  for (const std::string& s : f.secrets) {
    if (s.size() < 3) continue;  // NPI numbers 0, 10, 40, ...
    strings.insert(s);
    const bool letters = AllOf(s, std::isalpha);
    const bool digits = AllOf(s, std::isdigit);
    if (letters || (digits && s.size() >= kWindow)) {
      tokens.insert(s);
    } else if (!digits && s.size() >= kWindow) {
      anywhere[s.substr(0, kWindow)].push_back(&s);
    }
  }
  const Pseudonymiser p = Pseudonyms('k');
  size_t bytes = 0, lines = 0;
  for (const Citizen& c : f.citizens) {
    const Released r = Release(c, p);
    for (size_t i = 0; i < r.lines.size(); ++i) {
      const std::string& line = r.lines[i];
      bytes += line.size();
      ++lines;
      for (size_t pos = 0; pos + kWindow <= line.size(); ++pos) {
        const auto hit = anywhere.find(line.substr(pos, kWindow));
        if (hit == anywhere.end()) continue;
        for (const std::string* secret : hit->second) {
          EXPECT_NE(line.compare(pos, secret->size(), *secret), 0)
              << c.id << " leaks \"" << *secret << "\" in " << line;
        }
      }
      for (size_t pos = 0; pos < line.size();) {
        size_t end = pos;
        while (end < line.size() &&
               std::isalnum(static_cast<unsigned char>(line[end]))) {
          ++end;
        }
        if (end > pos) {
          const std::string_view token(line.data() + pos, end - pos);
          EXPECT_EQ(tokens.count(token), 0u)
              << c.id << " leaks \"" << token << "\" in " << line;
          pos = end;
        } else {
          ++pos;
        }
      }
      std::set<std::string> values;
      CollectStrings(r.resources[i], values);
      for (const std::string& v : values) {
        EXPECT_EQ(strings.count(v), 0u)
            << c.id << " leaks \"" << v << "\" in " << line;
      }
    }
  }
  EXPECT_GT(anywhere.size(), 5000u);
  EXPECT_GT(tokens.size(), 100u);
  EXPECT_GT(lines, 6000u);
  EXPECT_GT(bytes, 1000000u);
}

TEST(DeidentifyFixturesTest, ReferencesResolveInsideTheRelease) {
  const Fixtures& f = LoadFixtures();
  const Pseudonymiser p = Pseudonyms('k');
  const std::regex kRelative("([A-Z][A-Za-z]+)/([0-9a-f]{32})");
  size_t checked = 0;
  for (const Citizen& c : f.citizens) {
    const Released r = Release(c, p);
    std::set<std::string> ids;  // "Type/id" released for this citizen
    for (const json& resource : r.resources) {
      const std::string id = resource["id"];
      EXPECT_TRUE(IsPseudonym(id)) << id;
      EXPECT_TRUE(
          ids.insert(std::string(resource["resourceType"]) + "/" + id).second)
          << "two resources share " << id;
    }
    EXPECT_EQ(ids.count("Patient/" + p.Citizen(c.id)), 1u) << c.id;
    for (const json& resource : r.resources) {
      std::set<std::string> contained;
      for (const json& cr : resource.value("contained", json::array())) {
        contained.insert("#" + cr["id"].get<std::string>());
      }
      std::vector<std::string> refs;
      CollectReferences(resource, refs);
      for (const std::string& ref : refs) {
        ++checked;
        if (ref.starts_with("#")) {
          EXPECT_EQ(contained.count(ref), 1u) << ref;
          continue;
        }
        // Synthea bundles reference only their own entries, so every
        // reference must resolve to a released resource of the citizen.
        EXPECT_TRUE(std::regex_match(ref, kRelative)) << ref;
        EXPECT_EQ(ids.count(ref), 1u) << c.id << " dangling " << ref;
        if (ref.starts_with("Patient/")) {
          EXPECT_EQ(ref, "Patient/" + p.Citizen(c.id));
        }
      }
    }
  }
  EXPECT_GT(checked, 20000u);
}

TEST(DeidentifyFixturesTest, StudiesCannotLink) {
  const Fixtures& f = LoadFixtures();
  const Pseudonymiser study_a = Pseudonyms('a');
  const Pseudonymiser study_a_again = Pseudonyms('a');
  const Pseudonymiser study_b = Pseudonyms('b');
  std::set<std::string> strings_a, strings_b;
  for (const Citizen& c : f.citizens) {
    const Released a = Release(c, study_a);
    const Released a_again = Release(c, study_a_again);
    const Released b = Release(c, study_b);
    EXPECT_EQ(a.lines, a_again.lines) << c.id;
    ASSERT_EQ(a.resources.size(), b.resources.size());
    for (size_t i = 0; i < a.resources.size(); ++i) {
      CollectStrings(a.resources[i], strings_a);
      CollectStrings(b.resources[i], strings_b);
      // Same content apart from the pseudonyms.
      EXPECT_EQ(a.resources[i].size(), b.resources[i].size());
      EXPECT_NE(a.resources[i]["id"], b.resources[i]["id"]);
    }
  }
  size_t pseudonyms = 0;
  for (const std::string& s : strings_a) {
    // Anything that carries a pseudonym (ids, references, DICOM uids).
    static const std::regex kCarrier(".*[0-9a-f]{32}.*|2\\.25\\.[0-9]+");
    if (!std::regex_match(s, kCarrier)) continue;
    ++pseudonyms;
    EXPECT_EQ(strings_b.count(s), 0u) << s;
  }
  EXPECT_GT(pseudonyms, 6000u);
}

TEST(DeidentifyFixturesTest, KeptDataIsStillThere) {
  // Minimisation must not throw away the clinical content: spot checks on
  // what every fixture has.
  const Fixtures& f = LoadFixtures();
  const Pseudonymiser p = Pseudonyms('k');
  std::map<std::string, size_t> by_type;
  for (const Citizen& c : f.citizens) {
    const Released r = Release(c, p);
    for (const json& resource : r.resources) {
      const std::string type = resource["resourceType"];
      ++by_type[type];
      EXPECT_FALSE(resource.contains("text")) << type;
      EXPECT_FALSE(resource.contains("identifier")) << type;
      EXPECT_FALSE(resource.contains("meta")) << type;  // only Synthea tags
      if (type == "Patient") {
        EXPECT_TRUE(std::regex_match(std::string(resource["birthDate"]),
                                     std::regex("[0-9]{4}")));
        EXPECT_TRUE(resource.contains("gender"));
        EXPECT_EQ(resource.value("address", json()),
                  json::array({{{"country", "US"}}}));
      }
      if (type == "Observation") {
        EXPECT_TRUE(resource.contains("code"));
        EXPECT_TRUE(resource.contains("effectiveDateTime"));
        EXPECT_TRUE(resource.contains("valueQuantity") ||
                    resource.contains("valueCodeableConcept") ||
                    resource.contains("component"));
      }
      if (type == "Condition") {
        EXPECT_TRUE(resource.contains("code"));
        EXPECT_TRUE(resource.contains("onsetDateTime"));
      }
    }
  }
  EXPECT_EQ(by_type["Patient"], 32u);
  EXPECT_EQ(by_type.size(), 16u);
}

}  // namespace
}  // namespace tillit::research
