#!/usr/bin/env python3
"""End-to-end test of the reference citizen app (mobile-bridge/examples).

Runs the real `tillit_app` binary against a real `tillit serve`: version and
usage errors, pairing, the simulated keychain's files and refusals, adding
and queueing records, a sync against a stopped server (exit 3, queue kept),
a sync that sends the queue, listing and reading records, consents, the
access log with --verify, a second device revoked by the first, and
unpairing. Exit status 0 only when every check passed.

Usage: bridge_c_app_test.py --app PATH --tillit PATH
"""

import argparse
import json
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bridge_test_server as bts  # noqa: E402

APP_TIMEOUT = 120


class App:
    """One device: the app with its own --state and --keys."""

    def __init__(self, app, root, name):
        self.app = app
        self.state = os.path.join(root, name + "-state")
        self.keys = os.path.join(root, name + "-keys")
        self.url = None

    def run(self, *args, url=None, stdin=None):
        """Returns (exit status, stdout, stderr)."""
        cmd = [self.app, "--url", url or self.url, "--state", self.state,
               "--keys", self.keys, "--timeout-ms", "5000"] + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, input=stdin,
                           timeout=APP_TIMEOUT, env=bts.child_env())
        return r.returncode, r.stdout, r.stderr


def parse_json(checks, text, what):
    try:
        return json.loads(text)
    except ValueError:
        checks.check(False, what + ": stdout is not JSON", repr(text[:500]))
        return None


def expect_ok(checks, result, what):
    """Checks exit 0 and one JSON document on stdout; returns it."""
    rc, out, err = result
    if not checks.check(rc == 0, what + ": exit 0",
                        "exit %d, stderr %r" % (rc, err.strip())):
        return None
    return parse_json(checks, out, what)


def expect_error(checks, result, status, code, what):
    rc, out, err = result
    checks.check(rc == status, what + ": exit %d" % status,
                 "exit %d, stdout %r, stderr %r" %
                 (rc, out[:300], err.strip()))
    checks.check("code=%s:" % code in err, what + ": stderr names " + code,
                 repr(err.strip()))
    checks.equal(out, "", what + ": nothing on stdout")


def actions(log):
    return [e.get("action") for e in (log or {}).get("entries", [])]


