// End-to-end tests of `tillit serve`, the registration and token verbs and
// `tillit demo`: the real binary, spawned as a child process, talked to
// over real HTTP(S) and stopped with real signals.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_process.h"

namespace tillit::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Splits a line of bash into words: plain words and single-quoted parts,
// as ShellQuote writes them ('\'' for a quote).
std::vector<std::string> ShellWords(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\'') {
      const size_t end = line.find('\'', i + 1);
      if (end == std::string::npos) return {};  // unbalanced: not pasteable
      word += line.substr(i + 1, end - i - 1);
      i = end;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (c == ' ') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else if (std::string("?*[]$`\"&;|<>(){}!#~").find(c) !=
               std::string::npos) {
      return {};  // bash would treat it specially outside quotes
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-serve-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    data_ = dir_ + "/data";
    children_ = std::make_unique<ChildProcesses>(dir_);
  }

  void TearDown() override {
    children_.reset();  // kills and reaps what still runs
    fs::remove_all(dir_);
  }

  Child& Spawn(const std::vector<std::string>& args,
               const std::string& stdin_text = "") {
    return children_->Spawn(args, stdin_text);
  }

  Result Run(const std::vector<std::string>& args,
             const std::string& stdin_text = "") {
    return children_->Run(args, stdin_text);
  }

  // `tillit serve` on a free loopback port; returns its URL.
  std::string Serve(Child** out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"serve", "--data", data_, "--listen",
                                     "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    Child& c = Spawn(args);
    *out = &c;
    return ListeningUrl(c);
  }

  std::string Init() {
    Result r = Run({"init", "--data", data_, "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(r.out, nullptr, false).value("admin_token", "");
  }

  std::string dir_, data_;
  std::unique_ptr<ChildProcesses> children_;
};

// The binary names its version and commit; the server reports the same.
TEST_F(ServeTest, VersionIsTheServersVersion) {
  Result v = Run({"--version"});
  ASSERT_EQ(v.code, 0) << v.err;
  ASSERT_TRUE(StartsWith(v.out, "tillit ")) << v.out;
  const size_t open = v.out.find(" (");
  ASSERT_NE(open, std::string::npos) << v.out;
  ASSERT_GE(v.out.size(), open + 4);
  EXPECT_EQ(v.out.substr(v.out.size() - 2), ")\n") << v.out;
  const std::string version = v.out.substr(7, open - 7);
  const std::string commit =
      v.out.substr(open + 2, v.out.size() - 2 - (open + 2));
  EXPECT_FALSE(version.empty());
  EXPECT_FALSE(commit.empty());
  EXPECT_EQ(Run({"version"}).out, v.out);

  Init();
  Child* server = nullptr;
  const std::string url = Serve(&server, {"--quiet"});
  Reply h = Call(url, "GET", "/healthz");
  ASSERT_EQ(h.status, 200);
  EXPECT_EQ(h.Json().value("version", ""), version) << h.body;
  EXPECT_EQ(h.Json().value("commit", ""), commit) << h.body;
  EXPECT_EQ(Stop(*server), 0);
}

TEST_F(ServeTest, AnswersHealthzAndStopsOnSigterm) {
  Init();
  Child* server = nullptr;
  const std::string url = Serve(&server);
  ASSERT_TRUE(StartsWith(url, "http://127.0.0.1:")) << url;
  Reply r = Call(url, "GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json().value("status", ""), "ok") << r.body;
  EXPECT_EQ(Stop(*server), 0) << ReadAll(server->err_path);
  EXPECT_EQ(ReadRest(*server), "stopped\n");
  // The access log names the request, never a token.
  const std::string log = ReadAll(server->err_path);
  EXPECT_NE(log.find("route=/healthz status=200"), std::string::npos) << log;
  EXPECT_NE(log.find("SIGTERM received"), std::string::npos) << log;
}

// How the service starts: everything from a configuration file, as the
// Debian package's unit does it; a flag on the command line wins over the
// file (here: JSON log lines over the file's text).
TEST_F(ServeTest, ServesFromAConfigFileAndAFlagOverridesIt) {
  const std::string admin = Init();
  const std::string conf = dir_ + "/tillit.conf";
  std::ofstream(conf) << "# tillit.conf\n\nlisten = 127.0.0.1:0\ndata = "
                      << data_ << "\nthreads = 4\nlog-format = text\n";
  ASSERT_EQ(::chmod(conf.c_str(), 0640), 0);
  Child& server = Spawn({"serve", "--config", conf, "--log-format", "json"});
  auto line = ReadLine(server);
  ASSERT_TRUE(line && StartsWith(*line, "listening on http://127.0.0.1:"))
      << ReadAll(server.err_path);
  const std::string url = line->substr(std::string("listening on ").size());
  EXPECT_EQ(Call(url, "GET", "/healthz").status, 200);
  Reply p =
      Call(url, "POST", "/v1/admin/providers", admin, R"({"name": "Clinic"})");
  EXPECT_EQ(p.status, 201) << p.body;
  EXPECT_EQ(Stop(server), 0) << ReadAll(server.err_path);
  EXPECT_EQ(ReadRest(server), "stopped\n");

  const std::string log = ReadAll(server.err_path);
  std::istringstream lines(log);
  int healthz = 0, providers = 0, notices = 0;
  for (std::string l; std::getline(lines, l);) {
    const json j = json::parse(l, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not JSON: " << l;
    EXPECT_TRUE(j.contains("time") && j.contains("level")) << l;
    healthz +=
        j.value("route", "") == "/healthz" && j.value("status", 0) == 200;
    providers += j.value("route", "") == "/v1/admin/providers" &&
                 j.value("status", 0) == 201;
    notices += j.value("msg", "").find("SIGTERM received") != std::string::npos;
  }
  EXPECT_EQ(healthz, 1) << log;
  EXPECT_EQ(providers, 1) << log;
  EXPECT_EQ(notices, 1) << log;
  EXPECT_EQ(log.find("tlk_"), std::string::npos) << log;

  // A file others may write is refused before anything opens or listens.
  ASSERT_EQ(::chmod(conf.c_str(), 0666), 0);
  Result open = Run({"serve", "--config", conf});
  EXPECT_EQ(open.code, 2);
  EXPECT_EQ(open.out, "");
  EXPECT_NE(open.err.find("group or others may write it"), std::string::npos)
      << open.err;
}

TEST_F(ServeTest, SigintStopsTooAndQuietLogsNoRequests) {
  Init();
  Child* server = nullptr;
  const std::string url = Serve(&server, {"--quiet", "--threads", "2"});
  EXPECT_EQ(Call(url, "GET", "/healthz").status, 200);
  EXPECT_EQ(Stop(*server, SIGINT), 0);
  EXPECT_EQ(ReadRest(*server), "stopped\n");
  EXPECT_EQ(ReadAll(server->err_path), "");
}

TEST_F(ServeTest, RefusesABusyPortAndAMissingVault) {
  Result missing = Run({"serve", "--data", data_, "--listen", "127.0.0.1:0"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("tillit serve: "), std::string::npos);
  Init();
  // A port another program listens on.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  Result busy =
      Run({"serve", "--data", data_, "--listen", "127.0.0.1:" + port});
  ::close(fd);
  EXPECT_EQ(busy.code, 1);
  EXPECT_NE(busy.err.find("cannot listen on 127.0.0.1:" + port),
            std::string::npos)
      << busy.err;
  EXPECT_EQ(busy.out.find("listening"), std::string::npos);
}

// A request whose body is still arriving when SIGTERM comes is finished
// and answered before the server exits.
TEST_F(ServeTest, FinishesARequestInFlightOnSigterm) {
  const std::string admin = Init();
  Child* server = nullptr;
  const std::string url = Serve(&server);
  const int port = std::stoi(url.substr(url.rfind(':') + 1));

  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto send_all = [fd](const std::string& s) {
    ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(s.size()));
  };
  auto read_until = [fd](std::string* got, const std::string& marker) {
    while (got->find(marker) == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, kPatienceMs) <= 0) return false;
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      got->append(buf, static_cast<size_t>(n));
    }
    return true;
  };
  const std::string body = R"({"name": "Late Clinic", "organization": "X"})";
  const size_t half = body.size() / 2;
  // Expect: 100-continue makes the server say when it has read the
  // headers, so the request is surely in flight before the signal.
  send_all(
      "POST /v1/admin/providers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      admin + "\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) +
      "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
  std::string got;
  ASSERT_TRUE(read_until(&got, "\r\n\r\n")) << got;
  ASSERT_TRUE(StartsWith(got, "HTTP/1.1 100 Continue")) << got;
  got.clear();
  send_all(body.substr(0, half));

  ASSERT_EQ(::kill(server->pid, SIGTERM), 0);
  // Wait until the server has taken the signal (it says so first).
  for (int waited = 0;; waited += 10) {
    if (ReadAll(server->err_path).find("SIGTERM received") != std::string::npos)
      break;
    ASSERT_LT(waited, kPatienceMs) << "the server did not take SIGTERM";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // ...and has stopped accepting connections, with ours still open.
  for (int waited = 0;; waited += 10) {
    const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(probe, 0);
    const bool refused =
        ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0;
    ::close(probe);
    if (refused) break;
    ASSERT_LT(waited, kPatienceMs) << "the server still accepts connections";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  send_all(body.substr(half));
  ASSERT_TRUE(read_until(&got, "\r\n\r\n")) << got;
  EXPECT_TRUE(StartsWith(got, "HTTP/1.1 201 ")) << got;
  const size_t head_end = got.find("\r\n\r\n") + 4;
  const size_t cl = got.find("Content-Length: ");
  ASSERT_NE(cl, std::string::npos) << got;
  const size_t length = std::stoul(got.substr(cl + 16));
  while (got.size() < head_end + length) {
    pollfd p{fd, POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, kPatienceMs), 0);
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << "the response was cut short: " << got;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  json reply = json::parse(got.substr(head_end), nullptr, false);
  EXPECT_TRUE(StartsWith(reply.value("provider_id", ""), "p_")) << got;
  EXPECT_EQ(Wait(*server), 0) << ReadAll(server->err_path);
  EXPECT_EQ(ReadRest(*server), "stopped\n");
}

TEST_F(ServeTest, DataAndTokensSurviveARestart) {
  const std::string admin = Init();
  Child* first = nullptr;
  std::string url = Serve(&first);
  Reply p =
      Call(url, "POST", "/v1/admin/providers", admin, R"({"name": "Clinic"})");
  ASSERT_EQ(p.status, 201) << p.body;
  const std::string provider = p.Json()["token"];
  Reply c = Call(url, "POST", "/v1/admin/citizens", admin, "{}");
  ASSERT_EQ(c.status, 201) << c.body;
  const std::string citizen_id = c.Json()["citizen_id"];
  Reply e = Call(url, "POST", "/v1/enroll", "",
                 json{{"enrollment_code", c.Json()["enrollment_code"]}}.dump());
  ASSERT_EQ(e.status, 200) << e.body;
  const std::string citizen = e.Json()["token"];
  Reply g = Call(url, "POST", "/v1/me/consents", citizen,
                 R"({"grantee": {"kind": "any-provider"},
                     "purposes": ["DUO:0000043"],
                     "categories": ["vital-signs"], "expires": null})");
  ASSERT_EQ(g.status, 201) << g.body;
  ASSERT_EQ(Stop(*first), 0);

  Child* second = nullptr;
  url = Serve(&second);
  Reply mine = Call(url, "GET", "/v1/me/records", citizen);
  EXPECT_EQ(mine.status, 200) << mine.body;
  EXPECT_TRUE(mine.Json()["records"].is_array()) << mine.body;
  Reply theirs =
      Call(url, "GET", "/v1/patients/" + citizen_id + "/records", provider);
  EXPECT_EQ(theirs.status, 200) << theirs.body;
  Reply consents = Call(url, "GET", "/v1/me/consents", citizen);
  EXPECT_NE(consents.body.find(g.Json().value("id", "?")), std::string::npos)
      << consents.body;
  EXPECT_EQ(
      Call(url, "POST", "/v1/admin/auditors", admin, R"({"name": "A"})").status,
      201);
  EXPECT_EQ(Stop(*second), 0);
}

TEST_F(ServeTest, RevokingTokensWhileServingTakesEffectAtOnce) {
  const std::string admin = Init();
  Child* server = nullptr;
  const std::string url = Serve(&server);
  // Registered on the command line while the server runs.
  Result p1 =
      Run({"provider", "add", "--data", data_, "--name", "One", "--json"});
  ASSERT_EQ(p1.code, 0) << p1.err;
  const std::string token1 = json::parse(p1.out)["token"];
  Reply p2 =
      Call(url, "POST", "/v1/admin/providers", admin, R"({"name": "Two"})");
  ASSERT_EQ(p2.status, 201);
  const std::string id2 = p2.Json()["provider_id"];
  const std::string token2 = p2.Json()["token"];
  // A provider reading an unknown citizen: 404 means the token was
  // accepted.
  const std::string path =
      "/v1/patients/c_00000000000000000000000000000000/records";
  EXPECT_EQ(Call(url, "GET", path, token1).status, 404);
  EXPECT_EQ(Call(url, "GET", path, token2).status, 404);

  Result revoke =
      Run({"token", "revoke", "--data", data_, "--stdin"}, token1 + "\n");
  ASSERT_EQ(revoke.code, 0) << revoke.err;
  EXPECT_EQ(revoke.out, "revoked 1 token(s)\n");
  EXPECT_EQ(Call(url, "GET", path, token1).status, 401);
  EXPECT_EQ(Call(url, "GET", path, token2).status, 404);

  Result again =
      Run({"token", "revoke", "--data", data_, "--stdin"}, token1 + "\n");
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already revoked"), std::string::npos) << again.err;
  Result unknown = Run({"token", "revoke", "--data", data_, "--stdin"},
                       "tlk_" + std::string(64, 'a') + "\n");
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("no such token"), std::string::npos)
      << unknown.err;
  EXPECT_EQ(unknown.err.find(std::string(64, 'a')), std::string::npos);

  Result all =
      Run({"token", "revoke", "--data", data_, "--principal", id2, "--json"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(json::parse(all.out)["revoked"], 1);
  EXPECT_EQ(Call(url, "GET", path, token2).status, 401);
  EXPECT_EQ(Stop(*server), 0);

  // The command line appended to the log the server was writing.
  Result list = Run({"audit", "list", "--data", data_, "--json"});
  ASSERT_EQ(list.code, 0) << list.err;
  int revokes = 0;
  for (const auto& entry : json::parse(list.out))
    revokes += entry["action"] == "token.revoke";
  EXPECT_EQ(revokes, 2);
  Result verify = Run({"audit", "verify", "--data", data_});
  EXPECT_EQ(verify.code, 0) << verify.out << verify.err;
}

TEST_F(ServeTest, RegistrationVerbs) {
  Init();
  Result keys = Run({"keygen", "--out", dir_ + "/r"});
  ASSERT_EQ(keys.code, 0) << keys.err;
  Result r =
      Run({"researcher", "add", "--data", data_, "--name", "Ada",
           "--organization", "Uppsala universitet", "--org-type", "academic",
           "--country", "SE", "--public-key", dir_ + "/r.pub", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json rj = json::parse(r.out);
  EXPECT_TRUE(StartsWith(rj["researcher_id"].get<std::string>(), "r_"))
      << r.out;
  EXPECT_TRUE(StartsWith(rj["token"].get<std::string>(), "tlk_")) << r.out;
  EXPECT_TRUE(rj["expires"].is_number()) << r.out;
  EXPECT_EQ(rj.size(), 3u);

  Result p =
      Run({"provider", "add", "--data", data_, "--name", "Clinic", "--json"});
  ASSERT_EQ(p.code, 0) << p.err;
  json pj = json::parse(p.out);
  EXPECT_TRUE(StartsWith(pj["provider_id"].get<std::string>(), "p_")) << p.out;
  EXPECT_TRUE(StartsWith(pj["token"].get<std::string>(), "tlk_"));
  EXPECT_TRUE(pj["expires"].is_number());
  Result a = Run({"auditor", "add", "--data", data_, "--name", "Inspector",
                  "--organization", "IVO", "--json"});
  ASSERT_EQ(a.code, 0) << a.err;
  json aj = json::parse(a.out);
  EXPECT_TRUE(StartsWith(aj["auditor_id"].get<std::string>(), "a_")) << a.out;
  EXPECT_TRUE(StartsWith(aj["token"].get<std::string>(), "tlk_"));

  // The tokens work against a server on the same data.
  Child* server = nullptr;
  const std::string url = Serve(&server);
  Reply entries =
      Call(url, "GET", "/v1/audit/entries", aj["token"].get<std::string>());
  EXPECT_EQ(entries.status, 200) << entries.body;
  std::set<std::string> actions;
  const json listed = entries.Json();
  for (const auto& e : listed["entries"]) actions.insert(e.value("action", ""));
  EXPECT_TRUE(actions.count("researcher.register")) << entries.body;
  EXPECT_TRUE(actions.count("provider.register")) << entries.body;
  EXPECT_TRUE(actions.count("auditor.register")) << entries.body;
  EXPECT_EQ(Stop(*server), 0);

  // A key that is not one.
  std::ofstream(dir_ + "/bad.pub") << "bm90IGEga2V5\n";
  Result bad = Run({"researcher", "add", "--data", data_, "--name", "Bo",
                    "--organization", "O", "--org-type", "academic",
                    "--country", "SE", "--public-key", dir_ + "/bad.pub"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("public_key"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out, "");
  Result missing_name = Run({"provider", "add", "--data", data_});
  EXPECT_EQ(missing_name.code, 2);
  EXPECT_NE(missing_name.err.find("--name"), std::string::npos);
}

// ---------------------------------------------------------------- TLS

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

PkeyPtr NewKey() { return PkeyPtr(EVP_EC_gen("prime256v1"), EVP_PKEY_free); }

// A self-signed X.509 v3 certificate for 127.0.0.1 (CN and
// subjectAltName), valid one day, signed by `key`.
bool WriteCertificate(EVP_PKEY* key, const std::string& path) {
  X509Ptr x(X509_new(), X509_free);
  if (!x || X509_set_version(x.get(), 2) != 1) return false;
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 24 * 3600);
  if (X509_set_pubkey(x.get(), key) != 1) return false;
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
  if (san == nullptr) return false;
  X509_add_ext(x.get(), san, -1);
  X509_EXTENSION_free(san);
  if (X509_sign(x.get(), key, EVP_sha256()) == 0) return false;
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok = PEM_write_X509(f, x.get()) == 1;
  return std::fclose(f) == 0 && ok;
}

bool WriteKey(EVP_PKEY* key, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok =
      PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  return std::fclose(f) == 0 && ok;
}

TEST_F(ServeTest, ServesHttpsWithACertificateAndKey) {
  Init();
  PkeyPtr key = NewKey(), other = NewKey();
  ASSERT_TRUE(key && other);
  const std::string cert = dir_ + "/cert.pem", key_file = dir_ + "/key.pem",
                    other_file = dir_ + "/other.pem";
  ASSERT_TRUE(WriteCertificate(key.get(), cert));
  ASSERT_TRUE(WriteKey(key.get(), key_file));
  ASSERT_TRUE(WriteKey(other.get(), other_file));

  Child* server = nullptr;
  const std::string url =
      Serve(&server, {"--tls-cert", cert, "--tls-key", key_file});
  ASSERT_TRUE(StartsWith(url, "https://127.0.0.1:")) << url;
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  {
    httplib::SSLClient cli("127.0.0.1", port);
    cli.set_ca_cert_path(cert.c_str());
    cli.enable_server_certificate_verification(true);
    auto res = cli.Get("/healthz");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    auto pub = cli.Get("/v1/audit/public-key");
    ASSERT_TRUE(pub);
    EXPECT_TRUE(StartsWith(pub->body, "tillit-audit+")) << pub->body;
  }
  {
    httplib::Client plain("127.0.0.1", port);  // no TLS: no answer
    auto res = plain.Get("/healthz");
    EXPECT_FALSE(res && res->status == 200);
  }
  EXPECT_EQ(Stop(*server), 0);

  Result mismatched = Run({"serve", "--data", data_, "--listen", "127.0.0.1:0",
                           "--tls-cert", cert, "--tls-key", other_file});
  EXPECT_EQ(mismatched.code, 1);
  EXPECT_NE(mismatched.err.find("TLS"), std::string::npos) << mismatched.err;
  EXPECT_EQ(mismatched.out, "");
  Result missing =
      Run({"serve", "--data", data_, "--listen", "127.0.0.1:0", "--tls-cert",
           dir_ + "/none.pem", "--tls-key", key_file});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("none.pem"), std::string::npos) << missing.err;
  std::ofstream(dir_ + "/garbage.pem") << "not a certificate\n";
  Result garbage =
      Run({"serve", "--data", data_, "--listen", "127.0.0.1:0", "--tls-cert",
           dir_ + "/garbage.pem", "--tls-key", key_file});
  EXPECT_EQ(garbage.code, 1);
  Result one = Run({"serve", "--data", data_, "--listen", "127.0.0.1:0",
                    "--tls-cert", cert});
  EXPECT_EQ(one.code, 2);
  EXPECT_NE(one.err.find("--tls-key"), std::string::npos) << one.err;
}

// --------------------------------------------------------------- demo

// Base64 of the public half of a fresh Ed25519 key: a device key for
// POST /v1/enroll.
std::string NewDevicePublicKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  unsigned char raw[32];
  size_t length = sizeof raw;
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), raw, &length) != 1 ||
      length != sizeof raw) {
    return "";
  }
  unsigned char text[64];
  const int n = EVP_EncodeBlock(text, raw, sizeof raw);
  return std::string(reinterpret_cast<const char*>(text), n);
}

// The one-time code in the demo's "Citizen web app:" line, after checking
// the rest of the line; "" if the line is not as promised.
std::string AppPairingCode(const std::string& line, const std::string& url) {
  const std::string head =
      "Citizen web app: " + url + "/app/  (pair this browser with code ";
  const std::string tail = ", valid 7 days)";
  if (!StartsWith(line, head) || line.size() <= head.size() + tail.size() ||
      line.compare(line.size() - tail.size(), tail.size(), tail) != 0) {
    return "";
  }
  return line.substr(head.size(), line.size() - head.size() - tail.size());
}

TEST_F(ServeTest, DemoServesWhatItPrints) {
  const std::string demo_dir = dir_ + "/demo";
  Child& demo = Spawn({"demo", "--data", demo_dir, "--citizens", "30",
                       "--listen", "127.0.0.1:0"});
  std::string url;
  std::map<std::string, std::string> tokens;
  std::vector<std::string> curl;
  std::vector<std::string> release;
  std::vector<std::string> phone;
  std::string verify;
  std::string app_line;
  std::string citizen_id;
  bool in_tokens = false, in_try = false, in_release = false, in_phone = false;
  for (;;) {
    auto line = ReadLine(demo);
    ASSERT_TRUE(line) << "the demo ended early: " << ReadAll(demo.err_path);
    if (StartsWith(*line, "Serving until")) break;
    if (StartsWith(*line, "Tokens, valid 7 days")) {
      in_tokens = true;
      continue;
    }
    if (StartsWith(*line, "listening on ")) {
      url = line->substr(13);
      in_tokens = false;
      continue;
    }
    if (StartsWith(*line, "Citizen web app: ")) {
      app_line = *line;
      continue;
    }
    if (StartsWith(*line, "Try (bash):")) {
      in_try = true;
      continue;
    }
    if (StartsWith(*line, "Make, download and open a research release")) {
      in_try = false;
      in_release = true;
      continue;
    }
    if (StartsWith(*line, "Pair a phone with the reference citizen app")) {
      in_release = false;
      in_phone = true;
      continue;
    }
    if (in_phone && StartsWith(*line, "  ")) {
      phone.push_back(line->substr(2));
    } else if (in_release && StartsWith(*line, "  ")) {
      release.push_back(line->substr(2));
    } else if (in_tokens && StartsWith(*line, "  ")) {
      std::istringstream words(*line);
      std::string role, token, id;
      words >> role >> token >> id;
      tokens[role] = token;
      if (role == "citizen" && id.size() > 2) {
        citizen_id = id.substr(1, id.size() - 2);  // "(c_…)"
      }
    } else if (in_try && StartsWith(*line, "  curl ")) {
      curl.push_back(line->substr(2));
    } else if (in_try && StartsWith(*line, "  ")) {
      verify = line->substr(2);
    }
  }
  ASSERT_TRUE(StartsWith(url, "http://127.0.0.1:")) << url;
  for (const char* role :
       {"admin", "citizen", "provider", "researcher", "auditor"}) {
    EXPECT_TRUE(StartsWith(tokens[role], "tlk_")) << role;
  }
  ASSERT_GE(curl.size(), 7u);
  ASSERT_LE(curl.size(), 9u);

  // Each curl line, read as bash would, then sent with httplib.
  std::set<std::string> seen;
  for (const std::string& line : curl) {
    std::vector<std::string> w = ShellWords(line);
    ASSERT_GE(w.size(), 3u) << "not pasteable into bash: " << line;
    EXPECT_EQ(w[0], "curl");
    EXPECT_EQ(w[1], "-sS");
    std::string token;
    size_t i = 2;
    if (w[i] == "-H") {
      ASSERT_TRUE(StartsWith(w[i + 1], "Authorization: Bearer ")) << line;
      token = w[i + 1].substr(22);
      i += 2;
    }
    std::string method = "GET", body;
    if (w[i] == "-H") {  // a POST: its content type, then its body
      ASSERT_EQ(w[i + 1], "Content-Type: application/json") << line;
      ASSERT_EQ(w[i + 2], "-d") << line;
      method = "POST";
      body = w[i + 3];
      i += 4;
    }
    ASSERT_EQ(i + 1, w.size()) << line;
    ASSERT_TRUE(StartsWith(w[i], url + "/")) << line;
    const std::string path = w[i].substr(url.size());
    Reply r = Call(url, method, path, token, body);
    EXPECT_EQ(r.status, 200) << line << "\n" << r.body;
    json j = r.Json();
    if (path == "/healthz") {
      seen.insert("healthz");
      EXPECT_TRUE(token.empty());
    } else if (path == "/v1/me/records?limit=2") {
      seen.insert("citizen");
      EXPECT_EQ(token, tokens["citizen"]);
      ASSERT_TRUE(j["records"].is_array()) << r.body;
      EXPECT_GE(j["records"].size(), 1u);
      EXPECT_LE(j["records"].size(), 2u);
      EXPECT_TRUE(j.contains("next"));
    } else if (StartsWith(path, "/v1/patients/c_")) {
      seen.insert("provider");
      EXPECT_EQ(token, tokens["provider"]);
      ASSERT_TRUE(j["records"].is_array()) << r.body;
      EXPECT_FALSE(j["records"].empty()) << r.body;
    } else if (method == "POST" && StartsWith(path, "/v1/studies/s_")) {
      // A differentially private aggregate over the demo's cohort.
      seen.insert("aggregate");
      EXPECT_EQ(token, tokens["researcher"]);
      EXPECT_EQ(j.value("mechanism", ""), "discrete Laplace") << r.body;
      ASSERT_TRUE(j["cells"].is_array()) << r.body;
      EXPECT_FALSE(j["cells"].empty()) << r.body;
      EXPECT_EQ(j["budget"]["total"], 3) << r.body;
    } else if (path == "/v1/me/privacy-budget") {
      seen.insert("privacy-budget");
      EXPECT_EQ(token, tokens["citizen"]);
      EXPECT_TRUE(j["studies"].is_array()) << r.body;
    } else if (StartsWith(path, "/v1/studies/s_")) {
      seen.insert("researcher");
      EXPECT_EQ(token, tokens["researcher"]);
      EXPECT_TRUE(j.contains("cohort_size")) << r.body;
    } else if (path == "/v1/audit/entries?limit=5") {
      seen.insert("auditor");
      EXPECT_EQ(token, tokens["auditor"]);
      ASSERT_TRUE(j["entries"].is_array()) << r.body;
      EXPECT_GE(j["entries"].size(), 1u);
      EXPECT_LE(j["entries"].size(), 5u);
    } else if (path == "/v1/audit/checkpoint") {
      seen.insert("checkpoint");
      EXPECT_TRUE(StartsWith(r.body, "tillit.health/audit\n")) << r.body;
    }
    // A URL with a query must be quoted for bash.
    if (path.find('?') != std::string::npos) {
      EXPECT_NE(line.find("'" + url), std::string::npos) << line;
    }
  }
  EXPECT_EQ(seen.size(), 8u);

  // The web app: its URL serves the app, and its code pairs a browser's
  // key with the demo citizen, once.
  {
    const std::string code = AppPairingCode(app_line, url);
    ASSERT_TRUE(StartsWith(code, "tlk_")) << "app line: " << app_line;
    Reply page = Call(url, "GET", "/app/");
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("<html"), std::string::npos) << page.body;
    const std::string key = NewDevicePublicKey();
    ASSERT_FALSE(key.empty());
    const json pair = {{"enrollment_code", code},
                       {"device_public_key", key},
                       {"device_name", "Browser"}};
    Reply paired = Call(url, "POST", "/v1/enroll", "", pair.dump());
    ASSERT_EQ(paired.status, 200) << paired.body;
    EXPECT_TRUE(StartsWith(citizen_id, "c_")) << citizen_id;
    EXPECT_EQ(paired.Json().value("citizen_id", ""), citizen_id);
    EXPECT_TRUE(StartsWith(paired.Json().value("device_id", ""), "d_"));
    EXPECT_EQ(Call(url, "POST", "/v1/enroll", "", pair.dump()).status, 401);
  }

  // The audit verification line works too.
  std::vector<std::string> v = ShellWords(verify);
  ASSERT_EQ(v.size(), 7u) << verify;
  EXPECT_EQ(v[0], kTillit);
  Result verified = Run(std::vector<std::string>(v.begin() + 1, v.end()));
  EXPECT_EQ(verified.code, 0) << verified.out << verified.err;

  // The release lines, pasted into bash as they are: a release of the
  // demo study is made, downloaded and opened with the demo key.
  ASSERT_EQ(release.size(), 3u);
  {
    std::string script = "set -e\n";
    for (const std::string& l : release) script += l + "\n";
    ASSERT_EQ(::access("/usr/bin/curl", X_OK), 0)
        << "the release lines need curl";
    const std::string script_path = dir_ + "/release.sh";
    std::ofstream(script_path) << script;
    const int rc = std::system(
        ("bash " + script_path + " > " + dir_ + "/release.out 2>&1").c_str());
    EXPECT_EQ(rc, 0) << ReadAll(dir_ + "/release.out") << "\n" << script;
    bool opened = false;
    for (const auto& e : fs::directory_iterator(demo_dir)) {
      const std::string name = e.path().filename().string();
      if (!StartsWith(name, "release-rel_")) continue;
      std::ifstream in(e.path() / "manifest.json");
      json manifest = json::parse(in, nullptr, false);
      ASSERT_TRUE(manifest.is_object()) << name;
      EXPECT_GE(manifest.value("cohort_size", 0), 1);
      // The demo study asks for vital signs and lab results.
      EXPECT_TRUE(fs::exists(e.path() / "Observation.ndjson"));
      opened = true;
    }
    EXPECT_TRUE(opened) << ReadAll(dir_ + "/release.out");
  }

  // The phone lines, pasted into bash as they are: the reference citizen
  // app pairs with the demo citizen's one-time code, queues a reading
  // offline, syncs it and verifies the access log.
  ASSERT_EQ(phone.size(), 4u);
  {
    std::string script = "set -e\n";
    for (const std::string& l : phone) script += l + "\n";
    const std::string script_path = dir_ + "/phone.sh";
    std::ofstream(script_path) << script;
    const int rc = std::system(
        ("bash " + script_path + " > " + dir_ + "/phone.out 2>&1").c_str());
    const std::string out = ReadAll(dir_ + "/phone.out");
    EXPECT_EQ(rc, 0) << out << "\n" << script;
    EXPECT_NE(out.find("\"sent\":1"), std::string::npos) << out;
    EXPECT_NE(out.find("\"verified\":true"), std::string::npos) << out;
  }

  // The researcher's demo key pair.
  struct stat st;
  ASSERT_EQ(::stat((demo_dir + "/demo-researcher.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(fs::exists(demo_dir + "/demo-researcher.pub"));

  EXPECT_EQ(Stop(demo), 0) << ReadAll(demo.err_path);
  EXPECT_EQ(ReadRest(demo), "stopped\n");

  // Again, with --json: the same vault and principals, fresh tokens.
  Child& again = Spawn({"demo", "--data", demo_dir, "--citizens", "30",
                        "--listen", "127.0.0.1:0", "--json", "--quiet"});
  auto line = ReadLine(again);
  ASSERT_TRUE(line) << ReadAll(again.err_path);
  json j = json::parse(*line, nullptr, false);
  ASSERT_TRUE(j.is_object()) << *line;
  EXPECT_EQ(j["resources_written"], 0);
  EXPECT_EQ(j["citizens"], 30);
  for (const char* role :
       {"admin", "citizen", "provider", "researcher", "auditor"}) {
    EXPECT_TRUE(StartsWith(j["tokens"].value(role, ""), "tlk_")) << role;
    EXPECT_NE(j["tokens"][role], tokens[role]) << role;
  }
  EXPECT_EQ(j["curl"].size(), curl.size());
  EXPECT_EQ(j["release"].size(), release.size());
  EXPECT_EQ(j["phone"].size(), phone.size());
  EXPECT_TRUE(StartsWith(j.value("enrollment_code", ""), "tlk_"));
  const std::string url2 = j["url"];
  ASSERT_TRUE(j["app"].is_object()) << *line;
  EXPECT_EQ(j["app"].value("url", ""), url2 + "/app/");
  EXPECT_TRUE(StartsWith(j["app"].value("pairing_code", ""), "tlk_"));
  EXPECT_NE(j["app"]["pairing_code"], j["enrollment_code"]);
  EXPECT_EQ(Call(url2, "GET", "/app/").status, 200);
  Reply mine = Call(url2, "GET", "/v1/me/records?limit=2",
                    j["tokens"]["citizen"].get<std::string>());
  EXPECT_EQ(mine.status, 200) << mine.body;
  Reply theirs =
      Call(url2, "GET",
           "/v1/patients/" + j["citizen_id"].get<std::string>() + "/records",
           j["tokens"]["provider"].get<std::string>());
  EXPECT_EQ(theirs.status, 200) << theirs.body;
  // The earlier run's tokens stay valid for their 7 days.
  EXPECT_EQ(
      Call(url2, "GET", "/v1/me/records?limit=2", tokens["citizen"]).status,
      200);
  EXPECT_EQ(Stop(again), 0);
  EXPECT_EQ(ReadRest(again), "");  // `stopped` goes to stderr with --json
  EXPECT_NE(ReadAll(again.err_path).find("stopped"), std::string::npos);
}

TEST_F(ServeTest, DemoNoServeExitsWithoutListening) {
  Result r =
      Run({"demo", "--data", dir_ + "/demo", "--citizens", "4", "--no-serve"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("listening on"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Tokens, valid 7 days"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" serve --data "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace tillit::testing
