// The mobile bridge's costs (docs/MOBILE_BRIDGE.md):
//
//  1. Signed-request overhead: one citizen reads one record over one
//     keep-alive connection, alternately with a bearer token and with a
//     paired device's RFC 9421 signature (same server, same run, requests
//     interleaved so both see the same machine). The signature path adds
//     signing on the client and, on the server, parsing, a device lookup,
//     Ed25519 verification and the nonce cache. A third series reads the
//     record through the bridge's C API (signing, HTTP and JSON handling of
//     the library included).
//  2. Offline queue: records queued with tillit_queue_record (encrypted
//     local store) and then sent by one tillit_sync, in records/s. Every
//     record is an audited, durable write on the server.
//
// The server runs in this process on loopback, with its own fresh vault.
//
// Run: build/bench/bridge_bench [--requests N] [--records N]
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tillit/api/server.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/random.h"
#include "tillit/http_signature/http_signature.h"
#include "tillit/vault/vault.h"
#include "tillit_bridge.h"

namespace {

using namespace tillit;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bridge_bench: %s\n", what.c_str());
  std::exit(1);
}

const char* kReading =
    R"({"resourceType":"Observation","status":"final",)"
    R"("code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},)"
    R"("effectiveDateTime":"2026-11-20T08:00:00Z",)"
    R"("valueQuantity":{"value":62,"unit":"/min"}})";

