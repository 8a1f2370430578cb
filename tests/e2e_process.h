// What the end-to-end tests (e2e_serve_test.cc, e2e_cluster_test.cc) need
// to run the real `tillit` binary as a child process: spawn it, read its
// standard output line by line, wait for it within a bound, and call the
// server it runs over HTTP.
//
// Every wait is bounded by kPatienceMs, so that a broken server fails the
// test instead of hanging it.
//
// Thread-safety: ChildProcesses and a Child belong to the test's main
// thread; Call may be used from any thread.
#ifndef TILLIT_TESTS_E2E_PROCESS_H_
#define TILLIT_TESTS_E2E_PROCESS_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tillit::testing {

inline const std::string kTillit =
    std::string(TILLIT_BINARY_DIR) + "/cli/tillit";
// A bound on every wait, so that a broken server fails the test instead of
// hanging it. Never an assertion about speed.
inline constexpr int kPatienceMs = 60000;

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// A running (or finished) `tillit` process: standard output through a
// pipe, standard error to a file.
struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of the stdout pipe
  std::string pending;
  std::string err_path;
  std::optional<int> status;  // once reaped
};

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

// The next line of the child's standard output; nullopt at the end.
inline std::optional<std::string> ReadLine(Child& c) {
  for (;;) {
    const size_t nl = c.pending.find('\n');
    if (nl != std::string::npos) {
      std::string line = c.pending.substr(0, nl);
      c.pending.erase(0, nl + 1);
      return line;
    }
    pollfd p{c.out, POLLIN, 0};
    if (::poll(&p, 1, kPatienceMs) <= 0) {
      ADD_FAILURE() << "no output from the child";
      return std::nullopt;
    }
    char buf[4096];
    const ssize_t n = ::read(c.out, buf, sizeof buf);
    if (n <= 0) {
      if (c.pending.empty()) return std::nullopt;
      std::string rest = c.pending;
      c.pending.clear();
      return rest;
    }
    c.pending.append(buf, static_cast<size_t>(n));
  }
}

// Everything left on the child's standard output.
inline std::string ReadRest(Child& c) {
  std::string all;
  while (auto line = ReadLine(c)) all += *line + "\n";
  return all;
}

// Waits for the child to exit; its exit status, or -1 if killed by a
// signal (or when it would not exit).
inline int Wait(Child& c) {
  if (!c.status) {
    for (int waited = 0;; waited += 10) {
      int st = 0;
      if (::waitpid(c.pid, &st, WNOHANG) == c.pid) {
        c.status = st;
        break;
      }
      if (waited > kPatienceMs) {
        ADD_FAILURE() << "the child did not exit";
        ::kill(c.pid, SIGKILL);
        ::waitpid(c.pid, &st, 0);
        c.status = st;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return WIFEXITED(*c.status) ? WEXITSTATUS(*c.status) : -1;
}

// Sends `sig` and returns the exit status.
inline int Stop(Child& c, int sig = SIGTERM) {
  ::kill(c.pid, sig);
  return Wait(c);
}

// The URL of `tillit serve` (or `demo`) from its first line, `listening on
// <url>`; "" (and a failure naming its stderr) if that line does not come.
inline std::string ListeningUrl(Child& c) {
  auto line = ReadLine(c);
  if (!line || !StartsWith(*line, "listening on ")) {
    ADD_FAILURE() << "no `listening on` line; stderr: " << ReadAll(c.err_path);
    return "";
  }
  return line->substr(std::string("listening on ").size());
}

// The `tillit` processes of one test, each with its standard error in a
// file of `dir`. Those still running at the end are killed (SIGKILL) and
// reaped.
class ChildProcesses {
 public:
  explicit ChildProcesses(std::string dir) : dir_(std::move(dir)) {}
  ChildProcesses(const ChildProcesses&) = delete;
  ChildProcesses& operator=(const ChildProcesses&) = delete;
  ~ChildProcesses() {
    for (auto& c : children_) {
      if (!c->status) {
        ::kill(c->pid, SIGKILL);
        int st = 0;
        ::waitpid(c->pid, &st, 0);
      }
      if (c->out >= 0) ::close(c->out);
    }
  }

  // Starts `tillit ARGS...` with `stdin_text` on its standard input.
  Child& Spawn(const std::vector<std::string>& args,
               const std::string& stdin_text = "") {
    auto child = std::make_unique<Child>();
    child->err_path =
        dir_ + "/stderr-" + std::to_string(children_.size()) + ".txt";
    int out[2], in[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    std::vector<std::string> argv_s = {kTillit};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int err =
          ::open(child->err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    child->pid = pid;
    child->out = out[0];
    if (!stdin_text.empty()) {
      EXPECT_EQ(::write(in[1], stdin_text.data(), stdin_text.size()),
                static_cast<ssize_t>(stdin_text.size()));
    }
    ::close(in[1]);
    children_.push_back(std::move(child));
    return *children_.back();
  }

  // Runs a verb to completion.
  Result Run(const std::vector<std::string>& args,
             const std::string& stdin_text = "") {
    Child& c = Spawn(args, stdin_text);
    Result r;
    r.out = ReadRest(c);
    r.code = Wait(c);
    r.err = ReadAll(c.err_path);
    return r;
  }

 private:
  const std::string dir_;
  std::vector<std::unique_ptr<Child>> children_;
};

struct Reply {
  int status = 0;  // 0: no answer
  std::string body;
  nlohmann::json Json() const {
    return nlohmann::json::parse(body, nullptr, false);
  }
};

// One request on a connection of its own; `token` as a bearer token, a
// JSON `body` for POST, PUT and DELETE.
inline Reply Call(const std::string& url, const std::string& method,
                  const std::string& path, const std::string& token = "",
                  const std::string& body = "") {
  httplib::Client cli(url);
  cli.set_read_timeout(60, 0);
  httplib::Headers h;
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  const std::string type = "application/json";
  if (method != "GET" && method != "POST" && method != "PUT" &&
      method != "DELETE") {
    ADD_FAILURE() << method;
    return {};
  }
  httplib::Result res = [&] {
    if (method == "GET") return cli.Get(path, h);
    if (method == "POST") return cli.Post(path, h, body, type);
    if (method == "PUT") return cli.Put(path, h, body, type);
    if (body.empty()) return cli.Delete(path, h);
    return cli.Delete(path, h, body, type);
  }();
  if (!res) return {};
  return {res->status, res->body};
}

}  // namespace tillit::testing

#endif  // TILLIT_TESTS_E2E_PROCESS_H_
