#!/usr/bin/env python3
"""Builds the inputs of the scan benchmark, deterministically.

    generate.py object OUT.json.gz [--records N] [--seed S]
    generate.py rules OUT.yaml [--count N] [--seed S]

`object` writes one gzipped CloudTrail log object, `{"Records":[...]}` in
CloudTrail's compact layout, from the records in `samples/` and
`bench/records/`. Every record gets a fresh eventID and requestID, an
advancing eventTime and a caller address, access key, region and object key
drawn from small pools, so the text compresses like a real busy trail. The
quiet high-volume records dominate; the samples' intrusion story appears now
and then, so alerts stay a small fraction of the records.

`rules` writes a Falco rules file of N rules, each an eventName equality plus
one more condition, spread over the event names of the object, most of which
do not match: it measures what many rules cost.

The same arguments always give the same records and rules. The gzip stream
itself depends on the local zlib, so the compressed size can differ slightly
between machines.
"""

import argparse
import base64
import copy
import datetime
import gzip
import json
import pathlib
import random
import re
import sys
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "samples",
    ROOT / "bench" / "records",
]
# How often a record comes from each template group, in percent. The story
# records (samples/) are what the rules are written to catch.
WEIGHTS = {"samples": 3, "records": 97}
REGIONS = ["us-east-1"] * 6 + ["us-west-2"] * 3 + ["eu-west-1", "ap-southeast-2"]
# Documentation ranges only (RFC 5737).
ADDRESSES = [f"{net}.{host}" for net in ("192.0.2", "198.51.100", "203.0.113") for host in range(1, 255)]
# The first version number in a user agent, whose patch level varies by host.
AGENT_VERSION = re.compile(r"^([A-Za-z0-9-]+/\d+\.\d+\.)\d+")
INSTANCES = 400
KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def load_templates():
    """Every record of every log file under SOURCES, grouped by folder."""
    groups = {}
    for folder in SOURCES:
        records = []
        for path in sorted(folder.iterdir()):
            if path.suffix == ".gz":
                text = gzip.decompress(path.read_bytes())
            elif path.suffix == ".json":
                text = path.read_bytes()
            else:
                continue
            records.extend(json.loads(text)["Records"])
        groups[folder.name] = records
    return groups


def fresh_uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def vary(record, rng, when, instances):
    """The compact text of `record` with the per-call fields of a new call."""
    r = copy.deepcopy(record)
    r["eventID"] = fresh_uuid(rng)
    r["requestID"] = fresh_uuid(rng)
    r["eventTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    r["awsRegion"] = rng.choice(REGIONS)
    if "sharedEventID" in r:
        r["sharedEventID"] = fresh_uuid(rng)
    # Service principals call from their own name, not an address.
    if not r.get("sourceIPAddress", "").endswith(".com"):
        r["sourceIPAddress"] = rng.choice(ADDRESSES)
        agent = r.get("userAgent", "")
        r["userAgent"] = AGENT_VERSION.sub(lambda m: f"{m[1]}{rng.randrange(40)}", agent)
    data = r.get("additionalEventData")
    if isinstance(data, dict) and data.get("bytesTransferredIn"):
        data["bytesTransferredIn"] = rng.randrange(1, 400_000)
    if isinstance(data, dict) and data.get("bytesTransferredOut"):
        data["bytesTransferredOut"] = rng.randrange(1, 4_000_000)
    if isinstance(data, dict) and "x-amz-id-2" in data:
        # S3's extended request id: random bytes, base64.
        data["x-amz-id-2"] = base64.b64encode(rng.randbytes(57)).decode()
    response = r.get("responseElements")
    if isinstance(response, dict) and "requestId" in response:
        response["requestId"] = fresh_uuid(rng)
    # The template's placeholders for an instance, a temporary access key
    # and an S3 object can appear in several places of one record.
    text = json.dumps(r, separators=(",", ":"))
    day = when.strftime("%Y/%m/%d")
    for placeholder, value in [
        ("i-0a1b2c3d4e5f60718", rng.choice(instances)),
        ("2026-03-01T11:00:00Z", (when - datetime.timedelta(seconds=rng.randrange(3600))).strftime(
            "%Y-%m-%dT%H:%M:%SZ")),
        ("ASIAEXAMPLESESSION02", "ASIA" + "".join(rng.choices(KEY_CHARS, k=16))),
        ("2026/03/01/orders-000417.parquet", f"{day}/orders-{rng.randrange(10**6):06d}.parquet"),
        ("2026/03/01/orders-000418.json", f"{day}/orders-{rng.randrange(10**6):06d}.json"),
    ]:
        text = text.replace(placeholder, value)
    return text


def write_object(out, count, seed):
    rng = random.Random(seed)
    groups = load_templates()
    names = list(WEIGHTS)
    weights = [WEIGHTS[n] for n in names]
    when = datetime.datetime(2026, 3, 1, 12, 0, 0)
    instances = [f"i-{rng.getrandbits(68):017x}" for _ in range(INSTANCES)]
    tmp = out.with_suffix(out.suffix + ".tmp")
    plain = 0
    with open(tmp, "wb") as raw, gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0
    ) as gz:
        gz.write(b'{"Records":[')
        for i in range(count):
            group = groups[rng.choices(names, weights)[0]]
            when += datetime.timedelta(milliseconds=rng.randrange(0, 40))
            text = vary(rng.choice(group), rng, when, instances).encode()
            if i:
                gz.write(b",")
                plain += 1
            gz.write(text)
            plain += len(text)
        gz.write(b"]}")
    tmp.rename(out)
    print(f"{out}: {count} records, {plain + 14} bytes plain, {out.stat().st_size} gzipped")


