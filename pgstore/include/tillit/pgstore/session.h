// pgstore::Session: one connection that several objects of a process share
// (the registry, citizens' stores), one caller at a time, made again when
// the server has gone away (a restart, a failover).
//
// Every use goes through Run or Transact, which take the session's lock,
// connect if needed and hand the callable the connection:
//
//   return session.Transact([&](Connection& c) -> Status { ... });
//
// The callable returns Status or StatusOr<T>; a failure to connect (IoError)
// or to begin or commit is returned in its place. Transact commits only
// when the callable succeeded, and rolls back otherwise.
//
// Thread-safety: safe to call from several threads; callers queue on the
// lock. The callable must not call back into the same session.
#ifndef TILLIT_PGSTORE_SESSION_H_
#define TILLIT_PGSTORE_SESSION_H_

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/base/thread_annotations.h"
#include "tillit/pgstore/connection.h"

namespace tillit::pgstore {

class Session {
 public:
  // `conninfo` may name a password file, never hold a password that would
  // be shown; it is not connected until first used.
  explicit Session(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  template <typename Fn>
  std::invoke_result_t<Fn&, Connection&> Run(Fn&& fn) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    StatusOr<Connection*> c = ConnectedLocked();
    if (!c.ok()) return c.status();
    return fn(**c);
  }

  template <typename Fn>
  std::invoke_result_t<Fn&, Connection&> Transact(Fn&& fn) EXCLUDES(mu_) {
    using R = std::invoke_result_t<Fn&, Connection&>;
    return Run([&fn](Connection& c) -> R {
      StatusOr<Transaction> txn = Transaction::Begin(c);
      if (!txn.ok()) return txn.status();
      R result = fn(c);
      if (!result.ok()) return result;
      if (Status s = txn->Commit(); !s.ok()) return s;
      return result;
    });
  }

 private:
  StatusOr<Connection*> ConnectedLocked() REQUIRES(mu_);

  const std::string conninfo_;  // may name credentials: never shown
  Mutex mu_;
  std::unique_ptr<Connection> conn_ GUARDED_BY(mu_);
};

}  // namespace tillit::pgstore

#endif  // TILLIT_PGSTORE_SESSION_H_
