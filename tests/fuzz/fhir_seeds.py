#!/usr/bin/env python3
"""Small FHIR seeds cut out of the Synthea fixture bundles, for the
fhir_document fuzz target (run by scripts/fuzz.sh; never committed).

Usage: fhir_seeds.py FIXTURES_DIR OUT_DIR [PER_TYPE]

Whole bundles are slow inputs for a fuzzer (about 1 MB each). For every
resource type, the first PER_TYPE (default 2) entries met across the
bundles become one small transaction bundle each: the entry plus the
entries its urn:uuid references reach (so they resolve), at most 8 entries.
Also writes each such resource alone (its urn:uuid references would not
resolve there, so those are rewritten to "Type/id", as the import stores
them). Uses the Python standard library only.
"""

import json
import sys
from pathlib import Path

MAX_ENTRIES = 8


def references(value, out):
    """Every "reference" string starting with urn:uuid: inside `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and \
                    item.startswith("urn:uuid:"):
                out.add(item)
            else:
                references(item, out)
    elif isinstance(value, list):
        for item in value:
            references(item, out)


def rewrite(value, targets):
    """`value` with urn:uuid references replaced by their "Type/id"."""
    if isinstance(value, dict):
        return {k: (targets.get(v, v) if k == "reference" and
                    isinstance(v, str) else rewrite(v, targets))
                for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite(v, targets) for v in value]
    return value


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    fixtures, out = Path(argv[1]), Path(argv[2])
    per_type = int(argv[3]) if len(argv) == 4 else 2
    out.mkdir(parents=True, exist_ok=True)
    taken = {}
    written = 0
    for path in sorted(fixtures.glob("*.json")):
        try:
            bundle = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        entries = bundle.get("entry") if isinstance(bundle, dict) else None
        if not isinstance(entries, list):
            continue
        by_url = {e.get("fullUrl"): e for e in entries
                  if isinstance(e, dict) and "fullUrl" in e}
        targets = {}
        for url, e in by_url.items():
            r = e.get("resource", {})
            if isinstance(r, dict) and "resourceType" in r:
                rid = r.get("id") or url.removeprefix("urn:uuid:")
                targets[url] = f"{r['resourceType']}/{rid}"
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                continue
            rtype = resource.get("resourceType")
            if not isinstance(rtype, str) or taken.get(rtype, 0) >= per_type:
                continue
            # The entry and the entries its references reach.
            chosen, todo = [entry], [entry]
            seen = {entry.get("fullUrl")}
            while todo and len(chosen) <= MAX_ENTRIES:
                refs = set()
                references(todo.pop().get("resource"), refs)
                for url in sorted(refs - seen):
                    seen.add(url)
                    if url in by_url:
                        chosen.append(by_url[url])
                        todo.append(by_url[url])
            if len(chosen) > MAX_ENTRIES:
                continue
            taken[rtype] = taken.get(rtype, 0) + 1
            n = taken[rtype]
            small = {"resourceType": "Bundle", "type": "transaction",
                     "entry": list(reversed(chosen))}
            (out / f"synthea-{rtype}-{n}-bundle.json").write_text(
                json.dumps(small), encoding="utf-8")
            alone = rewrite(resource, targets)
            if "id" not in alone and entry.get("fullUrl", "").startswith(
                    "urn:uuid:"):
                alone = {"id": entry["fullUrl"][len("urn:uuid:"):], **alone}
            (out / f"synthea-{rtype}-{n}.json").write_text(
                json.dumps(alone), encoding="utf-8")
            written += 2
    print(f"fhir_seeds: {written} seeds from {fixtures}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
