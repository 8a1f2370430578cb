#!/usr/bin/env python3
"""The restore drill (issue 19): a backup taken under write load restores.

The run, in a scratch directory: `tillit demo --no-serve` builds a demo
vault of 20 citizens (its root keys in DATA/root.key); `tillit serve`
serves it; the admin API enrolls 3 more citizens, and 4 writer threads, one
per citizen (the demo's citizen and the 3 new ones), add heart-rate
records (POST /v1/me/records) without pause. Every 201 is remembered with
the moment it arrived. After 2 s of writes, `tillit backup --out BACKUP`
runs beside the server; then, still under load, a second `tillit backup`
into the same directory (incremental), which is the one restored. Then:

  - both backups exit 0 and report every citizen; the first copies every
    file, the second keeps some (skipped > 0: most demo citizens did not
    change) and copies at least each written store, the registry and the
    audit log, and its audit log is longer than the first's;
  - every writer's write got a 201 and `tillit serve` exits 0 on SIGTERM;
  - `tillit backup verify BACKUP --key-file DATA/root.key` is ok with the
    second backup's files, citizens and audit entries, and leaves no
    scratch directory behind;
  - `tillit restore` into a directory that holds a file exits 1 and leaves
    that directory as it was;
  - `tillit restore --from BACKUP --data RESTORED --key-file
    DATA/root.key` exits 0 with the backup's citizens and audit entries;
    the key file is copied into RESTORED (the vault kept it in its data
    directory), so `tillit citizen verify` and `tillit audit verify` of
    RESTORED pass with no --key-file;
  - `tillit serve --data RESTORED`: every write acknowledged before the
    second backup started reads back identical (GET
    /v1/me/records/{type}/{id}) with the citizen's token, issued before the
    backup; writes acknowledged after it started may be there or not and
    are counted apart; SIGTERM exits 0;
  - the live data directory and the backup are byte for byte what they
    were before verify and restore ran, and `tillit citizen verify` and
    `tillit audit verify` of the live data directory pass.

Usage: restore_drill_test.py --tillit PATH [--timeout SECONDS] [--keep]
                             [--json]

Prints a summary (writes acknowledged before and after the second backup
started, present and lost after the restore, both backups' figures, the
seconds each step took) or with --json one JSON object. Exit status 0 only
when every check passed; 1 otherwise; 2 for bad usage. --keep keeps the
scratch directory of a failed run (its path is printed). --timeout bounds
every tillit call, server start and stop, and HTTP request. Secrets
(tokens, enrollment codes, keys) are never printed. Python 3 standard
library only.
"""

import argparse
import collections
import concurrent.futures
import contextlib
import datetime
import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

DEMO_CITIZENS = 20
WRITERS = 4  # the demo's citizen and WRITERS - 1 enrolled ones, one each
WARMUP_SECONDS = 2.0  # of writes before the first backup
PAUSE_SECONDS = 0.5  # of writes between the backups, and after the second
SERVER_THREADS = "8"
BACKUP_KEYS = ("files", "copied", "skipped", "bytes", "bytes_copied",
               "citizens", "audit_entries", "root_key_version",
               "key_included", "out")


class StepError(Exception):
    """A step the rest of the run depends on failed."""


# ---------------------------------------------------------------- the data


def heart_rate(writer, k):
    """Writer `writer`'s k-th heart-rate Observation (LOINC 8867-4, vital
    signs), without id: the vault assigns it."""
    when = (datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) +
            datetime.timedelta(minutes=writer * 1000000 + k))
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{
            "system":
                "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4",
                             "display": "Heart rate"}]},
        "effectiveDateTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valueQuantity": {"value": 50 + k % 50, "unit": "/min",
                          "system": "http://unitsofmeasure.org",
                          "code": "/min"},
    }


def parse_json(raw):
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return None


def answer(raw, limit=200):
    """An HTTP error body's code, else its start."""
    body = parse_json(raw)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code"))
    return raw[:limit].decode("utf-8", errors="replace")


