#!/usr/bin/env python3
"""Structural checks of kcanary's deployment files (tests/deploy/run.sh):

- deploy/kubernetes/sidecar-example.yaml: kcanary is a native sidecar (an
  init container with restartPolicy: Always) running `kcanary run`; probes on
  /healthz and /readyz at the named port its --listen opens; a restricted
  security context; requests and limits; --state-dir on a persistent volume;
  -F and every ${file:...} in the client properties mounted from Secrets.
- deploy/kubernetes/podmonitor.yaml: scrapes that port by name, /metrics,
  every 30 s, under a job KcanaryDown's job=~".*kcanary.*" matches.
- deploy/systemd/kcanary.service and kcanary.default: the stop timeout covers
  kcanary's 30 s drain; the state dir is systemd's StateDirectory.
- every flag any of them passes is one `kcanary run --help` lists.

  check_manifests.py REPO_ROOT RUN_HELP_FILE
"""
import re
import shlex
import sys

import yaml

problems = []


def check(ok, message):
    if not ok:
        problems.append(message)
    return ok


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def option_values(args):
    """{flag: value} of a kcanary argument list; flags only (value None)."""
    flags, i = {}, 0
    while i < len(args):
        a = args[i]
        if a.startswith("-"):
            if "=" in a:
                k, v = a.split("=", 1)
                flags[k] = v
            elif i + 1 < len(args) and not args[i + 1].startswith("-"):
                flags[a] = args[i + 1]
                i += 1
            else:
                flags[a] = None
        i += 1
    return flags


def check_flags(where, args, known):
    for flag in option_values(args):
        check(flag in known, f"{where}: flag {flag} is not one `kcanary run --help` lists")


