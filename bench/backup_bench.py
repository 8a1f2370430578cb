#!/usr/bin/env python3
"""Throughput of `tillit backup`, full and incremental, and its effect on
the read latency of a running `tillit serve`.

What it measures (for docs/BENCHMARKS.md):

1. Vaults. "generated": `tillit demo --no-serve --json --citizens N`
   (default 2,000 synthetic citizens). "fixtures": `tillit init`, then
   `tillit import` of the Synthea bundles in --fixtures (default
   ../shared/fixtures/synthea beside the repository; skipped with a note
   when it is missing).
2. Backups of each vault, each one `tillit backup --data V --out B --json`
   timed with time.monotonic() around the whole process (start, opening the
   vault, copying, fsync, manifest, exit). MB = 10^6 bytes; MB/s = the
   backup's "bytes" (everything the manifest lists) / those seconds. The
   vault was just written, so it is read from the page cache.
   - full: into a fresh directory, --repeats times;
   - unchanged: into the last full backup with nothing changed (an
     incremental backup that copies only the registry, audit log and
     ledger, and re-hashes the kept files), --repeats times;
   - incremental: before each of --repeats backups into the same directory,
     --changed citizens (default 1% of the vault's, at least 1; a new slice
     of citizens each time) get one new Observation each through
     `tillit import --citizen ID` (one CLI import per citizen, not timed),
     which moves their store's generation on.
   Each row shows the run of median time; all runs' seconds are in --json.
3. Read latency (generated vault only): `tillit serve --rate 0 --quiet` on
   a loopback port; --readers threads each loop GET /v1/me/records with the
   demo citizen's token over one keep-alive http.client connection. After
   1 s of warm-up, a baseline window of --read-seconds, then a window as
   long as a full backup into a fresh directory taken beside the server.
   A request counts in a window when it starts and ends inside it; latency
   is measured in the client (Python, on the same cores as the server).
   Any answer but 200 (or a failed connection) is an error: the tool then
   exits 1.

Output: a table, or with --json one object; both hold the command line,
the machine (CPUs, load average, scratch file system) and `tillit
--version`. Scratch data goes to a tempfile.mkdtemp directory ($TMPDIR),
removed at the end unless --keep.
"""

import argparse
import datetime
import http.client
import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FIXTURES = os.path.normpath(
    os.path.join(REPO, "..", "shared", "fixtures", "synthea"))
MB = 1e6
WARMUP_SECONDS = 1.0
READ_TIMEOUT = 60.0  # seconds, each GET (a failure counts as an error)


class BenchError(Exception):
    pass


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)


class Tillit:
    """Runs the binary; every call bounded by `timeout` seconds."""

    def __init__(self, path, timeout):
        self.path, self.timeout = path, timeout
        self.env = dict(os.environ)
        for name in ("TILLIT_DATA", "TILLIT_KEY_FILE"):  # flags only
            self.env.pop(name, None)

    def run(self, *args):
        cmd = [self.path] + list(args)
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, env=self.env,
                               timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise BenchError("timed out after %g s: %s"
                             % (self.timeout, shlex.join(cmd)))
        if p.returncode != 0:
            raise BenchError("exit %d: %s\n%s" % (p.returncode,
                                                  shlex.join(cmd),
                                                  p.stderr.strip()[-2000:]))
        return p.stdout

    def json(self, *args):
        return json.loads(self.run(*args))

    def backup(self, data, out):
        """(seconds, the --json report) of one backup."""
        start = time.monotonic()
        report = self.json("backup", "--data", data, "--out", out, "--json")
        return time.monotonic() - start, report


def make_generated(tillit, data, citizens):
    log("generating %d citizens (tillit demo)..." % citizens)
    start = time.monotonic()
    demo = tillit.json("demo", "--data", data, "--no-serve", "--json",
                       "--citizens", str(citizens))
    secs = time.monotonic() - start
    log("generated in %.1f s" % secs)
    return secs, demo


def make_fixtures(tillit, data, fixtures):
    log("importing the fixtures in %s..." % fixtures)
    start = time.monotonic()
    tillit.json("init", "--data", data, "--json")
    imported = tillit.json("import", "--data", data, "--json", fixtures)
    secs = time.monotonic() - start
    if imported["rejected"]:
        raise BenchError("fixtures rejected: %s" % imported["rejected"])
    log("imported in %.1f s" % secs)
    return secs


