#!/usr/bin/env python3
"""Static checks of the kcanary Grafana dashboard (python3 stdlib only).

    check_dashboard.py [--dashboard FILE] [--metrics-cc FILE] [--promtool PATH]
    check_dashboard.py --list-queries

Checks dashboards/kcanary.json and exits 1 listing every problem found:

- uid, title, schemaVersion; the template variables datasource, job, topic and
  partition (multi-value, with All);
- every panel except rows has a unit, a description, and the datasource
  {"type": "prometheus", "uid": "${datasource}"} (its targets too);
- panel ids are unique; gridPos rectangles fit in 24 columns and do not overlap;
- every kcanary_* metric a query names is registered in
  common/metrics/metrics.cc (histograms through _bucket/_sum/_count);
- counters (*_total, histogram _bucket/_sum/_count) appear in panel queries
  only as the direct argument of rate(), irate() or increase(), and gauges
  never do (label_values() selectors of template variables may name any);
- template variables are used only in =~ / !~ matchers (they are multi-value);
- every query parses as PromQL: all of them, variables substituted, go into a
  temporary rules file as recording rules checked by `promtool check rules`
  (Debian package `prometheus`).

--list-queries prints every query of the dashboard (panel targets, then the
selectors of the template variables' label_values()), one per line, with
$__rate_interval/$__interval/$__range as 5m and every template variable as
".*" -- ready to run against a Prometheus that scrapes kcanary.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_DASHBOARD = os.path.join(ROOT, "dashboards", "kcanary.json")
DEFAULT_METRICS_CC = os.path.join(ROOT, "common", "metrics", "metrics.cc")

DATASOURCE_UIDS = ("${datasource}", "$datasource")
REQUIRED_VARIABLES = ("datasource", "job", "topic", "partition")
COUNTER_FUNCTIONS = ("rate", "irate", "increase")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Grafana's built-in interval variables and what they become for promtool and
# --list-queries.
BUILTIN_VARIABLES = {
    "__rate_interval": "5m",
    "__interval": "5m",
    "__range": "5m",
    "__interval_ms": "300000",
    "__range_ms": "300000",
    "__range_s": "300",
}
TEMPLATE_VARIABLE_VALUE = ".*"
# Parenthesised lists after these keywords hold label names, not expressions.
LABEL_LIST_KEYWORDS = ("by", "without", "on", "ignoring", "group_left", "group_right")

VARIABLE_RE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")
IDENT_RE = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


# --------------------------------------------------------------------------
# Exported metrics


def load_exported_metrics(metrics_cc):
    """Returns (names, histograms): every "kcanary_*" string literal in
    metrics.cc, and those registered with BuildHistogram()."""
    with open(metrics_cc, encoding="utf-8") as f:
        source = f.read()
    names = set(re.findall(r'"(kcanary_[a-z0-9_]+)"', source))
    histograms = set(
        re.findall(r'BuildHistogram\(\)\s*\.Name\(\s*"(kcanary_[a-z0-9_]+)"', source))
    return names, histograms


def is_counter_series(name, histograms):
    if name.endswith("_total"):
        return True
    return any(name.endswith(s) and name[: -len(s)] in histograms for s in HISTOGRAM_SUFFIXES)


# --------------------------------------------------------------------------
# PromQL text helpers


def substitute(expr):
    """Replaces Grafana variables by values promtool and Prometheus accept."""

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return BUILTIN_VARIABLES.get(name, TEMPLATE_VARIABLE_VALUE)

    return " ".join(VARIABLE_RE.sub(repl, expr).split())


def referenced_variables(expr):
    return [m.group(1) or m.group(2) or m.group(3) for m in VARIABLE_RE.finditer(expr)]


def scan_metrics(expr):
    """Yields (identifier, enclosing_function) for every metric-name-like
    identifier of `expr` outside strings, label matchers ({...}), ranges
    ([...]) and by/on/... label lists. enclosing_function is the function
    whose argument list most closely encloses the identifier ('' if none;
    plain grouping parentheses are transparent)."""
    stack = []  # one entry per open '(': function name, '' for grouping, or '#label-list'
    brace = 0
    bracket = 0
    i, n = 0, len(expr)
    last_ident = None  # identifier immediately before the current position
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            i = j + 1
            last_ident = None
            continue
        if c.isspace():
            i += 1
            continue
        if c == "{":
            brace += 1
        elif c == "}":
            brace = max(0, brace - 1)
        elif c == "[":
            bracket += 1
        elif c == "]":
            bracket = max(0, bracket - 1)
        elif brace or bracket:
            pass
        elif c == "(":
            if last_ident in LABEL_LIST_KEYWORDS:
                stack.append("#label-list")
            else:
                stack.append(last_ident or "")
        elif c == ")":
            if stack:
                stack.pop()
        elif c.isdigit() or (c == "." and i + 1 < n and expr[i + 1].isdigit()):
            m = re.match(r"[0-9.]+(?:[eE][+-]?[0-9]+)?[A-Za-z0-9_]*", expr[i:])
            i += len(m.group(0))
            last_ident = None
            continue
        else:
            m = IDENT_RE.match(expr, i)
            if m:
                ident = m.group(0)
                in_label_list = bool(stack) and stack[-1] == "#label-list"
                if not in_label_list:
                    enclosing = next((f for f in reversed(stack) if f), "")
                    yield ident, enclosing
                last_ident = ident
                i = m.end()
                continue
        last_ident = None
        i += 1


def check_expr(where, expr, exported, histograms, problems, counters_need_rate=True):
    """Checks one query's metric names, counter usage and variable usage.
    label_values() selectors only list series, so any metric may appear bare
    there (counters_need_rate=False)."""
    for name, enclosing in scan_metrics(substitute(expr)):
        if not name.startswith("kcanary_"):
            continue
        base = name
        for s in HISTOGRAM_SUFFIXES:
            if name.endswith(s) and name[: -len(s)] in histograms:
                base = name[: -len(s)]
        if name in histograms:
            problems.append(f"{where}: {name} is a histogram; query {name}_bucket, _sum or "
                            f"_count")
            continue
        if base not in exported:
            problems.append(f"{where}: {name} is not exported by kcanary "
                            f"(not registered in common/metrics/metrics.cc)")
            continue
        if is_counter_series(name, histograms):
            if counters_need_rate and enclosing not in COUNTER_FUNCTIONS:
                problems.append(
                    f"{where}: counter {name} must be the argument of rate(), irate() or "
                    f"increase()" + (f", not of {enclosing}()" if enclosing else ""))
        elif enclosing in COUNTER_FUNCTIONS:
            problems.append(f"{where}: gauge {name} inside {enclosing}(); use deriv() or "
                            f"delta() for gauges")
    for m in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"', expr):
        label, op, value = m.groups()
        if op in ("=", "!=") and any(v not in BUILTIN_VARIABLES
                                     for v in referenced_variables(value)):
            problems.append(f"{where}: {label}{op}\"{value}\": template variables are "
                            f"multi-value regexes; match them with =~ or !~")


# --------------------------------------------------------------------------
# Dashboard structure


def all_panels(dashboard):
    """Yields (panel, group): group is 'top' or the id of the collapsed row
    holding it."""
    for panel in dashboard.get("panels", []):
        yield panel, "top"
        for nested in panel.get("panels", []) or []:
            yield nested, f"row {panel.get('id')}"


def panel_name(panel):
    return f"panel {panel.get('id')} {panel.get('title', '')!r}"


def is_prometheus_datasource(ds):
    return (isinstance(ds, dict) and ds.get("type") == "prometheus"
            and ds.get("uid") in DATASOURCE_UIDS)


def variable_query(var):
    q = var.get("query")
    if isinstance(q, dict):
        q = q.get("query", "")
    return q or var.get("definition", "") or ""


def label_values_selector(query):
    """label_values(SELECTOR, label) -> SELECTOR; label_values(label) -> None."""
    m = re.match(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", query, re.S)
    return m.group(1).strip() if m else None


def collect_queries(dashboard):
    """Returns [(where, expr)] for every panel target, then every template
    variable's label_values() selector."""
    out = []
    for panel, _ in all_panels(dashboard):
        if panel.get("type") == "row":
            continue
        for t in panel.get("targets", []) or []:
            if t.get("hide"):
                continue
            out.append((f"{panel_name(panel)} target {t.get('refId')}", t.get("expr", "")))
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            sel = label_values_selector(variable_query(var))
            if sel:
                out.append((f"variable ${var.get('name')}", sel))
    return out


