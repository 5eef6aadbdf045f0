"""CPU seconds and memory of each process of a Calisera run, by role.

A role is what a process is for: ``up`` (or ``serve bookings``), ``relay``,
``worker notifications`` ..., and ``postgres`` (the postmaster and every backend). A
worker's pool children count in their worker's role. CPU is taken from ``cpu_times``
before and after a window, so it stays meaningful on a loaded machine where wall-clock
throughput does not; RSS is sampled, USS (memory only that process holds) beside it,
because forked children share pages that RSS counts twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil


def role_of(proc: psutil.Process) -> str:
    cmd = proc.cmdline()
    if "-m" in cmd and "calisera.cli" in cmd:
        args = cmd[cmd.index("calisera.cli") + 1 :]
    elif cmd and cmd[0].endswith("calisera"):
        args = cmd[1:]
    elif len(cmd) > 1 and cmd[1].endswith("calisera"):
        args = cmd[2:]
    else:
        args = [Path(cmd[0]).name] if cmd else ["?"]
    words = []
    for i, a in enumerate(args):  # positional words only, not options or their values
        if a.startswith("-") or (i and args[i - 1].startswith("--") and "=" not in args[i - 1]):
            continue
        words.append(a)
    if words[:1] in (["up"], ["relay"]):
        return words[0]
    return " ".join(words[:4])


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


@dataclass
class Tree:
    """The processes of one run: Calisera roots (and their children) and PostgreSQL."""

    roots: list[int]
    pgdata: Path | None = None

    def processes(self) -> dict[str, list[psutil.Process]]:
        found: dict[str, list[psutil.Process]] = {}
        for pid in self.roots:
            try:
                root = psutil.Process(pid)
                family = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for proc in family:  # a worker's pool children share its command line
                try:
                    role = role_of(proc)
                except psutil.NoSuchProcess:
                    continue
                if role.startswith("postgres"):  # an embedded server started under a root
                    continue
                found.setdefault(role, []).append(proc)
        if self.pgdata is not None:
            try:
                master = psutil.Process(postmaster_pid(self.pgdata))
                found["postgres"] = [master, *master.children()]
            except (psutil.NoSuchProcess, FileNotFoundError):
                pass
        return found

    def cpu(self) -> dict[str, float]:
        """CPU seconds (user + system) so far, by role, of the live processes."""
        out: dict[str, float] = {}
        for role, procs in self.processes().items():
            out[role] = round(sum(_cpu(p) for p in procs), 3)
        return out

    def memory(self) -> dict[str, dict[str, float]]:
        """RSS and USS in MB by role, and the number of processes."""
        out: dict[str, dict[str, float]] = {}
        for role, procs in self.processes().items():
            rss = uss = 0.0
            for p in procs:
                try:
                    info = p.memory_full_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                rss += info.rss
                uss += info.uss
            out[role] = {
                "processes": len(procs),
                "rss_mb": round(rss / 2**20, 1),
                "uss_mb": round(uss / 2**20, 1),
            }
        return out


def _cpu(proc: psutil.Process) -> float:
    try:
        t = proc.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(t.user + t.system)


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {r: round(after[r] - before.get(r, 0.0), 3) for r in after}


def calisera_total(memory: dict[str, dict[str, float]], key: str = "rss_mb") -> float:
    return round(sum(v[key] for r, v in memory.items() if r != "postgres"), 1)


@dataclass
class PeakMemory:
    """Samples memory in a thread while a load runs; keeps each role's highest RSS."""

    tree: Tree
    interval: float = 1.0
    peak: dict[str, dict[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for role, m in self.tree.memory().items():
                if m["rss_mb"] > self.peak.get(role, {}).get("rss_mb", -1.0):
                    self.peak[role] = m


def per_booking_ms(cpu: dict[str, float], bookings: int) -> dict[str, float]:
    return {r: round(s * 1000 / bookings, 2) for r, s in cpu.items()} if bookings else {}


def sum_roles(values: Iterable[float]) -> float:
    return round(sum(values), 3)
