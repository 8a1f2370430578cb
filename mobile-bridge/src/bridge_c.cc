// The extern "C" layer of tillit_bridge.h over tillit::bridge::Client.
//
// Every entry point catches everything: no C++ exception crosses the ABI
// (an unexpected one becomes "internal: ..."). Strings handed to the app
// are malloc'ed copies that tillit_bridge_free releases.
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <typeinfo>

#include "client.h"
#include "error.h"
#include "tillit_bridge.h"

using tillit::Status;
using tillit::StatusOr;
using tillit::bridge::BridgeError;
using tillit::bridge::Client;
using tillit::bridge::ClientOptions;
using tillit::bridge::ErrorCode;

struct tillit_options_t {
  std::string base_url;
  std::string state_dir;
  std::string audit_key;
  tillit_key_fn key_fn = nullptr;
  void* key_ctx = nullptr;
  int timeout_ms = 10000;
};

struct tillit_client_t {
  std::unique_ptr<Client> client;
};

namespace {

constexpr const char* kVersion = "0.1.0";

// A malloc'ed NUL-terminated copy; NULL when memory is exhausted.
char* CopyString(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) return nullptr;
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  return out;
}

// Replaces *errptr (freeing what it held) with `message`.
void SetError(char** errptr, const std::string& message) {
  if (errptr == nullptr) return;
  std::free(*errptr);
  *errptr = CopyString(message);
}

void SetError(char** errptr, const Status& status) {
  // Every Status from the Client is a bridge error; anything else is a
  // bug, reported as such.
  SetError(
      errptr,
      tillit::bridge::AsBridgeError(status, ErrorCode::kInternal).message());
}

// Runs `body` (returning StatusOr<std::string>) and hands its result to
// the app: the string, or NULL and *errptr.
template <typename Body>
char* Guard(char** errptr, Body&& body) {
  try {
    StatusOr<std::string> result = body();
    if (!result.ok()) {
      SetError(errptr, result.status());
      return nullptr;
    }
    char* out = CopyString(*result);
    if (out == nullptr) SetError(errptr, "internal: out of memory");
    return out;
  } catch (const std::bad_alloc&) {
    SetError(errptr, "internal: out of memory");
  } catch (const std::exception& e) {
    // The type only: a message such as a JSON parser's can quote its
    // input, which may be health data, and apps log error messages.
    SetError(errptr, std::string("internal: unexpected exception of type ") +
                         typeid(e).name());
  } catch (...) {
    SetError(errptr, "internal: unexpected exception");
  }
  return nullptr;
}

Status NoClient() {
  return BridgeError(ErrorCode::kInvalidArgument, "client: NULL");
}

Status NullArgument(const char* name) {
  return BridgeError(ErrorCode::kInvalidArgument, std::string(name) + ": NULL");
}

}  // namespace

extern "C" {

const char* tillit_bridge_version(void) { return kVersion; }

int tillit_bridge_abi_version(void) { return TILLIT_BRIDGE_ABI_VERSION; }

void tillit_bridge_free(void* ptr) { std::free(ptr); }

const char* tillit_error_code(const char* err) {
  if (err == nullptr)
    return tillit::bridge::ErrorCodeName(ErrorCode::kInternal);
  return tillit::bridge::ErrorCodeOfMessage(err);
}

tillit_options_t* tillit_options_create(void) {
  try {
    return new tillit_options_t();
  } catch (...) {
    return nullptr;
  }
}

void tillit_options_destroy(tillit_options_t* options) { delete options; }

void tillit_options_set_base_url(tillit_options_t* options, const char* url) {
  if (options == nullptr) return;
  try {
    options->base_url = url != nullptr ? url : "";
  } catch (...) {
    options->base_url.clear();
  }
}

void tillit_options_set_state_dir(tillit_options_t* options, const char* dir) {
  if (options == nullptr) return;
  try {
    options->state_dir = dir != nullptr ? dir : "";
  } catch (...) {
    options->state_dir.clear();
  }
}

void tillit_options_set_key_provider(tillit_options_t* options,
                                     tillit_key_fn fn, void* ctx) {
  if (options == nullptr) return;
  options->key_fn = fn;
  options->key_ctx = ctx;
}

void tillit_options_set_timeout_ms(tillit_options_t* options, int timeout_ms) {
  if (options == nullptr) return;
  options->timeout_ms = timeout_ms;
}

void tillit_options_set_audit_key(tillit_options_t* options,
                                  const char* verifier_key) {
  if (options == nullptr) return;
  try {
    options->audit_key = verifier_key != nullptr ? verifier_key : "";
  } catch (...) {
    options->audit_key.clear();
  }
}

tillit_client_t* tillit_client_open(const tillit_options_t* options,
                                    char** errptr) {
  try {
    if (options == nullptr) {
      SetError(errptr, NullArgument("options"));
      return nullptr;
    }
    ClientOptions o;
    o.base_url = options->base_url;
    o.state_dir = options->state_dir;
    o.audit_key = options->audit_key;
    o.timeout_ms = options->timeout_ms;
    if (options->key_fn != nullptr) {
      tillit_key_fn fn = options->key_fn;
      void* ctx = options->key_ctx;
      o.platform_keys = [fn, ctx](std::string_view name,
                                  std::span<uint8_t> key) {
        const std::string n(name);
        return fn(ctx, n.c_str(), key.data(), key.size()) == 0;
      };
    }
    StatusOr<std::unique_ptr<Client>> client = Client::Open(std::move(o));
    if (!client.ok()) {
      SetError(errptr, client.status());
      return nullptr;
    }
    auto* handle = new tillit_client_t();
    handle->client = std::move(client).value();
    return handle;
  } catch (...) {
    SetError(errptr, "internal: unexpected exception while opening");
    return nullptr;
  }
}

void tillit_client_close(tillit_client_t* client) {
  try {
    delete client;
  } catch (...) {
    // A destructor that throws is a bug; nothing can be reported here.
  }
}

char* tillit_client_status(tillit_client_t* client, char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->StatusJson();
  });
}

