#!/usr/bin/env python3
"""Checks that every library includes only what docs/ARCHITECTURE.md allows.

Usage: check_layers.py [--root DIR]

docs/ARCHITECTURE.md holds two fenced blocks that this script reads:

  ```layers                     one line per library folder: the libraries
  base:                         whose headers it may include (its own are
  crypto: base                  always allowed)
  ...
  ```

  ```http                       the libraries that may include <httplib.h>
  api
  ...
  ```

A library folder is a top-level folder of DIR with an include/ or src/
folder. Its non-test sources are every file under include/ and every C or
C++ file under src/ except *_test.cc and the test fixtures *_test.h,
*_test_util.h and *_fixture.h. In them, the script finds
`#include "tillit/<lib>/..."` (folder `<lib>` with '_' for '-'), includes
of a header that sits directly in another library's include/ (such as
tillit_bridge.h) and `#include <httplib.h>`.

Exit status 0 when every include is allowed; 1 otherwise, after printing
one `file:line: ...` line per forbidden include, or the table's problem
(malformed, names a folder that does not exist, misses a library folder,
or has a cycle). Uses the Python standard library only.
"""

import argparse
import re
import sys
from pathlib import Path

ARCHITECTURE = Path("docs") / "ARCHITECTURE.md"

SOURCE_SUFFIXES = {".c", ".cc", ".cpp", ".h", ".hh", ".hpp", ".inc"}
# Unit tests and the fixtures they share (headers named after them).
TEST_SUFFIXES = ("_test.cc", "_test.cpp", "_test.c", "_test.h", "_test_util.h",
                 "_fixture.h")

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
TILLIT_PREFIX_RE = re.compile(r"^tillit/([A-Za-z0-9_]+)/")
HTTPLIB = "httplib.h"


class LayeringError(Exception):
    """A problem with the table itself (not with an include)."""


def read_blocks(text, names=("layers", "http")):
    """{name: [lines]} of the fenced blocks in `text` whose info string is
    one of `names`; other fenced blocks are skipped."""
    blocks = {}
    current = None  # info string of the open block, "" for an unnamed one
    for line in text.splitlines():
        stripped = line.strip()
        if current is None:
            if stripped.startswith("```"):
                current = stripped[3:].strip()
                if current in names:
                    if current in blocks:
                        raise LayeringError(f"two ```{current} blocks")
                    blocks[current] = []
        elif stripped == "```":
            current = None
        elif current in names:
            blocks[current].append(line)
    if current is not None:
        raise LayeringError(f"```{current} block is not closed")
    return blocks


def meaningful(lines):
    """Non-empty lines without '#' comments."""
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            yield line


def parse_layers(lines):
    """{library: set of libraries it may include} from the layers block."""
    table = {}
    for line in meaningful(lines):
        name, sep, deps = line.partition(":")
        name = name.strip()
        if not sep or not name or " " in name:
            raise LayeringError(f"layers: malformed line {line!r}")
        if name in table:
            raise LayeringError(f"layers: {name} is listed twice")
        table[name] = set(deps.split())
    for name, deps in table.items():
        for dep in sorted(deps):
            if dep == name:
                raise LayeringError(f"layers: {name} lists itself")
            if dep not in table:
                raise LayeringError(
                    f"layers: {name} may include {dep}, which is not listed")
    cycle = find_cycle(table)
    if cycle:
        raise LayeringError("layers: cycle " + " -> ".join(cycle))
    return table


def find_cycle(table):
    """A dependency cycle of `table` as a list of names, or None."""
    state = {}  # name -> "open" while on the stack, "done" after

    def visit(name, path):
        state[name] = "open"
        for dep in sorted(table[name]):
            if state.get(dep) == "open":  # on the stack, so in `path`
                return path[path.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep, path + [dep])
                if found:
                    return found
        state[name] = "done"
        return None

    for name in sorted(table):
        if name not in state:
            found = visit(name, [name])
            if found:
                return found
    return None


def parse_http(lines, table):
    allowed = set()
    for line in meaningful(lines):
        for name in line.split():
            if name not in table:
                raise LayeringError(f"http: {name} is not in the layers block")
            allowed.add(name)
    return allowed


