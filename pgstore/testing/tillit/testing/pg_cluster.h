// PgCluster: a private PostgreSQL server for one test binary, in a
// temporary directory on a free loopback port, never the system's own.
//
// Made with the server programs of Debian's postgresql-15 (initdb,
// postgres, pg_isready; /usr/lib/postgresql/<version>/bin, or
// TILLIT_PG_BINDIR). The server is this process's child and is told to shut
// down at once if this process dies (PR_SET_PDEATHSIG), so a crashed test
// leaves no server behind. PostgreSQL refuses to run as root, so under root
// the cluster's files belong to, and its programs run as, the `postgres`
// system user the package creates. Trust authentication on loopback for
// the cluster's own superuser `tillit`: a test server only.
#ifndef TILLIT_TESTING_PG_CLUSTER_H_
#define TILLIT_TESTING_PG_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "tillit/base/status.h"

namespace tillit::testing {

class PgCluster {
 public:
  // initdb and start; the error says which step failed and its log. Tests
  // run with fsync off (a test cluster is thrown away, and is much faster
  // without); a benchmark of durable writes passes `durable`.
  static StatusOr<std::unique_ptr<PgCluster>> Start(bool durable = false);
  // Stops the server (fast) and removes the directory.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  // A libpq connection string for `database` as the superuser.
  std::string ConnInfo(const std::string& database = "postgres") const;
  // Creates an empty database.
  Status CreateDatabase(const std::string& name);
  // `name` as pg_dump writes it (plain SQL, stdout and stderr): what a
  // database administrator, or whoever holds a backup, can read.
  StatusOr<std::string> Dump(const std::string& name) const;

  // Stops the server: "fast" (clean) or "immediate" (as a crash: no
  // checkpoint, connections cut).
  Status Stop(const std::string& mode = "fast");
  // Starts it again on the same port.
  Status Restart();
  bool running() const { return running_; }

 private:
  PgCluster() = default;
  // Runs a server program (as `postgres` under root); its exit status, and
  // its output in `out`.
  Status RunProgram(const std::string& program,
                    const std::vector<std::string>& args,
                    std::string* out) const;
  Status StartServer();

  std::string bindir_;
  int pid_ = -1;     // the server's, while it runs
  std::string dir_;  // temporary; data/ and the socket directory in it
  int port_ = 0;
  bool durable_ = false;
  bool running_ = false;
  bool as_postgres_ = false;  // root: run the programs as `postgres`
};

// One server for a whole test binary, started on first use and stopped
// when the binary exits. A server that cannot start ends the binary with
// its reason on stderr.
class SharedPgCluster {
 public:
  static PgCluster& Get();
  // A new, empty database on it; its connection string (empty on an
  // error), and its name in `name` if given.
  static std::string NewDatabase(std::string* name = nullptr);
};

// A pg_dump's text with each bytea value (\x followed by hex digits)
// decoded, so that a value stored unsealed but hex-encoded is found as
// readily as text.
std::string DecodeByteaValues(const std::string& dump);

}  // namespace tillit::testing

#endif  // TILLIT_TESTING_PG_CLUSTER_H_
