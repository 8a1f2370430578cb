#include "http_channel.h"

#include <httplib.h>
#include <strings.h>

#include <nlohmann/json.hpp>

#include "error.h"

namespace tillit::bridge {
namespace {

// "http://host[:port]" or "https://host[:port]", optionally with one "/".
bool IsBaseUrl(std::string_view url) {
  size_t rest = 0;
  if (url.rfind("http://", 0) == 0) {
    rest = 7;
  } else if (url.rfind("https://", 0) == 0) {
    rest = 8;
  } else {
    return false;
  }
  std::string_view authority = url.substr(rest);
  if (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
  if (authority.empty()) return false;
  for (char c : authority) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                    c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() &&
        ::strncasecmp(k.data(), name.data(), name.size()) == 0) {
      return v;
    }
  }
  return {};
}

HttpChannel::HttpChannel(std::unique_ptr<httplib::Client> client)
    : client_(std::move(client)) {}
HttpChannel::~HttpChannel() = default;

StatusOr<std::unique_ptr<HttpChannel>> HttpChannel::Create(
    const std::string& base_url, int timeout_ms) {
  if (!IsBaseUrl(base_url)) {
    return BridgeError(ErrorCode::kInvalidArgument,
                       "base_url: must be http://host:port or "
                       "https://host:port");
  }
  if (timeout_ms <= 0) {
    return BridgeError(ErrorCode::kInvalidArgument,
                       "timeout_ms: must be positive");
  }
  std::string url = base_url;
  if (url.back() == '/') url.pop_back();
  auto client = std::make_unique<httplib::Client>(url);
  if (!client->is_valid()) {
    return BridgeError(ErrorCode::kInvalidArgument,
                       "base_url: not usable (is TLS available?)");
  }
  const time_t sec = timeout_ms / 1000;
  const time_t usec = static_cast<time_t>(timeout_ms % 1000) * 1000;
  client->set_connection_timeout(sec, usec);
  client->set_read_timeout(sec, usec);
  client->set_write_timeout(sec, usec);
  client->set_url_encode(false);
  client->set_follow_location(false);
  // One connection for the client's calls (they are serialised), without
  // Nagle's delay on small requests.
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  return std::unique_ptr<HttpChannel>(new HttpChannel(std::move(client)));
}

StatusOr<HttpResponse> HttpChannel::Send(std::string_view method,
                                         const std::string& target,
                                         const HeaderList& headers,
                                         const std::string& body) {
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  auto send = [&]() -> httplib::Result {
    if (method == "GET") return client_->Get(target, h);
    if (method == "POST")
      return client_->Post(target, h, body, "application/json");
    if (method == "PUT")
      return client_->Put(target, h, body, "application/json");
    return body.empty() ? client_->Delete(target, h)
                        : client_->Delete(target, h, body, "application/json");
  };
  if (method != "GET" && method != "POST" && method != "PUT" &&
      method != "DELETE") {
    return BridgeError(ErrorCode::kInvalidArgument,
                       "method: must be GET, POST, PUT or DELETE");
  }
  httplib::Result res = send();
  if (!res) {
    return BridgeError(
        ErrorCode::kNetwork,
        "cannot reach the server (" + httplib::to_string(res.error()) + ")");
  }
  HttpResponse out;
  out.status = res->status;
  out.body = std::move(res->body);
  for (const auto& [k, v] : res->headers) out.headers.emplace_back(k, v);
  return out;
}

Status ServerError(const HttpResponse& response) {
  std::string code = "unknown";
  std::string message = "no error message";
  std::string request_id = response.Header("X-Request-Id");
  nlohmann::json j = nlohmann::json::parse(response.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const nlohmann::json& e = j["error"];
    if (e.contains("code") && e["code"].is_string()) code = e["code"];
    if (e.contains("message") && e["message"].is_string())
      message = e["message"];
    if (e.contains("request_id") && e["request_id"].is_string())
      request_id = e["request_id"];
  }
  ErrorCode bridge = ErrorCode::kServer;
  switch (response.status) {
    case 400:
    case 422:
      bridge = ErrorCode::kBadRequest;
      break;
    case 401:
      bridge = ErrorCode::kUnauthenticated;
      break;
    case 403:
      bridge = ErrorCode::kForbidden;
      break;
    case 404:
      bridge = ErrorCode::kNotFound;
      break;
    case 409:
      bridge = ErrorCode::kConflict;
      break;
    case 413:
      bridge = ErrorCode::kTooLarge;
      break;
    case 429:
      bridge = ErrorCode::kRateLimited;
      break;
    case 503:
      if (code == "audit_unavailable") bridge = ErrorCode::kAuditUnavailable;
      break;
    default:
      break;
  }
  if (message.size() > 512) message = message.substr(0, 512) + "…";
  if (code.size() > 64) code = code.substr(0, 64);
  if (request_id.size() > 64) request_id = request_id.substr(0, 64);
  std::string text =
      message + " (HTTP " + std::to_string(response.status) + " " + code;
  if (!request_id.empty()) text += ", request_id " + request_id;
  text += ")";
  return BridgeError(bridge, text);
}

}  // namespace tillit::bridge
