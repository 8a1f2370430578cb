/* tillit_bridge.h: the C ABI a citizen's mobile app links (SPEC §10).
 *
 * Swift, Kotlin (JNI), Dart FFI and React Native call tillit through these
 * functions. The style is leveldb's c.h:
 *   - opaque handles (tillit_options_t, tillit_client_t); no struct layout
 *     is ever exposed, so the ABI stays stable as the library grows;
 *   - UTF-8 JSON in and out; every returned string is NUL-terminated,
 *     allocated by the library and released with tillit_bridge_free();
 *   - errors through a `char** errptr` last argument. On entry *errptr must
 *     be NULL or a string the library returned earlier (it is freed and
 *     replaced). On failure *errptr is set to a message and the function
 *     returns NULL (or 0). On success *errptr is left untouched;
 *   - no C++ exception ever crosses this boundary (every entry point
 *     catches), and only the functions below are exported.
 *
 * Error messages start with a stable code, a colon and a space, then text
 * for people: "log_fork: ...". Apps branch on the code (see
 * tillit_error_code) and show or log the rest. The codes:
 *   invalid_argument   bad input from the app, found by the bridge before
 *                      anything was sent or stored
 *   bad_request        the server refused the request as invalid (HTTP 400
 *                      or 422); nothing was stored
 *   not_paired         the call needs a paired device
 *   already_paired     tillit_pair on a client that is paired
 *   key_unavailable    the platform key callback failed
 *   storage            the local state could not be read or written
 *   network            the server could not be reached (retry later)
 *   unauthenticated    the server refused the device (revoked, unknown,
 *                      or a signature it could not verify)
 *   forbidden, not_found, conflict, too_large, rate_limited,
 *   audit_unavailable, server
 *                      the server's answer (HTTP 403, 404, 409, 413, 429,
 *                      503 audit, any other 4xx/5xx or a malformed
 *                      answer); the message carries the server's message
 *                      and request id
 *   log_fork           the server showed a checkpoint that is not an
 *                      extension of the one this device verified before:
 *                      the access log was forked or rewritten
 *   log_rollback       the server's log is smaller than one this device
 *                      already verified: the access log was rolled back
 *   proof_invalid      a checkpoint signature or an inclusion proof did not
 *                      verify
 *   internal           a bug; please report it
 *
 * Thread-safety: tillit_options_t is not synchronised (build it on one
 * thread, then hand it to tillit_client_open, which copies what it needs).
 * Every function taking a tillit_client_t may be called from any thread and
 * concurrently; calls on one client are serialised internally (a call waits
 * for the one in progress). Different clients must not share a state
 * directory. tillit_bridge_version, tillit_bridge_abi_version,
 * tillit_error_code and tillit_bridge_free are safe from any thread.
 */
#ifndef TILLIT_BRIDGE_H_
#define TILLIT_BRIDGE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TILLIT_BRIDGE_EXPORT __attribute__((visibility("default")))
#else
#define TILLIT_BRIDGE_EXPORT
#endif

/* Raised only when a function's signature or meaning changes. */
#define TILLIT_BRIDGE_ABI_VERSION 1

typedef struct tillit_options_t tillit_options_t;
typedef struct tillit_client_t tillit_client_t;

/* The platform's secret store (Keychain, Android Keystore; the tests have
 * their own). Fills `key` with `key_len` (32) bytes of the secret called
 * `name`, creating it with a secure random generator and keeping it on
 * first use. The names used are "device-key" (wraps the device's Ed25519
 * key) and "queue" (the offline queue's database key). Returns 0 on
 * success, anything else on failure. Called on the thread of the bridge
 * call that needs it, while that call holds the client's lock: it must not
 * call back into the same client. */
typedef int (*tillit_key_fn)(void* ctx, const char* name, unsigned char* key,
                             size_t key_len);

/* --- library */

/* "MAJOR.MINOR.PATCH" of the library (a static string: do not free). */
TILLIT_BRIDGE_EXPORT const char* tillit_bridge_version(void);
/* TILLIT_BRIDGE_ABI_VERSION of the library that is loaded: compare with
 * the header's to detect a mismatched build. */
TILLIT_BRIDGE_EXPORT int tillit_bridge_abi_version(void);
/* Frees anything the library returned (strings and error messages).
 * NULL is ignored. */