char* tillit_pair(tillit_client_t* client, const char* enrollment_code,
                  const char* device_name, char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    if (enrollment_code == nullptr) return NullArgument("enrollment_code");
    if (device_name == nullptr) return NullArgument("device_name");
    return client->client->Pair(enrollment_code, device_name);
  });
}

int tillit_unpair(tillit_client_t* client, char** errptr) {
  char* done = Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    Status s = client->client->Unpair();
    if (!s.ok()) return s;
    return std::string("ok");
  });
  if (done == nullptr) return 0;
  std::free(done);
  return 1;
}

char* tillit_list_records(tillit_client_t* client, const char* query_json,
                          char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->ListRecords(query_json);
  });
}

char* tillit_get_record(tillit_client_t* client, const char* type,
                        const char* id, char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    if (type == nullptr) return NullArgument("type");
    if (id == nullptr) return NullArgument("id");
    return client->client->GetRecord(type, id);
  });
}

char* tillit_add_record(tillit_client_t* client, const char* resource_json,
                        char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->AddRecord(resource_json);
  });
}

char* tillit_export(tillit_client_t* client, char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->Export();
  });
}

char* tillit_list_consents(tillit_client_t* client, char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->ListConsents();
  });
}

char* tillit_grant_consent(tillit_client_t* client, const char* grant_json,
                           char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->GrantConsent(grant_json);
  });
}

char* tillit_revoke_consent(tillit_client_t* client, const char* grant_id,
                            char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    if (grant_id == nullptr) return NullArgument("grant_id");
    return client->client->RevokeConsent(grant_id);
  });
}

char* tillit_preview_consent(tillit_client_t* client, const char* grant_json,
                             char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->PreviewConsent(grant_json);
  });
}

char* tillit_get_restrictions(tillit_client_t* client, char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->GetRestrictions();
  });
}

char* tillit_set_restrictions(tillit_client_t* client,
                              const char* restrictions_json, char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->SetRestrictions(restrictions_json);
  });
}

char* tillit_set_research_opt_out(tillit_client_t* client, int opted_out,
                                  char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->SetResearchOptOut(opted_out != 0);
  });
}

char* tillit_access_log(tillit_client_t* client, const char* query_json,
                        char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->AccessLog(query_json);
  });
}

char* tillit_list_devices(tillit_client_t* client, char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->ListDevices();
  });
}

char* tillit_revoke_device(tillit_client_t* client, const char* device_id,
                           char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    if (device_id == nullptr) return NullArgument("device_id");
    return client->client->RevokeDevice(device_id);
  });
}

char* tillit_call(tillit_client_t* client, const char* method, const char* path,
                  const char* body, size_t body_len, int* status_out,
                  char** errptr) {
  if (status_out != nullptr) *status_out = 0;
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    if (method == nullptr) return NullArgument("method");
    if (path == nullptr) return NullArgument("path");
    if (body == nullptr && body_len != 0) return NullArgument("body");
    return client->client->Call(
        method, path,
        body_len == 0 ? std::string_view() : std::string_view(body, body_len),
        status_out);
  });
}

char* tillit_queue_record(tillit_client_t* client, const char* resource_json,
                          char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->QueueRecord(resource_json);
  });
}

char* tillit_sync(tillit_client_t* client, char** errptr) {
  return Guard(errptr, [&]() -> StatusOr<std::string> {
    if (client == nullptr) return NoClient();
    return client->client->Sync();
  });
}

}  // extern "C"
