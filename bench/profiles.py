"""py-spy profiles of every Calisera process while a load runs, summed up as tables.

``record(pids, seconds, folder)`` starts one ``py-spy record --format raw`` per process
(non-blocking sampling, so the profiled process is not paused); ``summarize(path)`` turns
a collapsed-stack file into where the samples went: the share of samples with a library
anywhere on the stack (inclusive) and the functions at the top of the stack (self).
py-spy needs root (or ptrace rights) to attach; without them nothing is recorded.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

LIBRARIES = {
    "logging/structlog": re.compile(r"\((logging|structlog)/"),
    "opentelemetry": re.compile(r"\(opentelemetry/"),
    "prometheus_client": re.compile(r"\(prometheus_client/"),
    "starlette/fastapi": re.compile(r"\((starlette|fastapi)/"),
    "pydantic": re.compile(r"\(pydantic"),
    "sqlalchemy": re.compile(r"\(sqlalchemy/"),
    "psycopg": re.compile(r"\(psycopg"),
    "celery": re.compile(r"\(celery/"),
    "kombu": re.compile(r"\(kombu/"),
    "jinja2": re.compile(r"\(jinja2/"),
    "httpx/httpcore": re.compile(r"\((httpx|httpcore)/"),
    "uvicorn/h11": re.compile(r"\((uvicorn|h11)/"),
    "asyncio": re.compile(r"\(asyncio/"),
    "calisera": re.compile(r"\(calisera/"),
}


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def record(pids: dict[str, int], seconds: float, folder: Path) -> list[subprocess.Popen[bytes]]:
    """One sampler per named process, for ``seconds``; the caller waits for them."""
    exe = py_spy()
    if exe is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    procs = []
    for name, pid in pids.items():
        out = folder / f"{name.replace(' ', '-')}.txt"
        cmd = [exe, "record", "--pid", str(pid), "--duration", str(int(seconds))]
        cmd += ["--rate", "50", "--nonblocking", "--function", "--format", "raw"]
        cmd += ["--output", str(out)]
        log = (folder / f"{name.replace(' ', '-')}.log").open("wb")
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
    return procs


def _stacks(path: Path) -> Counter[str]:
    stacks: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[stack] += int(count)
    return stacks


def summarize(path: Path, top: int = 12) -> dict[str, Any]:
    """Samples, the inclusive share per library and the top self functions."""
    stacks = _stacks(path)
    total = sum(stacks.values())
    if not total:
        return {"samples": 0}
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    for stack, n in stacks.items():
        for lib, pattern in LIBRARIES.items():
            if pattern.search(stack):
                inclusive[lib] += n
        leaf[stack.rsplit(";", 1)[-1]] += n
    return {
        "samples": total,
        "inclusive_pct": {k: round(v * 100 / total, 1) for k, v in inclusive.most_common()},
        "self_pct": {k: round(v * 100 / total, 1) for k, v in leaf.most_common(top)},
    }


def calisera_frames(path: Path, top: int = 12) -> dict[str, float]:
    """The Calisera functions with the most samples below them (inclusive)."""
    stacks = _stacks(path)
    total = sum(stacks.values()) or 1
    found: Counter[str] = Counter()
    for stack, n in stacks.items():
        for frame in set(stack.split(";")):
            if "(calisera/" in frame:
                found[frame] += n
    return {k: round(v * 100 / total, 1) for k, v in found.most_common(top)}