TILLIT_BRIDGE_EXPORT void tillit_bridge_free(void* ptr);
/* The code of an error message ("log_fork"), as a static string (do not
 * free); "internal" for NULL or a string without a known code. */
TILLIT_BRIDGE_EXPORT const char* tillit_error_code(const char* err);

/* --- options */

TILLIT_BRIDGE_EXPORT tillit_options_t* tillit_options_create(void);
TILLIT_BRIDGE_EXPORT void tillit_options_destroy(tillit_options_t* options);
/* Required: the server, "http://host:port" or "https://host:port". */
TILLIT_BRIDGE_EXPORT void tillit_options_set_base_url(tillit_options_t* options,
                                                      const char* url);
/* Required: a directory private to the app (created 0700 if missing). */
TILLIT_BRIDGE_EXPORT void tillit_options_set_state_dir(
    tillit_options_t* options, const char* dir);
/* Required: the platform key callback and its context (not owned). */
TILLIT_BRIDGE_EXPORT void tillit_options_set_key_provider(
    tillit_options_t* options, tillit_key_fn fn, void* ctx);
/* Connection and read timeout of each HTTP request (default 10000 ms). */
TILLIT_BRIDGE_EXPORT void tillit_options_set_timeout_ms(
    tillit_options_t* options, int timeout_ms);
/* The audit log's verifier key ("name+keyid+base64", from
 * GET /v1/audit/public-key, distributed with the app). When not set, the
 * key the server presents at pairing is kept and trusted from then on. */
TILLIT_BRIDGE_EXPORT void tillit_options_set_audit_key(
    tillit_options_t* options, const char* verifier_key);

/* --- client */

/* Opens the client on its state directory (reading an existing pairing and
 * queue). Does not touch the network. NULL and *errptr on failure. */
TILLIT_BRIDGE_EXPORT tillit_client_t* tillit_client_open(
    const tillit_options_t* options, char** errptr);
/* Closes the client; waits for a call in progress. NULL is ignored. */
TILLIT_BRIDGE_EXPORT void tillit_client_close(tillit_client_t* client);

/* {"paired": bool, "citizen_id", "device_id", "device_public_key",
 *  "queued": N, "witness": {"size": N, "root": hex} or null}.
 * Local only. */
TILLIT_BRIDGE_EXPORT char* tillit_client_status(tillit_client_t* client,
                                                char** errptr);

/* Pairs this device with the citizen an enrollment code names: checks the
 * server's audit key (against the pinned one, if set) before the code is
 * sent, creates an Ed25519 device key, registers its public key with
 * POST /v1/enroll, stores it sealed under the platform's "device-key", and
 * verifies and keeps the log's first checkpoint. Once the server accepted
 * the code the device is paired: if the first checkpoint cannot be
 * fetched (network, server) the result's "witness" is null and the next
 * sync takes it; if it does not verify, the call fails with proof_invalid
 * and the device stays paired. `device_name` (1 to 64 bytes of UTF-8
 * without control characters) is what the citizen sees in the device
 * list. Returns
 * {"citizen_id", "device_id", "witness": {"size", "root"} or null}. */
TILLIT_BRIDGE_EXPORT char* tillit_pair(tillit_client_t* client,
                                       const char* enrollment_code,
                                       const char* device_name, char** errptr);
/* Revokes this device on the server (DELETE /v1/me/devices/{id}) and
 * forgets the key, the witness and the queue. When the server no longer
 * accepts the device (revoked from another device, or the citizen erased),
 * only the local state is forgotten. not_paired on a client that is not
 * paired. Records still queued are discarded
 * with it: check "queued" in tillit_client_status first. Returns 1 on
 * success, 0 on failure. */
TILLIT_BRIDGE_EXPORT int tillit_unpair(tillit_client_t* client, char** errptr);

/* --- typed calls (each a signed request; returns the server's JSON) */

/* `query_json`: NULL or {"category", "type", "since", "until", "limit",
 * "cursor"} (all optional). Returns {"records": [...], "next"}. */
TILLIT_BRIDGE_EXPORT char* tillit_list_records(tillit_client_t* client,
                                               const char* query_json,
                                               char** errptr);
TILLIT_BRIDGE_EXPORT char* tillit_get_record(tillit_client_t* client,
                                             const char* type, const char* id,
                                             char** errptr);
/* Adds a citizen-entered FHIR resource now (with an idempotency key, so
 * the bridge's own retry never duplicates it). Returns the stored resource
 * with its "id". */
