#!/usr/bin/env python3
"""Kill -9 during work: the real `tillit`, killed at random moments, checked.

Each scenario drives the real binary through one kind of durable work and
kills it with SIGKILL at a moment drawn uniformly from [0, D], where D is
how long the same work took unkilled (timed once per scenario, and checked
like every iteration, before the killed iterations). Then the data directory
is reopened and what was promised is checked:

  import          `tillit import DIR` of many small synthetic FHIR R4
                  transaction bundles, one Patient each (made here, never
                  the Synthea fixtures): every listed citizen holds all of
                  its bundle's resources (nothing half-imported), every
                  import the command acknowledged is listed, and every
                  listed citizen has its records.import audit entry.
  http_write      `tillit serve` and client threads adding records
                  (POST /v1/me/records): every 201 reads back identical
                  after a restart (GET /v1/me/records/{type}/{id}); no
                  citizen holds more records than records.add entries.
  grant           citizens granting and revoking a provider's access
                  (POST and DELETE /v1/me/consents): every acknowledged
                  grant is listed after a restart, every acknowledged
                  revocation is still revoked, and the provider's read
                  (GET /v1/patients/{id}/records) is permitted exactly when
                  an active grant is listed.
  rotate_root     `tillit keys rotate` in a loop: the vault opens with the
                  key file as the kill left it, no acknowledged rotation is
                  undone (the key file's current version), every record is
                  there, and the next rotation succeeds.
  rotate_citizen  `tillit keys rotate --citizen ID` in a loop: every record
                  is there and the interrupted rekey can be run again.
  erase           `tillit citizen erase --yes ID` in a loop: an
                  acknowledged erasure stays (not listed, file gone, verify
                  refuses the id); the interrupted one is all or nothing;
                  the others are intact; every erasure has its audit entry.
  backup          `tillit backup` of a vault that does not change, into a
                  new directory and incrementally into one holding an
                  older backup (stores rekeyed and a citizen erased since):
                  the live vault and its audit log are as they were; an
                  acknowledged backup verifies (`tillit backup verify` with
                  the key) and restores to exactly the vault's citizens and
                  records; an interrupted one either does not verify or
                  restores just as whole; the next backup into the same
                  directory succeeds and verifies.
  restore         `tillit restore` of one backup into two new directories:
                  each target holds nothing or the whole vault (every
                  citizen and record, stores and audit log verify), never
                  part of it; an acknowledged restore leaves no scratch
                  directory; one left by a kill (.NAME.restoring-*) is
                  counted; the same restore then succeeds; the backup still
                  verifies and the live vault is unchanged.

After every iteration `tillit citizen verify` and `tillit audit verify` must
pass. Acknowledged means: an import's line on standard output (which is a
pseudo-terminal, so each line arrives as soon as it is printed), a CLI verb's
exit status 0, an HTTP 201 (200 for a revocation) with its body.

Usage: crash_loop.py --tillit PATH [--iterations N] [--scenario NAME]...
                     [--seed S] [--timeout SECONDS] [--keep] [--json]
       crash_loop.py --self-test

--seed fixes the kill moments as fractions of the timed duration; without
it a seed is drawn and printed. --timeout bounds every tillit call, HTTP
request and unkilled piece of work. --keep keeps the scratch directory of a
failed iteration (its path is printed). Secrets (tokens, codes, keys) are
never printed.

Prints a table (scenario, killed iterations, kills that landed in work,
acknowledged writes, lost, corrupt stores, verify failures, other
violations; the counts include the unkilled timing run), or with --json
one JSON object. Exit status 0 only when every
check of every iteration passed; 2 for bad usage. Python standard library
only.
"""

import argparse
import collections
import datetime
import http.client
import json
import os
import pty
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty
import types
import urllib.parse
import uuid

SCENARIOS = ("import", "http_write", "grant", "rotate_root", "rotate_citizen",
             "erase", "backup", "restore")

# How much work one iteration does: long enough that a kill lands inside it,
# short enough that 20 iterations of every scenario fit CI's budget.
IMPORT_BUNDLES = 30
OBSERVATIONS_PER_BUNDLE = 5
HTTP_CITIZENS = 2
HTTP_WRITERS = 4  # client threads, spread over the citizens
HTTP_WRITES_PER_WRITER = 50
GRANT_CITIZENS = 2  # one client thread each
GRANT_PAIRS_PER_CITIZEN = 20  # grant, then revoke
ROTATE_CITIZENS = 8
ROOT_ROTATIONS = 6
REKEY_CITIZENS = 4
CITIZEN_REKEYS = 8
ERASE_CITIZENS = 8
ERASED_CITIZENS = 6  # the others must stay untouched
BACKUP_CITIZENS = 16
RESTORE_CITIZENS = 16
RESTORES = 2

SERVER_THREADS = "8"
AUDIT_LIST_LIMIT = 1000  # `tillit audit list --limit` maximum

BUNDLE_NAMESPACE = uuid.UUID("5f0c3b1e-6a57-4c84-9a1e-0c7d2b9e4f11")
ACK_LINE = re.compile(
    r"^(?P<file>.+) -> (?P<citizen>c_[0-9A-Za-z]+)(?: \(new\))?: "
    r"(?P<resources>\d+) resources, \d+ new or changed$")


class StepError(Exception):
    """A step the rest of the iteration depends on failed."""


# --------------------------------------------------------------- the data


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_bundle(index, observations=OBSERVATIONS_PER_BUNDLE):
    """A FHIR R4 transaction bundle for synthetic patient `index`: Patient,
    Encounter, `observations` heart rates and a Condition, linked by
    urn:uuid references. Resources carry no id (the vault takes it from the
    fullUrl). The same index always gives the same bundle."""
    def uid(kind, k=0):
        return str(uuid.uuid5(BUNDLE_NAMESPACE, "%d/%s/%d" % (index, kind, k)))

    patient, encounter = uid("patient"), uid("encounter")
    subject = {"reference": "urn:uuid:" + patient}
    context = {"reference": "urn:uuid:" + encounter}
    start = (datetime.datetime(2020, 1, 1, 8, tzinfo=datetime.timezone.utc) +
             datetime.timedelta(days=index % 1500, minutes=index % 480))
    entries = []

    def add(full_url, resource):
        entries.append({"fullUrl": "urn:uuid:" + full_url,
                        "resource": resource,
                        "request": {"method": "POST",
                                    "url": resource["resourceType"]}})

    add(patient, {
        "resourceType": "Patient",
        "identifier": [{"system": "https://tillit.health/crash-loop",
                        "value": "CRASH-%06d" % index}],
        "name": [{"use": "official", "family": "Crashloop",
                  "given": ["Synthetic"]}],
        "gender": "female" if index % 2 else "male",
        "birthDate": "%04d-%02d-%02d" % (1940 + index % 60, 1 + index % 12,
                                         1 + index % 28),
    })
    add(encounter, {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system":
                  "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                  "code": "AMB"},
        "subject": subject,
        "period": {"start": iso(start),
                   "end": iso(start + datetime.timedelta(minutes=30))},
    })
    for k in range(observations):
        add(uid("observation", k),
            heart_rate(start + datetime.timedelta(minutes=k),
                       60 + (index + k) % 40, subject, context))
    add(uid("condition"), {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{
            "system":
                "http://terminology.hl7.org/CodeSystem/condition-clinical",
            "code": "resolved"}]},
        "code": {"coding": [{
            "system": "http://snomed.info/sct", "code": "195662009",
            "display": "Acute viral pharyngitis (disorder)"}]},
        "subject": subject,
        "encounter": context,
        "onsetDateTime": iso(start),
    })
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def heart_rate(when, bpm, subject=None, encounter=None):
    """A heart-rate Observation (LOINC 8867-4, vital signs), without id."""
    o = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{
            "system":
                "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4",
                             "display": "Heart rate"}]},
        "effectiveDateTime": iso(when),
        "valueQuantity": {"value": bpm, "unit": "/min",
                          "system": "http://unitsofmeasure.org",
                          "code": "/min"},
    }
    if subject:
        o["subject"] = subject
    if encounter:
        o["encounter"] = encounter
    return o


