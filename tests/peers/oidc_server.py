"""A real OpenID Connect provider for tests: the npm package ``oauth2-mock-server``
(pinned), installed once into a cache folder and run under node on a loopback port by
``oidc_mock_server.mjs``, which the tests steer through its stdin."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

PACKAGE = "oauth2-mock-server"
VERSION = "9.3.0"
CACHE = Path(os.environ.get("CALISERA_TEST_NPM_CACHE") or Path.home() / ".cache" / "calisera-npm")
SCRIPT = Path(__file__).with_name("oidc_mock_server.mjs")


class PeerMissing(Exception):
    """node or npm is not installed, or the package cannot be installed."""


def install() -> Path:
    """The package's entry module, installed into :data:`CACHE` on first use."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise PeerMissing("node and npm are needed for the OpenID Connect tests")
    package_dir = CACHE / "node_modules" / PACKAGE
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs install once
        manifest = package_dir / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != VERSION:
            done = subprocess.run(
                ["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund",
                 "--save-exact", f"{PACKAGE}@{VERSION}"],
                capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise PeerMissing(f"npm install {PACKAGE}@{VERSION} failed: {done.stderr[-500:]}")
    return package_dir / "dist" / "index.mjs"


class OidcServer:
    """The running provider; :meth:`command` changes what it does next."""

    def __init__(self) -> None:
        module = install()
        self.process = subprocess.Popen(
            ["node", str(SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "OAUTH2_MOCK_SERVER_MODULE": str(module)},
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if not first:
            self.process.wait(timeout=5)
            raise PeerMissing(
                f"the OIDC mock server did not start (exit {self.process.returncode})"
            )
        self.issuer: str = json.loads(first)["issuer"]

    def command(self, cmd: str, **fields: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
