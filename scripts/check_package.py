#!/usr/bin/env python3
"""The fiddly parts of scripts/check_package.sh.

  check_package.py files --deb DEB --expected FILE --actual-out FILE
      The files and links in DEB (`dpkg-deb -c`), as `MODE PATH` lines
      (links as `MODE PATH -> TARGET`), against the committed list FILE,
      in which @MULTIARCH@ stands for the multiarch directory
      (x86_64-linux-gnu). Writes the actual list, in FILE's format, to
      --actual-out. Exit 1 with the differences when they differ.

  check_package.py control --deb DEB
      The control fields that the package promises: its name, dependencies
      found by dpkg-shlibdeps plus adduser, a maintainer, and the conffile.

  check_package.py smoke --root DIR --version V
      Runs the unpacked package's DIR/usr/bin/tillit: `--version`, `init`
      of a vault sealed under a passphrase (as the service runs it), then
      twice `serve`: with a configuration file written here, and with the
      package's own /etc/tillit/tillit.conf with --data and --listen
      flags over it. Each serve must print its URL, answer /healthz with
      200 and, on SIGTERM, print `stopped` and exit 0.

Exit status 1 with the first failure on standard error.
"""

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request

START_TIMEOUT = 120  # seconds; Argon2id takes about one of them
STOP_TIMEOUT = 60


class Failure(Exception):
    pass


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)


def multiarch():
    r = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"])
    if r.returncode != 0 or not r.stdout.strip():
        raise Failure("dpkg-architecture -qDEB_HOST_MULTIARCH failed "
                      "(dpkg-dev is needed)")
    return r.stdout.strip()


# ----------------------------------------------------------------- files
def deb_files(deb):
    r = run(["dpkg-deb", "-c", deb])
    if r.returncode != 0:
        raise Failure(f"dpkg-deb -c {deb}: {r.stderr.strip()}")
    lines = []
    for line in r.stdout.splitlines():
        # MODE OWNER/GROUP SIZE DATE TIME ./PATH [-> TARGET]
        parts = line.split(None, 5)
        if len(parts) != 6:
            raise Failure(f"dpkg-deb -c: unexpected line {line!r}")
        mode, path = parts[0], parts[5]
        if mode.startswith("d"):
            continue
        if parts[1] != "root/root":
            raise Failure(f"{path} is owned by {parts[1]}, not root/root")
        path = path[1:] if path.startswith("./") else path
        lines.append(f"{mode} {path}")
    return sorted(lines)


def expected_files(path, arch_dir):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line.replace("@MULTIARCH@", arch_dir))
    return sorted(out)


def cmd_files(args):
    arch_dir = multiarch()
    actual = deb_files(args.deb)
    expected = expected_files(args.expected, arch_dir)
    with open(args.actual_out, "w", encoding="utf-8") as f:
        f.write("# MODE PATH [-> TARGET] of every file and link in the "
                "package.\n")
        for line in actual:
            f.write(line.replace(f"/{arch_dir}/", "/@MULTIARCH@/") + "\n")
    missing = [x for x in expected if x not in actual]
    extra = [x for x in actual if x not in expected]
    if missing or extra:
        msg = ["the package's files differ from packaging/expected-files.txt"]
        msg += [f"  missing: {x}" for x in missing]
        msg += [f"  unexpected: {x}" for x in extra]
        msg.append(f"If the install rules changed on purpose: cp "
                   f"{args.actual_out} packaging/expected-files.txt")
        raise Failure("\n".join(msg))
    print(f"{len(actual)} files and links, as expected")


