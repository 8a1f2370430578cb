#!/usr/bin/env python3
"""A disk that fills up for real: `tillit serve` under a file-size limit.

No loop device and no root: `tillit serve` runs with RLIMIT_FSIZE set (soft
and hard) to --limit-bytes, so every file it writes (the citizen stores,
the registry, the audit log and each one's -wal and -shm file) can grow to
that size and no further. A write past it fails with EFBIG, which SQLite
reports as an I/O error, exactly as on a full disk. (SIGXFSZ, which the
kernel also sends, is ignored by tillit; if it were not, the server would
die of it, which this test reports as such.)

The run: `tillit init` (without the limit) of a scratch data directory;
`tillit serve` with the limit; over HTTP with the operator token a care
provider and one enrolled citizen, who grants the provider their vital
signs; then the citizen adds heart-rate records (POST /v1/me/records) one
after another until the first answer that is not a 201. Every 201 is
remembered. Then:

  - the first failure is a 503 whose error code is storage_unavailable (a
    citizen store or the registry is full) or audit_unavailable (the audit
    log is full, so the access does not happen), with an error body only:
    no record, no file path; and some file of the data directory is at the
    limit (so the limit, not something else, made it fail);
  - the server still serves: GET /healthz 200; the citizen's listing
    (GET /v1/me/records, paged) 200 with every acknowledged record, or a
    503 audit_unavailable when the log is what is full (a read is audited;
    never a partial list); the provider's read of an acknowledged record
    200 or 503; never a 500, never data in a 503;
  - 5 more writes each fail with 503 (not 500, not a dropped connection);
  - SIGTERM stops it with exit status 0;
  - restarted WITHOUT the limit: the audit log holds exactly the entries
    the limited server counted (none it refused, none lost), every
    acknowledged record is listed unchanged, the provider reads one, a new
    write gets 201, SIGTERM exits 0, then `tillit audit verify --json` is
    ok with the entries the server counted and `tillit citizen verify`
    exits 0.

A write refused with a 503 may still be stored (the store committed, the
registry's generation update then failed); it is counted as stored
unacknowledged, never as a loss.

The default limit (2 MiB) and why: nothing is checkpointed under it.
SQLite appends every page a commit changes to the database's WAL as a
frame of 4096 + 24 bytes, and checkpoints only past wal_autocheckpoint
pages: 1000 (4 MB) for a citizen store and the registry, 16384 (64 MB) for
the audit log. A record write commits about 5 to 6 pages of the store (the
records leaf, its three index leaves and the generation in meta, plus page
1 and an interior page when the file grows), 1 of the registry (the
citizen's generation) and about 3 of the audit log (the entry and its two
index leaves). By this count the store's WAL reaches 2 MiB first, after
some 80 to 100 writes, while the audit log's WAL is near 1.3 MiB and has
room for the audited reads that follow. Setup (a few hundred KiB) fits
far below it. A limit above about 3.9 MiB lets the store checkpoint; the
audit log's WAL then fills first (audit_unavailable), which the checks
accept too.

Usage: disk_full_test.py --tillit PATH [--limit-bytes N] [--max-writes N]
                         [--timeout SECONDS] [--keep] [--json]

Prints a summary (acknowledged writes, the first failure's status and
code, the file at the limit, lost records) or with --json one JSON object.
Exit status 0 only when every check passed; 1 otherwise; 2 for bad usage.
--keep keeps the scratch directory of a failed run (its path is printed).
Secrets (tokens, enrollment codes) are never printed. Python 3 standard
library only.
"""

import argparse
import datetime
import http.client
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

DEFAULT_LIMIT_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_WRITES = 5000
MORE_WRITES = 5  # after the first failure
SERVER_THREADS = "8"
LIST_PAGE = 1000  # the largest `limit` of GET /v1/me/records
MAX_PAGES = 100
# A failing write has reached the limit: SQLite writes at most a WAL frame
# (4096 + 24 bytes) at a time, and a write that crosses the limit stops
# exactly at it.
AT_LIMIT_SLACK = 4096 + 24
STORAGE_CODES = ("storage_unavailable", "audit_unavailable")


class StepError(Exception):
    """A step the rest of the run depends on failed."""


