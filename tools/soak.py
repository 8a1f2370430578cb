#!/usr/bin/env python3
"""A soak of mixed traffic against a real `tillit serve` (Python 3 stdlib).

Makes a scratch data directory (`tillit init`: the root key in
DATA/root.key, no passphrase), serves it on a free loopback port and sets
up, over HTTP with the operator token: an auditor, two care providers, a
researcher (X25519 key from `tillit keygen`) with a study, and one citizen
per client, each enrolled, given a small synthetic FHIR history (made here,
never the Synthea fixtures) and a research grant.

Then every client thread, on its own persistent HTTP/1.1 connection, acts
as its citizen and around them until --duration ends: reads and writes of
the citizen's own records, the citizen's grant to a provider made and
revoked every --grant-every seconds, that provider's reads (200 while the
grant is active, 404 once revoked), feasibility queries, the citizen's
access log and the auditor's listing of the log. Another thread makes a
research release every --release-every seconds.

Every request is counted with its status. An error is a connection error,
a 5xx, any status the scenario did not expect at that moment (such as a 404
for a provider whose grant is active) or an answer without what it must
hold. Each minute, and at the end, one line: requests, errors, latency
percentiles, and the server's resident memory (VmRSS) and open file
descriptors. At the end the server is stopped with SIGTERM, then
`tillit audit verify` and `tillit citizen verify` run on the data, and the
log's entry count is compared with what the answered requests wrote (see
"Audit entries" below).

Usage: soak.py --tillit PATH [--duration SECONDS] [--clients N]
               [--release-every SECONDS] [--grant-every SECONDS]
               [--warmup SECONDS] [--seed N] [--no-rss-check] [--keep]
               [--json]

--json prints the summary as one JSON object on standard output (the
per-minute lines then go to standard error). The scratch directory is
removed after a passing run (kept with --keep) and kept, with its path
printed, after a failing one.

Exit status 0 only when there were no errors, the server stopped cleanly
(exit 0), both verbs passed, the audit entry count matched, RSS grew by at
most 20 % and the distinct files it holds open by at most 8 between the
end of the warm-up (--warmup: a sixth of the duration, between 10 s and
5 minutes, the time the stores' SQLite page caches take to fill) and the
end; 1 otherwise; 2 for bad usage.
"""

import argparse
import array
import http.client
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

# How long `tillit serve` may take to start or stop (sanitizer builds are
# slow), and a verb such as `audit verify` over a long soak's log.
STARTUP_SECONDS = 90
SHUTDOWN_SECONDS = 60
VERB_SECONDS = 1800
REQUEST_TIMEOUT_SECONDS = 60
RELEASE_TIMEOUT_SECONDS = 300
# The server closes a keep-alive connection idle for 5 s
# (ServerOptions::keep_alive_seconds). A client idle longer than this opens
# a new connection instead of racing that close.
IDLE_RECONNECT_SECONDS = 3.0

MAX_RSS_GROWTH_PERCENT = 20.0
MAX_FD_GROWTH = 8
ERROR_SAMPLES = 20
PROVIDERS = 2

# ---------------------------------------------------------------------------
# Audit entries.
#
# Every handler writes its entries through AuditTrail (api/src/
# audit_trail.cc) before it releases or changes anything: Append is one
# entry, AppendBatch one per element. Which answered requests write how
# many (api/src/handlers_*.cc):
#   - /v1/admin/* (citizens, enrollment codes, researchers, providers,
#     auditors, study budgets) and POST /v1/enroll: one when they succeed;
#   - every /v1/me route: one when it succeeds (2xx); input refused before
#     the entry (validation, an unknown record's 404) writes none;
#   - provider reads, GET /v1/patients/{citizen_id}/records and
#     .../records/{type}/{id}, of a citizen that exists: one whether the
#     decision permits (200) or not (404, the entry records the denial);
#     (not used here) a push, one also when denied (404) or in conflict
#     (409), and a break-glass, one;
#   - POST /v1/studies, GET /v1/studies/{id}, GET .../feasibility and a
#     release download: one; POST /v1/studies/{id}/releases: one per
#     citizen in the cohort and the release's own last
#     (research/src/release.cc, MakeRelease), so cohort_size + 1 of the
#     answer; GET /v1/studies and GET .../releases: none; (not used
#     here) an aggregate, a batch of its own;
#   - GET /v1/audit/entries (auditor): one ("audit.entries"); checkpoints
#     and proofs: none;
#   - /healthz, /metrics, /openapi.json, /v1/audit/public-key: none;
#   - anything answered before routing (401, 403, 404 of no route, 405,
#     413, the 429 of a rate limit, 503 busy): none.
# Each request below states the statuses it expects and the entries each
# writes. The log must end with its size before the first request (from
# /healthz; `tillit init` writes what it writes) plus the entries of every
# answered request: no access unlogged, no entry without an answer.
# ---------------------------------------------------------------------------

OBSERVATION_CATEGORY = \
    "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
# (LOINC code, display, UCUM unit, low, high): ordinary, non-sensitive
# measurements, classified as vital-signs or lab-results (SPEC §3).
VITAL_SIGNS = [
    ("8867-4", "Heart rate", "/min", 48, 110),
    ("29463-7", "Body weight", "kg", 45, 120),
    ("8310-5", "Body temperature", "Cel", 36.0, 38.5),
    ("9279-1", "Respiratory rate", "/min", 10, 24),
]
LAB_RESULTS = [
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.5, 9.5),
    ("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", 65, 190),
    ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 130,
     280),
]
GRANTED_CATEGORIES = ["lab-results", "vital-signs"]

