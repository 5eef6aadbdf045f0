"""The HTTP server of a process: every service of ``calisera up`` or the one of
``calisera serve``, on uvicorn."""

from __future__ import annotations

import errno
import socket
from typing import Any


class StartupError(Exception):
    """Something a developer must fix before the process can start; the message says what."""


def ensure_port_free(host: str, port: int) -> None:
    """Fail with a clear message now rather than after migrating and starting workers."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"Port {port} on {host} is already in use (another `calisera up`?). "
                    f"Stop it or choose another port with --port."
                ) from exc
            raise StartupError(f"Cannot listen on {host}:{port}: {exc.strerror}") from exc


def serve_uvicorn(app: Any, *, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        lifespan="on",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise StartupError(f"The HTTP server could not start on {host}:{port}.")
