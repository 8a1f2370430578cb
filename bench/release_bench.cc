// Research release throughput and memory: builds a vault (generated
// citizens, or the 32 shared Synthea fixtures), gives every citizen a
// research grant for every category, and times one release of a study
// asking for all of them, on one thread.
//
// It prints the cohort, the released NDJSON bytes, MB/s of NDJSON per core
// (the release runs on one thread), citizens/s, the sealed file's size, and
// the peak resident memory during the release (VmHWM, reset just before it
// starts) next to the resident memory before it.
//
// Run: build/bench/release_bench [--citizens N] [--encounters E]
//      [--fixtures] [--runs R] [--warm]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tillit/audit/audit_log.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/box.h"
#include "tillit/crypto/encoding.h"
#include "tillit/fhir/synthetic.h"
#include "tillit/research/release.h"
#include "tillit/research/sealed.h"
#include "tillit/vault/vault.h"

namespace {

using namespace tillit;
namespace fs = std::filesystem;

[[noreturn]] void Die(const char* what, const Status& s) {
  std::fprintf(stderr, "release_bench: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

// A /proc/self/status field in kB.
long StatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0)
      return std::atol(line.c_str() + std::strlen(field));
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux clear_refs, value 5).
void ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

constexpr const char* kGrant =
    R"({"grantee": {"kind": "any-researcher"}, "purposes": ["DUO:0000042"],
        "categories": ["patient-summary", "prescriptions", "dispensations",
                       "lab-results", "vital-signs", "imaging",
                       "discharge-reports", "encounters", "financial",
                       "other"],
        "include_sensitive": true})";

}  // namespace

