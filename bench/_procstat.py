"""What the processes of a benchmark use, read from /proc: CPU per process tree, the CPU of
everything else on the machine ("foreign", the noise), and the peak RSS of each process."""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    ppid: int
    cpu_s: float
    name: str


def snapshot() -> dict[int, Proc]:
    """Every process on the machine: its parent, CPU seconds used so far and name."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        # the name may hold spaces and parentheses: the fields start after the last ")"
        close = text.rfind(")")
        fields = text[close + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
        table[int(entry)] = Proc(int(fields[1]), cpu, text[text.find("(") + 1 : close])
    return table


def descendants(table: dict[int, Proc], root: int) -> list[int]:
    """`root` and every process below it in `table`."""
    children: dict[int, list[int]] = {}
    for pid, proc in table.items():
        children.setdefault(proc.ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return sorted(found)


def rss_mb(pid: int) -> float | None:
    """The resident set size of `pid` now, in MB (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Usage:
    """CPU % per process of each tree, wrk's and the foreign CPU %, each process's peak RSS."""

    cpu_pct: dict[str, list[float]] = field(default_factory=dict)
    rss_peak_mb: dict[str, list[float]] = field(default_factory=dict)
    wrk_pct: float = 0.0
    foreign_pct: float = 0.0
    foreign_top: list[tuple[float, str]] = field(default_factory=list)


@contextmanager
def watching(trees: dict[str, int], interval: float = 0.25) -> Iterator[Usage]:
    """Account for the block: CPU of each named tree (by its root pid), foreign CPU, peak RSS.

    The usage is filled in when the block ends. "Foreign" counts every process outside the
    trees but this one and the children it reaps in the block (wrk, counted apart): a
    measurement with much of it is noise.
    """
    usage = Usage()
    reaped = _reaped_cpu()
    before = snapshot()
    members = [pid for root in trees.values() for pid in descendants(before, root)]
    peaks: dict[int, float] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_rss, args=(members, peaks, stop, interval))
    started = time.monotonic()
    sampler.start()
    try:
        yield usage
    finally:
        stop.set()
        sampler.join()
        wall = time.monotonic() - started
        after = snapshot()
        _account(usage, trees, before, after, peaks, wall)
        usage.wrk_pct = round(100 * (_reaped_cpu() - reaped) / wall, 1)


def _reaped_cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def _sample_rss(
    pids: list[int], peaks: dict[int, float], stop: threading.Event, interval: float
) -> None:
    while True:
        for pid in pids:
            now = rss_mb(pid)
            if now is not None:
                peaks[pid] = max(now, peaks.get(pid, 0.0))
        if stop.wait(interval):
            return


def _account(
    usage: Usage,
    trees: dict[str, int],
    before: dict[int, Proc],
    after: dict[int, Proc],
    peaks: dict[int, float],
    wall: float,
) -> None:
    ours = {os.getpid()}
    for name, root in trees.items():
        members = sorted(set(descendants(before, root)) | set(descendants(after, root)))
        ours.update(members)
        usage.cpu_pct[name] = [
            round(100 * (after[pid].cpu_s - _cpu(before, pid)) / wall, 1)
            for pid in members
            if pid in after
        ]
        usage.rss_peak_mb[name] = [round(peaks[pid], 1) for pid in members if pid in peaks]
    foreign = []
    for pid, proc in after.items():
        used = proc.cpu_s - _cpu(before, pid)  # a new process: all its CPU is in the window
        if pid not in ours and used > 0.01:
            foreign.append((round(100 * used / wall, 1), proc.name))
    usage.foreign_pct = round(sum(pct for pct, _ in foreign), 1)
    usage.foreign_top = sorted(foreign, reverse=True)[:4]


def _cpu(table: dict[int, Proc], pid: int) -> float:
    proc = table.get(pid)
    return proc.cpu_s if proc else 0.0
