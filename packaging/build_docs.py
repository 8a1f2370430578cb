#!/usr/bin/env python3
"""Build-time documents of the package, made reproducibly.

  build_docs.py man --tillit BIN --help2man H --version V --changelog F
                    --out tillit.1.gz
      The man page tillit(1): help2man over `tillit --help`, with one
      subsection per verb holding `tillit help VERB` (the text of
      `tillit VERB --help`). Dated by the newest entry of the Debian
      changelog F, so the same sources give the same page.

  build_docs.py gzip IN OUT
      gzip -9n: best compression, no file name, no time stamp (what
      Debian policy asks of changelogs and man pages).

Exit status 1, with the reason on standard error, when a step fails.
"""

import argparse
import email.utils
import gzip
import os
import re
import subprocess
import sys
import tempfile


def gzip_file(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                           compresslevel=9, mtime=0) as out:
            out.write(data)


def changelog_epoch(path):
    """Seconds since the epoch of the newest entry's trailer line."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^ -- .+?  (.+)$", line.rstrip("\n"))
            if m:
                return int(email.utils.parsedate_to_datetime(
                    m.group(1)).timestamp())
    raise ValueError(f"{path}: no ' -- NAME <EMAIL>  DATE' trailer line")


def run(argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ, LC_ALL="C.UTF-8"))
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}: "
                           f"{r.stderr.decode(errors='replace').strip()}")
    return r.stdout.decode("utf-8")


def verbs(main_help):
    """The verbs listed under `Verbs:` in `tillit --help`, in order."""
    names, inside = [], False
    for line in main_help.splitlines():
        if line.strip() == "Verbs:":
            inside = True
            continue
        if inside:
            if not line.startswith("  "):
                break
            name = line.split()[0]
            if name not in names:
                names.append(name)
    if not names:
        raise ValueError("`tillit --help` lists no verbs under `Verbs:`")
    return names


def roff_literal(text):
    """`text` as roff lines shown as they are (inside .nf/.fi)."""
    out = []
    for line in text.rstrip("\n").splitlines():
        line = line.replace("\\", "\\e").replace("-", "\\-")
        line = line.replace("\u2014", "\\(em")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def make_man(args):
    main_help = run([args.tillit, "--help"])
    sections = ["[VERBS]",
                "Each verb's own help, as `tillit VERB \\-\\-help` "
                "prints it."]
    for verb in verbs(main_help):
        text = run([args.tillit, "help", verb])
        sections += [f'.SS "tillit {verb}"', ".nf", roff_literal(text), ".fi"]
    sections += ["[SEE ALSO]",
                 "/usr/share/doc/tillit/README.md, "
                 "/usr/share/doc/tillit/docs/OPERATIONS.md and the other "
                 "documents in /usr/share/doc/tillit."]
    epoch = changelog_epoch(args.changelog)
    with tempfile.TemporaryDirectory() as tmp:
        include = os.path.join(tmp, "tillit.h2m")
        page = os.path.join(tmp, "tillit.1")
        with open(include, "w", encoding="utf-8") as f:
            f.write("\n".join(sections) + "\n")
        r = subprocess.run(
            [args.help2man, "--no-info", "--section=1",
             "--name=a citizen-controlled health data vault",
             f"--version-string={args.version}",
             f"--source=tillit {args.version}",
             "--manual=tillit", "--locale=C.UTF-8",
             f"--include={include}",
             f"--output={page}", args.tillit],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(os.environ, LC_ALL="C.UTF-8",
                     SOURCE_DATE_EPOCH=str(epoch)))
        if r.returncode != 0:
            raise RuntimeError("help2man exited "
                               f"{r.returncode}: {r.stderr.decode().strip()}")
        gzip_file(page, args.out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("man")
    m.add_argument("--tillit", required=True)
    m.add_argument("--help2man", required=True)
    m.add_argument("--version", required=True)
    m.add_argument("--changelog", required=True)
    m.add_argument("--out", required=True)
    g = sub.add_parser("gzip")
    g.add_argument("src")
    g.add_argument("dst")
    args = p.parse_args()
    try:
        if args.cmd == "man":
            make_man(args)
        else:
            gzip_file(args.src, args.dst)
    except (OSError, ValueError, RuntimeError) as e:
        print(f"build_docs.py {args.cmd}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
