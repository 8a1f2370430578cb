#!/usr/bin/env python3
"""Failover (issue 22): the primary PostgreSQL dies under write load, and
no write a client saw acknowledged is lost.

The run, in a scratch directory, all on loopback and free ports:

  - etcd, and Patroni managing two PostgreSQL 15 servers (a primary and a
    synchronous standby: synchronous_mode), started as the `postgres` user
    when the test runs as root;
  - `tillit init --store URL` with a multi-host URL naming both servers and
    target_session_attrs=read-write, and two `tillit serve` nodes on it,
    each with its own directory and a copy of the root key;
  - four writers (two per node, each for its own citizen) add heart-rate
    records without pause; every 201 is remembered, and a reader keeps the
    last audit checkpoint a client got;
  - after WARMUP_SECONDS of writes, kill -9 of the primary's Patroni and
    PostgreSQL (a lost machine). Patroni promotes the standby; the nodes
    answer 503 meanwhile and reconnect by themselves;
  - once both nodes acknowledge writes again, a little more load, then
    stop.

Then: the standby is the primary; every acknowledged record reads back
through both nodes (0 lost); `tillit audit verify --url` of each node
passes against the last checkpoint a client saw before the kill (the log
after the failover is consistent with it); both nodes exit 0 on SIGTERM.

Usage: failover_test.py --tillit PATH [--timeout SECONDS] [--keep]

Prints a summary. Exit status 0 only when every check passed; 1
otherwise, also when etcd, Patroni or PostgreSQL 15 is not installed
(./dev installs them). Secrets are never printed. Python 3 standard library only
(Patroni itself runs on Debian's Python).
"""

import argparse
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
WARMUP_SECONDS = 3.0  # of writes before the kill
AFTER_SECONDS = 2.0  # of writes once both nodes are back
WRITERS_PER_NODE = 2


class Failed(Exception):
    """A step the rest of the run depends on failed."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout, every=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise Failed("waited %d s for %s" % (timeout, what))


def http_call(port, method, path, token=None, body=None, timeout=10):
    """(status, body bytes); status 0 when the connection failed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        conn.close()


def heart_rate(writer, k):
    minutes = writer * 1000000 + k
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{
            "system":
                "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org",
                             "code": "8867-4"}]},
        "effectiveDateTime": time.strftime(
            "%Y-%m-%dT%H:%M:00Z", time.gmtime(1704067200 + 60 * minutes)),
        "valueQuantity": {"value": 50 + k % 50, "unit": "/min"},
    }