RESEARCH_GRANT = {
    "grantee": {"kind": "any-researcher"},
    "purposes": ["DUO:0000006"],
    "categories": GRANTED_CATEGORIES,
}
STUDY = {
    "title": "Soak: vital signs and lab results",
    "purpose": "DUO:0000006",
    "categories": ["vital-signs", "lab-results"],
}


def provider_grant(provider_id):
    """Clinical care by one provider (CC goes only to provider grantees)."""
    return {
        "grantee": {"kind": "provider", "id": provider_id},
        "purposes": ["DUO:0000043"],
        "categories": GRANTED_CATEGORIES,
    }


def new_id(rng, prefix):
    return "%s-%016x" % (prefix, rng.getrandbits(64))


def observation(rng, patient_id, resource_id=None):
    """A final Observation of vital signs or a lab result, dated 2015-2024;
    without an id when the vault assigns it."""
    lab = rng.random() < 0.5
    code, display, unit, low, high = rng.choice(
        LAB_RESULTS if lab else VITAL_SIGNS)
    when = "%04d-%02d-%02dT%02d:%02d:00Z" % (
        rng.randint(2015, 2024), rng.randint(1, 12), rng.randint(1, 28),
        rng.randint(6, 20), rng.randint(0, 59))
    r = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{
            "system": OBSERVATION_CATEGORY,
            "code": "laboratory" if lab else "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code,
                             "display": display}]},
        "subject": {"reference": "Patient/" + patient_id},
        "effectiveDateTime": when,
        "valueQuantity": {"value": round(rng.uniform(low, high), 1),
                          "unit": unit, "system": UCUM, "code": unit},
    }
    if resource_id is not None:
        r["id"] = resource_id
    return r


def patient(rng, patient_id, index):
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "name": [{"family": "Soak", "given": ["Citizen%d" % index]}],
        "gender": rng.choice(["female", "male"]),
        "birthDate": "%04d-%02d-%02d" % (rng.randint(1940, 2005),
                                         rng.randint(1, 12),
                                         rng.randint(1, 28)),
    }


def bundle(resources):
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in resources]}


# ---------------------------------------------------------------------------
# Counting.


class SoakError(Exception):
    """A step every later one depends on failed (setup, start, stop)."""


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list; 0 for none."""
    if not sorted_values:
        return 0.0
    k = max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1)
    return sorted_values[k]


def latency_summary(values):
    s = sorted(values)
    return {"p50_ms": round(percentile(s, 50), 2),
            "p90_ms": round(percentile(s, 90), 2),
            "p99_ms": round(percentile(s, 99), 2),
            "max_ms": round(s[-1], 2) if s else 0.0}


class Stats:
    """Requests, their statuses by route, errors, latencies and the audit
    entries the answered requests wrote. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = 0
        self.errors = 0
        self.audit_entries = 0
        self.by_route = {}  # "METHOD /route" -> {"200": n, "connection": n}
        self.error_samples = []
        self.latencies = array.array("d")  # ms, every request
        self._minute_latencies = []
        self._minute_requests = 0
        self._minute_errors = 0

    def record(self, route, status, ms, entries, error):
        with self._lock:
            self.requests += 1
            self._minute_requests += 1
            counts = self.by_route.setdefault(route, {})
            label = "connection" if status is None else str(status)
            counts[label] = counts.get(label, 0) + 1
            self.audit_entries += entries
            self.latencies.append(ms)
            self._minute_latencies.append(ms)
            if error is not None:
                self._add_error_locked("%s: %s" % (route, error))

    def note_error(self, what):
        """An error outside any one request (a client thread stopped)."""
        with self._lock:
            self._add_error_locked(what)

    def _add_error_locked(self, what):
        self.errors += 1
        self._minute_errors += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(what)

    def take_minute(self):
        """(requests, errors, latencies) since the last call."""
        with self._lock:
            out = (self._minute_requests, self._minute_errors,
                   self._minute_latencies)
            self._minute_requests = 0
            self._minute_errors = 0
            self._minute_latencies = []
        return out

    def entries(self):
        with self._lock:
            return self.audit_entries


class Reply:
    """An answer (status, body, headers), or none (status None); `error`
    says why the request counts as an error, None when it does not."""

    def __init__(self, status, body, headers, error):
        self.status = status
        self.body = body
        self.headers = headers
        self.error = error

    @property
    def ok(self):
        return self.error is None

    def json(self):
        return json.loads(self.body)


def snippet(body):
    text = body[:300].decode("utf-8", errors="replace")
    return text + ("…" if len(body) > 300 else "")


class Client:
    """One persistent HTTP/1.1 connection to the server, opened again when
    the server closed it or it sat idle; every request is recorded in
    `stats`. Used by one thread at a time."""

    def __init__(self, host, port, stats, timeout=REQUEST_TIMEOUT_SECONDS):
        self.host = host
        self.port = port
        self.stats = stats
        self.timeout = timeout
        self._conn = None
        self._last_used = 0.0

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self):
        if (self._conn is not None and
                time.monotonic() - self._last_used > IDLE_RECONNECT_SECONDS):
            self.close()
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port,
                                                    timeout=self.timeout)
        return self._conn

    def call(self, method, path, route, token, body, expect, check=None,
             content_type="application/json"):
        """Sends one request and returns its Reply.

        `route` names it in the counts ("GET /v1/me/records/{type}/{id}").
        `expect` maps every status the scenario allows now to the audit
        entries that answer writes: a number, or a function of the Reply.
        Any other status is an error. `check(reply)`, for an expected
        status, returns a problem with the answer (an error) or None.
        """
        headers = {}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = body
            headers["Content-Type"] = content_type
        start = time.monotonic()
        try:
            conn = self._connection()
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
        except (OSError, http.client.HTTPException) as e:
            ms = (time.monotonic() - start) * 1000.0
            self.close()
            self._last_used = time.monotonic()
            error = "no answer (%s: %s)" % (type(e).__name__, e)
            self.stats.record(route, None, ms, 0, error)
            return Reply(None, b"", {}, error)
        ms = (time.monotonic() - start) * 1000.0
        self._last_used = time.monotonic()
        reply = Reply(resp.status, payload, resp.headers, None)
        entries = 0
        rule = expect.get(resp.status)
        if rule is None:
            reply.error = "status %d, expected %s: %s" % (
                resp.status, "/".join(str(s) for s in sorted(expect)),
                snippet(payload))
        else:
            try:
                entries = rule(reply) if callable(rule) else rule
                problem = check(reply) if check is not None else None
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                problem = "unreadable answer (%s): %s" % (
                    type(e).__name__, snippet(payload))
            if problem is not None:
                reply.error = "status %d: %s" % (resp.status, problem)
        self.stats.record(route, resp.status, ms, entries, reply.error)
        return reply


