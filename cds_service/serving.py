"""What both production servers need: CDS_* integers, the CPU count, the worker count."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping


def env_int(
    name: str, default: int, minimum: int = 0, environ: Mapping[str, str] = os.environ
) -> int:
    """The integer in variable ``name`` of ``environ``, or ``default`` when unset or empty."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, got {value}")
    return value


def _cgroup_cpu_limit(path: str = "/sys/fs/cgroup/cpu.max") -> float | None:
    """The CPU limit of this container (cgroup v2 quota / period), or None when unlimited."""
    try:
        with open(path, encoding="ascii") as handle:
            quota, period = handle.read().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None


def effective_cpu_count(cgroup_cpu_max: str = "/sys/fs/cgroup/cpu.max") -> int:
    """CPUs this process may use: its affinity mask, capped by a container CPU limit."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    limit = _cgroup_cpu_limit(cgroup_cpu_max)
    if limit is not None:
        cpus = min(cpus, max(1, math.ceil(limit)))
    return max(1, cpus)


def default_workers(cpus: int) -> int:
    """Worker processes for ``cpus`` CPUs: 2 x CPUs + 1, the usual figure for I/O-bound apps."""
    return 2 * cpus + 1
