// HttpChannel: one server's HTTP(S) endpoint as the bridge talks to it.
//
// Sends a request target exactly as given (no re-encoding, so what was
// signed is what goes on the wire), with connection, read and write
// timeouts. A transport failure (refused, reset, timed out, TLS) is a
// network bridge error; any HTTP answer is returned, whatever its status;
// ServerError() turns a status of 400 and above into the bridge error the
// header names.
//
// Thread-safety: not synchronised; one request at a time (the Client
// serialises calls).
#ifndef TILLIT_MOBILE_BRIDGE_HTTP_CHANNEL_H_
#define TILLIT_MOBILE_BRIDGE_HTTP_CHANNEL_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tillit/base/status.h"

namespace httplib {
class Client;
}

namespace tillit::bridge {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string body;
  HeaderList headers;
  // The first value of header `name` (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

class HttpChannel {
 public:
  // `base_url` is "http://host[:port]" or "https://host[:port]" (a trailing
  // "/" is allowed, a path is not); invalid_argument otherwise.
  static StatusOr<std::unique_ptr<HttpChannel>> Create(
      const std::string& base_url, int timeout_ms);
  ~HttpChannel();
  HttpChannel(const HttpChannel&) = delete;
  HttpChannel& operator=(const HttpChannel&) = delete;

  // `method` is GET, POST, PUT or DELETE; `target` a path and query as
  // sent. A non-empty body goes with Content-Type application/json.
  StatusOr<HttpResponse> Send(std::string_view method,
                              const std::string& target,
                              const HeaderList& headers,
                              const std::string& body);

 private:
  explicit HttpChannel(std::unique_ptr<httplib::Client> client);
  std::unique_ptr<httplib::Client> client_;
};

// The bridge error for an answer with status >= 400: unauthenticated (401),
// forbidden (403), not_found (404), conflict (409), too_large (413),
// rate_limited (429), audit_unavailable (503 with that server code),
// otherwise server. The text carries the server's code, message and
// request id.
Status ServerError(const HttpResponse& response);

}  // namespace tillit::bridge

#endif  // TILLIT_MOBILE_BRIDGE_HTTP_CHANNEL_H_