# ---------------------------------------------------------------------------
# The server.


def child_env():
    """The environment for tillit: the data directory is always given on
    the command line and the root key is DATA/root.key, whatever the
    caller's TILLIT_DATA and TILLIT_KEY_FILE say."""
    env = dict(os.environ)
    env.pop("TILLIT_DATA", None)
    env.pop("TILLIT_KEY_FILE", None)
    return env


def default_warmup(duration):
    """A sixth of the run, 10 s to 5 minutes: each store's SQLite page
    cache fills as the traffic reaches its pages, which takes minutes."""
    return max(10.0, min(300.0, duration / 6.0))


def proc_rss_kib(pid):
    """VmRSS of `pid` in KiB, or None when it cannot be read."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def proc_fds(pid):
    """How many distinct files (and pipes) `pid` has open, or None: what a
    leak would pile up. Sockets are left out: their number follows the
    clients' connections at the moment of the sample (bounded by the
    server's thread and queue limits). So are extra descriptors of a file
    already counted: SQLite keeps the descriptor of a closed connection for
    reuse while another connection of the process holds the same file
    (POSIX locks are per process), so a citizen's store settles at two
    descriptors once a second handle (a release's) has opened it."""
    d = "/proc/%d/fd" % pid
    try:
        names = os.listdir(d)
    except OSError:
        return None
    targets = set()
    for name in names:
        try:
            target = os.readlink(os.path.join(d, name))
        except OSError:
            continue  # closed meanwhile
        if not target.startswith("socket:"):
            targets.add(target)
    return len(targets)


class Server:
    """`tillit init` and `tillit serve` of WORKDIR/data."""

    def __init__(self, tillit, workdir):
        self.tillit = tillit
        self.workdir = workdir
        self.data_dir = os.path.join(workdir, "data")
        self.proc = None
        self.url = None
        self._stdout_path = os.path.join(workdir, "serve.out")
        self._stderr_path = os.path.join(workdir, "serve.err")

    def verb(self, args, timeout=VERB_SECONDS):
        """Runs `tillit ARGS`; returns the CompletedProcess."""
        return subprocess.run([self.tillit] + args, capture_output=True,
                              text=True, timeout=timeout, env=child_env(),
                              stdin=subprocess.DEVNULL)

    def init(self):
        """Returns the operator token."""
        r = self.verb(["init", "--data", self.data_dir, "--json"], 120)
        if r.returncode != 0:
            raise SoakError("tillit init exited %d: %s" %
                            (r.returncode, r.stderr.strip()))
        token = json.loads(r.stdout).get("admin_token")
        if not token:
            raise SoakError("tillit init printed no admin_token")
        return token

    def start(self):
        """Starts serving on a free loopback port; returns (host, port)."""
        with open(self._stdout_path, "wb") as out, \
                open(self._stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [self.tillit, "serve", "--data", self.data_dir, "--listen",
                 "127.0.0.1:0", "--quiet"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                env=child_env())
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            with open(self._stdout_path, "r", errors="replace") as f:
                for line in f:
                    if line.startswith("listening on "):
                        self.url = line[len("listening on "):].strip()
                        parts = urllib.parse.urlsplit(self.url)
                        return parts.hostname, parts.port
            if self.proc.poll() is not None:
                raise SoakError("tillit serve exited %d before listening" %
                                self.proc.returncode)
            time.sleep(0.05)
        raise SoakError("tillit serve did not print `listening on` within "
                        "%d s" % STARTUP_SECONDS)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, then waits; returns the exit status (None if it was
        never started). SoakError when it ignores SIGTERM."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=SHUTDOWN_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise SoakError("tillit serve ignored SIGTERM for %d s" %
                                SHUTDOWN_SECONDS)
        return self.proc.returncode

    def sample(self):
        """(RSS in KiB, open fds) of the server now."""
        if not self.running():
            return None, None
        return proc_rss_kib(self.proc.pid), proc_fds(self.proc.pid)

    def stderr_tail(self):
        if not os.path.exists(self._stderr_path):
            return ""
        with open(self._stderr_path, "r", errors="replace") as f:
            return f.read()[-4000:]


# ---------------------------------------------------------------------------
# Setup, over HTTP with the operator token.


class Citizen:
    """An enrolled citizen; `records` are (type, id) of all their records,
    `observations` those a provider grant releases. Owned by one client
    thread once the traffic starts."""

    def __init__(self, citizen_id, token, patient_id):
        self.id = citizen_id
        self.token = token
        self.patient_id = patient_id
        self.records = []
        self.observations = []


class Fixture:
    def __init__(self):
        self.auditor_token = None
        self.providers = []  # (id, token)
        self.researcher_token = None
        self.study_id = None
        self.citizens = []
        self.writers = []  # citizens that only receive writes
        # Records a writer may hold before writes to them replace existing
        # records instead of adding (0: no cap).
        self.record_cap = 0


def needed(reply, what, *keys):
    """The answer's JSON, or SoakError naming `what` when the request
    failed or lacks one of `keys`."""
    if not reply.ok:
        raise SoakError("%s: %s" % (what, reply.error))
    try:
        body = reply.json()
        for k in keys:
            if not body.get(k):
                raise SoakError("%s: the answer has no %s" % (what, k))
    except ValueError:
        raise SoakError("%s: the answer is not JSON: %s" %
                        (what, snippet(reply.body)))
    return body


def enroll(client, code, index):
    """POST /v1/enroll, waiting out the per-address limit (5 at once, then
    10 a minute: ServerOptions::enroll_*); returns the answer's JSON."""
    for _ in range(100):
        r = client.call("POST", "/v1/enroll", "POST /v1/enroll", None,
                        {"enrollment_code": code}, {200: 1, 429: 0})
        if r.ok and r.status == 200:
            return needed(r, "enrolling citizen %d" % index, "citizen_id",
                          "token")
        if not r.ok:
            raise SoakError("enrolling citizen %d: %s" % (index, r.error))
        try:
            wait = float(r.headers.get("Retry-After", "1"))
        except ValueError:
            wait = 1.0
        time.sleep(min(max(wait, 0.2), 30.0))
    raise SoakError("enrolling citizen %d: still rate limited" % index)


def set_up(client, server, admin, citizens, rng, say):
    fx = Fixture()
    r = client.call("POST", "/v1/admin/auditors", "POST /v1/admin/auditors",
                    admin, {"name": "Soak auditor"}, {201: 1})
    fx.auditor_token = needed(r, "registering the auditor", "token")["token"]
    for i in range(PROVIDERS):
        r = client.call("POST", "/v1/admin/providers",
                        "POST /v1/admin/providers", admin,
                        {"name": "Soak clinic %d" % (i + 1),
                         "organization": "Soak region"}, {201: 1})
        body = needed(r, "registering a provider", "provider_id", "token")
        fx.providers.append((body["provider_id"], body["token"]))

    k = server.verb(["keygen", "--out",
                     os.path.join(server.workdir, "researcher"), "--json"],
                    60)
    if k.returncode != 0:
        raise SoakError("tillit keygen exited %d: %s" %
                        (k.returncode, k.stderr.strip()))
    public_key = json.loads(k.stdout)["public_key"]
    r = client.call("POST", "/v1/admin/researchers",
                    "POST /v1/admin/researchers", admin,
                    {"name": "Soak researcher",
                     "organization": "Soak University", "org_type": "academic",
                     "country": "SE", "public_key": public_key}, {201: 1})
    fx.researcher_token = needed(r, "registering the researcher",
                                 "token")["token"]
    r = client.call("POST", "/v1/studies", "POST /v1/studies",
                    fx.researcher_token, STUDY, {201: 1})
    fx.study_id = needed(r, "creating the study", "id")["id"]

    for i in range(citizens):
        r = client.call("POST", "/v1/admin/citizens",
                        "POST /v1/admin/citizens", admin, {}, {201: 1})
        code = needed(r, "creating citizen %d" % i,
                      "enrollment_code")["enrollment_code"]
        body = enroll(client, code, i)
        c = Citizen(body["citizen_id"], body["token"], new_id(rng, "pat"))
        history = [patient(rng, c.patient_id, i)]
        history += [observation(rng, c.patient_id, new_id(rng, "obs"))
                    for _ in range(8)]
        r = client.call("POST", "/v1/me/import", "POST /v1/me/import",
                        c.token, bundle(history), {200: 1},
                        content_type="application/fhir+json")
        needed(r, "importing citizen %d's history" % i)
        for res in history:
            c.records.append((res["resourceType"], res["id"]))
            if res["resourceType"] == "Observation":
                c.observations.append((res["resourceType"], res["id"]))
        r = client.call("POST", "/v1/me/consents", "POST /v1/me/consents",
                        c.token, RESEARCH_GRANT, {201: 1})
        needed(r, "citizen %d's research grant" % i, "id")
        # The records are there under the ids the bundle gave them.
        r = client.call("GET", "/v1/me/records?limit=1000",
                        "GET /v1/me/records", c.token, None, {200: 1})
        listed = {(x.get("resourceType"), x.get("id"))
                  for x in needed(r, "listing citizen %d's records" %
                                  i)["records"]}
        missing = [t + "/" + rid for t, rid in c.records
                   if (t, rid) not in listed]
        if missing:
            raise SoakError("citizen %d's imported records are not listed "
                            "under their ids: %s" % (i, ", ".join(missing)))
        fx.citizens.append(c)
    say("set up: %d citizens with %d records each, %d providers, an auditor, "
        "a researcher and study %s" %
        (citizens, len(fx.citizens[0].records) if fx.citizens else 0,
         PROVIDERS, fx.study_id))
    return fx


# ---------------------------------------------------------------------------
# Traffic.


def same_record(kind, rid):
    def check(reply):
        r = reply.json()
        if r.get("resourceType") != kind or r.get("id") != rid:
            return "asked for %s/%s, got %s/%s" % (
                kind, rid, r.get("resourceType"), r.get("id"))
        return None
    return check


def has(*keys):
    def check(reply):
        body = reply.json()
        for k in keys:
            if k not in body:
                return "the answer has no %s" % k
        return None
    return check


class Worker(threading.Thread):
    """One client: its citizen's own reads and writes, the citizen's grant
    to one provider (made and revoked every `grant_every` seconds, only by
    this thread, so that provider's expected answer is always known), that
    provider's reads, feasibility queries and audit listings."""

    def __init__(self, index, fx, client, stats, stop, grant_every, seed,
                 audit_size):
        super().__init__(name="soak-client-%d" % index, daemon=True)
        self.index = index
        self.fx = fx
        self.citizen = fx.citizens[index]
        self.provider_id, self.provider_token = \
            fx.providers[index % len(fx.providers)]
        self.client = client
        self.stats = stats
        self.stop = stop
        self.grant_every = grant_every
        self.rng = random.Random(seed)
        self.audit_size = audit_size
        self.grant_id = None  # the provider grant now active, if any
        self.grant_known = True  # False after a grant change went wrong
        self.ops = [
            (15, self.list_records),
            (20, self.read_record),
            (8, self.add_record),
            (1, self.import_records),
            (5, self.summary),
            (3, self.list_consents),
            (5, self.access_log),
            (20, self.provider_read),
            (8, self.provider_list),
            (5, self.feasibility),
            (3, self.audit_entries),
            (2, self.healthz),
        ]
        self.weights = [w for w, _ in self.ops]

    def run(self):
        try:
            next_grant = time.monotonic() + self.rng.uniform(
                0, self.grant_every)
            while not self.stop.is_set():
                if time.monotonic() >= next_grant:
                    self.change_grant()
                    next_grant += self.grant_every
                    continue
                op = self.rng.choices(self.ops, self.weights)[0][1]
                op()
        except Exception:  # noqa: BLE001 - a bug here must not pass quietly
            self.stats.note_error("client %d stopped: %s" %
                                  (self.index, traceback.format_exc()))
        finally:
            self.client.close()

    def me(self, method, path, route, body, expect, check=None,
           content_type="application/json"):
        return self.client.call(method, path, route, self.citizen.token, body,
                                expect, check, content_type)

    # --- the citizen's own data

    def list_records(self):
        self.me("GET", "/v1/me/records?limit=50", "GET /v1/me/records", None,
                {200: 1}, has("records", "next"))

    def read_record(self):
        kind, rid = self.rng.choice(self.citizen.records)
        self.me("GET", "/v1/me/records/%s/%s" % (kind, rid),
                "GET /v1/me/records/{type}/{id}", None, {200: 1},
                same_record(kind, rid))

    def writer(self):
        """The citizen a write goes to: one of the shared writers, so that
        no citizen's record count grows far past a real person's."""
        return self.rng.choice(self.fx.writers) if self.fx.writers \
            else self.citizen

    def full(self, c):
        """Whether `c` holds as many records as a writer may: writes then
        replace records, so that the data stays the size of a real
        person's and memory can be judged."""
        return self.fx.record_cap and len(c.records) >= self.fx.record_cap

    def rewrite(self, c, n):
        """Replaces `n` of `c`'s observations with new values (an import
        under their ids)."""
        ids = self.rng.sample(c.observations, min(n, len(c.observations)))
        new = [observation(self.rng, c.patient_id, rid) for _, rid in ids]
        self.client.call("POST", "/v1/me/import", "POST /v1/me/import",
                         c.token, bundle(new), {200: 1}, has("imported"),
                         content_type="application/fhir+json")

    def add_record(self):
        c = self.writer()
        if self.full(c):
            self.rewrite(c, 1)
            return
        r = self.client.call("POST", "/v1/me/records", "POST /v1/me/records",
                             c.token, observation(self.rng, c.patient_id),
                             {201: 1}, has("id"))
        if r.ok:
            rid = r.json()["id"]
            c.records.append(("Observation", rid))
            c.observations.append(("Observation", rid))

    def import_records(self):
        c = self.writer()
        if self.full(c):
            self.rewrite(c, 3)
            return
        new = [observation(self.rng, c.patient_id, new_id(self.rng, "obs"))
               for _ in range(3)]
        r = self.client.call("POST", "/v1/me/import", "POST /v1/me/import",
                             c.token, bundle(new), {200: 1}, has("imported"),
                             content_type="application/fhir+json")
        if r.ok:
            for res in new:
                c.records.append(("Observation", res["id"]))
                c.observations.append(("Observation", res["id"]))

    def summary(self):
        self.me("GET", "/v1/me", "GET /v1/me", None, {200: 1}, has("records"))

    def list_consents(self):
        self.me("GET", "/v1/me/consents", "GET /v1/me/consents", None,
                {200: 1}, has("consents"))

    def access_log(self):
        self.me("GET", "/v1/me/access-log?limit=20", "GET /v1/me/access-log",
                None, {200: 1}, has("entries", "tree_size"))

    # --- the grant to the provider

    def change_grant(self):
        if not self.grant_known and not self.resync():
            return
        if self.grant_id is None:
            r = self.me("POST", "/v1/me/consents", "POST /v1/me/consents",
                        provider_grant(self.provider_id), {201: 1}, has("id"))
            if r.ok:
                self.grant_id = r.json()["id"]
            else:
                self.grant_known = False
        else:
            r = self.me("DELETE", "/v1/me/consents/%s" % self.grant_id,
                        "DELETE /v1/me/consents/{id}", None, {200: 1},
                        has("status"))
            if r.ok:
                self.grant_id = None
            else:
                self.grant_known = False

    def resync(self):
        """After a grant change went wrong: whether a grant to the provider
        is active now, from the citizen's list."""
        r = self.me("GET", "/v1/me/consents", "GET /v1/me/consents", None,
                    {200: 1}, has("consents"))
        if not r.ok:
            return False
        self.grant_id = None
        for g in r.json()["consents"]:
            grantee = g.get("grantee") or {}
            if (g.get("status") == "active" and
                    grantee.get("kind") == "provider" and
                    grantee.get("id") == self.provider_id):
                self.grant_id = g.get("id")
        self.grant_known = True
        return True

    # --- the provider, under the grant or without it

    def provider_expect(self):
        # Audited either way: a denial is an entry too.
        return {200: 1} if self.grant_id is not None else {404: 1}

    def provider_read(self):
        if not self.grant_known and not self.resync():
            return
        kind, rid = self.rng.choice(self.citizen.observations)
        active = self.grant_id is not None
        self.client.call(
            "GET", "/v1/patients/%s/records/%s/%s" % (self.citizen.id, kind,
                                                      rid),
            "GET /v1/patients/{citizen_id}/records/{type}/{id}",
            self.provider_token, None, self.provider_expect(),
            same_record(kind, rid) if active else None)

    def provider_list(self):
        if not self.grant_known and not self.resync():
            return
        active = self.grant_id is not None
        self.client.call(
            "GET", "/v1/patients/%s/records?limit=20" % self.citizen.id,
            "GET /v1/patients/{citizen_id}/records", self.provider_token,
            None, self.provider_expect(),
            has("records", "next") if active else None)

    # --- research, audit, health

    def feasibility(self):
        self.client.call(
            "GET", "/v1/studies/%s/feasibility" % self.fx.study_id,
            "GET /v1/studies/{id}/feasibility", self.fx.researcher_token,
            None, {200: 1}, has("cohort_size"))

    def audit_entries(self):
        # A page near the end of the log, where it grows.
        after = max(-1, self.audit_size() - self.rng.randint(50, 250))
        self.client.call(
            "GET", "/v1/audit/entries?after=%d&limit=50" % after,
            "GET /v1/audit/entries", self.fx.auditor_token, None, {200: 1},
            has("entries"))

    def healthz(self):
        self.client.call("GET", "/healthz", "GET /healthz", None, None,
                         {200: 0}, has("audit_entries"))


class Releaser(threading.Thread):
    """A research release every `every` seconds, each on a new connection
    (the server drops keep-alive connections idle for 5 s)."""

    def __init__(self, fx, host, port, stats, stop, every):
        super().__init__(name="soak-releases", daemon=True)
        self.fx = fx
        self.host = host
        self.port = port
        self.stats = stats
        self.stop = stop
        self.every = every
        self.made = 0
        self.cohort_entries = 0
        self.longest_ms = 0.0

    def run(self):
        try:
            # The first release at once, within the warm-up: it opens every
            # cohort member's store beside the server's own handle, and
            # SQLite keeps such a file's descriptor for reuse (POSIX locks
            # are per process), so descriptors settle at two a store only
            # after a release has touched each.
            next_at = time.monotonic()
            while not self.stop.wait(max(0.0, next_at - time.monotonic())):
                self.release()
                next_at = max(next_at + self.every, time.monotonic())
        except Exception:  # noqa: BLE001
            self.stats.note_error("the release thread stopped: %s" %
                                  traceback.format_exc())

    def release(self):
        client = Client(self.host, self.port, self.stats,
                        RELEASE_TIMEOUT_SECONDS)
        try:
            start = time.monotonic()
            # One entry per citizen in the cohort, and the release's own.
            r = client.call(
                "POST", "/v1/studies/%s/releases" % self.fx.study_id,
                "POST /v1/studies/{id}/releases", self.fx.researcher_token,
                {}, {201: lambda reply: int(reply.json()["cohort_size"]) + 1},
                has("id", "audit_index"))
            self.longest_ms = max(self.longest_ms,
                                  (time.monotonic() - start) * 1000.0)
            if r.ok:
                self.made += 1
                self.cohort_entries += int(r.json()["cohort_size"])
        finally:
            client.close()


# ---------------------------------------------------------------------------
# The run.


def minute_line(m):
    return ("minute %d (%.0f s): %d requests, %d errors, latency ms p50 %.1f "
            "p90 %.1f p99 %.1f max %.1f, rss %s KiB, fds %s" % (
                m["minute"], m["seconds"], m["requests"], m["errors"],
                m["p50_ms"], m["p90_ms"], m["p99_ms"], m["max_ms"],
                m["rss_kib"], m["fds"]))


class Run:
    """What traffic() measured."""

    def __init__(self):
        self.minutes = []
        self.start_sample = (None, None)  # (RSS KiB, fds) after the warm-up
        self.end_sample = (None, None)  # the same at the end
        self.seconds = 0.0
        self.releaser = None
        self.server_died = None  # its exit status, when it ended mid-run


def traffic(args, server, host, port, fx, stats, audit_size, say):
    """Runs the clients and the releases for args.duration seconds, with a
    line each minute; returns a Run."""
    run = Run()
    stop = threading.Event()
    workers = [Worker(i, fx, Client(host, port, stats), stats, stop,
                      args.grant_every, args.seed * 1000 + i, audit_size)
               for i in range(args.clients)]
    run.releaser = Releaser(fx, host, port, stats, stop, args.release_every)
    threads = workers + [run.releaser]
    warmup = min(args.warmup if args.warmup is not None else
                 default_warmup(args.duration), args.duration / 2.0)

    def close_minute(number, elapsed, sample=None):
        n, e, latencies = stats.take_minute()
        rss, fds = sample or server.sample()
        m = {"minute": number, "seconds": round(elapsed, 1), "requests": n,
             "errors": e, "rss_kib": rss, "fds": fds}
        m.update(latency_summary(latencies))
        run.minutes.append(m)
        say(minute_line(m))

    t0 = time.monotonic()
    for t in threads:
        t.start()
    next_minute = 1
    warmed = False
    while True:
        elapsed = time.monotonic() - t0
        if elapsed >= args.duration:
            break
        if not server.running():
            run.server_died = server.proc.returncode
            break
        if not warmed and elapsed >= warmup:
            run.start_sample = server.sample()
            warmed = True
            say("after %.0f s of warm-up: rss %s KiB, fds %s" %
                (elapsed, run.start_sample[0], run.start_sample[1]))
            continue
        if elapsed >= 60.0 * next_minute:
            close_minute(next_minute, elapsed)
            next_minute += 1
            continue
        targets = [args.duration, 60.0 * next_minute]
        if not warmed:
            targets.append(warmup)
        time.sleep(max(0.01, min(1.0, min(targets) - elapsed)))

    # Sampled with the clients still connected, as after the warm-up.
    run.end_sample = server.sample()
    run.seconds = time.monotonic() - t0
    stop.set()
    for t in threads:
        t.join(timeout=RELEASE_TIMEOUT_SECONDS + 30)
        if t.is_alive():
            stats.note_error("%s did not finish" % t.name)
    # The last (partial) minute, with the end sample.
    close_minute(next_minute, run.seconds, run.end_sample)
    return run


def verify_audit(server):
    """`tillit audit verify --json` of the data: (ok, entries, checkpoints,
    problem)."""
    r = server.verb(["audit", "verify", "--data", server.data_dir, "--json"])
    try:
        report = json.loads(r.stdout)
    except ValueError:
        return False, None, None, "exit %d: %s" % (r.returncode,
                                                   r.stderr.strip())
    problem = None
    if r.returncode != 0 or not report.get("ok"):
        problem = "exit %d, first bad index %s: %s %s" % (
            r.returncode, report.get("first_bad_index"),
            report.get("problem", ""), r.stderr.strip())
    return (problem is None, report.get("entries"), report.get("checkpoints"),
            problem)


def soak(args, server, say):
    """Sets up, runs the traffic, stops and verifies; returns the summary
    (its "ok" says whether the soak passed)."""
    failures = []
    # Setup and the final look at the server; the traffic is counted apart.
    other = Stats()
    stats = Stats()
    admin = server.init()
    host, port = server.start()
    say("serving %s (pid %d), data in %s" % (server.url, server.proc.pid,
                                             server.data_dir))

    client = Client(host, port, other)
    r = client.call("GET", "/healthz", "GET /healthz", None, None, {200: 0},
                    has("audit_entries"))
    baseline = int(needed(r, "GET /healthz")["audit_entries"])
    fx = set_up(client, server, admin, args.clients + args.writers,
                random.Random(args.seed), say)
    fx.writers = fx.citizens[args.clients:]
    fx.record_cap = args.records_per_writer
    client.close()

    def audit_size():
        return baseline + other.entries() + stats.entries()

    run = traffic(args, server, host, port, fx, stats, audit_size, say)

    client = Client(host, port, other)
    r = client.call("GET", "/healthz", "GET /healthz", None, None, {200: 0},
                    has("audit_entries"))
    client.close()
    server_entries = r.json()["audit_entries"] if r.ok else None
    status = server.stop()
    if run.server_died is not None:
        failures.append("tillit serve ended during the soak with status %s" %
                        run.server_died)
    elif status != 0:
        failures.append("tillit serve ended with status %s after SIGTERM "
                        "(0 expected)" % status)

    expected = baseline + other.entries() + stats.entries()
    verified, entries, checkpoints, problem = verify_audit(server)
    if not verified:
        failures.append("tillit audit verify failed: %s" % problem)
    elif entries != expected:
        failures.append("the audit log holds %s entries; the answered "
                        "requests account for %d" % (entries, expected))
    if server_entries is not None and server_entries != expected:
        failures.append("the server reported %s audit entries before "
                        "stopping; the answered requests account for %d" %
                        (server_entries, expected))
    c = server.verb(["citizen", "verify", "--data", server.data_dir])
    if c.returncode != 0:
        failures.append("tillit citizen verify exited %d: %s" %
                        (c.returncode, c.stderr.strip()[-500:]))

    if stats.requests == 0:
        failures.append("no request was made")
    errors = stats.errors + other.errors
    if errors:
        failures.append("%d error(s)" % errors)
    (rss0, fds0), (rss1, fds1) = run.start_sample, run.end_sample
    rss_growth = fd_growth = None
    if None in (rss0, fds0, rss1, fds1):
        failures.append("the server's RSS and descriptors could not be read "
                        "at both ends")
    else:
        rss_growth = (rss1 - rss0) * 100.0 / rss0
        fd_growth = fds1 - fds0
        if rss_growth > MAX_RSS_GROWTH_PERCENT and not args.no_rss_check:
            failures.append("RSS grew by %.1f %% (%d to %d KiB), more than "
                            "%.0f %%" % (rss_growth, rss0, rss1,
                                         MAX_RSS_GROWTH_PERCENT))
        if fd_growth > MAX_FD_GROWTH:
            failures.append("open descriptors grew by %d (%d to %d), more "
                            "than %d" % (fd_growth, fds0, fds1,
                                         MAX_FD_GROWTH))

    return {
        "ok": not failures,
        "failures": failures,
        "duration_seconds": args.duration,
        "clients": args.clients,
        "release_every_seconds": args.release_every,
        "grant_every_seconds": args.grant_every,
        "seconds": round(run.seconds, 1),
        "requests": stats.requests,
        "requests_per_second": round(stats.requests / run.seconds, 1)
        if run.seconds > 0 else 0.0,
        "errors": errors,
        "error_samples": (stats.error_samples + other.error_samples)[
            :ERROR_SAMPLES],
        "latency": latency_summary(stats.latencies),
        "minutes": run.minutes,
        "by_route": stats.by_route,
        "setup_requests": other.requests,
        "releases": {"made": run.releaser.made,
                     "cohort_entries": run.releaser.cohort_entries,
                     "longest_ms": round(run.releaser.longest_ms, 1)},
        "rss_kib": {"start": rss0, "end": rss1,
                    "growth_percent": None if rss_growth is None
                    else round(rss_growth, 1),
                    "checked": not args.no_rss_check},
        "fds": {"start": fds0, "end": fds1, "growth": fd_growth},
        "audit": {"before_first_request": baseline,
                  "setup_and_final": other.entries(),
                  "traffic": stats.entries(),
                  "expected": expected,
                  "server_reported": server_entries,
                  "verified": entries,
                  "checkpoints": checkpoints,
                  "verify_ok": verified},
        "server_exit_status": status,
        "citizen_verify_ok": c.returncode == 0,
    }


def print_summary(s, say):
    lat = s["latency"]
    say("total: %d requests in %.0f s (%.1f/s), %d errors, latency ms p50 "
        "%.1f p90 %.1f p99 %.1f max %.1f" % (
            s["requests"], s["seconds"], s["requests_per_second"],
            s["errors"], lat["p50_ms"], lat["p90_ms"], lat["p99_ms"],
            lat["max_ms"]))
    rss, fds = s["rss_kib"], s["fds"]
    say("server: rss %s -> %s KiB (%s %%%s), fds %s -> %s (%s)" % (
        rss["start"], rss["end"], rss["growth_percent"],
        "" if rss["checked"] else ", not checked", fds["start"], fds["end"],
        fds["growth"]))
    rel = s["releases"]
    say("releases: %d made, %d cohort entries, longest %.0f ms" % (
        rel["made"], rel["cohort_entries"], rel["longest_ms"]))
    a = s["audit"]
    say("audit: %d before the first request + %d setup + %d traffic = %d "
        "expected; the server reported %s; audit verify: %s entries, %s "
        "checkpoints, %s" % (
            a["before_first_request"], a["setup_and_final"], a["traffic"],
            a["expected"], a["server_reported"], a["verified"],
            a["checkpoints"], "ok" if a["verify_ok"] else "FAILED"))
    for route in sorted(s["by_route"]):
        counts = s["by_route"][route]
        say("  %-55s %s" % (route, ", ".join(
            "%s: %d" % (k, counts[k]) for k in sorted(counts))))
    for e in s["error_samples"]:
        say("error: " + e)
    if s["ok"]:
        say("soak: PASS")
    else:
        for f in s["failures"]:
            say("soak: FAIL: " + f)


def positive_int(text):
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return v


def nonnegative_int(text):
    v = int(text)
    if v < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return v


def positive_float(text):
    v = float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return v


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tillit", required=True, help="the tillit binary")
    parser.add_argument("--duration", type=positive_int, default=1800,
                        help="seconds of traffic (default 1800)")
    parser.add_argument("--clients", type=positive_int, default=8,
                        help="client threads, one citizen each (default 8)")
    parser.add_argument("--writers", type=nonnegative_int, default=64,
                        help="citizens that receive the writes, shared by "
                        "all clients, so that no one citizen's data grows "
                        "far past a real person's (default 64)")
    parser.add_argument("--records-per-writer", type=nonnegative_int,
                        default=400,
                        help="records a writer citizen may hold; further "
                        "writes to them replace existing records (new "
                        "values under the same ids), so that the data stays "
                        "the size of a real person's and memory can be "
                        "judged flat (0: no cap; default 400)")
    parser.add_argument("--release-every", type=positive_float, default=60,
                        help="seconds between research releases "
                             "(default 60)")
    parser.add_argument("--grant-every", type=positive_float, default=10,
                        help="seconds between each citizen's grant or "
                             "revocation for their provider (default 10)")
    parser.add_argument("--warmup", type=positive_float, default=None,
                        help="seconds before RSS and descriptors are first "
                             "sampled (default: a sixth of --duration, "
                             "10 to 300)")
    parser.add_argument("--seed", type=int, default=1,
                        help="of the synthetic data and the request mix")
    parser.add_argument("--no-rss-check", action="store_true",
                        help="report RSS growth without failing on it "
                             "(sanitizer runtimes hold freed memory)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch directory after a pass")
    parser.add_argument("--json", action="store_true",
                        help="print the summary as JSON on standard output")
    args = parser.parse_args(argv)
    if args.clients > 256:
        parser.error("--clients: at most 256")
    if not os.access(args.tillit, os.X_OK):
        parser.error("--tillit: %s is not an executable" % args.tillit)
    args.tillit = os.path.abspath(args.tillit)

    progress = sys.stderr if args.json else sys.stdout

    def say(line):
        print(line, file=progress, flush=True)

    workdir = tempfile.mkdtemp(prefix="tillit-soak-")
    server = Server(args.tillit, workdir)
    summary = None
    try:
        summary = soak(args, server, say)
    except SoakError as e:
        say("soak: FAIL: %s" % e)
    except subprocess.TimeoutExpired as e:
        say("soak: FAIL: %s took longer than %s s" % (e.cmd, e.timeout))
    except Exception:  # noqa: BLE001 - reported, and the server stopped
        say("soak: FAIL: %s" % traceback.format_exc())
    finally:
        try:
            server.stop()
        except SoakError as e:
            say("soak: %s" % e)
    ok = summary is not None and summary["ok"]
    if summary is not None:
        print_summary(summary, say)
        if args.json:
            print(json.dumps(summary, indent=2, sort_keys=True), flush=True)
    if not ok:
        tail = server.stderr_tail()
        if tail:
            say("tillit serve's standard error (end):\n" + tail)
        say("the scratch directory is kept: %s" % workdir)
    elif not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        say("the scratch directory is kept: %s" % workdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