def bundle_counts(observations=OBSERVATIONS_PER_BUNDLE):
    """Resources by type in every bundle make_bundle makes."""
    return {"Patient": 1, "Encounter": 1, "Observation": observations,
            "Condition": 1}


def write_bundles(directory, count):
    """bundle-0000.json ... in `directory` (created)."""
    os.makedirs(directory, exist_ok=True)
    for i in range(count):
        with open(os.path.join(directory, "bundle-%04d.json" % i), "w",
                  encoding="utf-8") as f:
            json.dump(make_bundle(i), f)
    return directory


def grant_body(provider_id):
    """A grant of the citizen's vital signs to one provider for care."""
    return {"grantee": {"kind": "provider", "id": provider_id},
            "purposes": ["DUO:0000043"],
            "categories": ["vital-signs"],
            "expires": None}


def parse_ack(line):
    """(file, citizen id, resources) of an import's per-file line, or
    None for any other line."""
    m = ACK_LINE.match(line.rstrip("\r"))
    if not m:
        return None
    return m.group("file"), m.group("citizen"), int(m.group("resources"))


def current_root_version(path):
    """The `current N` line of a root key file (never anything else of it),
    or None when there is none."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "current" and parts[1].isdigit():
            return int(parts[1])
    return None


def kill_fractions(seed, scenario, n):
    """The kill moments of a scenario's iterations, as fractions of D."""
    rng = random.Random("%s/%s" % (seed, scenario))
    return [rng.random() for _ in range(n)]


