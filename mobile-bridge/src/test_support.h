// Helpers for the bridge's tests: a platform key provider with fixed
// random keys and a failure switch, a wrapper that turns the C API's
// (string, errptr) pairs into values, temporary directories, and a real
// `tillit serve` child process.
//
// Thread-safety: test-thread only, except TestKeys (the bridge may call it
// from any thread).
#ifndef TILLIT_MOBILE_BRIDGE_TEST_SUPPORT_H_
#define TILLIT_MOBILE_BRIDGE_TEST_SUPPORT_H_

#include <sys/types.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tillit_bridge.h"

namespace tillit::bridge::testing {

using nlohmann::json;

// Platform keys for one simulated phone.
struct TestKeys {
  TestKeys();  // fresh random keys
  unsigned char device[32];
  unsigned char queue[32];
  std::atomic<bool> fail{false};         // every call fails
  std::atomic<bool> fail_device{false};  // only "device-key" fails
  std::atomic<int> calls{0};
  std::string DeviceHex() const;
  std::string QueueHex() const;
};
// A tillit_key_fn over a TestKeys (ctx).
int ProvideTestKey(void* ctx, const char* name, unsigned char* key,
                   size_t key_len);

// What a C call returned.
struct Outcome {
  bool ok = false;
  std::string value;  // the returned string
  std::string error;  // the error message
  std::string code;   // tillit_error_code(error)
  json Json() const { return json::parse(value, nullptr, false); }
};
// Takes ownership of `result` and `err` (both may be NULL).
Outcome Take(char* result, char* err);

// The outcome of a C call written with `&err` as its errptr.
#define CALL(...)               \
  ([&] {                        \
    char* err = nullptr;        \
    char* result = __VA_ARGS__; \
    return Take(result, err);   \
  }())

// A heart-rate Observation whose value is `marker`, so each one can be
// found again.
std::string HeartRate(int marker);

// One tillit_client_t.
class Bridge {
 public:
  Bridge(const std::string& url, const std::string& state_dir, TestKeys* keys,
         const std::string& audit_key = "", int timeout_ms = 5000);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  tillit_client_t* get() const { return client_; }
  const Outcome& open_outcome() const { return open_; }

  Outcome Status();
  Outcome Pair(const std::string& code, const std::string& name = "Test phone");
  Outcome Unpair();
  Outcome ListRecords(const char* query);
  Outcome AddRecord(const std::string& resource);
  Outcome QueueRecord(const std::string& resource);
  Outcome Sync();
  Outcome AccessLog(const char* query);
  Outcome Restrictions();

 private:
  tillit_client_t* client_ = nullptr;
  Outcome open_;
};

// A private directory removed with everything in it at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process started with fork/exec.
struct ChildProcess {
  pid_t pid = -1;
  int stdout_fd = -1;
  std::string pending;
};
// Starts `argv` with `env` added to the environment; stdout through a
// pipe, stderr to `stderr_path`.
ChildProcess Spawn(const std::vector<std::string>& argv,
                   const std::vector<std::string>& env,
                   const std::string& stderr_path);
// Waits for exit; the exit code, or -1 when killed by a signal.
int WaitFor(ChildProcess& child);

// `tillit init` then `tillit serve` on a data directory.
class TillitServer {
 public:
  explicit TillitServer(const std::string& dir);
  ~TillitServer();

  // Starts serving (returns false with a test failure on error).
  bool Start();
  // SIGTERM, then waits for the exit.
  void Stop();
  const std::string& url() const { return url_; }
  const std::string& data_dir() const { return data_; }

  struct Reply {
    int status = 0;
    std::string body;
    json Json() const { return json::parse(body, nullptr, false); }
  };
  Reply Admin(const std::string& method, const std::string& path,
              const std::string& body = "");
  // A new citizen: {citizen_id, enrollment_code}.
  std::pair<std::string, std::string> NewCitizen();
  std::string NewEnrollmentCode(const std::string& citizen_id);
  int64_t AuditEntries();

 private:
  std::string dir_, data_, admin_token_, url_;
  ChildProcess child_;
  bool running_ = false;
  int starts_ = 0;
};

}  // namespace tillit::bridge::testing

#endif  // TILLIT_MOBILE_BRIDGE_TEST_SUPPORT_H_
