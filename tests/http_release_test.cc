// Research releases over real HTTP: make, list, download, decrypt; who may
// fetch which release; the citizen's access log; failing closed.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include "http_fixture.h"
#include "tillit/crypto/box.h"
#include "tillit/crypto/encoding.h"
#include "tillit/research/sealed.h"

namespace tillit::testing {
namespace {

namespace fs = std::filesystem;

class ReleaseHttpTest : public HttpTest {
 protected:
  // A researcher whose secret key the test keeps.
  Principal Researcher(crypto::BoxKeyPair* pair) {
    *pair = crypto::BoxKeyPair::Generate(crypto::Random::System());
    json body = {{"name", "Ada"},
                 {"organization", "Karolinska Institutet"},
                 {"org_type", "academic"},
                 {"country", "SE"},
                 {"public_key", crypto::Base64Encode(pair->public_key)}};
    Reply r = Post("/v1/admin/researchers", body.dump(), admin_);
    EXPECT_EQ(r.status, 201) << r.body;
    return {r.Json()["researcher_id"], r.Json()["token"]};
  }
  // An enrolled citizen with a generated history and a research grant.
  Principal Consenting(int n) {
    Principal c = NewCitizen();
    EXPECT_EQ(Post("/v1/me/import", SyntheticBundle(n), c.token).status, 200);
    json grant = {{"grantee", {{"kind", "any-researcher"}}},
                  {"purposes", {"DUO:0000006"}},
                  {"categories", {"patient-summary", "vital-signs"}}};
    EXPECT_EQ(Post("/v1/me/consents", grant.dump(), c.token).status, 201);
    return c;
  }
  // How many files DATA_DIR/releases holds (partial ones included).
  size_t ReleaseFiles() const {
    std::error_code ec;
    size_t files = 0;
    for (auto it = fs::directory_iterator(dir_ + "/data/releases", ec);
         !ec && it != fs::directory_iterator(); ++it)
      ++files;
    return files;
  }
  // POST .../releases with Prefer: respond-async.
  Reply StartRelease(const std::string& sid, const std::string& token) const {
    httplib::Headers headers = Auth(token);
    headers.emplace("Prefer", "respond-async");
    return From(Client()->Post(("/v1/studies/" + sid + "/releases").c_str(),
                               headers, "", "application/json"));
  }
  // The status route until it stops answering 202 (at most ~10 s).
  Reply AwaitRelease(const std::string& location,
                     const std::string& token) const {
    Reply r = Get(location, token);
    for (int i = 0; i < 1000 && r.status == 202; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      r = Get(location, token);
    }
    return r;
  }
  std::string NewStudy(const std::string& token) {
    json study = {{"title", "Blood pressure"},
                  {"purpose", "DUO:0000006"},
                  {"categories", {"vital-signs", "patient-summary"}}};
    Reply r = Post("/v1/studies", study.dump(), token);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json().value("id", "");
  }
};

TEST_F(ReleaseHttpTest, ResearcherMakesDownloadsAndOpensARelease) {
  crypto::BoxKeyPair pair;
  Principal r = Researcher(&pair);
  Principal a = Consenting(1), b = Consenting(2);
  NewCitizen();  // no grant: not in the cohort
  const std::string sid = NewStudy(r.token);

  Reply made = Post("/v1/studies/" + sid + "/releases", "{}", r.token);
  ASSERT_EQ(made.status, 201) << made.body;
  const json rel = made.Json();
  EXPECT_EQ(rel["cohort_size"], 2);
  EXPECT_EQ(rel["study_id"], sid);
  const std::string rid = rel["id"];
  EXPECT_EQ(made.headers.find("Location")->second,
            "/v1/studies/" + sid + "/releases/" + rid);

  Reply list = Get("/v1/studies/" + sid + "/releases", r.token);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.Json()["releases"].size(), 1u);
  EXPECT_EQ(list.Json()["releases"][0], rel);

