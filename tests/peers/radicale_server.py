"""A real CalDAV server for tests: Radicale (PyPI) on a loopback port with its storage in
a temporary folder and one user (htpasswd, plain), started and stopped by the test."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

USER = "ana"
PASSWORD = "app-password-0123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Radicale:
    folder: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calendar_url(self, name: str = "work") -> str:
        return f"{self.base_url}/{USER}/{name}/"

    def start(self) -> Radicale:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "users").write_text(f"{USER}:{PASSWORD}\n")
        config = self.folder / "config"
        config.write_text(
            "[server]\n"
            f"hosts = 127.0.0.1:{self.port}\n"
            "[auth]\n"
            "type = htpasswd\n"
            f"htpasswd_filename = {self.folder / 'users'}\n"
            "htpasswd_encryption = plain\n"
            "[storage]\n"
            f"filesystem_folder = {self.folder / 'collections'}\n"
            "[rights]\n"
            "type = owner_only\n"
            "[logging]\n"
            "level = warning\n"
        )
        log = (self.folder / "radicale.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.folder / "radicale.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Radicale did not start in 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def make_calendar(self, name: str = "work") -> str:
        from caldav.davclient import DAVClient

        client = DAVClient(
            url=f"{self.base_url}/{USER}/",
            username=USER,
            password=PASSWORD,
        )
        client.principal().make_calendar(name=name, cal_id=name)
        return self.calendar_url(name)
