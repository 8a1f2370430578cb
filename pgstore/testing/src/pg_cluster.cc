#include "tillit/testing/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace tillit::testing {
namespace {

namespace fs = std::filesystem;

// The bin directory of the newest PostgreSQL installed the Debian way.
std::string FindBinDir() {
  if (const char* env = std::getenv("TILLIT_PG_BINDIR")) return env;
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/usr/lib/postgresql", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const int version = std::atoi(name.c_str());
    std::error_code exists_ec;
    if (version > best_version &&
        fs::exists(it->path() / "bin" / "initdb", exists_ec)) {
      best_version = version;
      best = (it->path() / "bin").string();
    }
  }
  return best;
}

// A loopback port nothing listens on now.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string Tail(const std::string& path, size_t max = 2000) {
  std::ifstream in(path);
  std::string text{std::istreambuf_iterator<char>(in),
                   std::istreambuf_iterator<char>()};
  return text.size() > max ? text.substr(text.size() - max) : text;
}

std::unique_ptr<PgCluster>& Shared() {
  static std::unique_ptr<PgCluster> cluster;
  return cluster;
}

}  // namespace

StatusOr<std::unique_ptr<PgCluster>> PgCluster::Start(bool durable) {
  std::unique_ptr<PgCluster> c(new PgCluster());
  c->durable_ = durable;
  c->bindir_ = FindBinDir();
  if (c->bindir_.empty()) {
    return Status::FailedPrecondition(
        "no PostgreSQL server programs in /usr/lib/postgresql/*/bin "
        "(install postgresql-15: ./dev deps)");
  }
  std::string tmpl = (fs::temp_directory_path() / "tillit-pg-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return Status::IoError("cannot make a temporary directory");
  }
  c->dir_ = tmpl;
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return Status::FailedPrecondition(
          "PostgreSQL will not run as root and there is no `postgres` user "
          "(the postgresql package makes it)");
    }
    if (chown(c->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return Status::IoError(
          "cannot give the test cluster's directory to the postgres user");
    }
    c->as_postgres_ = true;
  }
  std::string out;
  Status s = c->RunProgram(
      "initdb",
      {"-D", c->dir_ + "/data", "-U", "tillit", "-A", "trust", "-E", "UTF8",
       "--locale=C", "--no-sync", "--no-instructions"},
      &out);
  if (!s.ok()) return Status(s.code(), "initdb: " + s.message() + "\n" + out);
  for (int attempt = 0; attempt < 3; ++attempt) {
    c->port_ = FreePort();
    s = c->StartServer();
    if (s.ok()) return c;
  }
  return s;
}

PgCluster::~PgCluster() {
  if (running_) (void)Stop("immediate");
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string PgCluster::ConnInfo(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) +
         " user=tillit connect_timeout=5 dbname=" + database;
}

Status PgCluster::CreateDatabase(const std::string& name) {
  std::string out;
  Status s = RunProgram(
      "createdb",
      {"-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "tillit", name},
      &out);
  if (!s.ok()) return Status(s.code(), "createdb: " + out);
  return s;
}

StatusOr<std::string> PgCluster::Dump(const std::string& name) const {
  std::string out;
  Status s = RunProgram("pg_dump",
                        {"-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
                         "tillit", "--no-owner", name},
                        &out);
  if (!s.ok()) return Status(s.code(), "pg_dump: " + out.substr(0, 500));
  return out;
}

Status PgCluster::StartServer() {
  const std::string path = bindir_ + "/postgres";
  std::vector<std::string> args = {path,
                                   "-D",
                                   dir_ + "/data",
                                   "-p",
                                   std::to_string(port_),
                                   "-c",
                                   "listen_addresses=127.0.0.1",
                                   "-k",
                                   dir_,
                                   "-c",
                                   "max_connections=200"};
  if (!durable_) {
    for (const char* o : {"fsync=off", "full_page_writes=off"}) {
      args.push_back("-c");
      args.push_back(o);
    }
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = dir_ + "/server.log";
  const passwd* pw = as_postgres_ ? getpwnam("postgres") : nullptr;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return Status::IoError("fork");
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) _exit(126);
    if (pw != nullptr && fchown(fd, pw->pw_uid, pw->pw_gid) != 0) _exit(126);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (chdir(dir_.c_str()) != 0) _exit(126);
    if (pw != nullptr) {
      if (setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 ||
          setuid(pw->pw_uid) != 0) {
        _exit(126);
      }
    }
    // Set after the change of user, which clears it. SIGQUIT is
    // PostgreSQL's immediate shutdown.
    if (prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || getppid() != parent) {
      _exit(126);
    }
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  pid_ = pid;
  running_ = true;
  // Ready when pg_isready says so (within 60 s).
  for (int i = 0; i < 600; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      running_ = false;
      return Status::Internal("postgres exited at start:\n" + Tail(log));
    }
    std::string out;
    if (RunProgram(
            "pg_isready",
            {"-q", "-h", "127.0.0.1", "-p", std::to_string(port_), "-t", "1"},
            &out)
            .ok()) {
      return Status::Ok();
    }
    usleep(100 * 1000);
  }
  (void)Stop("immediate");
  return Status::Internal("postgres did not become ready:\n" + Tail(log));
}