def tail(text, limit=300):
    """The last line of a command's standard error, shortened."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1][-limit:] if lines else "(no message)"


def parse_json(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


# -------------------------------------------------------------- processes


def child_env():
    """The environment of every tillit child: its data directory and key
    file come from the command line only."""
    env = dict(os.environ)
    env.pop("TILLIT_DATA", None)
    env.pop("TILLIT_KEY_FILE", None)
    return env


class Tillit:
    """Runs the binary; every call bounded by `timeout` seconds."""

    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout

    def argv(self, args):
        return [self.path] + list(args)

    @staticmethod
    def verb(args):
        """`tillit keys rotate`: the words before the first option (never
        an option's value, which could be a secret)."""
        words = []
        for a in args:
            if a.startswith("--"):
                break
            words.append(a)
        return "`tillit %s`" % " ".join(words)

    def run(self, args):
        try:
            return subprocess.run(
                self.argv(args), stdin=subprocess.DEVNULL,
                capture_output=True, text=True, timeout=self.timeout,
                env=child_env())
        except subprocess.TimeoutExpired:
            raise StepError("%s took over %d s" % (self.verb(args),
                                                   self.timeout))

    def json(self, args):
        """The parsed standard output of a call that must succeed."""
        r = self.run(args)
        out = parse_json(r.stdout)
        if r.returncode != 0 or out is None:
            raise StepError("%s exited %d: %s" % (self.verb(args),
                                                  r.returncode,
                                                  tail(r.stderr)))
        return out


class Server:
    """`tillit serve` on a free loopback port."""

    def __init__(self, tillit, data_dir, log_path, processes):
        self.tillit = tillit
        self.data_dir = data_dir
        self.log_path = log_path
        self.processes = processes  # the iteration's, for cleanup
        self.proc = None
        self.host = self.port = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.tillit.argv(["serve", "--data", self.data_dir,
                                  "--listen", "127.0.0.1:0", "--quiet",
                                  "--rate", "0", "--threads",
                                  SERVER_THREADS]),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=log, env=child_env())
        self.processes.append(self.proc)
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + self.tillit.timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(0, left))[0] \
                if left > 0 else []
            if not ready:
                self.kill()
                raise StepError("`tillit serve` did not listen within %d s"
                                % self.tillit.timeout)
            chunk = os.read(fd, 4096)
            if not chunk:
                rc = self.proc.wait()
                raise StepError("`tillit serve` exited %d before listening: %s"
                                % (rc, self.log_tail()))
            buf += chunk
        line = buf.split(b"\n", 1)[0].decode(errors="replace")
        if not line.startswith("listening on "):
            self.kill()
            raise StepError("`tillit serve` printed %r, not `listening on`"
                            % line[:80])
        url = urllib.parse.urlsplit(line[len("listening on "):].strip())
        self.host, self.port = url.hostname, url.port
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL; True if it was running."""
        if self.proc is None:
            return False
        was_running = self.proc.poll() is None
        if was_running:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        return was_running

    def stop(self):
        """SIGTERM; the exit status (None when it would not stop)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=self.tillit.timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def log_tail(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return tail(f.read())
        except OSError:
            return "(no log)"

    def call(self, method, path, token=None, body=None):
        """(status, parsed JSON body or None). Raises OSError or
        http.client.HTTPException when no answer comes."""
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
        return resp.status, parse_json(raw) if raw else None


NO_ANSWER = (OSError, http.client.HTTPException)


# ------------------------------------------------------------------- work


class Work:
    """Work in progress that can be killed. `finished` is set when it ends
    by itself; `hit` says whether the kill landed in work still going on."""

    def __init__(self):
        self.finished = threading.Event()
        self.finished_at = None
        self.hit = False
        self.errors = []  # failures of the work itself, before any kill

    def _finish(self):
        self.finished_at = time.monotonic()
        self.finished.set()

    def wait_until(self, deadline):
        self.finished.wait(max(0.0, deadline - time.monotonic()))
        return self.finished.is_set()

    def kill(self):
        raise NotImplementedError

    def close(self, timeout):
        """Kills what still runs and joins the threads."""
        raise NotImplementedError


class ImportWork(Work):
    """One `tillit import` whose standard output is a pseudo-terminal, so
    that the C library flushes each acknowledgement line as it is printed
    (a pipe would hold them in a buffer that SIGKILL discards)."""

    def __init__(self, tillit, args, err_path, processes):
        super().__init__()
        self.acks = []  # (file, citizen id, resources), in order
        self.returncode = None
        master, slave = pty.openpty()
        try:
            tty.setraw(slave)  # no \r\n translation
        except termios.error:
            pass
        self._master = master
        try:
            with open(err_path, "ab") as err:
                self.proc = subprocess.Popen(
                    tillit.argv(args), stdin=subprocess.DEVNULL, stdout=slave,
                    stderr=err, env=child_env())
        except OSError:
            os.close(master)
            raise
        finally:
            os.close(slave)  # reads end (EIO) once the child's copy closes
        processes.append(self.proc)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # EIO: the child is gone and all was read
                break
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                ack = parse_ack(line.decode(errors="replace"))
                if ack:
                    self.acks.append(ack)
        # A line without its newline was not flushed by the child: no ack.
        self.returncode = self.proc.wait()
        self._finish()

    def kill(self):
        if self.proc.poll() is None:
            self.hit = True
            self.proc.send_signal(signal.SIGKILL)

    def close(self, timeout):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._thread.join(timeout)
        if self._master is not None and not self._thread.is_alive():
            os.close(self._master)
            self._master = None


class CliSequence(Work):
    """tillit commands run one after another in a thread; each one that
    exits 0 is acknowledged. The kill stops the sequence and SIGKILLs the
    command running, if any."""

    def __init__(self, tillit, commands, processes):
        super().__init__()
        self.tillit = tillit
        self.commands = commands
        self.results = [None] * len(commands)  # (stdout) of each exit 0
        self.killed_index = None  # the command the kill interrupted
        self._processes = processes
        self._lock = threading.Lock()
        self._proc = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            for i, args in enumerate(self.commands):
                with self._lock:
                    if self._stopped:
                        return
                    self._proc = subprocess.Popen(
                        self.tillit.argv(args), stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, env=child_env())
                    self._processes.append(self._proc)
                    proc = self._proc
                try:
                    out, err = proc.communicate(timeout=self.tillit.timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    self.errors.append("%s took over %d s" % (
                        Tillit.verb(args), self.tillit.timeout))
                    return
                with self._lock:
                    self._proc = None
                    if proc.returncode == 0:
                        self.results[i] = out
                        continue
                    if proc.returncode == -signal.SIGKILL and self._stopped:
                        self.killed_index = i
                        return
                self.errors.append("%s exited %d: %s" % (
                    Tillit.verb(args), proc.returncode, tail(err)))
                return
        except OSError as e:
            self.errors.append("cannot run tillit: %s" % e)
        finally:
            self._finish()

    def kill(self):
        with self._lock:
            self._stopped = True
            if self._proc is not None and self._proc.poll() is None:
                self.hit = True
                self._proc.send_signal(signal.SIGKILL)

    def close(self, timeout):
        self.kill()
        self._thread.join(timeout)

    def acked(self):
        """Indexes of the commands that exited 0."""
        return [i for i, r in enumerate(self.results) if r is not None]


class ClientWork(Work):
    """Client threads against a server; the kill SIGKILLs the server."""

    def __init__(self, server, jobs):
        super().__init__()
        self.server = server
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._left = len(jobs)
        self._threads = [threading.Thread(target=self._run, args=(job,),
                                          daemon=True) for job in jobs]
        for t in self._threads:
            t.start()

    def _run(self, job):
        try:
            job(self)
        except NO_ANSWER as e:
            self.error("no answer from the server: %r" % e)
        except Exception as e:  # a fault of this script must not pass
            with self._lock:
                self.errors.append("client thread failed: %r" % e)
        finally:
            with self._lock:
                self._left -= 1
                if self._left == 0:
                    self._finish()

    def error(self, message):
        """A failure of the work itself; ignored once the kill began."""
        if not self.stop.is_set():
            with self._lock:
                self.errors.append(message)

    def kill(self):
        self.stop.set()
        self.hit = not self.finished.is_set()
        self.server.kill()

    def close(self, timeout):
        self.stop.set()
        for t in self._threads:
            t.join(timeout)


# ------------------------------------------------------------- iterations


COUNTERS = ("acknowledged", "lost", "corrupt", "verify_failures",
            "violations")


class Stats:
    """The figures of one scenario."""

    def __init__(self, name):
        self.name = name
        self.iterations = 0
        self.killed_in_work = 0
        self.orphan_files = 0
        self.scratch_dirs = 0
        self.failed_iterations = 0
        self.timing_seconds = None
        self.timing_problems = 0
        for c in COUNTERS:
            setattr(self, c, 0)

    def ok(self):
        return (self.timing_problems == 0 and self.failed_iterations == 0 and
                self.timing_seconds is not None)

    def as_json(self):
        j = {"scenario": self.name, "iterations": self.iterations,
             "killed_in_work": self.killed_in_work,
             "orphan_files": self.orphan_files,
             "scratch_dirs": self.scratch_dirs,
             "failed_iterations": self.failed_iterations,
             "timing_run": {"seconds": self.timing_seconds,
                            "problems": self.timing_problems}}
        for c in COUNTERS:
            j[c] = getattr(self, c)
        return j


class Iteration:
    """One scratch directory and the failures found in it."""

    def __init__(self, scenario, label, tillit, stats):
        self.scenario = scenario
        self.label = label
        self.tillit = tillit
        self.stats = stats
        self.dir = tempfile.mkdtemp(prefix="tillit-crash-%s-" % scenario)
        self.data = os.path.join(self.dir, "data")
        self.processes = []  # every Popen of the iteration, for cleanup
        self.problems = 0

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def count(self, counter, n=1):
        setattr(self.stats, counter, getattr(self.stats, counter) + n)

    def fail(self, counter, message):
        """Counts a broken promise under `counter` and prints it."""
        self.count(counter)
        self.problems += 1
        print("FAIL %s (%s): %s" % (self.scenario, self.label, message),
              file=sys.stderr, flush=True)

    def server(self, name):
        return Server(self.tillit, self.data, self.path(name + ".log"),
                      self.processes)

    def cleanup(self, keep):
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()
            for pipe in (p.stdout, p.stderr):
                if pipe is not None:
                    pipe.close()
        if keep and self.problems:
            print("kept %s" % self.dir, file=sys.stderr, flush=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


# ------------------------------------------------------------------ checks


def init_vault(it):
    """`tillit init` with a key file (no passphrase, so no Argon2); the
    admin token."""
    out = it.tillit.json(["init", "--data", it.data, "--json"])
    return out["admin_token"]


def import_citizens(it, count):
    """Imports `count` bundles; {citizen id: by_type} in import order."""
    bundles = write_bundles(it.path("bundles"), count)
    out = it.tillit.json(["import", "--data", it.data, "--json", bundles])
    citizens = collections.OrderedDict()
    for c in out.get("citizens", []):
        citizens[c["citizen_id"]] = c["by_type"]
    if len(citizens) != count or out.get("rejected"):
        raise StepError("setup import made %d citizens of %d bundles, "
                        "rejected %r" % (len(citizens), count,
                                         out.get("rejected")))
    return citizens


def list_citizens(it, data=None):
    """{citizen id: {records, by_type, ...}} of the vault in `data`
    (default the iteration's), or None (counted) when it does not open."""
    r = it.tillit.run(["citizen", "list", "--data", data or it.data,
                       "--json"])
    out = parse_json(r.stdout)
    if r.returncode != 0 or not isinstance(out, list):
        it.fail("violations", "`tillit citizen list` exited %d after the "
                "kill: %s" % (r.returncode, tail(r.stderr)))
        return None
    return {c["citizen_id"]: c for c in out}


def count_orphans(it, listed):
    """Citizen files the registry does not list (informational)."""
    try:
        names = os.listdir(os.path.join(it.data, "citizens"))
    except OSError:
        return
    it.count("orphan_files", sum(
        1 for n in names if n.endswith(".db") and n[:-3] not in listed))


def audit_actions(it, action):
    """Counter of citizen ids in the audit entries of `action`; None when
    the log cannot be listed in full (a listing failure is counted)."""
    r = it.tillit.run(["audit", "list", "--data", it.data, "--json",
                       "--limit", str(AUDIT_LIST_LIMIT)])
    entries = parse_json(r.stdout)
    if r.returncode != 0 or not isinstance(entries, list):
        it.fail("violations", "`tillit audit list` exited %d: %s" %
                (r.returncode, tail(r.stderr)))
        return None
    if len(entries) >= AUDIT_LIST_LIMIT:
        return None  # too many to see them all
    return collections.Counter(e.get("citizen") for e in entries
                               if e.get("action") == action)


def check_records(it, expected, listed, ids=None):
    """Every citizen of `ids` (default all of `expected`) is listed with
    exactly its expected resource counts; a missing one is lost."""
    for cid in (expected if ids is None else ids):
        entry = listed.get(cid)
        if entry is None:
            it.fail("lost", "citizen %s is gone" % cid)
        elif entry.get("by_type") != expected[cid]:
            it.fail("lost", "citizen %s holds %r, not %r" %
                    (cid, entry.get("by_type"), expected[cid]))


def check_stores(it, data=None):
    """`tillit citizen verify` (every page of every store) and `tillit
    audit verify` (the whole log) pass on the vault in `data` (default the
    iteration's); the audit entry count, or None."""
    data = data or it.data
    r = it.tillit.run(["citizen", "verify", "--data", data, "--json"])
    results = parse_json(r.stdout)
    if isinstance(results, list):
        bad = [x for x in results if not x.get("ok")]
        for x in bad:
            it.fail("corrupt", "citizen store %s fails verify: %s" %
                    (x.get("citizen_id"), x.get("error")))
        if r.returncode != 0 or bad:
            it.fail("verify_failures", "`tillit citizen verify` exited %d" %
                    r.returncode)
    else:
        it.fail("corrupt", "the vault does not open: %s" % tail(r.stderr))
        it.fail("verify_failures", "`tillit citizen verify` exited %d" %
                r.returncode)
    r = it.tillit.run(["audit", "verify", "--data", data, "--json"])
    report = parse_json(r.stdout)
    if r.returncode != 0 or not isinstance(report, dict) or \
            report.get("ok") is not True:
        problem = report.get("problem") if isinstance(report, dict) else None
        it.fail("verify_failures", "`tillit audit verify` exited %d: %s" %
                (r.returncode, problem or tail(r.stderr)))
        return None
    return report.get("entries")


def verify_one_fails(it, cid, why):
    r = it.tillit.run(["citizen", "verify", "--data", it.data, "--json",
                       cid])
    if r.returncode == 0:
        it.fail("violations", "citizen %s %s, yet verifies" % (cid, why))


def report_work_errors(it, work):
    for e in work.errors:
        it.fail("violations", e)


def enroll_citizens(server, admin, n):
    """n new citizens through the admin API: [(citizen id, token)]."""
    out = []
    for _ in range(n):
        status, c = server.call("POST", "/v1/admin/citizens", admin, {})
        if status != 201 or not isinstance(c, dict):
            raise StepError("POST /v1/admin/citizens answered %d" % status)
        status, e = server.call("POST", "/v1/enroll", None,
                                {"enrollment_code": c["enrollment_code"]})
        if status != 200 or not isinstance(e, dict) or "token" not in e:
            raise StepError("POST /v1/enroll answered %d" % status)
        out.append((c["citizen_id"], e["token"]))
    return out


def restart(it, state, name):
    """Stops or finds killed the first server, starts another on the same
    data; None (counted) when it will not start."""
    if state.server.alive():  # the unkilled timing run
        rc = state.server.stop()
        if rc != 0:
            it.fail("violations", "`tillit serve` exited %r on SIGTERM" % rc)
    try:
        return it.server(name).start()
    except StepError as e:
        it.fail("violations", "no restart after the kill: %s" % e)
        return None


def stop_server(it, server):
    rc = server.stop()
    if rc != 0:
        it.fail("violations", "the restarted `tillit serve` exited %r on "
                "SIGTERM: %s" % (rc, server.log_tail()))


# --------------------------------------------------------------- scenarios


# What a scenario's setup, work and checks share.
State = types.SimpleNamespace


class Scenario:
    """setup(it) -> state; start(it, state) -> Work; check(it, state,
    work). `state` is a namespace the three share; setup and check raise
    StepError when they cannot go on."""

    name = ""


class ImportScenario(Scenario):
    name = "import"

    def __init__(self, session_dir):
        self.bundles = write_bundles(os.path.join(session_dir, "bundles"),
                                     IMPORT_BUNDLES)

    def setup(self, it):
        init_vault(it)
        return State()

    def start(self, it, state):
        return ImportWork(it.tillit, ["import", "--data", it.data,
                                      self.bundles],
                          it.path("import.err"), it.processes)

    def check(self, it, state, work):
        counts = bundle_counts()
        total = sum(counts.values())
        acked = {}
        for f, cid, resources in work.acks:
            acked[cid] = f
            if resources != total:
                it.fail("violations", "import acknowledged %s with %d "
                        "resources, not %d" % (f, resources, total))
        it.count("acknowledged", len(acked))
        if work.returncode not in (0, -signal.SIGKILL):
            with open(it.path("import.err"), errors="replace") as f:
                it.fail("violations", "`tillit import` exited %r: %s" %
                        (work.returncode, tail(f.read())))
        if work.returncode == 0 and len(acked) != IMPORT_BUNDLES:
            it.fail("violations", "`tillit import` exited 0 but "
                    "acknowledged %d of %d bundles" % (len(acked),
                                                       IMPORT_BUNDLES))
        listed = list_citizens(it)
        if listed is not None:
            for cid, entry in listed.items():
                if entry.get("by_type") != counts or \
                        entry.get("records") != total:
                    it.fail("violations", "citizen %s is half-imported: %r "
                            "of %r" % (cid, entry.get("by_type"), counts))
            for cid, f in acked.items():
                if cid not in listed:
                    it.fail("lost", "the acknowledged import of %s (%s) is "
                            "gone" % (os.path.basename(f), cid))
            if len(listed) > IMPORT_BUNDLES:
                it.fail("violations", "%d citizens from %d bundles" %
                        (len(listed), IMPORT_BUNDLES))
            audited = audit_actions(it, "records.import")
            if audited is not None:
                for cid in listed:
                    if not audited[cid]:
                        it.fail("violations", "citizen %s was imported "
                                "without a records.import entry" % cid)
            count_orphans(it, listed)
        check_stores(it)


class HttpWriteScenario(Scenario):
    name = "http_write"

    def setup(self, it):
        admin = init_vault(it)
        server = it.server("serve-1").start()
        citizens = enroll_citizens(server, admin, HTTP_CITIZENS)
        return State(server=server, citizens=citizens, acks=[],
                     lock=threading.Lock())

    def start(self, it, state):
        def writer(w):
            cid, token = state.citizens[w % len(state.citizens)]
            base = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)

            def job(work):
                for k in range(HTTP_WRITES_PER_WRITER):
                    if work.stop.is_set():
                        return
                    when = base + datetime.timedelta(minutes=w * 10000 + k)
                    status, body = state.server.call(
                        "POST", "/v1/me/records", token,
                        heart_rate(when, 50 + (w + k) % 50))
                    if status != 201 or not isinstance(body, dict) or \
                            "id" not in body:
                        work.error("POST /v1/me/records answered %d" % status)
                        return
                    with state.lock:
                        state.acks.append((cid, token, body))
            return job
        return ClientWork(state.server,
                          [writer(w) for w in range(HTTP_WRITERS)])

    def check(self, it, state, work):
        report_work_errors(it, work)
        it.count("acknowledged", len(state.acks))
        server = restart(it, state, "serve-2")
        if server is not None:
            for cid, token, body in state.acks:
                path = "/v1/me/records/%s/%s" % (body["resourceType"],
                                                 body["id"])
                try:
                    status, got = server.call("GET", path, token)
                except NO_ANSWER as e:
                    it.fail("violations", "GET %s: no answer: %r" % (path, e))
                    break
                if status != 200:
                    it.fail("lost", "acknowledged record %s of %s: GET "
                            "answered %d" % (body["id"], cid, status))
                elif got != body:
                    it.fail("lost", "acknowledged record %s of %s reads "
                            "back changed" % (body["id"], cid))
            stop_server(it, server)
        listed = list_citizens(it)
        if listed is not None:
            added = audit_actions(it, "records.add")
            for cid, _ in state.citizens:
                entry = listed.get(cid)
                if entry is None:
                    it.fail("lost", "citizen %s is gone" % cid)
                elif added is not None and entry["records"] > added[cid]:
                    it.fail("violations", "citizen %s holds %d records but "
                            "has %d records.add entries" %
                            (cid, entry["records"], added[cid]))
            count_orphans(it, listed)
        check_stores(it)


class GrantScenario(Scenario):
    name = "grant"

    def setup(self, it):
        admin = init_vault(it)
        server = it.server("serve-1").start()
        status, p = server.call("POST", "/v1/admin/providers", admin,
                                {"name": "Crash-loop clinic"})
        if status != 201 or not isinstance(p, dict):
            raise StepError("POST /v1/admin/providers answered %d" % status)
        citizens = enroll_citizens(server, admin, GRANT_CITIZENS)
        return State(server=server, citizens=citizens,
                     provider_id=p["provider_id"],
                     provider_token=p["token"],
                     granted={cid: [] for cid, _ in citizens},
                     revoked={cid: set() for cid, _ in citizens})

    def start(self, it, state):
        def grantor(cid, token):
            def job(work):
                for _ in range(GRANT_PAIRS_PER_CITIZEN):
                    if work.stop.is_set():
                        return
                    status, g = state.server.call(
                        "POST", "/v1/me/consents", token,
                        grant_body(state.provider_id))
                    if status != 201 or not isinstance(g, dict) or \
                            "id" not in g:
                        work.error("POST /v1/me/consents answered %d" %
                                   status)
                        return
                    state.granted[cid].append(g["id"])
                    if work.stop.is_set():
                        return
                    status, r = state.server.call(
                        "DELETE", "/v1/me/consents/" + g["id"], token)
                    if status != 200 or not isinstance(r, dict) or \
                            r.get("status") != "revoked":
                        work.error("DELETE /v1/me/consents/%s answered %d" %
                                   (g["id"], status))
                        return
                    state.revoked[cid].add(g["id"])
            return job
        return ClientWork(state.server,
                          [grantor(cid, token)
                           for cid, token in state.citizens])

    def check(self, it, state, work):
        report_work_errors(it, work)
        it.count("acknowledged", sum(len(g) for g in state.granted.values()) +
                 sum(len(r) for r in state.revoked.values()))
        server = restart(it, state, "serve-2")
        if server is not None:
            try:
                for cid, token in state.citizens:
                    self.check_citizen(it, state, server, cid, token)
            except NO_ANSWER as e:
                it.fail("violations", "no answer after the restart: %r" % e)
            stop_server(it, server)
        check_stores(it)

    @staticmethod
    def check_citizen(it, state, server, cid, token):
        status, body = server.call("GET", "/v1/me/consents", token)
        if status != 200 or not isinstance(body, dict):
            it.fail("violations", "GET /v1/me/consents of %s answered %d" %
                    (cid, status))
            return
        listed = {g.get("id"): g.get("status")
                  for g in body.get("consents", []) if isinstance(g, dict)}
        for gid in state.granted[cid]:
            if gid not in listed:
                it.fail("lost", "acknowledged grant %s of %s is gone" %
                        (gid, cid))
        for gid in state.revoked[cid]:
            if gid in listed and listed[gid] != "revoked":
                it.fail("lost", "acknowledged revocation of %s (%s) is "
                        "undone: %s" % (gid, cid, listed[gid]))
        active = [g for g, s in listed.items() if s == "active"]
        status, _ = server.call("GET", "/v1/patients/%s/records" % cid,
                                state.provider_token)
        expected = 200 if active else 404
        if status != expected:
            it.fail("violations", "the provider's read of %s answered %d "
                    "with %d active grant(s)" % (cid, status, len(active)))


class RotateRootScenario(Scenario):
    name = "rotate_root"

    def setup(self, it):
        init_vault(it)
        return State(citizens=import_citizens(it, ROTATE_CITIZENS))

    def start(self, it, state):
        return CliSequence(
            it.tillit, [["keys", "rotate", "--data", it.data, "--json"]] *
            ROOT_ROTATIONS, it.processes)

    def check(self, it, state, work):
        report_work_errors(it, work)
        versions = []
        for i in work.acked():
            out = parse_json(work.results[i])
            if isinstance(out, dict) and "root_key_version" in out:
                versions.append(out["root_key_version"])
            else:
                it.fail("violations", "`tillit keys rotate --json` printed "
                        "no root_key_version")
        it.count("acknowledged", len(versions))
        current = current_root_version(os.path.join(it.data, "root.key"))
        if current is None:
            it.fail("violations", "root.key names no current version")
        elif versions and current < max(versions):
            it.fail("lost", "the acknowledged rotation to version %d is "
                    "undone: the key file's current version is %d" %
                    (max(versions), current))
        listed = list_citizens(it)
        if listed is not None:
            check_records(it, state.citizens, listed)
            count_orphans(it, listed)
        check_stores(it)
        r = it.tillit.run(["keys", "rotate", "--data", it.data, "--json"])
        if r.returncode != 0:
            it.fail("violations", "the next `tillit keys rotate` exited %d: "
                    "%s" % (r.returncode, tail(r.stderr)))


class RotateCitizenScenario(Scenario):
    name = "rotate_citizen"

    def setup(self, it):
        init_vault(it)
        citizens = import_citizens(it, REKEY_CITIZENS)
        return State(citizens=citizens, ids=list(citizens))

    def start(self, it, state):
        return CliSequence(
            it.tillit,
            [["keys", "rotate", "--data", it.data, "--citizen",
              state.ids[i % len(state.ids)], "--json"]
             for i in range(CITIZEN_REKEYS)], it.processes)

    def check(self, it, state, work):
        report_work_errors(it, work)
        it.count("acknowledged", len(work.acked()))
        listed = list_citizens(it)
        if listed is not None:
            check_records(it, state.citizens, listed)
            count_orphans(it, listed)
        check_stores(it)
        # The interrupted rekey (or the first citizen's) can run again.
        i = work.killed_index or 0
        cid = state.ids[i % len(state.ids)]
        for args in (["keys", "rotate", "--data", it.data, "--citizen", cid,
                      "--json"],
                     ["citizen", "verify", "--data", it.data, cid]):
            r = it.tillit.run(args)
            if r.returncode != 0:
                it.fail("violations", "%s of %s after the kill exited %d: %s"
                        % (Tillit.verb(args), cid, r.returncode,
                           tail(r.stderr)))


class EraseScenario(Scenario):
    name = "erase"

    def setup(self, it):
        init_vault(it)
        citizens = import_citizens(it, ERASE_CITIZENS)
        return State(citizens=citizens,
                     doomed=list(citizens)[:ERASED_CITIZENS])

    def start(self, it, state):
        return CliSequence(
            it.tillit,
            [["citizen", "erase", "--data", it.data, "--yes", cid, "--json"]
             for cid in state.doomed], it.processes)

    def check(self, it, state, work):
        report_work_errors(it, work)
        acked = [state.doomed[i] for i in work.acked()]
        it.count("acknowledged", len(acked))
        interrupted = (state.doomed[work.killed_index]
                       if work.killed_index is not None else None)
        listed = list_citizens(it)
        if listed is None:
            check_stores(it)
            return
        for cid in acked:
            if cid in listed:
                it.fail("violations", "the acknowledged erasure of %s is "
                        "undone: it is listed" % cid)
            if os.path.exists(os.path.join(it.data, "citizens",
                                           cid + ".db")):
                it.fail("violations", "the store file of erased citizen %s "
                        "is still there" % cid)
            verify_one_fails(it, cid, "was erased")
        if interrupted is not None:
            if interrupted in listed:  # all: intact
                check_records(it, state.citizens, listed, [interrupted])
            else:  # or nothing: unreadable
                verify_one_fails(it, interrupted, "is no longer listed")
        untouched = [cid for cid in state.citizens
                     if cid not in acked and cid != interrupted]
        check_records(it, state.citizens, listed, untouched)
        erased = [cid for cid in state.citizens if cid not in listed]
        if erased:
            audited = audit_actions(it, "citizen.erase")
            if audited is not None:
                for cid in erased:
                    if not audited[cid]:
                        it.fail("violations", "citizen %s was erased without "
                                "a citizen.erase entry" % cid)
        count_orphans(it, listed)
        check_stores(it)


def listed_shape(listed):
    """{citizen id: by_type}: what a copy of the vault must hold."""
    return {cid: c.get("by_type") for cid, c in listed.items()}


def scratch_siblings(path, what):
    """The `.NAME.WHAT-*` directories a killed backup verify or restore
    leaves beside `path`."""
    parent, name = os.path.split(os.path.normpath(path))
    prefix = ".%s.%s-" % (name, what)
    try:
        return [n for n in os.listdir(parent) if n.startswith(prefix)]
    except OSError:
        return []


def verify_backup(it, backup, key_file):
    """`tillit backup verify --json` with the key: (ok, problem)."""
    r = it.tillit.run(["backup", "verify", backup, "--key-file", key_file,
                       "--json"])
    report = parse_json(r.stdout)
    ok = isinstance(report, dict) and report.get("ok") is True
    if ok != (r.returncode == 0):
        it.fail("violations", "`tillit backup verify` exited %d with %r" %
                (r.returncode, report))
    problem = report.get("problem") if isinstance(report, dict) else None
    return ok, problem or tail(r.stderr)


def check_copy(it, data, expected, entries, what):
    """The vault in `data` (a restore) holds exactly the citizens and
    records of `expected`, its stores and audit log verify, and its log
    holds at least `entries` entries."""
    listed = list_citizens(it, data)
    if listed is None:
        it.fail("corrupt", "%s does not open" % what)
        return
    got = listed_shape(listed)
    if got != expected:
        missing = sorted(set(expected) - set(got))
        it.fail("lost", "%s holds %d citizens, not the %d backed up "
                "(missing %s)" % (what, len(got), len(expected),
                                  ", ".join(missing[:3]) or "none"))
    found = check_stores(it, data)
    if found is not None and entries is not None and found < entries:
        it.fail("lost", "%s's audit log holds %d entries, not %d" %
                (what, found, entries))


class BackupScenario(Scenario):
    """`tillit backup` killed: a full backup into a new directory, then an
    incremental one into a directory that holds an older backup. The live
    vault is untouched, a backup the command acknowledged verifies and
    restores whole, an interrupted one either does not verify or restores
    whole, and the next backup into the same directory succeeds."""

    name = "backup"

    def setup(self, it):
        init_vault(it)
        citizens = import_citizens(it, BACKUP_CITIZENS)
        key = os.path.join(it.data, "root.key")
        targets = [it.path("backup-full"), it.path("backup-incremental")]
        it.tillit.json(["backup", "--data", it.data, "--out", targets[1],
                        "--json"])
        # Changes since that backup: rekeyed stores are copied again, the
        # erased citizen's file is removed from it.
        ids = list(citizens)
        for cid in ids[:2]:
            it.tillit.json(["keys", "rotate", "--data", it.data, "--citizen",
                            cid, "--json"])
        it.tillit.json(["citizen", "erase", "--data", it.data, "--yes",
                        ids[-1], "--json"])
        listed = list_citizens(it)
        entries = check_stores(it)
        if listed is None or entries is None:
            raise StepError("the vault does not verify after setup")
        return State(key=key, targets=targets, expected=listed_shape(listed),
                     entries=entries)

    def start(self, it, state):
        return CliSequence(
            it.tillit, [["backup", "--data", it.data, "--out", t, "--json"]
                        for t in state.targets], it.processes)

    def check(self, it, state, work):
        report_work_errors(it, work)
        acked = set(work.acked())
        it.count("acknowledged", len(acked))
        # The live vault: as it was, no entry added or lost.
        listed = list_citizens(it)
        if listed is not None and listed_shape(listed) != state.expected:
            it.fail("violations", "the live vault changed under a backup")
        entries = check_stores(it)
        if entries is not None and entries != state.entries:
            it.fail("violations", "the live audit log went from %d to %d "
                    "entries under a backup" % (state.entries, entries))
        for i, target in enumerate(state.targets):
            ok, problem = verify_backup(it, target, state.key)
            if i in acked and not ok:
                it.fail("lost", "the acknowledged backup %s does not verify: "
                        "%s" % (os.path.basename(target), problem))
            if ok:
                check_copy(it, self.restore(it, target, state.key, i),
                           state.expected, state.entries,
                           "the restore of " + os.path.basename(target))
            if i not in acked:  # the same command again finishes it
                r = it.tillit.run(["backup", "--data", it.data, "--out",
                                   target, "--json"])
                again, problem = verify_backup(it, target, state.key)
                if r.returncode != 0 or not again:
                    it.fail("violations", "the next backup into %s exited "
                            "%d and %s: %s" % (
                                os.path.basename(target), r.returncode,
                                "verifies" if again else "does not verify",
                                problem or tail(r.stderr)))

    @staticmethod
    def restore(it, backup, key, i):
        target = it.path("restored-%d" % i)
        r = it.tillit.run(["restore", "--from", backup, "--data", target,
                           "--key-file", key, "--json"])
        if r.returncode != 0:
            it.fail("violations", "a backup that verifies does not restore: "
                    "%s" % tail(r.stderr))
        return target


class RestoreScenario(Scenario):
    """`tillit restore` killed: its target holds nothing or the whole
    vault, never part of it; the backup and the live vault are untouched;
    the same restore then succeeds."""

    name = "restore"

    def setup(self, it):
        init_vault(it)
        import_citizens(it, RESTORE_CITIZENS)
        backup = it.path("backup")
        it.tillit.json(["backup", "--data", it.data, "--out", backup,
                        "--json"])
        listed = list_citizens(it)
        entries = check_stores(it)
        if listed is None or entries is None:
            raise StepError("the vault does not verify after setup")
        return State(backup=backup, key=os.path.join(it.data, "root.key"),
                     targets=[it.path("restored-%d" % i)
                              for i in range(RESTORES)],
                     expected=listed_shape(listed), entries=entries)

    def restore(self, it, state, target):
        return ["restore", "--from", state.backup, "--data", target,
                "--key-file", state.key, "--json"]

    def start(self, it, state):
        return CliSequence(it.tillit, [self.restore(it, state, t)
                                       for t in state.targets], it.processes)

    def check(self, it, state, work):
        report_work_errors(it, work)
        acked = set(work.acked())
        it.count("acknowledged", len(acked))
        for i, target in enumerate(state.targets):
            name = os.path.basename(target)
            left = scratch_siblings(target, "restoring")
            it.count("scratch_dirs", len(left))
            if i in acked and left:
                it.fail("violations", "restore %s exited 0 and left %s" %
                        (name, left[0]))
            whole = os.path.isdir(target) and os.listdir(target)
            if i in acked and not whole:
                it.fail("lost", "the acknowledged restore %s is gone" % name)
            if whole:  # acknowledged, or renamed into place before the kill
                check_copy(it, target, state.expected, state.entries,
                           "restore " + name)
                continue
            r = it.tillit.run(self.restore(it, state, target))
            if r.returncode != 0:
                it.fail("violations", "the restore into %s after the kill "
                        "exited %d: %s" % (name, r.returncode,
                                           tail(r.stderr)))
            else:
                check_copy(it, target, state.expected, state.entries,
                           "restore " + name + " run again")
        ok, problem = verify_backup(it, state.backup, state.key)
        if not ok:
            it.fail("corrupt", "the backup restored from no longer verifies: "
                    "%s" % problem)
        listed = list_citizens(it)
        if listed is not None and listed_shape(listed) != state.expected:
            it.fail("violations", "the live vault changed under a restore")
        check_stores(it)


# ----------------------------------------------------------------- runner


def run_iteration(scenario, tillit, stats, label, delay, keep):
    """One iteration: setup, work, SIGKILL after `delay` seconds (None:
    let it finish), checks. Returns (problems, seconds the work ran)."""
    it = Iteration(scenario.name, label, tillit, stats)
    work = None
    seconds = None
    try:
        state = scenario.setup(it)
        started = time.monotonic()
        work = scenario.start(it, state)
        if delay is None:
            if not work.wait_until(started + tillit.timeout):
                it.fail("violations", "the work did not finish within %d s"
                        % tillit.timeout)
                work.kill()
        else:
            work.wait_until(started + delay)
            work.kill()
            if work.hit:
                stats.killed_in_work += 1
        work.close(tillit.timeout)
        if work.finished_at is not None:
            seconds = work.finished_at - started
        scenario.check(it, state, work)
    except StepError as e:
        it.fail("violations", "could not go on: %s" % e)
    except (OSError, KeyError, TypeError, ValueError, AttributeError) as e:
        it.fail("violations", "could not go on: unexpected %r" % e)
    finally:
        if work is not None:
            work.close(tillit.timeout)
        it.cleanup(keep)
    return it.problems, seconds


def progress(text):
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + text)
        sys.stderr.flush()


def run_scenario(scenario, args, tillit, seed):
    stats = Stats(scenario.name)
    # The timing run: unkilled, checked like the others; its figures count
    # too (a loss is a loss), but not as a killed iteration.
    progress("%s: timing run" % scenario.name)
    problems, seconds = run_iteration(scenario, tillit, stats, "timing run",
                                      None, args.keep)
    stats.timing_problems = problems
    stats.timing_seconds = seconds
    if problems or seconds is None:
        progress("")
        print("%s: the unkilled run failed; no killed iterations" %
              scenario.name, file=sys.stderr, flush=True)
        stats.timing_problems = max(problems, 1)
        return stats
    for i, fraction in enumerate(kill_fractions(seed, scenario.name,
                                                args.iterations)):
        delay = fraction * seconds
        problems, _ = run_iteration(scenario, tillit, stats,
                                    "iteration %d, kill at %.3f s" %
                                    (i + 1, delay), delay, args.keep)
        stats.iterations += 1
        if problems:
            stats.failed_iterations += 1
        progress("%s %d/%d: kill at %.3f of %.3f s; acknowledged %d, lost "
                 "%d, corrupt %d, verify failures %d, violations %d" %
                 (scenario.name, i + 1, args.iterations, delay, seconds,
                  stats.acknowledged, stats.lost, stats.corrupt,
                  stats.verify_failures, stats.violations))
    progress("")
    return stats


HEADER = ("scenario", "iterations", "killed in work", "acknowledged", "lost",
          "corrupt", "verify failures", "violations")


def table(results):
    rows = [HEADER]
    for s in results:
        rows.append((s.name, s.iterations, s.killed_in_work, s.acknowledged,
                     s.lost, s.corrupt, s.verify_failures, s.violations))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(HEADER))]
    lines = []
    for r in rows:
        cells = [str(r[0]).ljust(widths[0])]
        cells += [str(v).rjust(widths[i + 1]) for i, v in enumerate(r[1:])]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Scenarios: " + ", ".join(SCENARIOS))
    parser.add_argument("--tillit", help="the tillit binary")
    parser.add_argument("--iterations", type=int, default=20,
                        help="killed iterations per scenario (default 20)")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS,
                        help="run this scenario (repeatable; default all)")
    parser.add_argument("--seed", help="seed of the kill moments")
    parser.add_argument("--timeout", type=int, default=120,
                        help="seconds any one tillit call, HTTP request or "
                        "unkilled run may take (default 120)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch directory of a failed "
                        "iteration")
    parser.add_argument("--json", action="store_true",
                        help="print the summary as JSON")
    parser.add_argument("--self-test", action="store_true",
                        help="check the bundle generator and parsers only")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.tillit:
        parser.error("--tillit PATH is required")
    if not os.access(args.tillit, os.X_OK):
        parser.error("%s is not an executable" % args.tillit)
    if args.iterations < 1 or args.timeout < 1:
        parser.error("--iterations and --timeout take a positive number")
    seed = args.seed if args.seed is not None else str(
        random.SystemRandom().randrange(1 << 32))
    names = args.scenario or list(SCENARIOS)
    names = [n for n in SCENARIOS if n in names]  # fixed order, once each
    tillit = Tillit(os.path.abspath(args.tillit), args.timeout)
    print("crash_loop: seed %s, %d iteration(s) per scenario" %
          (seed, args.iterations), file=sys.stderr, flush=True)

    session = tempfile.mkdtemp(prefix="tillit-crash-")
    results = []
    try:
        make = {"import": lambda: ImportScenario(session),
                "http_write": HttpWriteScenario,
                "grant": GrantScenario,
                "rotate_root": RotateRootScenario,
                "rotate_citizen": RotateCitizenScenario,
                "erase": EraseScenario,
                "backup": BackupScenario,
                "restore": RestoreScenario}
        for name in names:
            results.append(run_scenario(make[name](), args, tillit, seed))
    finally:
        shutil.rmtree(session, ignore_errors=True)

    ok = all(s.ok() for s in results)
    if args.json:
        print(json.dumps({"seed": seed, "iterations": args.iterations,
                          "ok": ok,
                          "scenarios": [s.as_json() for s in results]}))
    else:
        print("kill -9 during work: seed %s, %d iteration(s) per scenario" %
              (seed, args.iterations))
        print(table(results))
        for s in results:
            print("%s: unkilled run %s s%s, %d orphan citizen file(s), %d "
                  "scratch restore(s) left"
                  % (s.name, "%.3f" % s.timing_seconds
                     if s.timing_seconds is not None else "-",
                     ", FAILED" if s.timing_problems else "",
                     s.orphan_files, s.scratch_dirs))
        print("PASS" if ok else "FAIL")
    return 0 if ok else 1