TILLIT_BRIDGE_EXPORT char* tillit_add_record(tillit_client_t* client,
                                             const char* resource_json,
                                             char** errptr);
/* Everything, as a FHIR collection Bundle. */
TILLIT_BRIDGE_EXPORT char* tillit_export(tillit_client_t* client,
                                         char** errptr);
TILLIT_BRIDGE_EXPORT char* tillit_list_consents(tillit_client_t* client,
                                                char** errptr);
TILLIT_BRIDGE_EXPORT char* tillit_grant_consent(tillit_client_t* client,
                                                const char* grant_json,
                                                char** errptr);
TILLIT_BRIDGE_EXPORT char* tillit_revoke_consent(tillit_client_t* client,
                                                 const char* grant_id,
                                                 char** errptr);
TILLIT_BRIDGE_EXPORT char* tillit_preview_consent(tillit_client_t* client,
                                                  const char* grant_json,
                                                  char** errptr);
TILLIT_BRIDGE_EXPORT char* tillit_get_restrictions(tillit_client_t* client,
                                                   char** errptr);
TILLIT_BRIDGE_EXPORT char* tillit_set_restrictions(
    tillit_client_t* client, const char* restrictions_json, char** errptr);
TILLIT_BRIDGE_EXPORT char* tillit_set_research_opt_out(tillit_client_t* client,
                                                       int opted_out,
                                                       char** errptr);
/* `query_json`: NULL or {"limit", "before", "verify": bool}. With
 * "verify": true every entry's inclusion proof is checked against the
 * response's checkpoint, which must verify under the audit key and extend
 * the witnessed one (it becomes the new witness); the result then carries
 * "verified": true. A proof that fails is proof_invalid; a checkpoint that
 * does not extend the witness is log_fork or log_rollback. */
TILLIT_BRIDGE_EXPORT char* tillit_access_log(tillit_client_t* client,
                                             const char* query_json,
                                             char** errptr);
/* The citizen's paired devices: {"devices": [{"id", "name", "created",
 * "revoked", "this_device": bool}]}. */
TILLIT_BRIDGE_EXPORT char* tillit_list_devices(tillit_client_t* client,
                                               char** errptr);
/* Cuts another device off (a lost phone). Revoking this device's own id is
 * tillit_unpair. */
TILLIT_BRIDGE_EXPORT char* tillit_revoke_device(tillit_client_t* client,
                                                const char* device_id,
                                                char** errptr);

/* Any other citizen route of SPEC §7, signed like the rest. `method` is
 * GET, POST, PUT or DELETE; `path` starts with "/v1/" and may carry a
 * query; `body` (may be NULL when body_len is 0) is sent as JSON. Returns
 * the response body (JSON for every citizen route); *status_out (may be
 * NULL) receives the HTTP status whenever the server answered, also when
 * the call fails because that status is 400 or above, and 0 otherwise. */
TILLIT_BRIDGE_EXPORT char* tillit_call(tillit_client_t* client,
                                       const char* method, const char* path,
                                       const char* body, size_t body_len,
                                       int* status_out, char** errptr);

/* --- offline queue and witness */

/* Keeps a citizen-entered resource in the encrypted local queue (SQLCipher
 * under the platform's "queue" key) with a fresh idempotency key, checking
 * its shape first. Works without network, but needs a paired device (the
 * queue belongs to the pairing; tillit_unpair forgets it). Returns
 * {"queue_id": N, "idempotency_key": "..."}. */
TILLIT_BRIDGE_EXPORT char* tillit_queue_record(tillit_client_t* client,
                                               const char* resource_json,
                                               char** errptr);
/* Sends queued records oldest first, each with its idempotency key, and
 * removes each only after the server acknowledged it (a retry after a
 * crash or a lost answer is recognised by the server, never duplicated).
 * Then fetches the latest checkpoint and a consistency proof from the
 * witnessed one and verifies both. Returns {"sent": N, "failed":
 * [{"queue_id", "error"}], "remaining": N, "witness": {"size", "root"}}.
 * A record the server refuses as invalid stays queued and is listed in
 * "failed"; a network failure stops the sync with a network error (what
 * was acknowledged stays removed). */
TILLIT_BRIDGE_EXPORT char* tillit_sync(tillit_client_t* client, char** errptr);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TILLIT_BRIDGE_H_ */