Status PgCluster::Stop(const std::string& mode) {
  if (pid_ <= 0) {
    running_ = false;
    return Status::Ok();
  }
  // SIGINT: fast shutdown; SIGQUIT: immediate (no checkpoint, as a crash).
  const int sig = mode == "immediate" ? SIGQUIT : SIGINT;
  if (kill(pid_, sig) != 0) return Status::Internal("cannot signal postgres");
  int status = 0;
  if (waitpid(pid_, &status, 0) < 0) return Status::Internal("waitpid");
  pid_ = -1;
  running_ = false;
  return Status::Ok();
}

Status PgCluster::Restart() { return StartServer(); }

Status PgCluster::RunProgram(const std::string& program,
                             const std::vector<std::string>& args,
                             std::string* out) const {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::IoError("pipe");
  const std::string path = bindir_ + "/" + program;
  std::vector<std::string> argv_text = {path};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  const passwd* pw = as_postgres_ ? getpwnam("postgres") : nullptr;
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return Status::IoError("fork");
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    if (chdir(dir_.c_str()) != 0) _exit(126);
    if (pw != nullptr) {
      if (setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 ||
          setuid(pw->pw_uid) != 0) {
        _exit(126);
      }
    }
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return Status::IoError("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Internal(program + " failed (status " +
                            std::to_string(WEXITSTATUS(status)) + ")");
  }
  return Status::Ok();
}

// ------------------------------------------------------------------- shared

PgCluster& SharedPgCluster::Get() {
  std::unique_ptr<PgCluster>& c = Shared();
  if (c == nullptr) {
    auto started = PgCluster::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "cannot start a test PostgreSQL server: %s\n",
                   started.status().ToString().c_str());
      std::exit(1);
    }
    c = std::move(started).value();
  }
  return *c;
}

std::string SharedPgCluster::NewDatabase(std::string* name_out) {
  static int next = 0;
  PgCluster& c = Get();
  if (!c.running() && !c.Restart().ok()) return "";
  const std::string name =
      "t" + std::to_string(getpid()) + "_" + std::to_string(++next);
  if (!c.CreateDatabase(name).ok()) return "";
  if (name_out != nullptr) *name_out = name;
  return c.ConnInfo(name);
}

std::string DecodeByteaValues(const std::string& dump) {
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  };
  auto val = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  out.reserve(dump.size());
  for (size_t i = 0; i < dump.size();) {
    if (dump.compare(i, 2, "\\x") == 0 && i + 3 < dump.size() &&
        hex(dump[i + 2]) && hex(dump[i + 3])) {
      i += 2;
      while (i + 1 < dump.size() && hex(dump[i]) && hex(dump[i + 1])) {
        out.push_back(static_cast<char>(val(dump[i]) * 16 + val(dump[i + 1])));
        i += 2;
      }
      continue;
    }
    out.push_back(dump[i++]);
  }
  return out;
}

}  // namespace tillit::testing
