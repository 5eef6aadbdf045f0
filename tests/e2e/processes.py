"""Start real Calisera processes for end-to-end tests, and stop them reliably."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from calisera.core.embedded import postmaster_pid as postmaster_pid  # the one up's watchdog uses

ROOT = Path(__file__).resolve().parents[2]
CALISERA = [sys.executable, "-m", "calisera.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def up_port() -> int:
    """A port for ``calisera up`` whose next two are free as well: up serves /metrics of its
    relay and worker on ``--port + 1`` and ``+ 2`` and refuses to start when one is taken
    (a bare free port made the fuzz test fail once in CI)."""
    return free_port_block(3)


def free_port_block(size: int) -> int:
    """A free port whose ``size - 1`` successors are free too."""
    for _ in range(100):
        port = free_port()
        try:
            for offset in range(1, size):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + offset))
            return port
        except OSError:
            continue
    raise RuntimeError(f"no block of {size} free ports")


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before becoming healthy")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy within {timeout}s")


def start_up(
    data_dir: Path, port: int, *, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    environ = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environ.update(env or {})
    environ.setdefault("CALISERA_LOG_JSON", "true")
    log = (data_dir.parent / f"up-{port}.log").open("ab")
    return subprocess.Popen(
        [*CALISERA, "up", "--port", str(port), "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