# ---------------------------------------------------------------- the data


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def heart_rate(k):
    """The k-th heart-rate Observation (LOINC 8867-4, vital signs), without
    id: the vault assigns it. Every one has the same shape and size, so
    every write changes the same pages."""
    when = (datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) +
            datetime.timedelta(minutes=k))
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{
            "system":
                "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4",
                             "display": "Heart rate"}]},
        "effectiveDateTime": iso(when),
        "valueQuantity": {"value": 50 + k % 50, "unit": "/min",
                          "system": "http://unitsofmeasure.org",
                          "code": "/min"},
    }


def grant_body(provider_id):
    """The citizen's vital signs to one provider, for care."""
    return {"grantee": {"kind": "provider", "id": provider_id},
            "purposes": ["DUO:0000043"],
            "categories": ["vital-signs"],
            "expires": None}


def parse_json(raw):
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return None


def snippet(raw, limit=200):
    text = raw[:limit].decode("utf-8", errors="replace")
    return text + ("..." if len(raw) > limit else "")


def error_body_problem(raw, codes, data_dir, record_ids=()):
    """What is wrong with a 503's body (None when nothing): it must be
    {"error": {"code", "message", "request_id"}} with a code of `codes`,
    and hold no record and no file path."""
    body = parse_json(raw)
    if not isinstance(body, dict) or set(body) != {"error"} or \
            not isinstance(body["error"], dict):
        return "the body is not an error body: %s" % snippet(raw)
    err = body["error"]
    extra = set(err) - {"code", "message", "request_id"}
    if extra:
        return "the error body has %s" % ", ".join(sorted(extra))
    if err.get("code") not in codes:
        return "error code %r, expected %s" % (err.get("code"),
                                               " or ".join(codes))
    message = err.get("message")
    if not isinstance(message, str) or not message:
        return "the error has no message"
    text = raw.decode("utf-8", errors="replace")
    if "/" in message or ".db" in message or data_dir in text:
        return "the error message names a file: %r" % message[:200]
    if "resourceType" in text or any(rid in text for rid in record_ids):
        return "the error body holds a record"
    return None


# ---------------------------------------------------------------- processes


def child_env():
    """The data directory and key file come from the command line only."""
    env = dict(os.environ)
    env.pop("TILLIT_DATA", None)
    env.pop("TILLIT_KEY_FILE", None)
    return env


def describe_exit(rc):
    if rc is None:
        return "still running"
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = "signal %d" % -rc
        if -rc == signal.SIGXFSZ:
            return ("killed by SIGXFSZ: the file-size limit ended the "
                    "process instead of failing the write")
        return "killed by %s" % name
    return "exit status %d" % rc


class Tillit:
    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout

    def run(self, args):
        """Runs `tillit ARGS` (no limit); returns the CompletedProcess."""
        try:
            return subprocess.run([self.path] + list(args),
                                  stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True,
                                  timeout=self.timeout, env=child_env())
        except subprocess.TimeoutExpired:
            raise StepError("`tillit %s` took over %d s" %
                            (" ".join(args[:2]), self.timeout))