def check_structure(dashboard, problems):
    if dashboard.get("uid") != "kcanary":
        problems.append(f"dashboard uid is {dashboard.get('uid')!r}, want 'kcanary'")
    if not str(dashboard.get("title", "")).startswith("kcanary"):
        problems.append(f"dashboard title {dashboard.get('title')!r} does not start with "
                        f"'kcanary'")
    if not isinstance(dashboard.get("schemaVersion"), int) or dashboard["schemaVersion"] < 36:
        problems.append(f"schemaVersion {dashboard.get('schemaVersion')!r}: want >= 36 "
                        f"(Grafana 9/10/11)")

    # Template variables.
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    for name in REQUIRED_VARIABLES:
        if name not in variables:
            problems.append(f"template variable ${name} is missing")
    ds = variables.get("datasource")
    if ds and (ds.get("type") != "datasource" or ds.get("query") != "prometheus"):
        problems.append("template variable $datasource must be type 'datasource' with query "
                        "'prometheus'")
    expected_queries = {
        "job": "kcanary_build_info",
        "topic": "kcanary_messages_produced_total",
        "partition": "kcanary_messages_produced_total",
    }
    for name, metric in expected_queries.items():
        var = variables.get(name)
        if not var:
            continue
        q = variable_query(var)
        if var.get("type") != "query" or not q.startswith("label_values(") or metric not in q:
            problems.append(f"template variable ${name} must be a label_values() query on "
                            f"{metric} (is {var.get('type')!r}: {q!r})")
        if not is_prometheus_datasource(var.get("datasource")):
            problems.append(f"template variable ${name} must use the ${{datasource}} "
                            f"datasource")
        if var.get("includeAll") and var.get("allValue") != ".*":
            problems.append(f"template variable ${name} includes All: set allValue '.*' so "
                            f"=~ matchers match every value")
    part = variables.get("partition")
    if part and not (part.get("multi") and part.get("includeAll")):
        problems.append("template variable $partition must be multi-value and include All")

    # Panels.
    ids = {}
    for panel, group in all_panels(dashboard):
        pid = panel.get("id")
        name = panel_name(panel)
        if not isinstance(pid, int):
            problems.append(f"{name}: id must be an integer")
        elif pid in ids:
            problems.append(f"{name}: duplicate panel id {pid} (also "
                            f"{panel_name(ids[pid])})")
        else:
            ids[pid] = panel
        if panel.get("type") == "row":
            if group == "top" and not panel.get("collapsed") and panel.get("panels"):
                problems.append(f"{name}: an expanded row must not hold nested panels")
            continue
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        if not isinstance(defaults.get("unit"), str) or not defaults.get("unit"):
            problems.append(f"{name}: no unit in fieldConfig.defaults.unit")
        if not str(panel.get("description", "")).strip():
            problems.append(f"{name}: no description")
        if not is_prometheus_datasource(panel.get("datasource")):
            problems.append(f"{name}: datasource must be "
                            f'{{"type": "prometheus", "uid": "${{datasource}}"}}, is '
                            f"{panel.get('datasource')!r}")
        targets = panel.get("targets") or []
        if not targets:
            problems.append(f"{name}: no targets")
        refs = set()
        for t in targets:
            ref = t.get("refId")
            if ref in refs:
                problems.append(f"{name}: duplicate refId {ref!r}")
            refs.add(ref)
            if "datasource" in t and not is_prometheus_datasource(t["datasource"]):
                problems.append(f"{name} target {ref}: datasource must use ${{datasource}}")
            if not str(t.get("expr", "")).strip():
                problems.append(f"{name} target {ref}: empty expr")

    # Layout.
    groups = {}
    for panel, group in all_panels(dashboard):
        g = panel.get("gridPos")
        name = panel_name(panel)
        if not isinstance(g, dict) or not all(isinstance(g.get(k), int) for k in "hwxy"):
            problems.append(f"{name}: gridPos needs integer h, w, x, y (is {g!r})")
            continue
        if g["x"] < 0 or g["y"] < 0 or g["w"] <= 0 or g["h"] <= 0 or g["x"] + g["w"] > 24:
            problems.append(f"{name}: gridPos {g} outside the 24-column grid")
        groups.setdefault(group, []).append((panel, g))
    for members in groups.values():
        for i, (a, ga) in enumerate(members):
            for b, gb in members[i + 1:]:
                if (ga["x"] < gb["x"] + gb["w"] and gb["x"] < ga["x"] + ga["w"]
                        and ga["y"] < gb["y"] + gb["h"] and gb["y"] < ga["y"] + ga["h"]):
                    problems.append(f"{panel_name(a)} {ga} overlaps {panel_name(b)} {gb}")