  Reply file = Get("/v1/studies/" + sid + "/releases/" + rid, r.token);
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(file.headers.find("Content-Type")->second,
            "application/octet-stream");
  EXPECT_EQ(file.body.size(), rel["bytes"].get<size_t>());
  const std::string path = dir_ + "/download.tillit";
  {
    std::ofstream out(path, std::ios::binary);
    out << file.body;
  }
  const std::string out = dir_ + "/opened";
  ASSERT_TRUE(research::OpenSealedFile(path, pair, out).ok());
  std::ifstream manifest_in(out + "/manifest.json");
  const json manifest = json::parse(manifest_in);
  EXPECT_EQ(manifest["cohort_size"], 2);
  EXPECT_EQ(manifest["audit"]["index"], rel["audit_index"]);
  std::ifstream patients(out + "/Patient.ndjson");
  std::string line;
  int n = 0;
  while (std::getline(patients, line)) {
    const json p = json::parse(line);
    EXPECT_NE(p["id"], a.id);
    EXPECT_NE(p["id"], b.id);
    EXPECT_EQ(p.count("name"), 0u);
    ++n;
  }
  EXPECT_EQ(n, 2);

  // Each released citizen sees it in their access log.
  for (const Principal& c : {a, b}) {
    Reply log = Get("/v1/me/access-log?limit=50", c.token);
    ASSERT_EQ(log.status, 200);
    bool seen = false;
    const json listed = log.Json();
    for (const json& e : listed["entries"]) {
      if (e["action"] == "research.release" && e["study"] == sid) seen = true;
    }
    EXPECT_TRUE(seen) << log.body;
  }
}

TEST_F(ReleaseHttpTest, OnlyTheStudyOwnerReachesItsReleases) {
  crypto::BoxKeyPair mine, theirs;
  Principal r = Researcher(&mine);
  Principal other = Researcher(&theirs);
  Consenting(1);
  const std::string sid = NewStudy(r.token);
  const std::string other_sid = NewStudy(other.token);
  Reply made = Post("/v1/studies/" + sid + "/releases", "", r.token);
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string rid = made.Json()["id"];
  EXPECT_EQ(Get("/v1/studies/" + sid + "/releases/" + rid, other.token).status,
            404);
  EXPECT_EQ(Get("/v1/studies/" + sid + "/releases", other.token).status, 404);
  EXPECT_EQ(Post("/v1/studies/" + sid + "/releases", "", other.token).status,
            404);
  // The right release under the wrong (own) study is not found either.
  EXPECT_EQ(
      Get("/v1/studies/" + other_sid + "/releases/" + rid, other.token).status,
      404);
  EXPECT_EQ(Get("/v1/studies/" + sid + "/releases/rel_x", r.token).status, 404);
  // Its status likewise (a release made synchronously is a job of its
  // maker's too, kept an hour).
  const std::string status = "/releases/" + rid + "/status";
  EXPECT_EQ(Get("/v1/studies/" + sid + status, r.token).status, 200);
  EXPECT_EQ(Get("/v1/studies/" + sid + status, other.token).status, 404);
  EXPECT_EQ(Get("/v1/studies/" + other_sid + status, other.token).status, 404);
  EXPECT_EQ(
      Get("/v1/studies/" + sid + "/releases/rel_x/status", r.token).status,
      404);
  EXPECT_EQ(Get("/v1/studies/" + sid +
                    "/releases/rel_00000000000000000000000000000000/status",
                r.token)
                .status,
            404);
  // A citizen token on a researcher route.
  Principal c = NewCitizen();
  EXPECT_EQ(Get("/v1/studies/" + sid + "/releases", c.token).status, 403);
}

TEST_F(ReleaseHttpTest, AuditFailureReleasesNothing) {
  crypto::BoxKeyPair pair;
  Principal r = Researcher(&pair);
  Consenting(1);
  const std::string sid = NewStudy(r.token);
  server_->FailAuditWriteForTesting(1);
  Reply failed = Post("/v1/studies/" + sid + "/releases", "", r.token);
  EXPECT_EQ(failed.status, 503) << failed.body;
  EXPECT_EQ(failed.ErrorCode(), "audit_unavailable");
  Reply list = Get("/v1/studies/" + sid + "/releases", r.token);
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(list.Json()["releases"].empty());
  EXPECT_EQ(ReleaseFiles(), 0u);
}

TEST_F(ReleaseHttpTest, BadBodiesAreRefusedAndReleaseNothing) {
  crypto::BoxKeyPair pair;
  Principal r = Researcher(&pair);
  const std::string sid = NewStudy(r.token);
  Reply bad = Post("/v1/studies/" + sid + "/releases", "[1]", r.token);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.ErrorCode(), "invalid_argument");
  Reply extra =
      Post("/v1/studies/" + sid + "/releases", R"({"cohort": 5})", r.token);
  EXPECT_EQ(extra.status, 400);
  // Nothing was released by the refused calls.
  EXPECT_TRUE(Get("/v1/studies/" + sid + "/releases", r.token)
                  .Json()["releases"]
                  .empty());
}