int main(int argc, char** argv) {
  int citizens = 2000;
  int encounters = 20;
  int runs = 3;
  bool fixtures = false;
  bool warm = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](int lo, int hi, int* out) {
      if (i + 1 >= argc)
        Die("usage", Status::InvalidArgument(a + " needs a value"));
      const int v = std::atoi(argv[++i]);
      if (v < lo || v > hi)
        Die("usage", Status::InvalidArgument(a + " out of range"));
      *out = v;
    };
    if (a == "--citizens")
      next(1, 1000000, &citizens);
    else if (a == "--encounters")
      next(1, 1000, &encounters);
    else if (a == "--runs")
      next(1, 100, &runs);
    else if (a == "--fixtures")
      fixtures = true;
    else if (a == "--warm")
      warm = true;
    else if (a == "--help") {
      std::printf(
          "usage: release_bench [--citizens N] [--encounters E] "
          "[--fixtures] [--runs R] [--warm]\n");
      return 0;
    } else {
      Die("usage", Status::InvalidArgument("unknown argument " + a));
    }
  }

  std::string tmpl =
      (fs::temp_directory_path() / "tillit-relbench-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  vault::VaultOptions vo;
  vo.data_dir = dir + "/data";
  auto created = vault::Vault::Init(vo);
  if (!created.ok()) Die("init", created.status());
  std::unique_ptr<vault::Vault> v = std::move(created->vault);
  auto log = audit::AuditLog::OpenInDirectory(v->data_dir(), *v);
  if (!log.ok()) Die("audit", log.status());
  consent::ConsentService consents(v.get(), &Clock::System(),
                                   &crypto::Random::System());

  std::printf("building %s...\n", fixtures ? "the 32 fixtures" : "citizens");
  std::fflush(stdout);
  int64_t records = 0;
  auto add = [&](const std::string& bundle) {
    auto imp = v->Import(bundle, vault::ImportFormat::kJson);
    if (!imp.ok()) Die("import", imp.status());
    records += static_cast<int64_t>(imp->imported);
    auto g = consents.AddGrant(imp->citizen_id, kGrant);
    if (!g.ok()) Die("grant", g.status());
  };
  if (fixtures) {
    citizens = 0;
    for (const auto& f : fs::directory_iterator(TILLIT_FIXTURES_DIR)) {
      if (f.path().extension() != ".json") continue;
      std::ifstream in(f.path(), std::ios::binary);
      add({std::istreambuf_iterator<char>(in),
           std::istreambuf_iterator<char>()});
      ++citizens;
    }
  } else {
    fhir::SyntheticOptions so;
    so.min_encounters = so.max_encounters = encounters;
    for (int i = 0; i < citizens; ++i)
      add(fhir::GenerateSyntheticBundle(2026, static_cast<uint64_t>(i), so));
  }

  crypto::BoxKeyPair pair =
      crypto::BoxKeyPair::Generate(crypto::Random::System());
  consent::ResearcherProfile researcher{"r_00000000000000000000000000000001",
                                        consent::OrgType::kAcademic,
                                        "SE",
                                        "KI",
                                        "Ada",
                                        crypto::Base64Encode(pair.public_key)};
  if (Status s = consents.RegisterResearcher(researcher); !s.ok())
    Die("researcher", s);
  auto def = consent::ParseStudyDefinition(
      R"({"title": "Everything", "purpose": "DUO:0000042",
          "categories": ["patient-summary", "prescriptions", "dispensations",
                         "lab-results", "vital-signs", "imaging",
                         "discharge-reports", "encounters", "financial",
                         "other"]})");
  if (!def.ok()) Die("study", def.status());
  def->study.researcher_id = researcher.id;
  auto study = consents.RegisterStudy(*def);
  if (!study.ok()) Die("study", study.status());

  // Direct: every citizen's store is opened (unwrap its key, open and probe
  // the file) during the release, as for a cohort larger than a server's
  // cache. --warm: a cache holding every store, so runs after the first
  // measure the release alone (and the peak includes the open stores).
  vault::DirectStoreAccess direct(v.get());
  vault::StoreCache cache(v.get(), static_cast<size_t>(citizens));
  std::printf("%d citizens, %lld records (%.0f per citizen); one thread\n",
              citizens, static_cast<long long>(records),
              static_cast<double>(records) / citizens);
  std::printf("%-4s %8s %12s %9s %11s %12s %12s %12s\n", "run", "cohort",
              "ndjson MB", "seconds", "MB/s/core", "citizens/s", "sealed MB",
              "peak RSS MB");
  int failures = 0;
  for (int run = 1; run <= runs; ++run) {
    auto candidates = consents.Candidates(researcher, study->study);
    if (!candidates.ok()) Die("candidates", candidates.status());
    research::ReleaseInput in;
    in.study = &*study;
    in.researcher = &researcher;
    in.candidates = std::move(candidates).value();
    in.release_id = "rel_" + crypto::Random::System().Hex(16);
    in.now = Clock::System().NowSeconds();
    in.request_id = "bench";
    vault::StoreAccess& stores = warm
                                     ? static_cast<vault::StoreAccess&>(cache)
                                     : static_cast<vault::StoreAccess&>(direct);
    const long rss_before = StatusKb("VmRSS:");
    ResetPeak();
    const auto t0 = std::chrono::steady_clock::now();
    auto made = research::MakeRelease(
        *v, stores, **log, in, [&](const std::vector<audit::AuditEntry>& e) {
          return (*log)->AppendBatch(e);
        });
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    const long peak = StatusKb("VmHWM:");
    if (!made.ok()) Die("release", made.status());
    std::printf(
        "%-4d %8lld %12.1f %9.2f %11.1f %12.0f %12.1f %6.1f (%.1f before)\n",
        run, static_cast<long long>(made->cohort_size),
        made->ndjson_bytes / 1e6, secs, made->ndjson_bytes / 1e6 / secs,
        made->cohort_size / secs, made->sealed_bytes / 1e6, peak / 1024.0,
        rss_before / 1024.0);
    std::fflush(stdout);
    // The file opens, and holds what was counted.
    const std::string out = dir + "/opened-" + std::to_string(run);
    if (Status s = research::OpenSealedFile(research::ReleasePath(*v, made->id),
                                            pair, out);
        !s.ok()) {
      std::fprintf(stderr, "release_bench: the release does not open: %s\n",
                   s.ToString().c_str());
      ++failures;
    }
    uint64_t opened = 0;
    for (const auto& f : fs::directory_iterator(out))
      if (f.path().extension() == ".ndjson") opened += fs::file_size(f.path());
    if (opened != made->ndjson_bytes) {
      std::fprintf(stderr,
                   "release_bench: %llu NDJSON bytes opened, %llu counted\n",
                   static_cast<unsigned long long>(opened),
                   static_cast<unsigned long long>(made->ndjson_bytes));
      ++failures;
    }
    fs::remove_all(out);
  }
  log->reset();
  v.reset();
  fs::remove_all(dir);
  return failures == 0 ? 0 : 1;
}
