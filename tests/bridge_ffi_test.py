#!/usr/bin/env python3
"""libtillit_bridge through Python's ctypes, as an FFI binding uses it.

Loads the shared library the way Dart FFI, JNA or React Native do, with a
platform key callback written in the host language, and drives it against a
real `tillit serve`: ABI version, pairing, records (added and queued),
consents, the verified access log, devices, `tillit_call`, concurrent calls
on one client, error codes through errptr (including errptr's replace and
leave-untouched rules), a failing key provider, and unpairing.

Every string the library returns is declared c_void_p, read with
ctypes.string_at and released with tillit_bridge_free: ctypes never frees
(or copies through c_char_p) what the library owns.

Usage: bridge_ffi_test.py --lib libtillit_bridge.so --tillit PATH
Exit status 0 only when every check passed.
"""

import argparse
import ctypes
import json
import os
import secrets
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bridge_test_server as bts  # noqa: E402

c_client_p = ctypes.c_void_p
c_options_p = ctypes.c_void_p
c_errptr = ctypes.POINTER(ctypes.c_void_p)

# int (*)(void* ctx, const char* name, unsigned char* key, size_t key_len)
KEY_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                          ctypes.POINTER(ctypes.c_ubyte), ctypes.c_size_t)


class BridgeError(Exception):
    """A bridge call failed: `code` is tillit_error_code of `message`."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def load(path):
    lib = ctypes.CDLL(path)

    def declare(name, restype, *argtypes):
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = list(argtypes)

    # Static strings (never freed) may be c_char_p; owned ones are c_void_p.
    declare("tillit_bridge_version", ctypes.c_char_p)
    declare("tillit_bridge_abi_version", ctypes.c_int)
    declare("tillit_bridge_free", None, ctypes.c_void_p)
    declare("tillit_error_code", ctypes.c_char_p, ctypes.c_void_p)
    declare("tillit_options_create", c_options_p)
    declare("tillit_options_destroy", None, c_options_p)
    declare("tillit_options_set_base_url", None, c_options_p, ctypes.c_char_p)
    declare("tillit_options_set_state_dir", None, c_options_p,
            ctypes.c_char_p)
    declare("tillit_options_set_key_provider", None, c_options_p, KEY_FN,
            ctypes.c_void_p)
    declare("tillit_options_set_timeout_ms", None, c_options_p, ctypes.c_int)
    declare("tillit_client_open", c_client_p, c_options_p, c_errptr)
    declare("tillit_client_close", None, c_client_p)
    declare("tillit_client_status", ctypes.c_void_p, c_client_p, c_errptr)
    declare("tillit_pair", ctypes.c_void_p, c_client_p, ctypes.c_char_p,
            ctypes.c_char_p, c_errptr)
    declare("tillit_unpair", ctypes.c_int, c_client_p, c_errptr)
    declare("tillit_list_records", ctypes.c_void_p, c_client_p,
            ctypes.c_char_p, c_errptr)
    declare("tillit_get_record", ctypes.c_void_p, c_client_p,
            ctypes.c_char_p, ctypes.c_char_p, c_errptr)
    declare("tillit_add_record", ctypes.c_void_p, c_client_p,
            ctypes.c_char_p, c_errptr)
    declare("tillit_list_consents", ctypes.c_void_p, c_client_p, c_errptr)
    declare("tillit_grant_consent", ctypes.c_void_p, c_client_p,
            ctypes.c_char_p, c_errptr)
    declare("tillit_revoke_consent", ctypes.c_void_p, c_client_p,
            ctypes.c_char_p, c_errptr)
    declare("tillit_access_log", ctypes.c_void_p, c_client_p,
            ctypes.c_char_p, c_errptr)
    declare("tillit_list_devices", ctypes.c_void_p, c_client_p, c_errptr)
    declare("tillit_call", ctypes.c_void_p, c_client_p, ctypes.c_char_p,
            ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_int), c_errptr)
    declare("tillit_queue_record", ctypes.c_void_p, c_client_p,
            ctypes.c_char_p, c_errptr)
    declare("tillit_sync", ctypes.c_void_p, c_client_p, c_errptr)
    return lib


class Keychain:
    """The platform key callback: a random 32-byte secret per name, kept in
    a dict. `fail` makes every request fail (a locked keychain)."""

    def __init__(self, fail=False):
        self.keys = {}
        self.requests = []
        self.fail = fail
        # The CFUNCTYPE object must outlive every client using it.
        self.callback = KEY_FN(self._provide)

    def _provide(self, ctx, name, key, key_len):
        # An exception escaping a ctypes callback would return 0 (success)
        # with the key unset: catch everything.
        try:
            n = name.decode()
            self.requests.append((n, int(key_len)))
            if self.fail or key_len != 32:
                return 1
            if n not in self.keys:
                self.keys[n] = secrets.token_bytes(32)
            ctypes.memmove(key, self.keys[n], 32)
            return 0
        except Exception as e:  # noqa: BLE001
            print("key callback raised: %r" % e, file=sys.stderr)
            return 1


class Client:
    """A thin wrapper: bytes in, parsed JSON out, BridgeError on failure."""

    def __init__(self, lib, url, state_dir, keychain):
        self.lib = lib
        self.keychain = keychain
        options = lib.tillit_options_create()
        if not options:
            raise BridgeError("internal", "tillit_options_create failed")
        try:
            lib.tillit_options_set_base_url(options, url.encode())
            lib.tillit_options_set_state_dir(options, state_dir.encode())
            lib.tillit_options_set_key_provider(options, keychain.callback,
                                                None)
            lib.tillit_options_set_timeout_ms(options, 10000)
            err = ctypes.c_void_p()
            self.handle = lib.tillit_client_open(options, ctypes.byref(err))
        finally:
            lib.tillit_options_destroy(options)
        if not self.handle:
            raise self.take_error(err, "tillit_client_open")
        if err.value:
            lib.tillit_client_close(self.handle)
            raise self.take_error(err, "tillit_client_open (with a handle)")

    def close(self):
        if self.handle:
            self.lib.tillit_client_close(self.handle)
            self.handle = None

    def take_error(self, err, what):
        """Reads and frees *errptr."""
        if not err.value:
            return BridgeError("internal",
                               "%s failed and left errptr NULL" % what)
        message = ctypes.string_at(err.value).decode("utf-8", "replace")
        code = self.lib.tillit_error_code(err.value).decode()
        self.lib.tillit_bridge_free(err.value)
        err.value = None
        return BridgeError(code, message)

    def take_string(self, ptr):
        """Reads and frees a returned string."""
        try:
            return ctypes.string_at(ptr).decode("utf-8")
        finally:
            self.lib.tillit_bridge_free(ptr)

    def invoke(self, name, *args):
        """Calls a string-returning function; returns the parsed JSON."""
        err = ctypes.c_void_p()
        ptr = getattr(self.lib, name)(self.handle, *args, ctypes.byref(err))
        if err.value:
            e = self.take_error(err, name)
            if ptr:
                self.lib.tillit_bridge_free(ptr)
                raise BridgeError("internal", "%s returned a result AND an "
                                  "error: %s" % (name, e.message))
            raise e
        if not ptr:
            raise BridgeError("internal",
                              "%s returned NULL with no error" % name)
        text = self.take_string(ptr)
        try:
            return json.loads(text)
        except ValueError:
            raise BridgeError("internal", "%s returned non-JSON: %r" %
                              (name, text[:300]))

    def call(self, method, path, body=None):
        """tillit_call; returns (HTTP status, parsed JSON)."""
        err = ctypes.c_void_p()
        status = ctypes.c_int(-1)
        data = body.encode() if body is not None else None
        ptr = self.lib.tillit_call(self.handle, method.encode(),
                                   path.encode(), data,
                                   len(data) if data else 0,
                                   ctypes.byref(status), ctypes.byref(err))
        if err.value or not ptr:
            if ptr:
                self.lib.tillit_bridge_free(ptr)
            raise self.take_error(err, "tillit_call")
        text = self.take_string(ptr)
        return status.value, (json.loads(text) if text else None)

    def unpair(self):
        err = ctypes.c_void_p()
        ok = self.lib.tillit_unpair(self.handle, ctypes.byref(err))
        if err.value or ok != 1:
            raise self.take_error(err, "tillit_unpair (returned %d)" % ok)


def expect_error(checks, code, what, fn, *args):
    """Calls fn(*args), expecting BridgeError with `code`."""
    try:
        result = fn(*args)
    except BridgeError as e:
        checks.check(e.code == code, what + ": error code " + code,
                     "got %s (%s)" % (e.code, e.message))
        checks.check(e.message.startswith(e.code + ": "),
                     what + ": message starts with its code", e.message)
        return e
    checks.check(False, what + ": expected error " + code,
                 "succeeded with %r" % (result,))
    return None


def run_tests(lib, server, workdir, checks):
    # --- the library, no client
    checks.equal(lib.tillit_bridge_abi_version(), 1,
                 "tillit_bridge_abi_version()")
    version = lib.tillit_bridge_version()
    checks.check(version is not None and version.decode().count(".") == 2,
                 "tillit_bridge_version is MAJOR.MINOR.PATCH", repr(version))
    checks.equal(lib.tillit_error_code(None), b"internal",
                 "tillit_error_code(NULL)")
    for message, code in ((b"log_fork: the log was forked", b"log_fork"),
                          (b"network: refused", b"network"),
                          (b"no code here", b"internal"),
                          (b"network:no space", b"internal")):
        checks.equal(lib.tillit_error_code(message), code,
                     "tillit_error_code(%r)" % message)
    lib.tillit_bridge_free(None)  # must be a no-op

    server.init()
    url = server.start()
    citizen = server.create_citizen()
    cid = citizen["citizen_id"]

    keychain = Keychain()
    client = Client(lib, url, os.path.join(workdir, "state"), keychain)
    try:
        run_paired(lib, client, keychain, server, cid,
                   citizen["enrollment_code"], workdir, checks)
    finally:
        client.close()

    # --- a locked keychain: pairing fails with key_unavailable
    other = server.create_citizen()
    locked = Keychain(fail=True)
    try:
        c2 = Client(lib, url, os.path.join(workdir, "state-locked"), locked)
    except BridgeError as e:
        checks.equal(e.code, "key_unavailable",
                     "open with a locked keychain")
    else:
        try:
            expect_error(checks, "key_unavailable",
                         "pair with a locked keychain", c2.invoke,
                         "tillit_pair", other["enrollment_code"].encode(),
                         b"Locked phone")
        finally:
            c2.close()
    checks.check(len(locked.requests) > 0,
                 "the locked keychain was asked for a key")

    checks.equal(server.stop(), 0, "tillit serve exits 0 on SIGTERM")


def run_paired(lib, client, keychain, server, cid, code, workdir, checks):
    st = client.invoke("tillit_client_status")
    checks.equal(st.get("paired"), False, "status before pairing")
    expect_error(checks, "not_paired", "list before pairing", client.invoke,
                 "tillit_list_records", None)

    paired = client.invoke("tillit_pair", code.encode(), b"ctypes phone")
    checks.equal(paired.get("citizen_id"), cid, "pair: citizen_id")
    device_id = paired.get("device_id", "")
    checks.check(device_id.startswith("d_"), "pair: device id", device_id)
    checks.check(("device-key", 32) in keychain.requests,
                 "the library asked the keychain for device-key (32 bytes)",
                 repr(keychain.requests))
    st = client.invoke("tillit_client_status")
    checks.equal(st.get("paired"), True, "status: paired")
    checks.equal(st.get("device_id"), device_id, "status: device_id")
    checks.check(isinstance(st.get("device_public_key"), str) and
                 len(st["device_public_key"]) > 0,
                 "status: device_public_key")

    # --- records
    bp = bts.blood_pressure("2024-06-01T07:30:00Z", 128, 82)
    added = client.invoke("tillit_add_record", json.dumps(bp).encode())
    rid = added.get("id", "")
    checks.check(bool(rid), "add: the stored resource has an id", repr(added))
    checks.equal(added.get("code", {}).get("coding", [{}])[0].get("code"),
                 "85354-9", "add: LOINC 85354-9 kept")
    got = client.invoke("tillit_get_record", b"Observation", rid.encode())
    checks.equal(got.get("id"), rid, "get_record: id")
    checks.equal(got.get("effectiveDateTime"), "2024-06-01T07:30:00Z",
                 "get_record: effectiveDateTime")

    q = client.invoke("tillit_queue_record", json.dumps(
        bts.blood_pressure("2024-06-02T07:30:00Z")).encode())
    checks.check(isinstance(q.get("queue_id"), int), "queue: queue_id",
                 repr(q))
    checks.check(("queue", 32) in keychain.requests,
                 "the library asked the keychain for queue (32 bytes)",
                 repr(keychain.requests))
    synced = client.invoke("tillit_sync")
    checks.equal(synced.get("sent"), 1, "sync: sent")
    checks.equal(synced.get("remaining"), 0, "sync: remaining")
    listed = client.invoke("tillit_list_records",
                           json.dumps({"type": "Observation"}).encode())
    checks.equal(len(listed.get("records", [])), 2, "list: two records")

    # --- consents
    grant = client.invoke("tillit_grant_consent",
                          json.dumps(bts.RESEARCH_GRANT).encode())
    gid = grant.get("id", "")
    checks.check(gid.startswith("g_"), "grant: id", repr(grant))
    checks.equal(grant.get("status"), "active", "grant: active")
    consents = client.invoke("tillit_list_consents")
    checks.check(gid in [c.get("id") for c in consents.get("consents", [])],
                 "list_consents has the grant")
    revoked = client.invoke("tillit_revoke_consent", gid.encode())
    checks.equal(revoked.get("status"), "revoked", "revoke: status")

    # --- errors through errptr
    expect_error(checks, "conflict", "revoke the same grant again",
                 client.invoke, "tillit_revoke_consent", gid.encode())
    expect_error(checks, "invalid_argument", "add with bad JSON",
                 client.invoke, "tillit_add_record", b"{\"resourceType\":")
    expect_error(checks, "invalid_argument", "grant with bad JSON",
                 client.invoke, "tillit_grant_consent", b"[1,")
    expect_error(checks, "not_found", "get a record that does not exist",
                 client.invoke, "tillit_get_record", b"Observation",
                 b"does-not-exist")
    check_errptr_rules(lib, client, gid, checks)

    # --- tillit_call
    status, me = client.call("GET", "/v1/me")
    checks.equal(status, 200, "call GET /v1/me: status")
    checks.equal((me or {}).get("records"), 2, "call GET /v1/me: records")
    # The server's 400 is not the app's invalid_argument (nothing is checked
    # locally on tillit_call): tillit_bridge.h maps it to "bad_request", with
    # the server's message and request id.
    e = expect_error(checks, "bad_request", "call PUT opt-out with a bad body",
                     client.call, "PUT", "/v1/me/research-opt-out",
                     '{"x": 1}')
    if e is not None:
        checks.check("HTTP 400" in e.message and "request_id" in e.message,
                      "a server error names the status and request id",
                      e.message)

    # --- concurrent calls on one client (serialised by the library)
    errors = []

    def worker():
        for _ in range(3):
            try:
                r = client.invoke("tillit_list_records", None)
                if len(r.get("records", [])) != 2:
                    errors.append("wrong count %r" % r)
            except BridgeError as e:
                errors.append(e.message)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    checks.check(not errors and not any(t.is_alive() for t in threads),
                 "12 concurrent list calls on one client", repr(errors[:3]))

    # --- devices
    devices = client.invoke("tillit_list_devices")
    mine = [d for d in devices.get("devices", []) if d.get("id") == device_id]
    checks.check(len(mine) == 1 and mine[0].get("this_device") is True and
                 mine[0].get("revoked") is None and
                 mine[0].get("name") == "ctypes phone",
                 "list_devices: this device", repr(devices))

    # --- the access log, verified
    log = client.invoke("tillit_access_log",
                        json.dumps({"verify": True, "limit": 1000}).encode())
    checks.equal(log.get("verified"), True, "access log: verified")
    acts = [e.get("action") for e in log.get("entries", [])]
    for a in ("records.add", "consent.grant", "consent.revoke"):
        checks.check(a in acts, "access log has " + a,
                     repr(sorted(set(acts))))
    # A second verification extends the witness the first one kept.
    log2 = client.invoke("tillit_access_log",
                         json.dumps({"verify": True}).encode())
    checks.equal(log2.get("verified"), True, "access log verified again")
    st = client.invoke("tillit_client_status")
    checks.check(isinstance(st.get("witness"), dict) and
                 st["witness"].get("size", 0) > 0,
                 "status: witness kept", repr(st.get("witness")))

    # --- unpair
    client.unpair()
    st = client.invoke("tillit_client_status")
    checks.equal(st.get("paired"), False, "status after unpair")
    expect_error(checks, "not_paired", "list after unpair", client.invoke,
                 "tillit_list_records", None)
    expect_error(checks, "not_paired", "unpair twice", client.unpair)


def check_errptr_rules(lib, client, gid, checks):
    """*errptr holding an earlier error is freed and replaced on failure,
    and left untouched on success (tillit_bridge.h)."""
    err = ctypes.c_void_p()
    ptr = lib.tillit_add_record(client.handle, b"not json",
                                ctypes.byref(err))
    checks.check(not ptr and bool(err.value), "bad JSON sets errptr")
    first = err.value
    # Success: *errptr is left as it was.
    ptr = lib.tillit_client_status(client.handle, ctypes.byref(err))
    checks.check(bool(ptr), "status succeeds with a non-NULL errptr")
    if ptr:
        lib.tillit_bridge_free(ptr)
    checks.equal(err.value, first, "success leaves *errptr untouched")
    # Failure: the earlier message is freed (by the library) and replaced.
    ptr = lib.tillit_revoke_consent(client.handle, gid.encode(),
                                    ctypes.byref(err))
    checks.check(not ptr and bool(err.value), "revoke again sets errptr")
    if ptr:
        lib.tillit_bridge_free(ptr)
    if err.value:
        checks.equal(lib.tillit_error_code(err.value), b"conflict",
                     "the replacing error is conflict")
        lib.tillit_bridge_free(err.value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", required=True)
    parser.add_argument("--tillit", required=True)
    args = parser.parse_args()
    checks = bts.Checks("bridge_python_ffi")
    try:
        lib = load(args.lib)
    except (OSError, AttributeError) as e:
        checks.check(False, "loading " + args.lib, repr(e))
        return checks.report()
    return bts.run_with_server(
        args.tillit, "tillit-ffi-", checks,
        lambda server, workdir: run_tests(lib, server, workdir, checks),
        (BridgeError, OSError, KeyError, TypeError, AttributeError,
         ValueError),
        describe=lambda e: "%s: %s" % (e.code, e.message)
        if isinstance(e, BridgeError) else repr(e))


if __name__ == "__main__":
    sys.exit(main())