def file_digest(path):
    """The SHA-256 of a file, or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def tree_digest(top):
    """{path relative to `top`: SHA-256} of every file under it."""
    digests = {}
    for root, _, names in os.walk(top):
        for n in names:
            p = os.path.join(root, n)
            digests[os.path.relpath(p, top)] = file_digest(p)
    return digests


def problem(out, err):
    """The "problem" of a --json failure report, else standard error."""
    if isinstance(out, dict) and out.get("problem"):
        return str(out["problem"])[-300:]
    return tail(err)


# ---------------------------------------------------------------- processes


def child_env():
    """The data directory and key file come from the command line only."""
    env = dict(os.environ)
    env.pop("TILLIT_DATA", None)
    env.pop("TILLIT_KEY_FILE", None)
    return env


def tail(text, limit=300):
    text = (text or "").strip()
    return text[-limit:] if text else "(nothing on standard error)"


class Tillit:
    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout

    def run(self, args):
        """(exit status, parsed standard output or None, standard error).
        Standard output is never printed: the demo's holds tokens."""
        try:
            r = subprocess.run([self.path] + list(args),
                               stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=self.timeout,
                               env=child_env())
        except subprocess.TimeoutExpired:
            raise StepError("`tillit %s` took over %d s" %
                            (" ".join(args[:2]), self.timeout))
        return r.returncode, parse_json(r.stdout), r.stderr