def check_sidecar(path, known):
    docs = load_all(path)
    workloads = [d for d in docs if d.get("kind") in ("StatefulSet", "Deployment")]
    if not check(len(workloads) == 1, f"{path}: want one StatefulSet or Deployment"):
        return None
    w = workloads[0]
    check(w.get("apiVersion") == "apps/v1", f"{path}: {w['kind']} apiVersion must be apps/v1")
    pod = w["spec"]["template"]
    spec = pod["spec"]
    sidecars = [c for c in spec.get("initContainers", []) if c.get("name") == "kcanary"]
    check(not any(c.get("name") == "kcanary" for c in spec.get("containers", [])),
          f"{path}: kcanary must be a native sidecar (initContainers), not in containers")
    if not check(len(sidecars) == 1, f"{path}: no initContainer named kcanary"):
        return None
    c = sidecars[0]
    check(c.get("restartPolicy") == "Always",
          f"{path}: the kcanary initContainer needs restartPolicy: Always (native sidecar)")
    argv = list(c.get("command", [])) + list(c.get("args", []))
    check(len(argv) >= 2 and argv[0].endswith("kcanary") and argv[1] == "run",
          f"{path}: kcanary's command must be `kcanary run`, got {argv[:2]}")
    check_flags(f"{path} (kcanary args)", argv[2:], known)
    opts = option_values(argv[2:])
    state_dir, listen, props = opts.get("--state-dir"), opts.get("--listen"), opts.get("-F")
    check(state_dir, f"{path}: kcanary needs --state-dir")
    check(listen and listen.startswith("0.0.0.0:"),
          f"{path}: --listen must be 0.0.0.0:PORT to be scraped and probed, got {listen}")
    port = int(listen.rsplit(":", 1)[1]) if listen else None

    named = [p for p in c.get("ports", []) if p.get("containerPort") == port]
    check(len(named) == 1 and named[0].get("name") == "metrics",
          f"{path}: the --listen port {port} must be a container port named metrics")
    port_name = named[0].get("name") if named else None
    for probe, want in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("startupProbe", "/healthz")):
        get = (c.get(probe) or {}).get("httpGet") or {}
        check(get.get("path") == want, f"{path}: {probe} must GET {want}, got {get.get('path')}")
        check(get.get("port") in (port_name, port) and get.get("port") is not None,
              f"{path}: {probe} must use the metrics port, got {get.get('port')}")

    sc, psc = c.get("securityContext") or {}, spec.get("securityContext") or {}

    def effective(key):
        return sc.get(key, psc.get(key))

    check(effective("runAsNonRoot") is True, f"{path}: kcanary needs runAsNonRoot: true")
    for key in ("runAsUser", "runAsGroup"):
        v = effective(key)
        check(isinstance(v, int) and v > 0, f"{path}: kcanary needs a non-root {key}, got {v}")
    check(sc.get("readOnlyRootFilesystem") is True, f"{path}: readOnlyRootFilesystem: true")
    check(sc.get("allowPrivilegeEscalation") is False, f"{path}: allowPrivilegeEscalation: false")
    check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []),
          f"{path}: capabilities must drop ALL")
    check((effective("seccompProfile") or {}).get("type") == "RuntimeDefault",
          f"{path}: seccompProfile RuntimeDefault")
    res = c.get("resources") or {}
    for kind in ("requests", "limits"):
        check((res.get(kind) or {}).get("memory"), f"{path}: kcanary needs a memory {kind[:-1]}")
    check((res.get("requests") or {}).get("cpu"), f"{path}: kcanary needs a cpu request")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    check(grace >= 35, f"{path}: terminationGracePeriodSeconds {grace} < 35 (kcanary drains 30 s)")

    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    claims = {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
    state = mounts.get(state_dir)
    if check(state, f"{path}: nothing is mounted at --state-dir {state_dir}"):
        persistent = state["name"] in claims or "persistentVolumeClaim" in volumes.get(
            state["name"], {})
        check(persistent, f"{path}: --state-dir must be on a PVC (state must survive restarts), "
              f"volume {state['name']} is not")

    def secret_mount(file_path):
        """The Secret volume that provides file_path, or None."""
        for mount_path, m in mounts.items():
            if file_path == mount_path or file_path.startswith(mount_path.rstrip("/") + "/"):
                v = volumes.get(m["name"], {})
                return v.get("secret") and v
        return None

    secrets = {d["metadata"]["name"]: d for d in load_all(path) if d.get("kind") == "Secret"}
    if check(props, f"{path}: kcanary needs -F with its client properties"):
        v = secret_mount(props)
        if check(v, f"{path}: -F {props} must come from a Secret volume"):
            key = mounts[props]["subPath"] if props in mounts else props.rsplit("/", 1)[1]
            secret = secrets.get(v["secret"]["secretName"])
            if secret:  # a Secret defined in this file: the properties are checkable
                text = (secret.get("stringData") or {}).get(key)
                if check(text is not None, f"{path}: Secret {secret['metadata']['name']} "
                         f"has no stringData key {key}"):
                    for ref in re.findall(r"\$\{file:([^}]+)\}", text):
                        check(secret_mount(ref), f"{path}: ${{file:{ref}}} is not a mounted Secret")
                    check(not re.search(r"^\s*sasl\.password\s*=\s*(?!\$\{)", text, re.M),
                          f"{path}: sasl.password must be a ${{file:}} or ${{env:}} reference")
    return pod, port_name


def check_podmonitor(path, pod, port_name):
    docs = load_all(path)
    pms = [d for d in docs if d.get("kind") == "PodMonitor"]
    if not check(len(pms) == 1, f"{path}: want one PodMonitor"):
        return
    pm = pms[0]
    check(pm.get("apiVersion") == "monitoring.coreos.com/v1",
          f"{path}: apiVersion must be monitoring.coreos.com/v1")
    selector = (pm["spec"].get("selector") or {}).get("matchLabels") or {}
    labels = pod["metadata"].get("labels") or {}
    check(selector and all(labels.get(k) == v for k, v in selector.items()),
          f"{path}: selector {selector} does not select the sidecar pods {labels}")
    eps = pm["spec"].get("podMetricsEndpoints") or []
    if not check(len(eps) == 1, f"{path}: want one podMetricsEndpoint"):
        return
    ep = eps[0]
    check(ep.get("port") == port_name,
          f"{path}: port {ep.get('port')} is not the container port name {port_name}")
    check(ep.get("path", "/metrics") == "/metrics", f"{path}: path must be /metrics")
    check(ep.get("interval") == "30s", f"{path}: interval must be 30s")
    jobs = [r.get("replacement") for r in ep.get("relabelings", []) if r.get("targetLabel") == "job"]
    # Without a job relabeling the operator names the job <namespace>/<PodMonitor name>.
    job = jobs[-1] if jobs else pm["metadata"]["name"]
    check(job and "kcanary" in job,
          f"{path}: the job ({job}) must contain kcanary for KcanaryDown's job=~\".*kcanary.*\"")


def check_systemd(unit, default, known):
    text = open(unit, encoding="utf-8").read()
    execs = re.findall(r"^ExecStart=(.*)$", text, re.M)
    if check(len(execs) == 1, f"{unit}: want one ExecStart="):
        argv = shlex.split(execs[0])
        check(argv[0] == "/usr/bin/kcanary" and argv[1] == "run",
              f"{unit}: ExecStart must run /usr/bin/kcanary run")
        check_flags(f"{unit} ExecStart", argv[2:], known)
        sd = option_values(argv[2:]).get("--state-dir")
        check(sd in ("${STATE_DIRECTORY}", "/var/lib/kcanary") and argv[-2] == "--state-dir",
              f"{unit}: --state-dir must be systemd's state directory and come last (it wins)")
    check(re.search(r"^StateDirectory=kcanary$", text, re.M), f"{unit}: StateDirectory=kcanary")
    m = re.search(r"^TimeoutStopSec=(\d+)s?$", text, re.M)
    check(m and int(m.group(1)) >= 35, f"{unit}: TimeoutStopSec must be >= 35 s (30 s drain)")
    for line in open(default, encoding="utf-8"):
        m = re.match(r"^#?KCANARY_ARGS=(.*)$", line.strip())
        if m:
            check_flags(f"{default} ({line.strip()})", shlex.split(shlex.split(m.group(1))[0]),
                        known)


def main():
    root, help_file = sys.argv[1:3]
    with open(help_file, encoding="utf-8") as f:
        # option lines: "  -b, --brokers HOST:PORT", "  --state-dir DIR", "  -F FILE"
        pairs = re.findall(r"^\s+(-\w)?(?:, )?(--[\w-]+)?", f.read(), re.M)
    known = {flag for pair in pairs for flag in pair if flag}
    check({"-b", "--state-dir", "--listen", "-F"} <= known,
          f"could not read the flags of `kcanary run --help` ({sorted(known)})")
    found = check_sidecar(f"{root}/deploy/kubernetes/sidecar-example.yaml", known)
    if found:
        check_podmonitor(f"{root}/deploy/kubernetes/podmonitor.yaml", *found)
    check_systemd(f"{root}/deploy/systemd/kcanary.service",
                  f"{root}/deploy/systemd/kcanary.default", known)
    if problems:
        print("FAIL:", *problems, sep="\n  - ", file=sys.stderr)
        sys.exit(1)
    print(f"OK: manifests, unit and defaults ({len(known)} flags known)")


if __name__ == "__main__":
    main()
