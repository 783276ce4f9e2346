#!/usr/bin/env python3
"""Runs a command under the kernel restrictions a systemd unit asks for, so a
test can prove kcanary works in kcanary.service's sandbox without a running
systemd:

  SystemCallFilter=           allow-list (groups expanded by systemd-analyze),
                              then ~deny-lists; any other syscall KILLS the
                              process (stricter than the unit's EPERM: a test
                              must see every call outside the filter)
  RestrictAddressFamilies=    socket() of another family fails EAFNOSUPPORT,
                              as under systemd
  MemoryDenyWriteExecute=yes  prctl(PR_SET_MDWE): no W+X memory, no exec gain

  sandbox.py UNIT_FILE -- COMMAND [ARG...]

Needs Debian's python3-seccomp (run it with /usr/bin/python3).
"""
import ctypes
import errno
import os
import socket
import subprocess
import sys

import seccomp

PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
AF_MAX = 46  # Linux 6.x; families at or above it fail like unknown ones


def unit_settings(path):
    """[Service] key -> list of values, in file order (repeatable keys)."""
    settings, section = {}, None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]" and "=" in line:
                key, value = line.split("=", 1)
                settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def syscall_groups():
    out = subprocess.run(["systemd-analyze", "syscall-filter"], check=True,
                         capture_output=True, text=True).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.split()[0], [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.split()[0])
    return groups


def expand(names, groups):
    result = set()
    for name in names:
        if name.startswith("@"):
            if name not in groups:
                sys.exit(f"sandbox: unknown syscall group {name}")
            result |= expand(groups[name], groups)
        else:
            result.add(name)
    return result


def allowed_syscalls(filters, groups):
    """systemd's semantics: the first line decides allow- or deny-list mode;
    later ~lines remove from an allow-list."""
    if not filters or filters[0].startswith("~"):
        sys.exit("sandbox: the unit needs an allow-list SystemCallFilter= first")
    allowed = set()
    for value in filters:
        deny = value.startswith("~")
        names = expand(value.lstrip("~").split(), groups)
        allowed = allowed - names if deny else allowed | names
    return allowed


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    unit, command = sys.argv[1], sys.argv[3:]
    settings = unit_settings(unit)
    allowed = allowed_syscalls(settings.get("SystemCallFilter", []), syscall_groups())
    families = {getattr(socket, f) for v in settings.get("RestrictAddressFamilies", [])
                for f in v.split()}
    if not families:
        sys.exit("sandbox: the unit sets no RestrictAddressFamilies=")

    f = seccomp.SyscallFilter(defaction=seccomp.KILL_PROCESS)
    for name in sorted(allowed - {"socket"}):
        try:
            f.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError, OSError):
            pass  # a name this architecture or libseccomp does not know
    if "socket" in allowed:
        for family in range(AF_MAX):
            action = seccomp.ALLOW if family in families else seccomp.ERRNO(errno.EAFNOSUPPORT)
            f.add_rule(action, "socket", seccomp.Arg(0, seccomp.EQ, family))
        f.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.GE, AF_MAX))

    if settings.get("MemoryDenyWriteExecute", ["no"])[-1] == "yes":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
            sys.exit(f"sandbox: prctl(PR_SET_MDWE): {os.strerror(ctypes.get_errno())}")
    f.load()  # also sets no_new_privs, as NoNewPrivileges=yes does
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
