"""A real `tillit serve` for the mobile-bridge tests (Python 3 stdlib only).

Shared by tests/bridge_c_app_test.py and tests/bridge_ffi_test.py:
  - TillitServer: `tillit init` a data directory, `tillit serve` it on a free
    loopback port (waiting for `listening on <url>`), stop it with SIGTERM,
    and create citizens and enrollment codes with the admin token;
  - Checks: collects failed expectations so a test reports all of them and
    exits non-zero when any failed.

Not thread-safe; one server per instance.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

# How long `tillit serve` may take to start or stop (sanitizer builds are
# slow).
STARTUP_SECONDS = 90
SHUTDOWN_SECONDS = 60


def child_env():
    """The environment for child processes.

    Under the sanitizer build CMake preloads the ASan and UBSan runtimes
    into the (uninstrumented) Python interpreter and turns leak detection
    off for it; the instrumented children need neither, and leak detection
    should stay on for them.
    """
    env = dict(os.environ)
    if env.pop("TILLIT_BRIDGE_TEST_PRELOADED", None) is not None:
        env.pop("LD_PRELOAD", None)
        env.pop("ASAN_OPTIONS", None)
    return env


class Checks:
    """Collects failed expectations; `ok()` is True when none failed."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.passed = 0

    def check(self, condition, what, detail=""):
        if condition:
            self.passed += 1
            return True
        message = what if not detail else "%s: %s" % (what, detail)
        self.failures.append(message)
        print("FAIL: " + message, flush=True)
        return False

    def equal(self, actual, expected, what):
        return self.check(actual == expected, what,
                          "expected %r, got %r" % (expected, actual))

    def ok(self):
        return not self.failures

    def report(self):
        """Prints the summary; returns the exit status (0 only if all
        passed and at least one check ran)."""
        if self.failures:
            print("%s: %d check(s) FAILED, %d passed:" %
                  (self.name, len(self.failures), self.passed))
            for f in self.failures:
                print("  - " + f)
            return 1
        if self.passed == 0:
            print("%s: no checks ran" % self.name)
            return 1
        print("%s: all %d checks passed" % (self.name, self.passed))
        return 0


class ServerError(Exception):
    pass


class Abort(Exception):
    """A failed step that every later step depends on (e.g. pairing)."""


