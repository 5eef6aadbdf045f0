"""axe-core for accessibility checks in the browser tests: the npm package, pinned,
installed once into the tests' npm cache folder (as ``oauth2-mock-server`` is) and
injected into pages by Playwright (``add_script_tag(content=...)``, which the pages' CSP
does not see because Playwright evaluates it in the page's main world)."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.peers.oidc_server import CACHE, PeerMissing

PACKAGE = "axe-core"
VERSION = "4.10.3"
BLOCKING = ("serious", "critical")


def axe_source() -> str:
    """The text of ``axe.min.js``, installing the package on first use."""
    if not shutil.which("npm"):
        raise PeerMissing("npm is needed for the accessibility checks")
    package_dir = CACHE / "node_modules" / PACKAGE
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = package_dir / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != VERSION:
            done = subprocess.run(
                ["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund",
                 "--save-exact", f"{PACKAGE}@{VERSION}"],
                capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise PeerMissing(f"npm install {PACKAGE}@{VERSION} failed: {done.stderr[-500:]}")
    return Path(package_dir / "axe.min.js").read_text()


async def blocking_violations(page: Any, source: str) -> list[str]:
    """Serious and critical axe violations of the page as it is now, one line each."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(source)
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]