class Server:
    """`tillit serve` of `data_dir` on a free loopback port, its standard
    output and error in files of `workdir` named after `name`; with
    `limit_bytes`, under RLIMIT_FSIZE."""

    def __init__(self, tillit, workdir, data_dir, name, limit_bytes=None):
        self.tillit = tillit
        self.data_dir = data_dir
        self.limit_bytes = limit_bytes
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        self.proc = None
        self.host = self.port = None

    def _limit(self):
        # In the child, before exec: every file it writes stops here.
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (self.limit_bytes, self.limit_bytes))

    def start(self):
        # Popen's restore_signals (the default) gives the child SIGXFSZ's
        # default action, which Python itself ignores: tillit must ignore
        # it on its own.
        with open(self.out_path, "wb") as out, \
                open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [self.tillit.path, "serve", "--data", self.data_dir,
                 "--listen", "127.0.0.1:0", "--quiet", "--rate", "0",
                 "--threads", SERVER_THREADS],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                env=child_env(),
                preexec_fn=self._limit if self.limit_bytes else None)
        deadline = time.monotonic() + self.tillit.timeout
        while time.monotonic() < deadline:
            with open(self.out_path, "r", errors="replace") as f:
                for line in f:
                    if line.startswith("listening on ") and \
                            line.endswith("\n"):
                        url = urllib.parse.urlsplit(
                            line[len("listening on "):].strip())
                        self.host, self.port = url.hostname, url.port
                        return self
            if self.proc.poll() is not None:
                raise StepError("`tillit serve` ended before listening (%s): "
                                "%s" % (describe_exit(self.proc.returncode),
                                        self.stderr_tail()))
            time.sleep(0.05)
        self.kill()
        raise StepError("`tillit serve` did not listen within %d s" %
                        self.tillit.timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self, wait=5):
        """Its exit status once it ended by itself (waiting up to `wait`
        seconds for it to be reaped), or None while it runs."""
        try:
            return self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self):
        """SIGTERM; the exit status, or None when it would not stop (it is
        then killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.tillit.timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def stderr_tail(self, limit=600):
        try:
            with open(self.err_path, "r", errors="replace") as f:
                text = f.read().strip()
        except OSError:
            return "(no log)"
        return text[-limit:] if text else "(nothing on standard error)"

    def call(self, method, path, token=None, body=None):
        """(status, raw body). Raises OSError or http.client.HTTPException
        when no answer comes."""
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=self.tillit.timeout)
        try:
            headers = {"Connection": "close"}
            data = None
            if token:
                headers["Authorization"] = "Bearer " + token
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        return resp.status, raw


NO_ANSWER = (OSError, http.client.HTTPException)


# ------------------------------------------------------------------ the run


class Run:
    """The figures and the broken promises of one run."""

    def __init__(self, limit_bytes):
        self.limit_bytes = limit_bytes
        self.violations = []
        self.acked = {}  # record id -> the 201's body, in write order
        self.first_failure = None  # {"write", "status", "code"}
        self.files_at_limit = []
        self.while_full = {}
        self.more_writes = []  # statuses/codes of the writes after it
        self.limited_exit = None
        self.lost = None
        self.stored_unacknowledged = None
        self.after_restart = {}
        self.setup_sizes = {}

    def fail(self, message):
        self.violations.append(message)
        print("FAIL: " + message, file=sys.stderr, flush=True)

    def as_json(self):
        return {"ok": not self.violations,
                "limit_bytes": self.limit_bytes,
                "acknowledged": len(self.acked),
                "first_failure": self.first_failure,
                "files_at_limit": self.files_at_limit,
                "while_full": self.while_full,
                "more_writes": self.more_writes,
                "limited_server_exit": self.limited_exit,
                "lost": self.lost,
                "stored_unacknowledged": self.stored_unacknowledged,
                "after_restart": self.after_restart,
                "setup_file_sizes": self.setup_sizes,
                "violations": self.violations}


def file_sizes(data_dir):
    """{path relative to the data directory: size} of every file in it."""
    sizes = {}
    for root, _, names in os.walk(data_dir):
        for n in names:
            p = os.path.join(root, n)
            try:
                sizes[os.path.relpath(p, data_dir)] = os.path.getsize(p)
            except OSError:
                pass
    return sizes


def error_code(raw):
    body = parse_json(raw)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"].get("code")
    return None


def needed(server, what, method, path, token, body, status, *keys):
    """The JSON answer of a setup request that must succeed."""
    try:
        got, raw = server.call(method, path, token, body)
    except NO_ANSWER as e:
        raise StepError("%s: no answer (%r)" % (what, e))
    out = parse_json(raw)
    if got != status or not isinstance(out, dict) or \
            any(not out.get(k) for k in keys):
        raise StepError("%s answered %d: %s" % (what, got,
                                                error_code(raw) or
                                                snippet(raw)))
    return out


def list_records(server, token):
    """GET /v1/me/records, every page: (200, {id: record}) or, at the first
    page that is not a 200, (status, raw body)."""
    records = {}
    cursor = None
    for _ in range(MAX_PAGES):
        path = "/v1/me/records?limit=%d" % LIST_PAGE
        if cursor is not None:
            path += "&cursor=" + urllib.parse.quote(cursor, safe="")
        status, raw = server.call("GET", path, token)
        if status != 200:
            return status, raw
        body = parse_json(raw)
        if not isinstance(body, dict) or \
                not isinstance(body.get("records"), list):
            raise StepError("GET /v1/me/records answered 200 without "
                            "records: %s" % snippet(raw))
        for r in body["records"]:
            if isinstance(r, dict) and "id" in r:
                records[r["id"]] = r
        cursor = body.get("next")
        if cursor is None:
            return 200, records
    raise StepError("GET /v1/me/records: more than %d pages" % MAX_PAGES)


def setup(run, tillit, data_dir):
    """`tillit init`; the operator token. Every file it made must be far
    below the limit, or the limit would stop the server's start."""
    r = tillit.run(["init", "--data", data_dir, "--json"])
    out = parse_json(r.stdout)
    if r.returncode != 0 or not isinstance(out, dict) or \
            not out.get("admin_token"):
        raise StepError("`tillit init` exited %d: %s" %
                        (r.returncode, r.stderr.strip()[-300:]))
    run.setup_sizes = file_sizes(data_dir)
    big = {p: s for p, s in run.setup_sizes.items()
           if s > run.limit_bytes // 2}
    if big:
        raise StepError("--limit-bytes %d is too small: `tillit init` "
                        "already wrote %s" % (run.limit_bytes, ", ".join(
                            "%s (%d bytes)" % kv for kv in sorted(
                                big.items()))))
    return out["admin_token"]


def enroll(server, admin):
    """A provider and a citizen who grants it their vital signs:
    (citizen id, citizen token, provider token)."""
    p = needed(server, "POST /v1/admin/providers", "POST",
               "/v1/admin/providers", admin, {"name": "Disk-full clinic"},
               201, "provider_id", "token")
    c = needed(server, "POST /v1/admin/citizens", "POST",
               "/v1/admin/citizens", admin, {}, 201, "citizen_id",
               "enrollment_code")
    e = needed(server, "POST /v1/enroll", "POST", "/v1/enroll", None,
               {"enrollment_code": c["enrollment_code"]}, 200, "citizen_id",
               "token")
    needed(server, "POST /v1/me/consents", "POST", "/v1/me/consents",
           e["token"], grant_body(p["provider_id"]), 201, "id")
    return e["citizen_id"], e["token"], p["token"]


def write_until_refused(run, server, token, max_writes):
    """POSTs records until the first answer that is not a 201; returns the
    number of writes made, or None when the server stopped answering or
    refused none."""
    for k in range(max_writes):
        try:
            status, raw = server.call("POST", "/v1/me/records", token,
                                      heart_rate(k))
        except NO_ANSWER as e:
            run.fail("write %d got no answer (%r); the server: %s" %
                     (k + 1, e, describe_exit(server.exit_status())))
            run.first_failure = {"write": k + 1, "status": None,
                                 "code": None}
            return None
        body = parse_json(raw)
        if status == 201:
            if not isinstance(body, dict) or "id" not in body:
                run.fail("write %d: a 201 without the record: %s" %
                         (k + 1, snippet(raw)))
                continue
            run.acked[body["id"]] = body
            continue
        run.first_failure = {"write": k + 1, "status": status,
                             "code": error_code(raw)}
        if status != 503:
            run.fail("the first refused write (%d) answered %d, not 503: %s"
                     % (k + 1, status, snippet(raw)))
        else:
            problem = error_body_problem(raw, STORAGE_CODES, server.data_dir)
            if problem:
                run.fail("the first refused write's 503: " + problem)
        return k + 1
    run.fail("%d writes and none refused: the limit of %d bytes was never "
             "reached" % (max_writes, run.limit_bytes))
    return None


def check_while_full(run, server, cid, token, provider_token, refused_at):
    """The full server still serves: health, the listing, a provider read,
    and further writes refused with 503."""
    status, raw = server.call("GET", "/healthz")
    run.while_full["healthz"] = status
    if status != 200:
        run.fail("GET /healthz answered %d while the disk is full" % status)

    ids = list(run.acked)
    status, listed = list_records(server, token)
    run.while_full["list"] = status
    if status == 200:
        missing = [rid for rid in ids if rid not in listed]
        changed = [rid for rid in ids
                   if rid in listed and listed[rid] != run.acked[rid]]
        run.while_full["listed"] = len(listed)
        if missing or changed:
            run.fail("while the disk is full, the listing lacks %d and "
                     "changes %d of %d acknowledged records" %
                     (len(missing), len(changed), len(ids)))
    elif status == 503:
        run.while_full["list_code"] = error_code(listed)
        # A read is audited: with the audit log full it must not happen.
        problem = error_body_problem(listed, ("audit_unavailable",),
                                     server.data_dir, ids)
        if problem:
            run.fail("GET /v1/me/records' 503 while the disk is full: " +
                     problem)
    else:
        run.fail("GET /v1/me/records answered %d while the disk is full: %s"
                 % (status, snippet(listed)))

    if ids:
        rid = ids[0]
        status, raw = server.call(
            "GET", "/v1/patients/%s/records/Observation/%s" % (cid, rid),
            provider_token)
        run.while_full["provider_read"] = status
        if status == 200:
            got = parse_json(raw)
            if not isinstance(got, dict) or got.get("id") != rid or \
                    got.get("resourceType") != "Observation":
                run.fail("the provider's read of %s answered 200 with "
                         "another record" % rid)
        elif status == 503:
            run.while_full["provider_read_code"] = error_code(raw)
            problem = error_body_problem(raw, STORAGE_CODES,
                                         server.data_dir, ids)
            if problem:
                run.fail("the provider read's 503: " + problem)
        else:
            run.fail("the provider's read answered %d while the disk is "
                     "full: %s" % (status, snippet(raw)))

    for k in range(MORE_WRITES):
        status, raw = server.call("POST", "/v1/me/records", token,
                                  heart_rate(refused_at + k))
        code = error_code(raw)
        run.more_writes.append({"status": status, "code": code})
        if status == 201:
            # The disk is as full as before; yet a 201 is a promise.
            body = parse_json(raw)
            if isinstance(body, dict) and "id" in body:
                run.acked[body["id"]] = body
            run.fail("write %d after the first refusal answered 201 with "
                     "the disk still full" % (k + 1))
        elif status != 503:
            run.fail("write %d after the first refusal answered %d, not "
                     "503: %s" % (k + 1, status, snippet(raw)))
        else:
            problem = error_body_problem(raw, STORAGE_CODES, server.data_dir)
            if problem:
                run.fail("write %d after the first refusal: %s" %
                         (k + 1, problem))


def healthz_entries(server):
    """The audit log's size as the server counts it, or None."""
    status, raw = server.call("GET", "/healthz")
    body = parse_json(raw)
    if status != 200 or not isinstance(body, dict):
        return None
    n = body.get("audit_entries")
    return n if isinstance(n, int) else None


def check_after_restart(run, server, cid, token, provider_token,
                        limited_entries):
    """Without the limit: nothing acknowledged lost, writes work again."""
    a = run.after_restart
    entries = healthz_entries(server)
    a["audit_entries_at_start"] = entries
    if limited_entries is not None and entries != limited_entries:
        run.fail("the limited server counted %d audit entries; the log "
                 "holds %s" % (limited_entries, entries))

    status, listed = list_records(server, token)
    a["list"] = status
    if status != 200:
        run.fail("GET /v1/me/records answered %d after the restart: %s" %
                 (status, snippet(listed)))
    else:
        missing = [rid for rid in run.acked if rid not in listed]
        changed = [rid for rid in run.acked
                   if rid in listed and listed[rid] != run.acked[rid]]
        run.lost = len(missing) + len(changed)
        run.stored_unacknowledged = len(
            [rid for rid in listed if rid not in run.acked])
        if missing:
            run.fail("%d acknowledged record(s) lost, e.g. %s" %
                     (len(missing), missing[0]))
        if changed:
            run.fail("%d acknowledged record(s) read back changed, e.g. %s"
                     % (len(changed), changed[0]))

    if run.acked:
        rid = next(iter(run.acked))
        status, raw = server.call(
            "GET", "/v1/patients/%s/records/Observation/%s" % (cid, rid),
            provider_token)
        a["provider_read"] = status
        got = parse_json(raw)
        if status != 200 or not isinstance(got, dict) or \
                got.get("id") != rid:
            run.fail("the provider's read of %s answered %d after the "
                     "restart" % (rid, status))

    status, raw = server.call("POST", "/v1/me/records", token,
                              heart_rate(10 ** 6))
    a["new_write"] = status
    body = parse_json(raw)
    if status != 201 or not isinstance(body, dict) or "id" not in body:
        run.fail("a write after the restart answered %d: %s" %
                 (status, snippet(raw)))
    else:
        path = "/v1/me/records/Observation/" + body["id"]
        got_status, got = server.call("GET", path, token)
        if got_status != 200 or parse_json(got) != body:
            run.fail("the write after the restart reads back %d" %
                     got_status)


def verify(run, tillit, data_dir, expected_entries):
    r = tillit.run(["audit", "verify", "--data", data_dir, "--json"])
    report = parse_json(r.stdout)
    ok = r.returncode == 0 and isinstance(report, dict) and \
        report.get("ok") is True
    run.after_restart["audit_verify"] = "ok" if ok else "FAILED"
    if not ok:
        problem = report.get("problem") if isinstance(report, dict) else None
        run.fail("`tillit audit verify` exited %d: %s" %
                 (r.returncode, problem or r.stderr.strip()[-300:]))
    else:
        run.after_restart["audit_verified_entries"] = report.get("entries")
        if expected_entries is not None and \
                report.get("entries") != expected_entries:
            run.fail("`tillit audit verify` found %s entries; the server "
                     "counted %d" % (report.get("entries"),
                                     expected_entries))
    r = tillit.run(["citizen", "verify", "--data", data_dir])
    run.after_restart["citizen_verify"] = "ok" if r.returncode == 0 \
        else "FAILED"
    if r.returncode != 0:
        run.fail("`tillit citizen verify` exited %d: %s" %
                 (r.returncode, r.stderr.strip()[-300:]))


def disk_full(run, tillit, workdir, max_writes):
    data_dir = os.path.join(workdir, "data")
    admin = setup(run, tillit, data_dir)

    limited = Server(tillit, workdir, data_dir, "serve-limited",
                     run.limit_bytes)
    try:
        limited.start()
        cid, token, provider_token = enroll(limited, admin)
        refused_at = write_until_refused(run, limited, token, max_writes)
        if refused_at is not None and not run.acked:
            run.fail("the first write was refused: --limit-bytes %d leaves "
                     "no room to measure anything" % run.limit_bytes)
        sizes = file_sizes(data_dir)
        run.files_at_limit = sorted(
            p for p, s in sizes.items()
            if s >= run.limit_bytes - AT_LIMIT_SLACK)
        if refused_at is not None and not run.files_at_limit:
            run.fail("a write was refused but no file is near the limit "
                     "(largest: %s)" % ", ".join(
                         "%s %d" % kv for kv in sorted(
                             sizes.items(), key=lambda kv: -kv[1])[:3]))
        limited_entries = None
        if refused_at is not None and limited.alive():
            try:
                check_while_full(run, limited, cid, token, provider_token,
                                 refused_at)
                limited_entries = healthz_entries(limited)
            except NO_ANSWER as e:
                run.fail("the full server stopped answering (%r): %s" %
                         (e, describe_exit(limited.exit_status())))
        if limited.alive():
            run.limited_exit = limited.stop()
            if run.limited_exit is None:
                run.fail("the limited `tillit serve` ignored SIGTERM for %d "
                         "s and was killed" % tillit.timeout)
            elif run.limited_exit != 0:
                run.fail("the limited `tillit serve` on SIGTERM: %s, not "
                         "exit status 0: %s" % (
                             describe_exit(run.limited_exit),
                             limited.stderr_tail()))
        else:
            run.limited_exit = limited.exit_status()
            run.fail("the limited `tillit serve` ended by itself (%s): %s" %
                     (describe_exit(run.limited_exit),
                      limited.stderr_tail()))
    finally:
        limited.kill()

    free = Server(tillit, workdir, data_dir, "serve-unlimited")
    try:
        free.start()
        try:
            check_after_restart(run, free, cid, token, provider_token,
                                limited_entries)
            final_entries = healthz_entries(free)
        except NO_ANSWER as e:
            run.fail("the restarted server stopped answering (%r)" % (e,))
            final_entries = None
        rc = free.stop()
        if rc is None:
            run.fail("the restarted `tillit serve` ignored SIGTERM for %d s "
                     "and was killed" % tillit.timeout)
        elif rc != 0:
            run.fail("the restarted `tillit serve` on SIGTERM: %s, not exit "
                     "status 0: %s" % (describe_exit(rc), free.stderr_tail()))
    finally:
        free.kill()
    verify(run, tillit, data_dir, final_entries)


def print_summary(run):
    j = run.as_json()
    print("disk_full: every file `tillit serve` writes limited to %d bytes "
          "(RLIMIT_FSIZE)" % run.limit_bytes)
    print("acknowledged writes (201): %d" % j["acknowledged"])
    f = run.first_failure
    if f:
        print("first failure: write %d, %s; at the limit: %s" % (
            f["write"], "no answer" if f["status"] is None else
            ("%d %s" % (f["status"], f["code"] or "")).strip(),
            ", ".join(run.files_at_limit) or "no file"))
    if run.while_full:
        print("while full: %s" % ", ".join(
            "%s %s" % kv for kv in sorted(run.while_full.items())))
    if run.more_writes:
        print("%d more writes: %s" % (len(run.more_writes), ", ".join(
            "%s %s" % (w["status"], w["code"] or "")
            for w in run.more_writes)))
    print("the limited server ended: %s" % describe_exit(run.limited_exit))
    print("after the restart without the limit: lost %s, stored "
          "unacknowledged %s; %s" % (
              run.lost, run.stored_unacknowledged, ", ".join(
                  "%s %s" % kv for kv in sorted(run.after_restart.items()))))
    print("PASS" if not run.violations else
          "FAIL (%d violation(s))" % len(run.violations))


def positive_int(text):
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return v


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tillit", required=True, help="the tillit binary")
    parser.add_argument("--limit-bytes", type=positive_int,
                        default=DEFAULT_LIMIT_BYTES,
                        help="RLIMIT_FSIZE of the limited server (default "
                        "%d)" % DEFAULT_LIMIT_BYTES)
    parser.add_argument("--max-writes", type=positive_int,
                        default=DEFAULT_MAX_WRITES,
                        help="give up when this many writes all succeed "
                        "(default %d)" % DEFAULT_MAX_WRITES)
    parser.add_argument("--timeout", type=positive_int, default=60,
                        help="seconds any tillit call, start, stop or "
                        "request may take (default 60)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch directory of a failed run")
    parser.add_argument("--json", action="store_true",
                        help="print the summary as one JSON object")
    args = parser.parse_args(argv)
    if not os.access(args.tillit, os.X_OK):
        parser.error("--tillit: %s is not an executable" % args.tillit)
    if args.limit_bytes < 64 * 1024:
        parser.error("--limit-bytes: at least 65536 (setup must fit)")
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if hard != resource.RLIM_INFINITY and hard < args.limit_bytes:
        parser.error("--limit-bytes: above this shell's hard file-size "
                     "limit (%d)" % hard)
    tillit = Tillit(os.path.abspath(args.tillit), args.timeout)

    run = Run(args.limit_bytes)
    workdir = tempfile.mkdtemp(prefix="tillit-diskfull-")
    try:
        disk_full(run, tillit, workdir, args.max_writes)
    except StepError as e:
        run.fail("could not go on: %s" % e)
    except NO_ANSWER as e:
        run.fail("no answer from the server: %r" % (e,))
    except Exception:  # noqa: BLE001 - a fault of this test must not pass
        run.fail("the test itself failed: %s" % traceback.format_exc())
    if args.json:
        print(json.dumps(run.as_json(), indent=2, sort_keys=True))
    else:
        print_summary(run)
    if run.violations and args.keep:
        print("the scratch directory is kept: %s" % workdir, file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if run.violations else 0


if __name__ == "__main__":
    sys.exit(main())