// The platform key store of the benchmark: fixed random keys by name.
unsigned char g_keys[2][32];
int KeyProvider(void*, const char* name, unsigned char* key, size_t len) {
  if (len != 32) return 1;
  const int which = std::strcmp(name, "queue") == 0 ? 1 : 0;
  std::memcpy(key, g_keys[which], 32);
  return 0;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

std::string Take(char* s) {
  std::string out = s ? s : "";
  tillit_bridge_free(s);
  return out;
}

tillit_client_t* OpenClient(const std::string& url, const std::string& dir) {
  tillit_options_t* o = tillit_options_create();
  tillit_options_set_base_url(o, url.c_str());
  tillit_options_set_state_dir(o, dir.c_str());
  tillit_options_set_key_provider(o, KeyProvider, nullptr);
  char* err = nullptr;
  tillit_client_t* c = tillit_client_open(o, &err);
  tillit_options_destroy(o);
  if (!c) Die("open: " + Take(err));
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  int requests = 2000;
  int records = 1000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--requests" || a == "--records") && i + 1 < argc) {
      const int v = std::atoi(argv[++i]);
      if (v < 10 || v > 1000000) Die(a + ": 10 to 1000000");
      (a == "--requests" ? requests : records) = v;
    } else {
      std::fprintf(stderr,
                   "usage: bridge_bench [--requests N] [--records N]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  crypto::Random::System().Fill(std::span<uint8_t>(&g_keys[0][0], 64));

  const fs::path dir =
      fs::temp_directory_path() /
      ("tillit-bridge-bench-" + crypto::Random::System().Hex(6));
  fs::create_directories(dir);
  vault::VaultOptions vo;
  vo.data_dir = (dir / "data").string();
  auto created = vault::Vault::Init(vo);
  if (!created.ok()) Die(created.status().ToString());
  std::unique_ptr<vault::Vault> vault = std::move(created->vault);
  const std::string admin(created->admin_token.ExposeSecretText());
  api::ServerOptions so;
  so.port = 0;
  so.threads = 8;
  so.access_log = false;
  so.rate_per_second = 1e9;
  so.rate_burst = 1e9;
  so.enroll_burst = 100;
  auto server = api::Server::Create(vault.get(), so);
  if (!server.ok()) Die(server.status().ToString());
  if (Status s = (*server)->Start(); !s.ok()) Die(s.ToString());
  const std::string url = (*server)->url();

  httplib::Client http("127.0.0.1", (*server)->port());
  http.set_keep_alive(true);
  http.set_tcp_nodelay(true);
  http.set_url_encode(false);
  const httplib::Headers admin_h = {{"Authorization", "Bearer " + admin}};
  auto citizen =
      http.Post("/v1/admin/citizens", admin_h, "{}", "application/json");
  if (!citizen || citizen->status != 201) Die("cannot create a citizen");
  const std::string cid = json::parse(citizen->body)["citizen_id"];
  auto enrolled = http.Post(
      "/v1/enroll",
      json{{"enrollment_code", json::parse(citizen->body)["enrollment_code"]}}
          .dump(),
      "application/json");
  if (!enrolled || enrolled->status != 200) Die("cannot enroll");
  const std::string token = json::parse(enrolled->body)["token"];

  // A device for the raw signed series, and a bridge client for the rest.
  auto code = [&] {
    auto r = http.Post("/v1/admin/citizens/" + cid + "/enrollment-code",
                       admin_h, "{}", "application/json");
    if (!r || r->status != 201) Die("cannot make an enrollment code");
    return json::parse(r->body)["enrollment_code"].get<std::string>();
  };
  crypto::SigningKey key =
      crypto::SigningKey::Generate(crypto::Random::System());
  auto paired = http.Post(
      "/v1/enroll",
      json{{"enrollment_code", code()},
           {"device_public_key", crypto::Base64Encode(key.public_key())},
           {"device_name", "bench"}}
          .dump(),
      "application/json");
  if (!paired || paired->status != 200) Die("cannot pair");
  const std::string device = json::parse(paired->body)["device_id"];
  tillit_client_t* bridge = OpenClient(url, (dir / "app").string());
  char* err = nullptr;
  Take(tillit_pair(bridge, code().c_str(), "bench app", &err));
  if (err) Die("pair: " + Take(err));

  const httplib::Headers bearer = {{"Authorization", "Bearer " + token}};
  auto added =
      http.Post("/v1/me/records", bearer, kReading, "application/json");
  if (!added || added->status != 201) Die("cannot add a record");
  const std::string rid = json::parse(added->body)["id"];
  const std::string target = "/v1/me/records/Observation/" + rid;

  // --- 1. latency, interleaved
  std::vector<double> bearer_ms, signed_ms, bridge_ms;
  for (int i = 0; i < requests + 100; ++i) {
    const bool counted = i >= 100;  // the first 100 of each warm up
    auto t0 = SteadyClock::now();
    auto r = http.Get(target, bearer);
    auto t1 = SteadyClock::now();
    if (!r || r->status != 200) Die("bearer read failed");
    http_signature::SignatureParams p{static_cast<int64_t>(std::time(nullptr)),
                                      device, crypto::Random::System().Hex(16)};
    auto t2 = SteadyClock::now();
    http_signature::SignedFields f =
        http_signature::SignRequest(key, "GET", target, "", p);
    auto s = http.Get(target, {{"Signature-Input", f.signature_input},
                               {"Signature", f.signature},
                               {"Content-Digest", f.content_digest}});
    auto t3 = SteadyClock::now();
    if (!s || s->status != 200) Die("signed read failed");
    char* rec = tillit_get_record(bridge, "Observation", rid.c_str(), &err);
    auto t4 = SteadyClock::now();
    if (!rec) Die("bridge read: " + Take(err));
    tillit_bridge_free(rec);
    if (!counted) continue;
    auto ms = [](auto a, auto b) {
      return std::chrono::duration<double, std::milli>(b - a).count();
    };
    bearer_ms.push_back(ms(t0, t1));
    signed_ms.push_back(ms(t2, t3));
    bridge_ms.push_back(ms(t3, t4));
  }
  std::printf("one record, one connection, %d requests each, interleaved\n",
              requests);
  std::printf("%-26s %9s %9s\n", "", "p50 ms", "p99 ms");
  auto line = [](const char* name, const std::vector<double>& v) {
    std::printf("%-26s %9.3f %9.3f\n", name, Percentile(v, 0.5),
                Percentile(v, 0.99));
  };
  line("bearer token", bearer_ms);
  line("device signature", signed_ms);
  line("bridge C API (signed)", bridge_ms);
  std::printf("signed / bearer: p50 %.2fx  p99 %.2fx\n",
              Percentile(signed_ms, 0.5) / Percentile(bearer_ms, 0.5),
              Percentile(signed_ms, 0.99) / Percentile(bearer_ms, 0.99));

  // --- 2. the offline queue
  auto q0 = SteadyClock::now();
  for (int i = 0; i < records; ++i) {
    std::string r = kReading;
    r.replace(r.find("62"), 2, std::to_string(40 + i % 100));
    char* out = tillit_queue_record(bridge, r.c_str(), &err);
    if (!out) Die("queue: " + Take(err));
    tillit_bridge_free(out);
  }
  auto q1 = SteadyClock::now();
  std::string synced = Take(tillit_sync(bridge, &err));
  auto q2 = SteadyClock::now();
  if (err) Die("sync: " + Take(err));
  const json sj = json::parse(synced);
  if (sj.value("sent", 0) != records) Die("sync sent " + synced);
  const double queue_s = std::chrono::duration<double>(q1 - q0).count();
  const double sync_s = std::chrono::duration<double>(q2 - q1).count();
  std::printf("queue %d records: %.0f records/s\n", records, records / queue_s);
  std::printf("sync %d records: %.0f records/s (%.2f s)\n", records,
              records / sync_s, sync_s);

  tillit_client_close(bridge);
  (*server)->Stop();
  vault.reset();
  fs::remove_all(dir);
  return 0;
}