class Run:
    def __init__(self, tillit, timeout, workdir):
        self.tillit = tillit
        self.timeout = timeout
        self.dir = workdir
        self.procs = []  # (name, Popen)
        self.as_postgres = os.geteuid() == 0
        self.etcd_port = free_port()
        self.pg = {}  # member name -> {"pg": port, "rest": port, "data": dir}

    # ------------------------------------------------------------ processes

    def spawn(self, name, argv, postgres_user=False, env=None):
        out = open(os.path.join(self.dir, name + ".log"), "wb")
        preexec = None
        if postgres_user and self.as_postgres:
            pw = pwd.getpwnam("postgres")

            def preexec():
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, preexec_fn=preexec,
                             start_new_session=True, env=env)
        out.close()
        self.procs.append((name, p))
        return p

    def log_tail(self, name, limit=1500):
        try:
            with open(os.path.join(self.dir, name + ".log"), "rb") as f:
                return f.read()[-limit:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def own(self, path):
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def stop_all(self):
        for _, p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
        for _, p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for member in self.pg.values():
            kill_postmaster(member["data"])

    def tillit_run(self, args):
        r = subprocess.run([self.tillit] + args, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True,
                           timeout=self.timeout, env=tillit_env())
        return r.returncode, r.stdout, r.stderr

    # ------------------------------------------------------- etcd, Patroni

    def start_etcd(self):
        peer = free_port()
        data = os.path.join(self.dir, "etcd")
        self.spawn("etcd", [
            "etcd", "--name", "e1", "--data-dir", data,
            "--listen-client-urls", "http://127.0.0.1:%d" % self.etcd_port,
            "--advertise-client-urls", "http://127.0.0.1:%d" % self.etcd_port,
            "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
            "--initial-cluster", "e1=http://127.0.0.1:%d" % peer,
            "--log-level", "warn"])
        wait_for("etcd", lambda: http_call(self.etcd_port, "GET",
                                           "/health")[0] == 200,
                 self.timeout)

    def start_member(self, name):
        # The member's own directory (the postgres user's): its data
        # directory, sockets and the password file Patroni writes.
        home = os.path.join(self.dir, name)
        member = {"pg": free_port(), "rest": free_port(),
                  "data": os.path.join(home, "data")}
        self.pg[name] = member
        sockets = os.path.join(home, "sockets")
        for d in (home, sockets):
            os.mkdir(d, 0o700)
            self.own(d)
        config = os.path.join(self.dir, name + ".yml")
        with open(config, "w") as f:
            f.write(patroni_config(name, member, self.etcd_port, sockets,
                                   os.path.join(home, "pgpass")))
        os.chmod(config, 0o644)
        env = dict(os.environ)
        env["PATH"] = "/usr/bin:/bin"  # Debian's Python for Patroni
        self.spawn("patroni-" + name, ["/usr/bin/patroni", config],
                   postgres_user=True, env=env)
        return member

    def role(self, name):
        """"primary", "replica" (a synchronous standby: "sync"), or None.
        Fails when the member's Patroni has exited."""
        for n, p in self.procs:
            if n == "patroni-" + name and p.poll() is not None:
                raise Failed("Patroni of %s exited: %s" %
                             (name, self.log_tail(n)))
        port = self.pg[name]["rest"]
        if http_call(port, "GET", "/primary", timeout=2)[0] == 200:
            return "primary"
        if http_call(port, "GET", "/sync", timeout=2)[0] == 200:
            return "sync"
        if http_call(port, "GET", "/replica", timeout=2)[0] == 200:
            return "replica"
        return None

    def psql(self, name, sql):
        r = subprocess.run(
            [os.path.join(PG_BIN, "psql"), "-h", "127.0.0.1", "-p",
             str(self.pg[name]["pg"]), "-U", "postgres", "-d", "postgres",
             "-v", "ON_ERROR_STOP=1", "-Atc", sql],
            capture_output=True, text=True, timeout=self.timeout)
        if r.returncode != 0:
            raise Failed("psql on %s: %s" % (name, r.stderr.strip()[-300:]))
        return r.stdout.strip()

    def kill_member(self, name):
        """kill -9 of a member's Patroni and PostgreSQL: a lost machine."""
        for n, p in self.procs:
            if n == "patroni-" + name and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        kill_postmaster(self.pg[name]["data"])


def kill_postmaster(data_dir):
    """SIGKILL to the postmaster of `data_dir` and to its children."""
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as f:
            pid = int(f.readline())
    except (OSError, ValueError):
        return
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    for victim in [pid] + children:
        try:
            os.kill(victim, signal.SIGKILL)
        except OSError:
            pass


def patroni_config(name, member, etcd_port, sockets, pgpass):
    return """scope: tillit-failover
name: {name}
restapi:
  listen: 127.0.0.1:{rest}
  connect_address: 127.0.0.1:{rest}
etcd3:
  hosts: 127.0.0.1:{etcd}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 3
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: false
      parameters:
        max_connections: 50
        wal_level: replica
        max_wal_senders: 5
        max_replication_slots: 5
        hot_standby: 'on'
  initdb:
    - encoding: UTF8
    - auth: trust
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:{pg}
  connect_address: 127.0.0.1:{pg}
  data_dir: {data}
  bin_dir: {bin}
  pgpass: {pgpass}
  authentication:
    superuser:
      username: postgres
    replication:
      username: postgres
  parameters:
    unix_socket_directories: '{sockets}'
""".format(name=name, rest=member["rest"], etcd=etcd_port, pg=member["pg"],
           data=member["data"], bin=PG_BIN, pgpass=pgpass, sockets=sockets)


def tillit_env():
    env = dict(os.environ)
    for k in ("TILLIT_DATA", "TILLIT_KEY_FILE", "TILLIT_STORE"):
        env.pop(k, None)
    return env


class Node:
    """`tillit serve --store URL --data DIR` on a free loopback port."""

    def __init__(self, run, name, store, data):
        self.name = name
        self.proc = run.spawn(name, [
            run.tillit, "serve", "--store", store, "--data", data,
            "--listen", "127.0.0.1:0", "--quiet", "--rate", "0"],
            env=tillit_env())
        self.log = os.path.join(run.dir, name + ".log")
        self.port = None

        def listening():
            try:
                with open(self.log) as f:
                    for line in f:
                        if line.startswith("listening on http://127.0.0.1:"):
                            self.port = int(line.strip().rsplit(":", 1)[1])
                            return True
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise Failed("%s exited: %s" % (name, run.log_tail(name)))
            return False
        wait_for(name + " to listen", listening, run.timeout)

    def stop(self, timeout):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


class Writer(threading.Thread):
    def __init__(self, index, node, token, stop):
        super().__init__(daemon=True)
        self.index, self.node, self.token, self.stop = index, node, token, stop
        self.acked = []  # (record id, monotonic time of the 201)
        self.refused = {}  # status: how many

    def run(self):
        k = 0
        while not self.stop.is_set():
            status, body = http_call(self.node.port, "POST", "/v1/me/records",
                                     self.token, heart_rate(self.index, k))
            k += 1
            if status == 201:
                self.acked.append((json.loads(body)["id"], time.monotonic()))
            else:
                self.refused[status] = self.refused.get(status, 0) + 1
                time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tillit", required=True)
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    for program in ("etcd", "/usr/bin/patroni", os.path.join(PG_BIN, "postgres")):
        if shutil.which(program) is None:
            print("FAILED: %s is not installed (./dev installs it)" % program)
            return 1

    workdir = tempfile.mkdtemp(prefix="tillit-failover-")
    os.chmod(workdir, 0o755)  # the postgres user reaches its directories
    run = Run(os.path.abspath(args.tillit), args.timeout, workdir)
    ok = False
    try:
        ok = scenario(run)
    except Failed as e:
        print("FAILED: %s" % e)
    finally:
        run.stop_all()
        if ok or not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print("kept %s" % workdir)
    return 0 if ok else 1


def scenario(run):
    t0 = time.monotonic()
    run.start_etcd()
    run.start_member("pg1")
    wait_for("pg1 to lead", lambda: run.role("pg1") == "primary",
             run.timeout)
    run.start_member("pg2")
    wait_for("pg2 to be the synchronous standby",
             lambda: run.role("pg2") == "sync", run.timeout)
    run.psql("pg1", "CREATE DATABASE vault")
    started = time.monotonic() - t0

    ports = [run.pg["pg1"]["pg"], run.pg["pg2"]["pg"]]
    store = ("postgresql://postgres@127.0.0.1:%d,127.0.0.1:%d/vault"
             "?target_session_attrs=read-write&connect_timeout=3" % tuple(ports))
    dirs = [os.path.join(run.dir, "node%d" % i) for i in (1, 2)]
    code, out, err = run.tillit_run(["init", "--store", store, "--data",
                                     dirs[0], "--json"])
    if code != 0:
        raise Failed("tillit init --store: " + err.strip()[-300:])
    admin = json.loads(out)["admin_token"]
    os.mkdir(dirs[1], 0o700)
    shutil.copy(os.path.join(dirs[0], "root.key"), dirs[1])
    os.chmod(os.path.join(dirs[1], "root.key"), 0o600)
    nodes = [Node(run, "node%d" % (i + 1), store, d)
             for i, d in enumerate(dirs)]

    def post(node, path, body, token=admin, want=201):
        status, raw = http_call(node.port, "POST", path, token, body)
        if status != want:
            raise Failed("POST %s through %s: %d %s" %
                         (path, node.name, status, raw[:200]))
        return json.loads(raw)

    auditor = post(nodes[1], "/v1/admin/auditors", {"name": "Failover"})
    writers, stop = [], threading.Event()
    for i in range(WRITERS_PER_NODE * len(nodes)):
        node = nodes[i % len(nodes)]
        made = post(node, "/v1/admin/citizens", {})
        enrolled = post(nodes[(i + 1) % len(nodes)], "/v1/enroll",
                        {"enrollment_code": made["enrollment_code"]},
                        token=None, want=200)
        writers.append(Writer(i, node, enrolled["token"], stop))
    citizen_token = writers[0].token

    checkpoint = {"note": None}

    def read_checkpoints():
        while not stop.is_set():
            for node in nodes:
                status, raw = http_call(node.port, "GET",
                                        "/v1/audit/checkpoint",
                                        citizen_token, timeout=3)
                if status == 200 and not killed.is_set():
                    checkpoint["note"] = raw
            time.sleep(0.1)
    killed = threading.Event()
    reader = threading.Thread(target=read_checkpoints, daemon=True)
    for w in writers:
        w.start()
    reader.start()
    time.sleep(WARMUP_SECONDS)

    killed.set()
    kill_time = time.monotonic()
    acked_before = sum(len(w.acked) for w in writers)
    run.kill_member("pg1")
    wait_for("Patroni to promote pg2", lambda: run.role("pg2") == "primary",
             run.timeout * 2)
    promoted_at = time.monotonic()
    promoted = promoted_at - kill_time

    # Patroni reports the new leader before its server has finished
    # recovery: the nodes are back once each writer's write is
    # acknowledged after that.
    def both_back():
        return all(any(t > promoted_at for _, t in w.acked) for w in writers)
    wait_for("both nodes to acknowledge writes again", both_back,
             run.timeout * 2)
    back = time.monotonic() - kill_time
    time.sleep(AFTER_SECONDS)
    stop.set()
    for w in writers:
        w.join(timeout=run.timeout)
    reader.join(timeout=run.timeout)

    problems = []
    if acked_before == 0:
        problems.append("no write was acknowledged before the kill")
    acked = sum(len(w.acked) for w in writers)
    refused = {}
    for w in writers:
        for status, n in w.refused.items():
            refused[status] = refused.get(status, 0) + n
    failures = sum(refused.values())
    # While the database is away a write is answered 503 (and nothing of it
    # stored), never a 500 or a dropped connection.
    if set(refused) - {503}:
        problems.append("writes refused with other statuses than 503: %s" %
                        sorted(refused.items()))
    lost = 0
    for w in writers:
        for record_id, _ in w.acked:
            for node in nodes:
                status, _ = http_call(node.port, "GET",
                                      "/v1/me/records/Observation/" +
                                      record_id, w.token)
                if status != 200:
                    lost += 1
                    if lost <= 5:
                        problems.append("record acknowledged through %s reads "
                                        "%d through %s" %
                                        (w.node.name, status, node.name))
    if checkpoint["note"] is None:
        problems.append("no client got a checkpoint before the kill")
    else:
        saved = os.path.join(run.dir, "checkpoint.txt")
        with open(saved, "wb") as f:
            f.write(checkpoint["note"])
        for node in nodes:
            code, out, err = run.tillit_run([
                "audit", "verify", "--url", "http://127.0.0.1:%d" % node.port,
                "--token", auditor["token"], "--checkpoint", saved, "--json"])
            report = json.loads(out) if out.strip().startswith("{") else {}
            if code != 0 or not report.get("ok"):
                problems.append("audit verify through %s: %s" %
                                (node.name, (report.get("problem") or
                                             err.strip())[-300:]))
    for node in nodes:
        status = node.stop(run.timeout)
        if status != 0:
            problems.append("%s exited %s on SIGTERM: %s" %
                            (node.name, status, run.log_tail(node.name, 500)))

    print("cluster up in %.1f s; %d writes acknowledged before the kill, "
          "%d in all (%d refused during the failover); pg2 promoted %.1f s "
          "after the kill, both nodes writing again after %.1f s; "
          "%d acknowledged records missing" %
          (started, acked_before, acked, failures, promoted, back, lost))
    for p in problems:
        print("FAILED: " + p)
    return not problems


if __name__ == "__main__":
    sys.exit(main())