class Server:
    """`tillit serve` of `data_dir` on a free loopback port, its standard
    output and error in files of `workdir` named after `name`."""

    def __init__(self, tillit, workdir, data_dir, name):
        self.tillit = tillit
        self.data_dir = data_dir
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        self.proc = None
        self.host = self.port = None

    def start(self):
        with open(self.out_path, "wb") as out, \
                open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [self.tillit.path, "serve", "--data", self.data_dir,
                 "--listen", "127.0.0.1:0", "--quiet", "--rate", "0",
                 "--threads", SERVER_THREADS],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                env=child_env())
        deadline = time.monotonic() + self.tillit.timeout
        while time.monotonic() < deadline:
            with open(self.out_path, "r", errors="replace") as f:
                line = f.readline()
            if line.startswith("listening on ") and line.endswith("\n"):
                url = urllib.parse.urlsplit(line.split(" ", 2)[2].strip())
                self.host, self.port = url.hostname, url.port
                return self
            if self.proc.poll() is not None:
                raise StepError("`tillit serve` exited %d before listening: "
                                "%s" % (self.proc.returncode,
                                        self.stderr_tail()))
            time.sleep(0.05)
        self.kill()
        raise StepError("`tillit serve` did not listen within %d s" %
                        self.tillit.timeout)

    def kill(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        """SIGTERM; the exit status, or None when it would not stop (it is
        then killed) or never started."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=self.tillit.timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def stderr_tail(self):
        try:
            with open(self.err_path, "r", errors="replace") as f:
                return tail(f.read())
        except OSError:
            return "(no log)"

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

Ack = collections.namedtuple("Ack", "citizen token body at")


class Writers:
    """One thread per (citizen id, token) adding records until stopped;
    every 201 is kept as an Ack, the first other answer ends the thread."""

    def __init__(self, server, citizens):
        self.server = server
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.acks = []
        self.failures = []
        self.threads = [threading.Thread(target=self._write, args=(w, c),
                                         daemon=True)
                        for w, c in enumerate(citizens)]
        for t in self.threads:
            t.start()

    def _write(self, w, citizen):
        cid, token = citizen
        k = 0
        try:
            while not self.stopping.is_set():
                status, raw = self.server.call("POST", "/v1/me/records",
                                               token, heart_rate(w, k))
                at = time.monotonic()
                body = parse_json(raw)
                if status != 201 or not isinstance(body, dict) or \
                        not body.get("id") or not body.get("resourceType"):
                    raise StepError("POST /v1/me/records answered %d: %s" %
                                    (status, answer(raw)))
                with self.lock:
                    self.acks.append(Ack(cid, token, body, at))
                k += 1
        except NO_ANSWER as e:
            self.failures.append("writer %d: no answer (%r)" % (w, e))
        except Exception as e:  # noqa: BLE001 - reported, never passed
            self.failures.append("writer %d, write %d: %s" % (w, k + 1, e))

    def stop(self, timeout):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout)
        if any(t.is_alive() for t in self.threads):
            self.failures.append("a writer did not stop within %d s" %
                                 timeout)


# ------------------------------------------------------------------ the run


class Run:
    """The figures and the broken promises of one run."""

    def __init__(self):
        self.violations = []
        self.steps = {}  # step -> seconds, in order
        self.backups = []  # the two backups' --json reports
        self.before = self.after = 0  # acks before/after backup 2 started
        self.present = self.lost = self.after_present = None

    def fail(self, message):
        self.violations.append(message)
        print("FAIL: " + message, file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def step(self, name):
        start = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = round(time.monotonic() - start, 3)

    def as_json(self):
        return {"ok": not self.violations,
                "acknowledged_before_backup": self.before,
                "acknowledged_after_backup": self.after,
                "present": self.present, "lost": self.lost,
                "after_present": self.after_present,
                "backups": self.backups, "steps": self.steps,
                "violations": self.violations}


def needed(server, path, token, body, status, key):
    """The JSON answer of a setup POST that must succeed."""
    got, raw = server.call("POST", path, token, body)
    out = parse_json(raw)
    if got != status or not isinstance(out, dict) or not out.get(key):
        raise StepError("POST %s answered %d: %s" % (path, got, answer(raw)))
    return out


def enroll(server, admin, n):
    """n new citizens through the admin API: [(citizen id, token)]."""
    out = []
    for _ in range(n):
        c = needed(server, "/v1/admin/citizens", admin, {}, 201,
                   "enrollment_code")
        e = needed(server, "/v1/enroll", None,
                   {"enrollment_code": c["enrollment_code"]}, 200, "token")
        out.append((c["citizen_id"], e["token"]))
    return out


def take_backup(run, tillit, data, out, n, citizens):
    """`tillit backup` number n (1 or 2) beside the running server."""
    with run.step("backup %d" % n):
        rc, b, err = tillit.run(["backup", "--data", data, "--out", out,
                                 "--json"])
    if rc != 0 or not isinstance(b, dict) or \
            any(k not in b for k in BACKUP_KEYS):
        raise StepError("`tillit backup` %d under load exited %d: %s" %
                        (n, rc, tail(err)))
    run.backups.append({k: b[k] for k in BACKUP_KEYS if k != "out"})
    if b["citizens"] != citizens:
        run.fail("backup %d holds %s citizens, the vault %d" %
                 (n, b["citizens"], citizens))
    if b["files"] != b["copied"] + b["skipped"] or b["key_included"] or \
            b["out"] != os.path.abspath(out):
        run.fail("backup %d's report does not add up: %d files, %d copied, "
                 "%d skipped, key_included %s" % (n, b["files"], b["copied"],
                                                  b["skipped"],
                                                  b["key_included"]))
    return b


def check_backups(run, first, second):
    if first["skipped"] != 0 or first["copied"] < first["citizens"]:
        run.fail("the first backup into an empty directory kept %d and "
                 "copied %d files" % (first["skipped"], first["copied"]))
    if second["skipped"] == 0:
        run.fail("the second backup into the same directory kept nothing: "
                 "it is not incremental")
    # Each written citizen's store, the registry and the audit log changed.
    if second["copied"] < WRITERS + 2:
        run.fail("the second backup copied %d files; %d stores, the "
                 "registry and the audit log changed since the first" %
                 (second["copied"], WRITERS))
    if second["audit_entries"] <= first["audit_entries"]:
        run.fail("the second backup's audit log (%d entries) is no longer "
                 "than the first's (%d), with writes between" %
                 (second["audit_entries"], first["audit_entries"]))


def live_phase(run, tillit, workdir, data, backup, admin, demo_citizen):
    """Writes under load, the two backups; returns (acks, the second
    backup's report, its start time)."""
    server = Server(tillit, workdir, data, "serve-live")
    writers = None
    try:
        with run.step("serve start"):
            server.start()
        with run.step("enroll"):
            citizens = [demo_citizen] + enroll(server, admin, WRITERS - 1)
        total = DEMO_CITIZENS + WRITERS - 1
        writers = Writers(server, citizens)
        time.sleep(WARMUP_SECONDS)
        first = take_backup(run, tillit, data, backup, 1, total)
        time.sleep(PAUSE_SECONDS)
        started = time.monotonic()
        second = take_backup(run, tillit, data, backup, 2, total)
        time.sleep(PAUSE_SECONDS)
        check_backups(run, first, second)
    finally:
        if writers is not None:
            writers.stop(tillit.timeout)
            for f in writers.failures:
                run.fail(f)
        with run.step("serve stop"):
            rc = server.stop()
        server.kill()
        if server.port is not None and rc != 0:
            run.fail("the live `tillit serve` on SIGTERM: exit %s: %s" %
                     (rc, server.stderr_tail()))
    return writers.acks, second, started


def verify_vault(run, tillit, data, what, citizens, entries=None):
    """`tillit citizen verify` and `tillit audit verify` of `data` with its
    own key file: every store ok, the log ok (with `entries` entries)."""
    with run.step("verify " + what):
        rc, out, err = tillit.run(["citizen", "verify", "--data", data,
                                   "--json"])
        bad = [c for c in out if not isinstance(c, dict) or
               c.get("ok") is not True] if isinstance(out, list) else None
        if rc != 0 or bad or not isinstance(out, list) or \
                len(out) != citizens:
            run.fail("`tillit citizen verify` of the %s vault exited %d, %s "
                     "of %d stores, %s failed: %s" % (
                         what, rc, len(out) if isinstance(out, list) else
                         "none", citizens, len(bad or []), tail(err)))
        rc, out, err = tillit.run(["audit", "verify", "--data", data,
                                   "--json"])
        if rc != 0 or not isinstance(out, dict) or out.get("ok") is not True:
            run.fail("`tillit audit verify` of the %s vault exited %d: %s" %
                     (what, rc, problem(out, err)))
        elif entries is not None and out.get("entries") != entries:
            run.fail("`tillit audit verify` of the %s vault found %s "
                     "entries, the backup %d" % (what, out.get("entries"),
                                                 entries))


def read_back(run, tillit, workdir, restored, acks, started):
    """Every ack read from the restored vault; counts present and lost."""
    server = Server(tillit, workdir, restored, "serve-restored")

    def get(ack):
        path = "/v1/me/records/%s/%s" % (ack.body["resourceType"],
                                         ack.body["id"])
        status, raw = server.call("GET", path, ack.token)
        return status, status == 200 and parse_json(raw) == ack.body

    try:
        with run.step("serve restored"):
            server.start()
            with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
                results = list(pool.map(get, acks))
            rc = server.stop()
    finally:
        server.kill()
    if rc != 0:
        run.fail("`tillit serve` of the restored vault on SIGTERM: exit %s: "
                 "%s" % (rc, server.stderr_tail()))
    before = [r for a, r in zip(acks, results) if a.at < started]
    run.present = sum(1 for _, same in before if same)
    run.lost = len(before) - run.present
    run.after_present = sum(1 for a, (_, same) in zip(acks, results)
                            if a.at >= started and same)
    statuses = collections.Counter(s for s, same in before if not same)
    if statuses.get(401):
        run.fail("the restored vault refused the citizens' tokens (401 on "
                 "%d reads): tokens issued before the backup did not "
                 "survive it" % statuses[401])
    if run.lost:
        run.fail("%d of %d writes acknowledged before the backup started "
                 "are lost or changed (answers: %s)" % (
                     run.lost, len(before), ", ".join(
                         "%d x%d" % kv for kv in sorted(statuses.items()))))


def drill(run, tillit, workdir):
    data = os.path.join(workdir, "data")
    backup = os.path.join(workdir, "backup")
    restored = os.path.join(workdir, "restored")
    occupied = os.path.join(workdir, "occupied")
    key_file = os.path.join(data, "root.key")

    with run.step("demo"):
        rc, demo, err = tillit.run(["demo", "--data", data, "--no-serve",
                                    "--json", "--citizens",
                                    str(DEMO_CITIZENS)])
    tokens = demo.get("tokens") if isinstance(demo, dict) else None
    if rc != 0 or not isinstance(tokens, dict) or not tokens.get("admin") or \
            not tokens.get("citizen") or not demo.get("citizen_id"):
        raise StepError("`tillit demo` exited %d: %s" % (rc, tail(err)))
    if demo.get("citizens") != DEMO_CITIZENS:
        run.fail("`tillit demo --citizens %d` made %s citizens" %
                 (DEMO_CITIZENS, demo.get("citizens")))
    if not os.path.isfile(key_file):
        raise StepError("`tillit demo` left no root.key in its directory")

    acks, second, started = live_phase(
        run, tillit, workdir, data, backup, tokens["admin"],
        (demo["citizen_id"], tokens["citizen"]))
    run.before = sum(1 for a in acks if a.at < started)
    run.after = len(acks) - run.before
    if run.before == 0:
        run.fail("no write was acknowledged before the second backup "
                 "started: nothing to check")
    live_files, backup_files = tree_digest(data), tree_digest(backup)

    with run.step("backup verify"):
        rc, v, err = tillit.run(["backup", "verify", backup, "--key-file",
                                 key_file, "--json"])
    if rc != 0 or not isinstance(v, dict) or v.get("ok") is not True:
        run.fail("`tillit backup verify` exited %d: %s" %
                 (rc, problem(v, err)))
    elif not v.get("keys_used") or \
            [v.get(k) for k in ("files", "citizens", "audit_entries")] != \
            [second[k] for k in ("files", "citizens", "audit_entries")]:
        run.fail("`tillit backup verify` (keys used: %s) found %s files, %s "
                 "citizens, %s audit entries; the backup reported %d, %d, %d"
                 % (v.get("keys_used"), v.get("files"), v.get("citizens"),
                    v.get("audit_entries"), second["files"],
                    second["citizens"], second["audit_entries"]))

    os.makedirs(occupied)
    with open(os.path.join(occupied, "notes.txt"), "w") as f:
        f.write("not a vault\n")
    with run.step("restore refused"):
        rc, _, err = tillit.run(["restore", "--from", backup, "--data",
                                 occupied, "--key-file", key_file])
    if rc != 1:
        run.fail("`tillit restore` into a directory that holds a file "
                 "exited %d, not 1: %s" % (rc, tail(err)))
    if tree_digest(occupied) != {"notes.txt": hashlib.sha256(
            b"not a vault\n").hexdigest()}:
        run.fail("the refused `tillit restore` changed the directory")

    with run.step("restore"):
        rc, r, err = tillit.run(["restore", "--from", backup, "--data",
                                 restored, "--key-file", key_file, "--json"])
    if rc != 0 or not isinstance(r, dict) or not os.path.isdir(restored):
        raise StepError("`tillit restore` exited %d: %s" % (rc, tail(err)))
    got = [r.get(k) for k in ("citizens", "audit_entries",
                              "root_key_version", "data_dir")]
    want = [second[k] for k in ("citizens", "audit_entries",
                                "root_key_version")] + \
        [os.path.abspath(restored)]
    if got != want:
        run.fail("`tillit restore` reports citizens, audit entries, key "
                 "version, directory %s; the backup %s" % (got, want))
    # The vault kept its keys beside its data: so does the restored one.
    if file_digest(os.path.join(restored, "root.key")) != \
            live_files.get("root.key"):
        run.fail("the restored directory holds no copy of the key file")

    verify_vault(run, tillit, restored, "restored", second["citizens"],
                 second["audit_entries"])
    read_back(run, tillit, workdir, restored, acks, started)

    if tree_digest(data) != live_files:
        run.fail("the live data directory changed while the backup was "
                 "verified and restored")
    if tree_digest(backup) != backup_files:
        run.fail("the backup changed while it was verified and restored")
    left = [n for n in os.listdir(workdir) if n.startswith(".")]
    if left:
        run.fail("scratch directories left behind: %s" % ", ".join(left))
    verify_vault(run, tillit, data, "live", second["citizens"])


def print_summary(run):
    print("restore_drill: demo vault of %d citizens, %d writers through "
          "`tillit serve`, two backups under load" %
          (DEMO_CITIZENS, WRITERS))
    print("writes acknowledged: %d before the second backup started, %d "
          "after" % (run.before, run.after))
    for n, b in enumerate(run.backups, 1):
        print("backup %d: %d files, copied %d (%d bytes), skipped %d, "
              "%d bytes in all, %d citizens, %d audit entries" % (
                  n, b["files"], b["copied"], b["bytes_copied"],
                  b["skipped"], b["bytes"], b["citizens"],
                  b["audit_entries"]))
    if run.present is not None:
        print("after the restore: %d present, %d lost; of the later writes "
              "%d of %d present" % (run.present, run.lost, run.after_present,
                                    run.after))
    print("seconds: %s" % ", ".join("%s %.1f" % kv
                                    for kv in run.steps.items()))
    print("PASS" if not run.violations else
          "FAIL (%d violation(s))" % len(run.violations))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tillit", required=True, help="the tillit binary")
    parser.add_argument("--timeout", type=int, default=120,
                        help="seconds any tillit call, server start or stop "
                        "or request may take (default 120)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch directory of a failed run")
    parser.add_argument("--json", action="store_true",
                        help="print the summary as one JSON object")
    args = parser.parse_args(argv)
    if not os.access(args.tillit, os.X_OK):
        parser.error("--tillit: %s is not an executable" % args.tillit)
    if args.timeout < 1:
        parser.error("--timeout: must be at least 1")
    tillit = Tillit(os.path.abspath(args.tillit), args.timeout)

    run = Run()
    start = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="tillit-restore-drill-")
    try:
        drill(run, tillit, workdir)
    except StepError as e:
        run.fail("could not go on: %s" % e)
    except NO_ANSWER as e:
        run.fail("no answer from the server: %r" % (e,))
    except Exception:  # noqa: BLE001 - a fault of this test must not pass
        run.fail("the test itself failed: %s" % traceback.format_exc())
    run.steps["total"] = round(time.monotonic() - start, 3)
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