def check_variables_defined(dashboard, queries, problems):
    defined = {v.get("name") for v in dashboard.get("templating", {}).get("list", [])}
    for where, expr in queries:
        for v in referenced_variables(expr):
            if v not in defined and v not in BUILTIN_VARIABLES:
                problems.append(f"{where}: unknown variable ${v}")


# --------------------------------------------------------------------------
# promtool


def promtool_check(promtool, queries):
    """Returns (ok, output) of `promtool check rules` on `queries` (list of
    substituted exprs) written as recording rules."""
    rules = {"groups": [{"name": "kcanary_dashboard_queries", "rules": [
        {"record": f"kcanary_dashboard:query_{i}", "expr": expr}
        for i, expr in enumerate(queries)]}]}
    with tempfile.TemporaryDirectory(prefix="kcanary-dashboard-") as tmp:
        path = os.path.join(tmp, "rules.yml")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(rules, f, indent=2)  # JSON is YAML
        proc = subprocess.run([promtool, "check", "rules", path], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        return proc.returncode == 0, proc.stdout.replace(path, "<rules>")


def check_promql(promtool_arg, queries, problems):
    promtool = promtool_arg or shutil.which("promtool")
    if not promtool:
        problems.append("promtool not found: cannot check that the queries parse "
                        "(apt-get install -y prometheus)")
        return
    exprs = [substitute(e) for _, e in queries]
    ok, output = promtool_check(promtool, exprs)
    if ok:
        return
    # Find the culprits one by one so each problem names its panel.
    found = False
    for (where, _), expr in zip(queries, exprs):
        ok1, out1 = promtool_check(promtool, [expr])
        if not ok1:
            found = True
            detail = " ".join(line.strip() for line in out1.splitlines()
                              if line.strip() and not line.startswith("Checking "))
            problems.append(f"{where}: does not parse as PromQL: {expr}\n    promtool: {detail}")
    if not found:
        problems.append("promtool check rules failed:\n" + output)


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dashboard", default=DEFAULT_DASHBOARD)
    ap.add_argument("--metrics-cc", default=DEFAULT_METRICS_CC)
    ap.add_argument("--promtool", default=None, help="path of promtool (default: $PATH)")
    ap.add_argument("--list-queries", action="store_true",
                    help="print every query, variables substituted, one per line, and exit")
    args = ap.parse_args()

    try:
        with open(args.dashboard, encoding="utf-8") as f:
            dashboard = json.load(f)
    except (OSError, ValueError) as e:
        print(f"FAIL: cannot load {args.dashboard}: {e}", file=sys.stderr)
        return 1
    queries = collect_queries(dashboard)

    if args.list_queries:
        seen = set()
        for _, expr in queries:
            s = substitute(expr)
            if s and s not in seen:
                seen.add(s)
                print(s)
        return 0

    problems = []
    exported, histograms = load_exported_metrics(args.metrics_cc)
    if not exported:
        problems.append(f"no kcanary_* metric names found in {args.metrics_cc}")
    check_structure(dashboard, problems)
    check_variables_defined(dashboard, queries, problems)
    for where, expr in queries:
        check_expr(where, expr, exported, histograms, problems,
                   counters_need_rate=not where.startswith("variable "))
    check_promql(args.promtool, [(w, e) for w, e in queries if str(e).strip()], problems)

    rel = os.path.relpath(args.dashboard)
    if rel.startswith(".."):
        rel = args.dashboard
    if problems:
        problems = list(dict.fromkeys(problems))  # one line per distinct problem
        print(f"FAIL: {rel}: {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    n_panels = sum(1 for p, _ in all_panels(dashboard) if p.get("type") != "row")
    print(f"OK: {rel}: {n_panels} panels, {len(queries)} queries; metric names, units, "
          f"datasources, counters, variables, layout and PromQL (promtool) checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