def library_folders(root):
    """Top-level folders of `root` that hold a library (include/ or src/)."""
    return sorted(
        p.name for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".")
        and ((p / "include").is_dir() or (p / "src").is_dir()))


def sources(root, library):
    """The library's non-test sources, sorted."""
    found = []
    include = root / library / "include"
    if include.is_dir():
        found += [p for p in include.rglob("*") if p.is_file()]
    src = root / library / "src"
    if src.is_dir():
        found += [
            p for p in src.rglob("*")
            if p.is_file() and p.suffix in SOURCE_SUFFIXES
            and not p.name.endswith(TEST_SUFFIXES)
        ]
    return sorted(found)


def top_level_headers(root, libraries):
    """{header file name: library} for headers directly in an include/."""
    owners = {}
    for library in libraries:
        include = root / library / "include"
        if include.is_dir():
            for p in include.iterdir():
                if p.is_file():
                    owners[p.name] = library
    return owners


def check(root):
    """Returns the list of problems found under `root` (empty: all good)."""
    doc = root / ARCHITECTURE
    try:
        text = doc.read_text(encoding="utf-8")
    except OSError as e:
        return [f"{ARCHITECTURE}: cannot read: {e.strerror}"]
    try:
        blocks = read_blocks(text)
        if "layers" not in blocks:
            raise LayeringError("no ```layers block")
        if "http" not in blocks:
            raise LayeringError("no ```http block")
        table = parse_layers(blocks["layers"])
        http = parse_http(blocks["http"], table)
    except LayeringError as e:
        return [f"{ARCHITECTURE}: {e}"]

    problems = []
    folders = library_folders(root)
    for folder in folders:
        if folder not in table:
            problems.append(
                f"{folder}/: library folder not listed in the layers block "
                f"of {ARCHITECTURE}")
    for name in sorted(table):
        if name not in folders:
            problems.append(
                f"{ARCHITECTURE}: layers lists {name}, but there is no "
                f"library folder {name}/")
    if problems:
        return problems

    by_prefix = {name.replace("-", "_"): name for name in table}
    by_header = top_level_headers(root, table)
    http_list = " ".join(sorted(http)) or "none"
    for library in sorted(table):
        allowed = table[library] | {library}
        may = " ".join(sorted(table[library])) or "nothing"
        for path in sources(root, library):
            rel = path.relative_to(root).as_posix()
            try:
                lines = path.read_text(encoding="utf-8",
                                       errors="replace").splitlines()
            except OSError as e:
                problems.append(f"{rel}: cannot read: {e.strerror}")
                continue
            for number, line in enumerate(lines, start=1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                target = m.group(2).strip()
                where = f"{rel}:{number}"
                if target == HTTPLIB:
                    if library not in http:
                        problems.append(
                            f"{where}: forbidden edge {library} -> HTTP "
                            f"({line.strip()}); only {http_list} may use "
                            f"HTTP")
                    continue
                prefix = TILLIT_PREFIX_RE.match(target)
                if prefix:
                    used = by_prefix.get(prefix.group(1))
                    if used is None:
                        problems.append(
                            f"{where}: {library} includes {target}, which "
                            f"belongs to no library in the layers block")
                        continue
                elif m.group(1) == '"' and target in by_header:
                    used = by_header[target]
                else:
                    continue
                if used not in allowed:
                    problems.append(
                        f"{where}: forbidden edge {library} -> {used} "
                        f"({line.strip()}); {library} may include {may}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Checks library includes against docs/ARCHITECTURE.md.")
    parser.add_argument(
        "--root", default=str(Path(__file__).resolve().parent.parent),
        help="the repository's top folder (default: the one holding "
             "this script)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not root.is_dir():
        print(f"check_layers: {root} is not a directory", file=sys.stderr)
        return 1
    problems = check(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_layers: {len(problems)} problem(s); the allowed edges "
              f"are in {ARCHITECTURE}")
        return 1
    print("check_layers: every library includes only what "
          f"{ARCHITECTURE} allows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