# -------------------------------------------------------------- self-test


def self_test():
    """Checks what runs without tillit: the bundle generator, the parsers
    and the kill moments. Exit status 0 when all hold."""
    failures = []

    def expect(cond, what):
        if not cond:
            failures.append(what)

    urn = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{4}-[0-9a-f]{12}$")

    def references(value, out):
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "reference" and isinstance(v, str):
                    out.append(v)
                else:
                    references(v, out)
        elif isinstance(value, list):
            for v in value:
                references(v, out)
        return out

    patients = set()
    for i in (0, 1, 2, 1499, 1500, 99999):
        b = make_bundle(i)
        text = json.dumps(b)
        expect(json.dumps(make_bundle(i)) == text, "bundle %d repeats" % i)
        expect(b["resourceType"] == "Bundle" and b["type"] == "transaction",
               "bundle %d is a transaction" % i)
        urls = [e["fullUrl"] for e in b["entry"]]
        expect(all(urn.match(u) for u in urls), "bundle %d fullUrls" % i)
        expect(len(set(urls)) == len(urls), "bundle %d fullUrls unique" % i)
        expect(all(r in urls for r in references(b, [])),
               "bundle %d references resolve" % i)
        types = collections.Counter(e["resource"]["resourceType"]
                                    for e in b["entry"])
        expect(dict(types) == bundle_counts(), "bundle %d counts" % i)
        expect(all("id" not in e["resource"] for e in b["entry"]),
               "bundle %d resources carry no id" % i)
        expect(all(e["request"]["url"] == e["resource"]["resourceType"]
                   for e in b["entry"]), "bundle %d requests" % i)
        patient = [e for e in b["entry"]
                   if e["resource"]["resourceType"] == "Patient"][0]
        patients.add(patient["fullUrl"])
        for e in b["entry"]:
            r = e["resource"]
            for key in ("effectiveDateTime", "onsetDateTime"):
                if key in r:
                    expect(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
                                    r[key]) is not None,
                           "bundle %d %s format" % (i, key))
    expect(len(patients) == 6, "every bundle has its own Patient")

    expect(parse_ack("/t/b/bundle-0003.json -> c_0123abcd (new): 8 "
                     "resources, 8 new or changed") ==
           ("/t/b/bundle-0003.json", "c_0123abcd", 8), "ack line")
    expect(parse_ack("b.json -> c_ff: 8 resources, 0 new or changed\r") ==
           ("b.json", "c_ff", 8), "ack line without (new), with \\r")
    expect(parse_ack("imported 8 resources for 1 citizen(s); 0 file(s) "
                     "rejected") is None, "summary is no ack")
    expect(parse_ack("b.json -> c_ff (new): 8 resources") is None,
           "cut line is no ack")

    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "root.key")
        with open(p, "w") as f:
            f.write("tillit-root-keys 1\ncurrent 7\nkey 6 AAAA\nkey 7 BBBB\n")
        expect(current_root_version(p) == 7, "current version")
        with open(p, "w") as f:
            f.write("tillit-root-keys 1\nkey 1 AAAA\n")
        expect(current_root_version(p) is None, "no current version")
        expect(current_root_version(os.path.join(d, "missing")) is None,
               "missing key file")
        write_bundles(os.path.join(d, "b"), 3)
        expect(sorted(os.listdir(os.path.join(d, "b"))) ==
               ["bundle-0000.json", "bundle-0001.json", "bundle-0002.json"],
               "bundle files")

    a = kill_fractions("42", "import", 5)
    expect(a == kill_fractions("42", "import", 5), "kill moments repeat")
    expect(a != kill_fractions("42", "erase", 5), "per-scenario moments")
    expect(a != kill_fractions("43", "import", 5), "per-seed moments")
    expect(all(0 <= x < 1 for x in a), "fractions in [0, 1)")

    expect(Tillit.verb(["token", "revoke", "--stdin", "tlk_secret"]) ==
           "`tillit token revoke`", "verb names stop at the options")
    hr = heart_rate(datetime.datetime(2024, 1, 1,
                                      tzinfo=datetime.timezone.utc), 61)
    expect("id" not in hr and "subject" not in hr, "citizen's record shape")

    s = Stats("import")
    s.acknowledged = 12
    expect(table([s]).splitlines()[1].split()[:4] == ["import", "0", "0",
                                                      "12"], "table row")

    for f in failures:
        print("FAIL: " + f)
    print("crash_loop self-test: %s" % ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
