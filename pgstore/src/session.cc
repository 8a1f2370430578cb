#include "tillit/pgstore/session.h"

namespace tillit::pgstore {

StatusOr<Connection*> Session::ConnectedLocked() {
  if (conn_ == nullptr || !conn_->ok()) {
    conn_.reset();
    TILLIT_ASSIGN_OR_RETURN(conn_, Connection::Open(conninfo_));
  }
  return conn_.get();
}

}  // namespace tillit::pgstore
