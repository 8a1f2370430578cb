#!/usr/bin/env python3
"""Clang's thread-safety analysis over every library source file.

Usage: check_thread_safety.py BUILD_DIR [--jobs N] [--clang clang++]

Reads BUILD_DIR/compile_commands.json (the g++ build's), and compiles each
library source (not tests, benchmarks or the tests/ folder) with clang++
-fsyntax-only -Wthread-safety -Werror=thread-safety, so a GUARDED_BY member
read without its mutex, or a REQUIRES function called without it, fails the
run. Only the thread-safety diagnostics are errors: g++'s -Werror build
already covers the rest, and clang's other warnings would only repeat it.

Exit status 0 when every file passes, 1 otherwise (clang's messages are
printed), 2 on a usage error. Uses the Python standard library only.
"""
import argparse
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys

SKIP_DIRS = ("tests", "bench")
TEST_SUFFIXES = ("_test.cc",)
DROP = {"-Werror", "-Wall", "-Wextra", "-fno-sanitize-recover=all"}


def library_sources(db, root):
    seen = set()
    for entry in db:
        path = os.path.realpath(entry["file"])
        rel = os.path.relpath(path, root)
        if rel.startswith("..") or not path.endswith(".cc"):
            continue
        if rel.split(os.sep)[0] in SKIP_DIRS or path.endswith(TEST_SUFFIXES):
            continue
        if os.sep + "src" + os.sep not in path or rel in seen:
            continue
        seen.add(rel)
        yield rel, entry


def clang_command(entry, clang):
    args = entry.get("arguments") or shlex.split(entry["command"])
    out = [clang]
    skip_next = False
    for a in args[1:]:
        if skip_next:
            skip_next = False
            continue
        if a in ("-o", "-c"):
            skip_next = a == "-o"
            continue
        if a in DROP or a.startswith("-fsanitize") or a == entry["file"]:
            continue
        out.append(a)
    out += ["-fsyntax-only", "-Wno-unknown-warning-option",
            "-Wthread-safety", "-Werror=thread-safety", entry["file"]]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--clang", default="clang++")
    args = ap.parse_args()
    db_path = os.path.join(args.build_dir, "compile_commands.json")
    if not os.path.exists(db_path):
        print(f"check_thread_safety: no {db_path}; configure first",
              file=sys.stderr)
        return 2
    root = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
    with open(db_path) as f:
        db = json.load(f)
    work = sorted(library_sources(db, root), key=lambda x: x[0])
    if not work:
        print("check_thread_safety: no library sources found", file=sys.stderr)
        return 2

    def run(item):
        rel, entry = item
        p = subprocess.run(clang_command(entry, args.clang),
                           cwd=entry["directory"], capture_output=True,
                           text=True)
        return rel, p.returncode, p.stderr

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for rel, rc, err in pool.map(run, work):
            if rc != 0:
                failed += 1
                print(f"--- {rel}\n{err}", end="")
    print(f"check_thread_safety: {len(work) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