TEST_F(ReleaseHttpTest, ARespondAsyncReleaseIsMadeInTheBackground) {
  crypto::BoxKeyPair pair;
  Principal r = Researcher(&pair);
  Principal a = Consenting(1);
  Consenting(2);
  const std::string sid = NewStudy(r.token);

  Reply started = StartRelease(sid, r.token);
  ASSERT_EQ(started.status, 202) << started.body;
  const std::string rid = started.Json()["id"];
  EXPECT_TRUE(rid.starts_with("rel_")) << rid;
  EXPECT_EQ(started.Json()["status"], "running");
  const std::string location = started.headers.find("Location")->second;
  EXPECT_EQ(location, "/v1/studies/" + sid + "/releases/" + rid + "/status");

  Reply done = AwaitRelease(location, r.token);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.Json()["status"], "done");
  EXPECT_EQ(done.Json()["id"], rid);
  EXPECT_EQ(done.Json()["cohort_size"], 2);
  // The same release as the listing shows, and its file opens.
  Reply list = Get("/v1/studies/" + sid + "/releases", r.token);
  ASSERT_EQ(list.Json()["releases"].size(), 1u);
  json listed = list.Json()["releases"][0];
  listed["status"] = "done";
  EXPECT_EQ(listed, done.Json());
  Reply file = Get("/v1/studies/" + sid + "/releases/" + rid, r.token);
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(file.body.size(), done.Json()["bytes"].get<size_t>());
  const std::string path = dir_ + "/async.tillit";
  {
    std::ofstream out(path, std::ios::binary);
    out << file.body;
  }
  ASSERT_TRUE(research::OpenSealedFile(path, pair, dir_ + "/async").ok());
  // Released and audited as a synchronous release is.
  bool seen = false;
  const json log = Get("/v1/me/access-log?limit=50", a.token).Json();
  for (const json& e : log["entries"]) {
    if (e["action"] == "research.release" && e["study"] == sid) seen = true;
  }
  EXPECT_TRUE(seen);
  // A synchronous release's status answers too.
  Reply sync = Post("/v1/studies/" + sid + "/releases", "", r.token);
  ASSERT_EQ(sync.status, 201) << sync.body;
  Reply sync_status = Get("/v1/studies/" + sid + "/releases/" +
                              sync.Json()["id"].get<std::string>() + "/status",
                          r.token);
  EXPECT_EQ(sync_status.status, 200);
  EXPECT_EQ(sync_status.Json()["status"], "done");
}

TEST_F(ReleaseHttpTest, ABackgroundReleaseTheAuditLogRefusesReleasesNothing) {
  crypto::BoxKeyPair pair;
  Principal r = Researcher(&pair);
  Consenting(1);
  const std::string sid = NewStudy(r.token);
  server_->FailAuditWriteForTesting(1);
  Reply started = StartRelease(sid, r.token);
  ASSERT_EQ(started.status, 202) << started.body;
  Reply failed =
      AwaitRelease(started.headers.find("Location")->second, r.token);
  EXPECT_EQ(failed.status, 503) << failed.body;
  EXPECT_EQ(failed.ErrorCode(), "audit_unavailable");
  EXPECT_TRUE(Get("/v1/studies/" + sid + "/releases", r.token)
                  .Json()["releases"]
                  .empty());
  EXPECT_EQ(Get("/v1/studies/" + sid + "/releases/" +
                    started.Json()["id"].get<std::string>(),
                r.token)
                .status,
            404);
  EXPECT_EQ(ReleaseFiles(), 0u);
  // Once the log writes again, the next release is made.
  Reply again = StartRelease(sid, r.token);
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(
      AwaitRelease(again.headers.find("Location")->second, r.token).status,
      200);
}

}  // namespace
}  // namespace tillit::testing