def change_citizens(tillit, data, ids, scratch, tag):
    """One new Observation in each citizen of `ids`."""
    path = os.path.join(scratch, "change.ndjson")
    for i, cid in enumerate(ids):
        with open(path, "w") as f:
            json.dump({"resourceType": "Observation",
                       "id": "backup-bench-%s-%d" % (tag, i),
                       "status": "final", "code": {"text": "backup bench"},
                       "effectiveDateTime": "2026-01-01"}, f)
        out = tillit.json("import", "--data", data, "--citizen", cid,
                          "--json", path)
        if out["citizens"][0]["imported"] != 1:
            raise BenchError("import into %s did not write: %s" % (cid, out))


def summarize(runs):
    """The run of median time (the lower middle for an even count)."""
    secs, report = sorted(runs, key=lambda r: r[0])[(len(runs) - 1) // 2]
    return {"seconds": round(secs, 3),
            "mb_per_s": round(report["bytes"] / MB / secs, 1),
            "runs_seconds": [round(r[0], 3) for r in runs],
            **{k: report[k] for k in ("files", "copied", "skipped", "bytes",
                                      "bytes_copied", "citizens",
                                      "audit_entries")}}


def measure_vault(tillit, name, data, scratch, repeats, changed):
    ids = [c["citizen_id"] for c in
           tillit.json("citizen", "list", "--data", data, "--json")]
    k = max(1, len(ids) // 100) if changed is None else min(changed, len(ids))
    full = []
    for r in range(repeats):
        out = os.path.join(scratch, "%s-full-%d" % (name, r))
        full.append(tillit.backup(data, out))
        log("%s full backup %d/%d: %.2f s" % (name, r + 1, repeats,
                                              full[-1][0]))
        if r + 1 < repeats:
            shutil.rmtree(out)  # the last one is the incremental's base
    unchanged = []
    for r in range(repeats):
        unchanged.append(tillit.backup(data, out))
        log("%s unchanged backup %d/%d: %.2f s" % (name, r + 1, repeats,
                                                   unchanged[-1][0]))
    incremental = []
    for r in range(repeats):
        change_citizens(tillit, data,
                        [ids[(r * k + i) % len(ids)] for i in range(k)],
                        scratch, r)
        incremental.append(tillit.backup(data, out))
        log("%s incremental backup %d/%d (%d changed): %.2f s"
            % (name, r + 1, repeats, k, incremental[-1][0]))
    shutil.rmtree(out)
    base = unchanged[-1][1]["copied"]  # the registry, audit log, ...
    for _, report in incremental:
        if report["copied"] != base + k:
            raise BenchError("%s: an incremental backup after %d changes "
                             "copied %d files, not %d + %d"
                             % (name, k, report["copied"], base, k))
    return {"vault": name, "citizens": len(ids), "changed_citizens": k,
            "full": summarize(full), "unchanged": summarize(unchanged),
            "incremental": summarize(incremental)}


class Server:
    """`tillit serve` on a free loopback port; its stderr goes to `log_path`."""

    def __init__(self, tillit, data, log_path):
        self.tillit, self.log_path = tillit, log_path
        with open(log_path, "wb") as err:
            self.proc = subprocess.Popen(
                [tillit.path, "serve", "--data", data, "--listen",
                 "127.0.0.1:0", "--quiet", "--rate", "0"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                env=tillit.env)
        deadline = time.monotonic() + tillit.timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [],
                                              left)[0]:
                self.fail("did not listen in time")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self.fail("exited before listening")
            buf += chunk
        line = buf.split(b"\n", 1)[0].decode(errors="replace")
        if not line.startswith("listening on "):
            self.fail("printed %r" % line)
        url = urllib.parse.urlsplit(line[len("listening on "):].strip())
        self.host, self.port = url.hostname, url.port

    def fail(self, what):
        if self.proc.poll() is None:
            self.proc.kill()
        rc = self.proc.wait()
        with open(self.log_path, errors="replace") as f:
            tail = f.read()[-2000:].strip()
        raise BenchError("`tillit serve` %s (exit %s)\n%s" % (what, rc, tail))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=self.tillit.timeout)
        except subprocess.TimeoutExpired:
            self.fail("did not stop on SIGTERM")
        if rc != 0:
            self.fail("exited %d on SIGTERM" % rc)


class Readers:
    """Threads looping GET /v1/me/records; samples are (start, end, status),
    status None when the connection failed."""

    def __init__(self, host, port, token, count, timeout):
        self.args = (host, port, token, timeout)
        self.samples = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._loop, daemon=True)
                        for _ in range(count)]
        for t in self.threads:
            t.start()

    def _loop(self):
        host, port, token, timeout = self.args
        headers = {"Authorization": "Bearer " + token}
        conn = None
        while not self.stopping.is_set():
            start = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port,
                                                      timeout=timeout)
                conn.request("GET", "/v1/me/records", headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                status = None
                conn.close()
                conn = None
            self.samples.append((start, time.monotonic(), status))

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()


def percentile(sorted_ms, q):
    """Nearest rank."""
    if not sorted_ms:
        return None
    return round(sorted_ms[max(0, -(-len(sorted_ms) * q // 100) - 1)], 2)


def window(samples, lo, hi):
    inside = [s for s in samples if s[0] >= lo and s[1] <= hi]
    ms = sorted((end - start) * 1000 for start, end, st in inside if st == 200)
    return {"seconds": round(hi - lo, 3), "requests": len(inside),
            "requests_per_s": round(len(inside) / (hi - lo), 1),
            "errors": sum(1 for s in inside if s[2] != 200),
            "p50_ms": percentile(ms, 50), "p90_ms": percentile(ms, 90),
            "p99_ms": percentile(ms, 99),
            "max_ms": round(ms[-1], 2) if ms else None}


def measure_reads(tillit, data, token, scratch, readers, seconds):
    server = Server(tillit, data, os.path.join(scratch, "serve.log"))
    log("server on port %d; %d readers, %g s baseline"
        % (server.port, readers, seconds))
    reads = None
    try:
        reads = Readers(server.host, server.port, token, readers,
                        min(tillit.timeout, READ_TIMEOUT))
        time.sleep(WARMUP_SECONDS)
        base_lo = time.monotonic()
        time.sleep(seconds)
        base_hi = time.monotonic()
        log("backing up beside the server...")
        during_lo = time.monotonic()
        secs, report = tillit.backup(data, os.path.join(scratch, "during"))
        during_hi = time.monotonic()
    finally:
        if reads:
            reads.stop()
        server.stop()
    baseline = window(reads.samples, base_lo, base_hi)
    during = window(reads.samples, during_lo, during_hi)

    def ratio(key):
        if baseline[key] and during[key] is not None:
            return round(during[key] / baseline[key], 2)
        return None
    return {"request": "GET /v1/me/records", "readers": readers,
            "baseline": baseline, "during_backup": during,
            "ratio_p50": ratio("p50_ms"), "ratio_p99": ratio("p99_ms"),
            "errors": sum(1 for s in reads.samples if s[2] != 200),
            "backup": {"seconds": round(secs, 3), "bytes": report["bytes"],
                       "mb_per_s": round(report["bytes"] / MB / secs, 1)}}


def filesystem_of(path):
    """The type of the file system holding `path`, from /proc/mounts."""
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                mount, fstype = line.split()[1:3]
                if (path + "/").startswith(mount.rstrip("/") + "/") \
                        and len(mount) >= len(best):
                    best, kind = mount, fstype
    except OSError:
        pass
    return kind


def print_table(r):
    print("tillit backup benchmark, %s" % r["date"])
    print("command: %s" % r["command"])
    m = r["machine"]
    print("machine: %d CPUs, load average %s at start; scratch on %s; %s"
          % (m["cpus"], m["load_average"], m["scratch_fs"], m["tillit"]))
    print("MB = 10^6 bytes; MB/s = backup bytes / wall seconds of the "
          "`tillit backup` process; median run of %d" % r["repeats"])
    for note in r["notes"]:
        print("note: " + note)
    for v in r["vaults"]:
        print("vault %s: %d citizens, made in %.1f s"
              % (v["vault"], v["citizens"], v["setup_seconds"]))
    print()
    fmt = "%-10s %-22s %8s %8s %8s %7s %7s %10s"
    print(fmt % ("vault", "backup", "seconds", "MB", "MB/s", "copied",
                 "kept", "copied MB"))
    for v in r["vaults"]:
        for kind, label in (("full", "full"), ("unchanged", "unchanged"),
                            ("incremental", "incremental, %d changed"
                             % v["changed_citizens"])):
            b = v[kind]
            print(fmt % (v["vault"], label, "%.3f" % b["seconds"],
                         "%.1f" % (b["bytes"] / MB), "%.1f" % b["mb_per_s"],
                         b["copied"], b["skipped"],
                         "%.1f" % (b["bytes_copied"] / MB)))
    rl = r.get("read_latency")
    if rl:
        print()
        print("read latency, %s, %d reader threads (keep-alive):"
              % (rl["request"], rl["readers"]))
        fmt = "%-14s %8s %9s %8s %7s %8s %8s %8s %8s"
        print(fmt % ("window", "seconds", "requests", "req/s", "errors",
                     "p50 ms", "p90 ms", "p99 ms", "max ms"))
        for name, key in (("baseline", "baseline"),
                          ("during backup", "during_backup")):
            w = rl[key]
            ms = ["-" if w[k] is None else "%.2f" % w[k]
                  for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")]
            print(fmt % (name, "%.3f" % w["seconds"], w["requests"],
                         "%.1f" % w["requests_per_s"], w["errors"], *ms))
        b = rl["backup"]
        print("during/baseline: p50 %sx, p99 %sx; the backup beside the "
              "server: %.3f s, %.1f MB/s" % (rl["ratio_p50"], rl["ratio_p99"],
                                             b["seconds"], b["mb_per_s"]))
        if rl["errors"]:
            print("ERRORS: %d reads were not 200" % rl["errors"])


def positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError("must be positive")
        return value
    return parse


def main():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="See the module docstring (the top of this file) for how "
               "each figure is measured.")
    p.add_argument("--tillit", metavar="PATH", default=os.path.join(REPO, "build", "cli",
                                                    "tillit"),
                   help="the tillit binary (default: build/cli/tillit)")
    p.add_argument("--citizens", type=positive(int), default=2000, metavar="N",
                   help="generated citizens (default 2000, at most 5000)")
    p.add_argument("--fixtures", metavar="DIR",
                   help="Synthea bundles to import (default %s, skipped "
                        "when missing)" % DEFAULT_FIXTURES)
    p.add_argument("--repeats", type=positive(int), default=3, metavar="N",
                   help="backups of each kind per vault (default 3)")
    p.add_argument("--changed", type=positive(int), metavar="K",
                   help="citizens changed before each incremental backup "
                        "(default 1%% of the vault's, at least 1)")
    p.add_argument("--readers", type=positive(int), default=4, metavar="N",
                   help="reader threads (default 4)")
    p.add_argument("--read-seconds", type=positive(float), default=10.0,
                   metavar="S",
                   help="baseline read window in seconds (default 10)")
    p.add_argument("--timeout", type=positive(float), default=1800.0,
                   metavar="S",
                   help="limit in seconds on each tillit command and on the "
                        "server's start and stop (default 1800)")
    p.add_argument("--keep", action="store_true",
                   help="keep the scratch directory")
    p.add_argument("--json", action="store_true", help="print one object")
    args = p.parse_args()

    notes = []
    fixtures = args.fixtures
    if fixtures is None:
        if os.path.isdir(DEFAULT_FIXTURES):
            fixtures = DEFAULT_FIXTURES
        else:
            notes.append("no fixtures at %s: skipped" % DEFAULT_FIXTURES)
    elif not os.path.isdir(fixtures):
        p.error("--fixtures %s is not a directory" % fixtures)
    tillit = Tillit(os.path.abspath(args.tillit), args.timeout)
    scratch = tempfile.mkdtemp(prefix="tillit-backup-bench-")
    result = {
        "command": shlex.join(["python3"] + sys.argv),
        "date": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpus": os.cpu_count(),
                    "load_average": "%.2f %.2f %.2f" % os.getloadavg(),
                    "scratch_fs": filesystem_of(scratch),
                    "tillit": ""},
        "repeats": args.repeats, "notes": notes, "vaults": []}
    try:
        result["machine"]["tillit"] = tillit.run("--version").strip()
        data = os.path.join(scratch, "generated")
        secs, demo = make_generated(tillit, data, args.citizens)
        v = measure_vault(tillit, "generated", data, scratch, args.repeats,
                          args.changed)
        result["vaults"].append({"setup_seconds": round(secs, 1), **v})
        if fixtures:
            fdata = os.path.join(scratch, "fixtures")
            secs = make_fixtures(tillit, fdata, fixtures)
            v = measure_vault(tillit, "fixtures", fdata, scratch,
                              args.repeats, args.changed)
            result["vaults"].append({"setup_seconds": round(secs, 1), **v})
        result["read_latency"] = measure_reads(
            tillit, data, demo["tokens"]["citizen"], scratch, args.readers,
            args.read_seconds)
    except BenchError as e:
        print("backup_bench: %s" % e, file=sys.stderr)
        return 1
    finally:
        if args.keep:
            log("scratch kept in %s" % scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_table(result)
    return 1 if result["read_latency"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
