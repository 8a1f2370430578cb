#include "test_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/random.h"

namespace tillit::bridge::testing {
namespace {

const std::string kTillit = std::string(TILLIT_BINARY_DIR) + "/cli/tillit";
constexpr int kPatienceMs = 60000;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The next line of `c`'s standard output; "" at the end or on timeout.
std::string ReadLine(ChildProcess& c) {
  for (;;) {
    const size_t nl = c.pending.find('\n');
    if (nl != std::string::npos) {
      std::string line = c.pending.substr(0, nl);
      c.pending.erase(0, nl + 1);
      return line;
    }
    pollfd p{c.stdout_fd, POLLIN, 0};
    if (::poll(&p, 1, kPatienceMs) <= 0) return "";
    char buf[4096];
    const ssize_t n = ::read(c.stdout_fd, buf, sizeof buf);
    if (n <= 0) {
      std::string rest = std::move(c.pending);
      c.pending.clear();
      return rest;
    }
    c.pending.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

TestKeys::TestKeys() {
  crypto::Random::System().Fill(device);
  crypto::Random::System().Fill(queue);
}
std::string TestKeys::DeviceHex() const { return crypto::HexEncode(device); }
std::string TestKeys::QueueHex() const { return crypto::HexEncode(queue); }

int ProvideTestKey(void* ctx, const char* name, unsigned char* key,
                   size_t key_len) {
  auto* keys = static_cast<TestKeys*>(ctx);
  ++keys->calls;
  if (keys->fail || key_len != 32) return 1;
  if (std::strcmp(name, "device-key") == 0) {
    if (keys->fail_device) return 1;
    std::memcpy(key, keys->device, 32);
    return 0;
  }
  if (std::strcmp(name, "queue") == 0) {
    std::memcpy(key, keys->queue, 32);
    return 0;
  }
  return 1;
}

Outcome Take(char* result, char* err) {
  Outcome o;
  o.ok = result != nullptr;
  if (result != nullptr) o.value = result;
  if (err != nullptr) o.error = err;
  o.code = o.ok ? "" : tillit_error_code(err);
  tillit_bridge_free(result);
  tillit_bridge_free(err);
  return o;
}

Bridge::Bridge(const std::string& url, const std::string& state_dir,
               TestKeys* keys, const std::string& audit_key, int timeout_ms) {
  tillit_options_t* o = tillit_options_create();
  tillit_options_set_base_url(o, url.c_str());
  tillit_options_set_state_dir(o, state_dir.c_str());
  tillit_options_set_key_provider(o, ProvideTestKey, keys);
  tillit_options_set_timeout_ms(o, timeout_ms);
  if (!audit_key.empty()) tillit_options_set_audit_key(o, audit_key.c_str());
  char* err = nullptr;
  client_ = tillit_client_open(o, &err);
  tillit_options_destroy(o);
  open_ = Take(nullptr, err);
  open_.ok = client_ != nullptr;
}

Bridge::~Bridge() { tillit_client_close(client_); }

#define BRIDGE_CALL(expr) \
  char* err = nullptr;    \
  char* result = (expr);  \
  return Take(result, err)

Outcome Bridge::Status() { BRIDGE_CALL(tillit_client_status(client_, &err)); }
Outcome Bridge::Pair(const std::string& code, const std::string& name) {
  BRIDGE_CALL(tillit_pair(client_, code.c_str(), name.c_str(), &err));
}
Outcome Bridge::Unpair() {
  char* err = nullptr;
  const int ok = tillit_unpair(client_, &err);
  Outcome o = Take(nullptr, err);
  o.ok = ok == 1;
  return o;
}
Outcome Bridge::ListRecords(const char* query) {
  BRIDGE_CALL(tillit_list_records(client_, query, &err));
}
Outcome Bridge::AddRecord(const std::string& resource) {
  BRIDGE_CALL(tillit_add_record(client_, resource.c_str(), &err));
}
Outcome Bridge::QueueRecord(const std::string& resource) {
  BRIDGE_CALL(tillit_queue_record(client_, resource.c_str(), &err));
}
Outcome Bridge::Sync() { BRIDGE_CALL(tillit_sync(client_, &err)); }
Outcome Bridge::AccessLog(const char* query) {
  BRIDGE_CALL(tillit_access_log(client_, query, &err));
}
Outcome Bridge::Restrictions() {
  BRIDGE_CALL(tillit_get_restrictions(client_, &err));
}

TempDir::TempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "tillit-bridge-XXXXXX")
          .string();
  path_ = ::mkdtemp(tmpl.data());
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ChildProcess Spawn(const std::vector<std::string>& args,
                   const std::vector<std::string>& env,
                   const std::string& stderr_path) {
  ChildProcess child;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return child;
  std::vector<std::string> args_copy = args;
  std::vector<char*> argv;
  for (auto& a : args_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy = env;
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (auto& e : env_copy) ::putenv(e.data());
    const int err =
        ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int null_in = ::open("/dev/null", O_RDONLY);
    ::dup2(null_in, 0);
    ::dup2(out[1], 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  child.pid = pid;
  child.stdout_fd = out[0];
  return child;
}

int WaitFor(ChildProcess& child) {
  int st = 0;
  for (int waited = 0;; waited += 10) {
    if (::waitpid(child.pid, &st, WNOHANG) == child.pid) break;
    if (waited > kPatienceMs) {
      ADD_FAILURE() << "a child process did not exit";
      ::kill(child.pid, SIGKILL);
      ::waitpid(child.pid, &st, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (child.stdout_fd >= 0) ::close(child.stdout_fd);
  child.stdout_fd = -1;
  child.pid = -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TillitServer::TillitServer(const std::string& dir)
    : dir_(dir), data_(dir + "/data") {
  ChildProcess init = Spawn({kTillit, "init", "--data", data_, "--json"}, {},
                            dir_ + "/init.err");
  std::string out;
  for (std::string line; !(line = ReadLine(init)).empty();) out += line;
  const int code = WaitFor(init);
  EXPECT_EQ(code, 0) << ReadAll(dir_ + "/init.err");
  admin_token_ = json::parse(out, nullptr, false).value("admin_token", "");
  EXPECT_FALSE(admin_token_.empty()) << out;
}

TillitServer::~TillitServer() {
  if (running_) Stop();
}

bool TillitServer::Start() {
  const std::string err = dir_ + "/serve-" + std::to_string(starts_++) + ".err";
  child_ = Spawn({kTillit, "serve", "--data", data_, "--listen", "127.0.0.1:0",
                  "--quiet", "--rate", "0"},
                 {}, err);
  const std::string line = ReadLine(child_);
  const std::string prefix = "listening on ";
  if (line.rfind(prefix, 0) != 0) {
    ADD_FAILURE() << "tillit serve did not start: " << ReadAll(err);
    ::kill(child_.pid, SIGKILL);
    WaitFor(child_);
    return false;
  }
  url_ = line.substr(prefix.size());
  running_ = true;
  return true;
}

void TillitServer::Stop() {
  if (!running_) return;
  ::kill(child_.pid, SIGTERM);
  EXPECT_EQ(WaitFor(child_), 0);
  running_ = false;
}

TillitServer::Reply TillitServer::Admin(const std::string& method,
                                        const std::string& path,
                                        const std::string& body) {
  httplib::Client cli(url_);
  cli.set_read_timeout(60, 0);
  httplib::Headers h = {{"Authorization", "Bearer " + admin_token_}};
  httplib::Result res =
      method == "GET"
          ? cli.Get(path, h)
          : cli.Post(path, h, body.empty() ? "{}" : body, "application/json");
  if (!res) return {};
  return {res->status, res->body};
}

std::pair<std::string, std::string> TillitServer::NewCitizen() {
  Reply r = Admin("POST", "/v1/admin/citizens");
  EXPECT_EQ(r.status, 201) << r.body;
  json j = r.Json();
  return {j.value("citizen_id", ""), j.value("enrollment_code", "")};
}

std::string TillitServer::NewEnrollmentCode(const std::string& citizen_id) {
  Reply r =
      Admin("POST", "/v1/admin/citizens/" + citizen_id + "/enrollment-code");
  EXPECT_TRUE(r.status == 200 || r.status == 201) << r.body;
  return r.Json().value("enrollment_code", "");
}

int64_t TillitServer::AuditEntries() {
  httplib::Client cli(url_);
  auto res = cli.Get("/healthz");
  if (!res || res->status != 200) return -1;
  return json::parse(res->body, nullptr, false).value("audit_entries", -1);
}

std::string HeartRate(int marker) {
  return json{
      {"resourceType", "Observation"},
      {"status", "final"},
      {"category",
       {{{"coding",
          {{{"system",
             "http://terminology.hl7.org/CodeSystem/"
             "observation-category"},
            {"code", "vital-signs"}}}}}}},
      {"code",
       {{"coding", {{{"system", "http://loinc.org"}, {"code", "8867-4"}}}}}},
      {"effectiveDateTime", "2024-05-01T08:00:00Z"},
      {"valueQuantity", {{"value", marker}, {"unit", "/min"}}}}
      .dump();
}

}  // namespace tillit::bridge::testing