def file_mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def run_tests(args, workdir, server, checks):
    me = App(args.app, workdir, "phone")

    # --- without a server
    v = expect_ok(checks, _completed(args.app, ["version"]), "version")
    if v is not None:
        checks.equal(v.get("abi_version"), 1, "version: abi_version")
        checks.equal(v.get("header_abi_version"), 1,
                     "version: header_abi_version")
        checks.equal(v.get("compatible"), True, "version: compatible")
        checks.check(isinstance(v.get("version"), str) and
                     v["version"].count(".") == 2,
                     "version: MAJOR.MINOR.PATCH", repr(v.get("version")))
    rc, out, _ = _completed(args.app, ["--help"])
    checks.check(rc == 0 and "revoke-device" in out and "Exit status" in out,
                 "--help: exit 0 with the verbs and exit statuses")
    for argv, what in (([], "no verb"), (["frobnicate"], "unknown verb"),
                       (["--url", "http://127.0.0.1:9", "status"],
                        "missing --state/--keys"),
                       (["--bogus", "x", "status"], "unknown option")):
        rc, out, err = _completed(args.app, argv)
        checks.equal(rc, 2, "usage error (%s): exit 2" % what)
    rc, _, _ = me.run("record", "Observation", url="http://127.0.0.1:9")
    checks.equal(rc, 2, "record with one argument: exit 2")

    # --- the server
    server.init()
    me.url = server.start()
    citizen = server.create_citizen()
    cid = citizen["citizen_id"]

    st = expect_ok(checks, me.run("status"), "status before pairing")
    if st is not None:
        checks.equal(st.get("paired"), False, "status before pairing: paired")
    expect_error(checks, me.run("records"), 1, "not_paired",
                 "records before pairing")

    paired = expect_ok(checks, me.run("pair", citizen["enrollment_code"],
                                      "Test phone"), "pair")
    if paired is None:
        raise bts.Abort("pairing failed; every later step needs it")
    device_id = paired.get("device_id", "")
    if paired is not None:
        checks.equal(paired.get("citizen_id"), cid, "pair: citizen_id")
        checks.check(device_id.startswith("d_"), "pair: device id d_…",
                     repr(device_id))
    expect_error(checks, me.run("pair", citizen["enrollment_code"], "Again"),
                 1, "already_paired", "pair twice")

    # The simulated keychain's files.
    checks.equal(file_mode(me.keys), 0o700, "keychain directory mode")
    device_key = os.path.join(me.keys, "device-key.key")
    checks.check(os.path.isfile(device_key), "device-key.key exists")
    if os.path.isfile(device_key):
        checks.equal(file_mode(device_key), 0o600, "device-key.key mode")
        checks.equal(os.path.getsize(device_key), 32, "device-key.key size")

    st = expect_ok(checks, me.run("status"), "status after pairing")
    if st is not None:
        checks.equal(st.get("paired"), True, "status: paired")
        checks.equal(st.get("citizen_id"), cid, "status: citizen_id")
        checks.equal(st.get("device_id"), device_id, "status: device_id")
        checks.equal(st.get("queued"), 0, "status: nothing queued")

    # --- add now
    added = expect_ok(checks, me.run(
        "add", json.dumps(bts.blood_pressure("2024-05-01T08:00:00Z"))),
        "add")
    added_id = (added or {}).get("id")
    checks.check(bool(added_id), "add: the stored resource has an id",
                 repr(added))
    # "-" reads the resource from standard input.
    added2 = expect_ok(checks, me.run(
        "add", "-", stdin=json.dumps(bts.blood_pressure(
            "2024-05-02T08:00:00Z", 131, 85))), "add from stdin")
    checks.check(bool((added2 or {}).get("id")), "add from stdin: id")
    expect_error(checks, me.run("add", "{not json"), 1, "invalid_argument",
                 "add with bad JSON")

    # --- queue offline, sync against a stopped server
    checks.equal(server.stop(), 0, "tillit serve exits 0 on SIGTERM")
    # The vault as it is now, for the rollback below.
    server.snapshot("data-after-pairing")
    dead_url = me.url
    for day in ("03", "04"):
        q = expect_ok(checks, me.run("queue", json.dumps(
            bts.blood_pressure("2024-05-%sT08:00:00Z" % day)),
            url=dead_url), "queue offline (day %s)" % day)
        if q is not None:
            checks.check(isinstance(q.get("queue_id"), int) and
                         bool(q.get("idempotency_key")),
                         "queue: queue_id and idempotency_key", repr(q))
    queue_key = os.path.join(me.keys, "queue.key")
    checks.check(os.path.isfile(queue_key) and
                 file_mode(queue_key) == 0o600 and
                 os.path.getsize(queue_key) == 32,
                 "queue.key: 32 bytes, mode 0600")
    expect_error(checks, me.run("sync", url=dead_url), 3, "network",
                 "sync against a stopped server")
    st = expect_ok(checks, me.run("status", url=dead_url),
                   "status after the failed sync")
    if st is not None:
        checks.equal(st.get("queued"), 2, "the failed sync kept the queue")

    # --- the server is back (on another port): sync sends the queue
    me.url = server.start()
    synced = expect_ok(checks, me.run("sync"), "sync")
    if synced is not None:
        checks.equal(synced.get("sent"), 2, "sync: sent")
        checks.equal(synced.get("remaining"), 0, "sync: remaining")
        checks.equal(synced.get("failed"), [], "sync: failed")
        w = synced.get("witness") or {}
        checks.check(isinstance(w.get("size"), int) and w["size"] > 0,
                     "sync: witness size", repr(w))
    again = expect_ok(checks, me.run("sync"), "sync with an empty queue")
    if again is not None:
        checks.equal(again.get("sent"), 0, "second sync sends nothing")
    st = expect_ok(checks, me.run("status"), "status after sync")
    if st is not None:
        checks.equal(st.get("queued"), 0, "status: queue empty after sync")
        checks.check(isinstance(st.get("witness"), dict),
                     "status: a witness is kept", repr(st.get("witness")))

    listed = expect_ok(checks, me.run("records"), "records")
    records = (listed or {}).get("records", [])
    dates = sorted(r.get("effectiveDateTime", "") for r in records)
    checks.equal(len(records), 4, "records: 2 added + 2 synced, no duplicate")
    checks.equal([d[:10] for d in dates],
                 ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"],
                 "records: the four dates")
    limited = expect_ok(checks, me.run("records", '{"limit": 1}'),
                        "records with a query")
    if limited is not None:
        checks.equal(len(limited.get("records", [])), 1, "records limit 1")
        checks.check(limited.get("next") is not None, "records: a next cursor")
    if added_id:
        one = expect_ok(checks, me.run("record", "Observation", added_id),
                        "record")
        if one is not None:
            checks.equal(one.get("id"), added_id, "record: id")
            checks.equal(one["code"]["coding"][0]["code"], "85354-9",
                         "record: LOINC code")
    expect_error(checks, me.run("record", "Observation", "no-such-record"),
                 1, "not_found", "record that does not exist")

    # --- consents
    granted = expect_ok(checks,
                        me.run("grant", json.dumps(bts.RESEARCH_GRANT)),
                        "grant")
    gid = (granted or {}).get("id", "")
    checks.check(gid.startswith("g_"), "grant: id g_…", repr(granted))
    cons = expect_ok(checks, me.run("consents"), "consents")
    grant_ids = [c.get("id") for c in (cons or {}).get("consents", [])]
    checks.check(gid in grant_ids, "consents lists the grant",
                 repr(grant_ids))
    expect_ok(checks, me.run("revoke", gid), "revoke")
    expect_error(checks, me.run("revoke", gid), 1, "conflict",
                 "revoke twice")

    # --- tillit_call
    me_json = expect_ok(checks, me.run("call", "GET", "/v1/me"), "call GET")
    if me_json is not None:
        checks.equal(me_json.get("records"), 4, "call GET /v1/me: records")
    expect_error(checks,
                 me.run("call", "GET",
                        "/v1/me/records/Observation/does-not-exist"),
                 1, "not_found", "call on an unknown record")

    # --- the access log, verified
    log = expect_ok(checks, me.run("log", "--verify"), "log --verify")
    if log is not None:
        checks.equal(log.get("verified"), True, "log: verified")
        acts = actions(log)
        for a in ("device.pair", "records.add", "records.list",
                  "consent.grant", "consent.revoke"):
            checks.check(a in acts, "log has " + a, repr(sorted(set(acts))))
    short = expect_ok(checks, me.run("log", "--limit", "2"), "log --limit 2")
    if short is not None:
        checks.equal(len(short.get("entries", [])), 2, "log: limit 2")
    rc, _, _ = me.run("log", "--limit", "x")
    checks.equal(rc, 2, "log --limit x: exit 2")

    # --- the keychain refuses weak key files (the call fails, exit 1)
    if os.path.isfile(device_key):
        os.chmod(device_key, 0o640)
        expect_error(checks, me.run("records"), 1, "key_unavailable",
                     "a group-readable device key")
        os.chmod(device_key, 0o600)
        with open(device_key, "rb") as f:
            key = f.read()
        with open(device_key, "ab") as f:
            f.write(b"x")
        expect_error(checks, me.run("records"), 1, "key_unavailable",
                     "a 33-byte device key")
        with open(device_key, "wb") as f:
            f.write(key)
        os.chmod(device_key, 0o600)
        expect_ok(checks, me.run("records"), "records with the key restored")

    # --- a second device, revoked by the first
    tablet = App(args.app, workdir, "tablet")
    tablet.url = me.url
    code2 = server.new_enrollment_code(cid)
    p2 = expect_ok(checks, tablet.run("pair", code2, "Tablet"), "pair tablet")
    tablet_id = (p2 or {}).get("device_id", "")
    devs = expect_ok(checks, me.run("devices"), "devices")
    if devs is not None:
        by_id = {d.get("id"): d for d in devs.get("devices", [])}
        checks.check(device_id in by_id and tablet_id in by_id,
                     "devices lists both", repr(devs))
        checks.equal(by_id.get(device_id, {}).get("this_device"), True,
                     "devices: this_device for the phone")
        checks.equal(by_id.get(tablet_id, {}).get("this_device"), False,
                     "devices: not this_device for the tablet")
    expect_ok(checks, me.run("revoke-device", tablet_id), "revoke-device")
    expect_error(checks, tablet.run("records"), 1, "unauthenticated",
                 "the revoked tablet")

    # --- the server's access log rolled back to an earlier copy: the
    # witness this device keeps catches it (exit 4)
    st = expect_ok(checks, me.run("status"), "status before the rollback")
    witnessed = ((st or {}).get("witness") or {}).get("size", 0)
    checks.equal(server.stop(), 0, "tillit serve stops for the rollback")
    server.restore("data-after-pairing")
    me.url = server.start()
    expect_error(checks, me.run("sync"), 4, "log_rollback",
                 "sync against a rolled-back log")
    expect_error(checks, me.run("log", "--verify"), 4, "log_rollback",
                 "log --verify against a rolled-back log")
    st = expect_ok(checks, me.run("status"), "status after the rollback")
    checks.equal(((st or {}).get("witness") or {}).get("size"), witnessed,
                 "a rollback leaves the witness as it was")

    # --- unpair
    un = expect_ok(checks, me.run("unpair"), "unpair")
    checks.equal(un, {"unpaired": True}, "unpair output")
    st = expect_ok(checks, me.run("status"), "status after unpair")
    if st is not None:
        checks.equal(st.get("paired"), False, "status after unpair: paired")
    expect_error(checks, me.run("records"), 1, "not_paired",
                 "records after unpair")

    checks.equal(server.stop(), 0, "tillit serve exits 0 at the end")


def _completed(app, argv):
    r = subprocess.run([app] + argv, capture_output=True, text=True,
                       timeout=APP_TIMEOUT, env=bts.child_env())
    return r.returncode, r.stdout, r.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", required=True)
    parser.add_argument("--tillit", required=True)
    args = parser.parse_args()
    checks = bts.Checks("bridge_c_app")
    return bts.run_with_server(
        args.tillit, "tillit-c-app-", checks,
        lambda server, workdir: run_tests(args, workdir, server, checks),
        (OSError, KeyError, TypeError, AttributeError))


if __name__ == "__main__":
    sys.exit(main())
