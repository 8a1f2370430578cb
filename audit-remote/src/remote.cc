#include "tillit/audit_remote/remote.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tillit/crypto/encoding.h"

namespace tillit::audit {
namespace {

using nlohmann::json;

constexpr int kPage = 1000;
constexpr size_t kMaxNote = 64 * 1024;

StatusOr<std::string> Fetch(httplib::Client& client, const std::string& path,
                            const RemoteVerifyOptions& o) {
  httplib::Headers headers = {{"Authorization", "Bearer " + o.token}};
  auto res = client.Get(path, headers);
  if (!res) {
    return Status::IoError("cannot reach the server (" +
                           httplib::to_string(res.error()) + ")");
  }
  if (res->status == 401 || res->status == 403) {
    return Status::Unauthenticated("the server refused the token (HTTP " +
                                   std::to_string(res->status) + ")");
  }
  if (res->status != 200) {
    return Status::FailedPrecondition("the server answered HTTP " +
                                      std::to_string(res->status) + " for " +
                                      path.substr(0, path.find('?')));
  }
  return res->body;
}

}  // namespace

std::string EntryToApiJson(const StoredEntry& entry) {
  json j = json::parse(entry.canonical, nullptr, false);
  auto parsed = ParseCanonicalEntry(entry.canonical);
  const std::string on_behalf_of = parsed.ok() ? OnBehalfOf(*parsed) : "";
  j["index"] = entry.index;
  // The contract's "actor" (SPEC §7), a copy of actor_id, and
  // "on_behalf_of" (SPEC §13); neither is hashed.
  if (j.is_object() && j.contains("actor_id")) j["actor"] = j["actor_id"];
  if (!on_behalf_of.empty()) j["on_behalf_of"] = on_behalf_of;
  return j.dump();
}

StatusOr<VerifyReport> VerifyRemoteLog(const RemoteVerifyOptions& o) {
  httplib::Client client(o.url);
  if (!client.is_valid())
    return Status::InvalidArgument("not a usable URL: " + o.url);
  client.set_connection_timeout(o.timeout_seconds, 0);
  client.set_read_timeout(o.timeout_seconds, 0);

  VerifyReport report;
  auto fail = [&](uint64_t index,
                  std::string problem) -> StatusOr<VerifyReport> {
    report.ok = false;
    report.first_bad_index = index;
    report.problem = std::move(problem);
    return report;
  };

  // The key: pinned, or the server's.
  TILLIT_ASSIGN_OR_RETURN(std::string served_key,
                          Fetch(client, "/v1/audit/public-key", o));
  while (!served_key.empty() &&
         (served_key.back() == '\n' || served_key.back() == '\r')) {
    served_key.pop_back();
  }
  const std::string key_text = o.pinned_key.empty() ? served_key : o.pinned_key;
  if (!o.pinned_key.empty() && o.pinned_key != served_key) {
    return Status::Unauthenticated(
        "the server's audit key is not the pinned key");
  }
  TILLIT_ASSIGN_OR_RETURN(auto key, ParseVerifierKey(key_text));
  TILLIT_ASSIGN_OR_RETURN(std::string note,
                          Fetch(client, "/v1/audit/checkpoint", o));
  if (note.size() > kMaxNote)
    return Status::ResourceExhausted("checkpoint note too large");

  // Every entry, in order, recomputed.
  MerkleTree tree;
  int64_t after = -1;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(
        std::string body,
        Fetch(client,
              "/v1/audit/entries?after=" + std::to_string(after) +
                  "&limit=" + std::to_string(kPage),
              o));
    json page = json::parse(body, nullptr, false);
    if (page.is_discarded() || !page.is_object() || !page.contains("entries") ||
        !page["entries"].is_array()) {
      return Status::DataLoss("the server's entry list is malformed");
    }
    for (json e : page["entries"]) {
      if (!e.is_object() || !e.contains("index") ||
          !e["index"].is_number_unsigned()) {
        return fail(tree.size(), "entry without an index");
      }
      const uint64_t index = e["index"].get<uint64_t>();
      if (index != tree.size()) {
        return fail(tree.size(),
                    "entry " + std::to_string(tree.size()) + " is missing");
      }
      // The fields the API adds to the canonical entry: "actor" must be a
      // true copy of actor_id (it is what a reader of the list sees).
      e.erase("index");
      if (e.contains("actor")) {
        if (!e.contains("actor_id") || e["actor"] != e["actor_id"]) {
          return fail(index, "entry " + std::to_string(index) +
                                 ": actor does not match actor_id");
        }
        e.erase("actor");
      }
      std::optional<json> shown_on_behalf_of;
      if (e.contains("on_behalf_of")) {
        shown_on_behalf_of = e["on_behalf_of"];
        e.erase("on_behalf_of");
      }
      const std::string canonical = e.dump();
      auto parsed = ParseCanonicalEntry(canonical);
      if (!parsed.ok()) {
        return fail(index, "entry " + std::to_string(index) +
                               " is not a canonical audit entry");
      }
      // "on_behalf_of" too must be what the entry says, and present when
      // it says a citizen acted for another.
      const std::string derived = OnBehalfOf(*parsed);
      if (derived.empty() ? shown_on_behalf_of.has_value()
                          : shown_on_behalf_of != json(derived)) {
        return fail(index, "entry " + std::to_string(index) +
                               ": on_behalf_of does not match the entry");
      }
      tree.Append(LeafHash(crypto::AsBytes(canonical)));
    }
    if (page["entries"].empty() || !page.contains("next") ||
        page["next"].is_null())
      break;
    after = static_cast<int64_t>(tree.size()) - 1;
  }
  report.entries = tree.size();

  auto check = [&](const std::string& text, std::string_view what,
                   uint64_t good) -> std::optional<std::string> {
    auto cp = OpenCheckpoint(text, key.first, key.second);
    if (!cp.ok())
      return std::string(what) + ": signature or format does not verify";
    if (cp->size > tree.size()) {
      return std::string(what) + " covers " + std::to_string(cp->size) +
             " entries but the server returned " + std::to_string(tree.size());
    }
    const Hash root = cp->size == 0 ? EmptyRoot() : *tree.RootAt(cp->size);
    if (root != cp->root) {
      return "entries from index " + std::to_string(good) + " do not match " +
             std::string(what);
    }
    return std::nullopt;
  };
  if (auto problem = check(note, "the latest checkpoint", 0))
    return fail(0, *problem);
  report.checkpoints = 1;
  if (!o.saved_note.empty()) {
    if (auto problem =
            check(o.saved_note, "the saved checkpoint (fork or rollback)", 0)) {
      return fail(0, *problem);
    }
    ++report.checkpoints;
  }
  report.ok = true;
  return report;
}

}  // namespace tillit::audit