class TillitServer:
    """`tillit init` + `tillit serve` in `workdir`."""

    def __init__(self, tillit, workdir):
        self.tillit = tillit
        self.workdir = workdir
        self.data_dir = os.path.join(workdir, "data")
        self.admin_token = None
        self.url = None
        self._proc = None
        self._stdout_path = None
        self._stderr_path = None
        self._runs = 0
        # No proxy for loopback, whatever the environment says.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}))

    def init(self):
        r = subprocess.run(
            [self.tillit, "init", "--data", self.data_dir, "--json"],
            capture_output=True, text=True, timeout=120, env=child_env())
        if r.returncode != 0:
            raise ServerError("tillit init exited %d: %s" %
                              (r.returncode, r.stderr.strip()))
        out = json.loads(r.stdout)
        self.admin_token = out["admin_token"]
        if not self.admin_token:
            raise ServerError("tillit init printed no admin token: %s" %
                              r.stdout)
        return out

    def start(self):
        """Starts `tillit serve` on a free port; returns its URL."""
        if self._proc is not None:
            raise ServerError("already running")
        self._runs += 1
        self._stdout_path = os.path.join(self.workdir,
                                         "serve-%d.out" % self._runs)
        self._stderr_path = os.path.join(self.workdir,
                                         "serve-%d.err" % self._runs)
        with open(self._stdout_path, "wb") as out, \
                open(self._stderr_path, "wb") as err:
            self._proc = subprocess.Popen(
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
                        return self.url
            if self._proc.poll() is not None:
                rc = self._proc.returncode
                self._proc = None
                raise ServerError("tillit serve exited %d before listening: "
                                  "%s" % (rc, self.stderr_text()))
            time.sleep(0.05)
        self.stop()
        raise ServerError("tillit serve did not print `listening on` within "
                          "%d s" % STARTUP_SECONDS)

    def stop(self):
        """SIGTERM and wait. Returns the exit status (None if not
        running)."""
        if self._proc is None:
            return None
        proc, self._proc = self._proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=SHUTDOWN_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise ServerError("tillit serve ignored SIGTERM for %d s" %
                                  SHUTDOWN_SECONDS)
        return proc.returncode

    def snapshot(self, name):
        """Copies the data directory aside (the server must be stopped)."""
        if self._proc is not None:
            raise ServerError("snapshot of a running server")
        shutil.copytree(self.data_dir, os.path.join(self.workdir, name),
                        symlinks=True)

    def restore(self, name):
        """Puts a snapshot back in place of the data directory (the server
        must be stopped): the vault and its access log as they were."""
        if self._proc is not None:
            raise ServerError("restore under a running server")
        shutil.rmtree(self.data_dir)
        shutil.copytree(os.path.join(self.workdir, name), self.data_dir,
                        symlinks=True)

    def stderr_text(self):
        if not self._stderr_path or not os.path.exists(self._stderr_path):
            return ""
        with open(self._stderr_path, "r", errors="replace") as f:
            return f.read()[-4000:]

    def admin_post(self, path, body):
        """POST with the admin token; returns (status, parsed JSON)."""
        req = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": "Bearer " + self.admin_token,
                     "Content-Type": "application/json"})
        try:
            with self._opener.open(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def create_citizen(self):
        """Returns {"citizen_id", "enrollment_code", ...}."""
        status, body = self.admin_post("/v1/admin/citizens", {})
        if status not in (200, 201) or not isinstance(body, dict) or \
                "enrollment_code" not in body:
            raise ServerError("POST /v1/admin/citizens: %s %r" %
                              (status, body))
        return body

    def new_enrollment_code(self, citizen_id):
        status, body = self.admin_post(
            "/v1/admin/citizens/%s/enrollment-code" % citizen_id, {})
        if status not in (200, 201) or not isinstance(body, dict) or \
                "enrollment_code" not in body:
            raise ServerError("POST enrollment-code: %s %r" % (status, body))
        return body["enrollment_code"]


def blood_pressure(when="2024-05-01T08:00:00Z", systolic=120, diastolic=80):
    """A citizen-entered blood-pressure panel (LOINC 85354-9)."""
    def component(code, value):
        return {"code": {"coding": [{"system": "http://loinc.org",
                                     "code": code}]},
                "valueQuantity": {"value": value, "unit": "mm[Hg]",
                                  "system": "http://unitsofmeasure.org",
                                  "code": "mm[Hg]"}}
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{
            "system":
                "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org",
                             "code": "85354-9",
                             "display": "Blood pressure panel"}]},
        "effectiveDateTime": when,
        "component": [component("8480-6", systolic),
                      component("8462-4", diastolic)],
    }


# A consent the citizen may grant (SPEC §4; see docs/CONSENT.md).
RESEARCH_GRANT = {
    "grantee": {"kind": "any-researcher"},
    "purposes": ["DUO:0000006"],
    "categories": ["lab-results", "vital-signs"],
    "data_period": {"start": "1900-01-01", "end": None},
    "expires": "2099-12-31T00:00:00Z",
    "include_sensitive": False,
}


def run_with_server(tillit, prefix, checks, run_tests, errors,
                    describe=repr):
    """Runs run_tests(server, workdir) against a TillitServer in a fresh
    temporary directory and always stops the server. An exception of a
    type in `errors` (or Abort, ServerError, a timeout) fails the checks
    with describe(e) instead of ending the script. Returns the exit status
    (checks.report())."""
    stop_on = (Abort, ServerError, subprocess.TimeoutExpired) + tuple(errors)
    with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
        server = TillitServer(tillit, workdir)
        try:
            run_tests(server, workdir)
        except stop_on as e:
            checks.check(False, "the test could not go on", describe(e))
        finally:
            try:
                server.stop()
            except ServerError as e:
                checks.check(False, "stopping the server", repr(e))
        if not checks.ok():
            print("tillit serve's standard error (last run):\n" +
                  server.stderr_text())
    return checks.report()
