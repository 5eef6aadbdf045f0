"""Named crash points for the fault tests: ``CALISERA_FAULT_POINTS=a,b`` makes the
process SIGKILL itself when it reaches one of them, so a test can stop a process at an
exact instant (after the SMTP server accepted, before the send is recorded). Unset (the
default, and always in production) the set is empty and a point is one membership test.
"""

from __future__ import annotations

import os
import signal

_ARMED = frozenset(p.strip() for p in os.environ.get("CALISERA_FAULT_POINTS", "").split(",") if p)


def fault_point(name: str) -> None:
    """Die here, at once and uncleanly, if the environment armed ``name``."""
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
