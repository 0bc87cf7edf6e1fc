#!/usr/bin/env python3
"""Check that the dashboard and alert rules use only metrics trailwatch exports.

Usage: check_metric_names.py CONTRACT.md FILE...

CONTRACT.md lists the exported metrics, one per line, as
`name{label,...}   comment` (a comment containing "histogram" marks a
histogram, whose _bucket/_sum/_count series are then allowed). Each FILE is
a Grafana dashboard (.json, every `expr` and template query) or a
Prometheus rule file (.yaml, every `expr`). The check fails when a query
selects a metric that is not in the list (besides `up`), or groups by a
label that neither the metric list nor Prometheus's target labels define.
"""

import json
import re
import sys

import yaml

METRIC_LINE = re.compile(r"^(trailwatch_[a-z0-9_]+)(\{([a-z_,\s]*)\})?\s*(.*)$")
# A metric name is what stands right before a label selector. Every query in
# the checked files writes its selectors with braces, even empty ones.
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")
# Catches a trailwatch metric written without braces too.
PREFIXED = re.compile(r"\btrailwatch_[a-zA-Z0-9_]+")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Added by the scrape (Kubernetes service discovery) or by histograms.
TARGET_LABELS = {"namespace", "job", "pod", "instance", "service", "container", "le"}
# Functions and keywords that can precede "{" in a Grafana query.
NOT_METRICS = {"label_values", "query_result"}


def read_contract(path):
    """Return ({allowed series names}, {label names}) from the contract."""
    names, labels = set(), set()
    for line in open(path, encoding="utf-8"):
        match = METRIC_LINE.match(line.strip())
        if not match:
            continue
        name, _, label_list, comment = match.groups()
        names.add(name)
        if "histogram" in comment:
            names.update(name + suffix for suffix in HISTOGRAM_SUFFIXES)
        if label_list:
            labels.update(label.strip() for label in label_list.split(",") if label.strip())
    if not names:
        sys.exit(f"{path}: no metric names found")
    return names, labels


def dashboard_queries(path):
    """Yield (where, query) for every query in a Grafana dashboard."""
    dashboard = json.load(open(path, encoding="utf-8"))

    def walk_panels(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    yield f"panel {panel.get('title')!r}", target["expr"]
            yield from walk_panels(panel.get("panels", []))

    yield from walk_panels(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and query:
            yield f"variable {variable.get('name')!r}", query


def rule_queries(path):
    """Yield (where, query) for every rule in a Prometheus rule file."""
    document = yaml.safe_load(open(path, encoding="utf-8"))
    for group in document.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            yield f"rule {name!r}", rule["expr"]


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    names, labels = read_contract(argv[1])
    allowed_labels = labels | TARGET_LABELS
    errors, checked = [], 0
    for path in argv[2:]:
        queries = dashboard_queries(path) if path.endswith(".json") else rule_queries(path)
        for where, query in queries:
            checked += 1
            used = set(SELECTOR.findall(query)) | set(PREFIXED.findall(query))
            for metric in sorted(used):
                if metric not in names and metric != "up" and metric not in NOT_METRICS:
                    errors.append(f"{path}: {where}: unknown metric {metric}")
            for group in GROUPING.findall(query):
                for label in (part.strip() for part in group.split(",")):
                    if label and label not in allowed_labels:
                        errors.append(f"{path}: {where}: unknown label {label}")
    for error in errors:
        print(error, file=sys.stderr)
    if checked == 0:
        sys.exit("no queries found")
    print(f"{checked} queries checked, {len(errors)} unknown names")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