# --------------------------------------------------------------- control
def cmd_control(args):
    fields = {}
    for name in ("Package", "Depends", "Maintainer"):
        r = run(["dpkg-deb", "-f", args.deb, name])
        fields[name] = r.stdout.strip()
    if fields["Package"] != "tillit":
        raise Failure(f"Package is {fields['Package']!r}, not tillit")
    deps = [d.strip().split()[0] for d in fields["Depends"].split(",")
            if d.strip()]
    for need in ("adduser", "libc6", "libsodium23"):
        if need not in deps:
            raise Failure(f"Depends lacks {need} (dpkg-shlibdeps or "
                          f"CPACK_DEBIAN_PACKAGE_DEPENDS): "
                          f"{fields['Depends']!r}")
    if not re.fullmatch(r".+ <[^@\s]+@[^@\s]+\.[^@\s]+>",
                        fields["Maintainer"]):
        raise Failure(f"Maintainer {fields['Maintainer']!r} is not "
                      "`NAME <EMAIL>`")
    with tempfile.TemporaryDirectory() as tmp:
        ctrl = os.path.join(tmp, "control")
        os.mkdir(ctrl)
        r = subprocess.run(["dpkg-deb", "-e", args.deb, ctrl],
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise Failure(f"dpkg-deb -e: {r.stderr.strip()}")
        with open(os.path.join(ctrl, "conffiles"), encoding="utf-8") as f:
            conffiles = f.read().split()
        if conffiles != ["/etc/tillit/tillit.conf"]:
            raise Failure(f"conffiles are {conffiles}, not "
                          "/etc/tillit/tillit.conf")
        for script in ("postinst", "prerm", "postrm"):
            mode = os.stat(os.path.join(ctrl, script)).st_mode & 0o777
            if mode != 0o755:
                raise Failure(f"{script} has mode {mode:o}, not 755")
    print(f"Depends: {fields['Depends']}")


# ----------------------------------------------------------------- smoke
def tail(path, n=20):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def serve(tillit, argv, passphrase_file, log_path, label):
    """Starts `tillit serve ARGV`, checks /healthz, stops it with SIGTERM."""
    with open(passphrase_file, "rb") as stdin, \
            open(log_path, "wb") as log:
        proc = subprocess.Popen([tillit, "serve", *argv,
                                 "--passphrase-stdin"],
                                stdin=stdin, stdout=subprocess.PIPE,
                                stderr=log)
    lines = []
    url = []
    seen = threading.Event()

    def read_stdout():
        for raw in proc.stdout:
            line = raw.decode("utf-8", errors="replace")
            lines.append(line)
            m = re.search(r"listening on (https?://[^\s\"]+)", line)
            if m and not url:
                url.append(m.group(1).rstrip("/"))
                seen.set()
        seen.set()

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    try:
        seen.wait(START_TIMEOUT)
        if not url:
            try:
                state = f"exit status {proc.wait(5)}"
            except subprocess.TimeoutExpired:
                state = f"still running after {START_TIMEOUT} s"
            raise Failure(f"{label}: printed no `listening on URL` line "
                          f"({state}); stderr:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(url[0] + "/healthz",
                                        timeout=30) as resp:
                status = resp.status
        except OSError as e:
            raise Failure(f"{label}: GET {url[0]}/healthz: {e}") from None
        if status != 200:
            raise Failure(f"{label}: GET /healthz answered {status}")
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Failure(f"{label}: still running {STOP_TIMEOUT} s after "
                          "SIGTERM") from None
        reader.join(5)
        if code != 0:
            raise Failure(f"{label}: exit status {code} after SIGTERM; "
                          f"stderr:\n{tail(log_path)}")
        if not any(line.strip() == "stopped" for line in lines):
            raise Failure(f"{label}: no `stopped` line after SIGTERM")
        print(f"{label}: {url[0]}/healthz 200, stopped on SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def cmd_smoke(args):
    root = os.path.abspath(args.root)
    tillit = os.path.join(root, "usr/bin/tillit")
    package_conf = os.path.join(root, "etc/tillit/tillit.conf")
    r = run([tillit, "--version"])
    if r.returncode != 0 or args.version not in r.stdout:
        raise Failure(f"tillit --version: exit {r.returncode}, printed "
                      f"{r.stdout.strip()!r}, wanted {args.version}")
    print(f"tillit --version: {r.stdout.strip()}")
    with tempfile.TemporaryDirectory(prefix="tillit-smoke-") as tmp:
        data = os.path.join(tmp, "data")
        passphrase = os.path.join(tmp, "passphrase")
        fd = os.open(passphrase, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
        with open(passphrase, "rb") as stdin:
            r = subprocess.run([tillit, "init", "--data", data,
                                "--passphrase-stdin", "--json"],
                               stdin=stdin, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise Failure(f"tillit init: exit {r.returncode}: "
                          f"{r.stderr.strip()}")
        for name in ("vault.json", "root.sealed"):
            if not os.path.isfile(os.path.join(data, name)):
                raise Failure(f"tillit init made no {name}")
        print("tillit init: a vault sealed under a passphrase")

        conf = os.path.join(tmp, "tillit.conf")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# written by scripts/check_package.py\n"
                    "listen = 127.0.0.1:0\n"
                    f"data = {data}\n")
        serve(tillit, ["--config", conf], passphrase,
              os.path.join(tmp, "serve1.log"), "serve --config (test file)")
        serve(tillit, ["--config", package_conf, "--data", data,
                       "--listen", "127.0.0.1:0"], passphrase,
              os.path.join(tmp, "serve2.log"),
              "serve --config (the package's file, flags over it)")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("files")
    f.add_argument("--deb", required=True)
    f.add_argument("--expected", required=True)
    f.add_argument("--actual-out", required=True)
    c = sub.add_parser("control")
    c.add_argument("--deb", required=True)
    s = sub.add_parser("smoke")
    s.add_argument("--root", required=True)
    s.add_argument("--version", required=True)
    args = p.parse_args()
    try:
        {"files": cmd_files, "control": cmd_control,
         "smoke": cmd_smoke}[args.cmd](args)
    except (Failure, OSError) as e:
        print(f"check_package.py {args.cmd}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