# Event names for the extra rules: those of the benchmark records first
# (they make the rules run), then others that never occur in it.
BUSY_NAMES = [
    "GetObject", "PutObject", "Decrypt", "GenerateDataKey", "AssumeRole",
    "DescribeInstances", "CreateLogStream", "DescribeTable", "GetAuthorizationToken",
    "GetParameter", "GetFunction", "PutMetricData", "DescribeSecret", "DescribeSecurityGroups",
]
IDLE_NAMES = [f"{verb}{noun}" for verb in ("Create", "Delete", "Update", "Tag", "Untag")
              for noun in ("Widget", "Gadget", "Pipeline", "Stream", "Queue", "Alias", "Bundle",
                           "Channel", "Fleet", "Index")]


def second_condition(rng, n):
    """One more condition, rarely true for the benchmark records."""
    kind = n % 6
    if kind == 0:
        # RFC 2544 benchmarking addresses: never a caller in the object.
        return f"ct.srcip = 198.18.0.{rng.randrange(1, 255)}"
    if kind == 1:
        return f"ct.user = svc-user-{n}"
    if kind == 2:
        return f"ct.region = me-central-{n % 3 + 1}"
    if kind == 3:
        return f'ct.useragent startswith "custom-agent/{n}"'
    if kind == 4:
        return f"json.value[/requestParameters/bucketName] = quarantine-{n}"
    return f'ct.request contains "marker-{n}"'


def write_rules(out, count, seed):
    rng = random.Random(seed)
    lines = ["# Generated by bench/generate.py: extra rules for the scan benchmark.", ""]
    for n in range(count):
        names = BUSY_NAMES if n % 2 == 0 else IDLE_NAMES
        name = names[rng.randrange(len(names))]
        lines += [
            f"- rule: Generated rule {n}",
            f"  desc: Benchmark rule {n}.",
            f"  condition: ct.name = {name} and {second_condition(rng, n)}",
            f"  output: Generated rule {n} fired (user=%ct.user ip=%ct.srcip)",
            "  priority: NOTICE",
            "  source: aws_cloudtrail",
            "  tags: [benchmark]",
            "",
        ]
    out.write_text("\n".join(lines))
    print(f"{out}: {count} rules")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    obj = sub.add_parser("object", help="the gzipped CloudTrail log object")
    obj.add_argument("out", type=pathlib.Path)
    obj.add_argument("--records", type=int, default=400_000)
    obj.add_argument("--seed", type=int, default=20260301)
    rules = sub.add_parser("rules", help="a file of extra rules")
    rules.add_argument("out", type=pathlib.Path)
    rules.add_argument("--count", type=int, default=1000)
    rules.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.what == "object":
        write_object(args.out, args.records, args.seed)
    else:
        write_rules(args.out, args.count, args.seed)


if __name__ == "__main__":
    main(sys.argv[1:])
