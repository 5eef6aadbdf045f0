"""``calisera up``: the whole platform on one machine, in one command.

Starts (or adopts) the embedded PostgreSQL unless ``DATABASE_URL`` is set (and starts it
again should it die while ``up`` runs), migrates every schema, then serves every service
on one port together with the background processes (outbox relay, queue workers) that
:mod:`calisera.processes.supervisor` keeps running.
Local secrets the developer did not configure (admin token, token-signing key) are
generated once and kept in the data dir, so a restart keeps sessions and tokens valid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import structlog

from calisera.core.embedded import EmbeddedPostgres, Watchdog
from calisera.core.settings import Settings
from calisera.core.tokens import load_or_create_private_key
from calisera.processes.server import StartupError, ensure_port_free, serve_uvicorn
from calisera.processes.supervisor import Background, pipeline_metrics_ports

log = structlog.get_logger("calisera.up")


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """One ``up`` per data dir: a second would share (and then stop) the first's database."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "up.lock"
    fh: IO[str] = path.open("a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        fh.seek(0)
        holder = fh.read().strip() or "?"
        fh.close()
        raise StartupError(
            f"Another `calisera up` (pid {holder}) is using {data_dir}; "
            f"stop it or pass another --data-dir."
        ) from exc
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def load_or_create_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    import secrets

    token = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token)
    return token


def local_settings(settings: Settings, *, base_url: str | None = None) -> Settings:
    """Fill in what ``up`` generates for itself in the data dir.

    ``base_url`` is where ``up`` listens; it becomes the public URL (booking links, QR
    codes, e-mails) unless ``CALISERA_PUBLIC_URL`` names another one.
    """
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    update: dict[str, Any] = {"data_dir": data_dir}
    default_public = Settings.model_fields["public_url"].default
    if base_url and settings.public_url == default_public:
        update["public_url"] = base_url
    if not settings.smtp_url:
        update["dev_mailbox"] = True  # e-mail stays on this machine (children inherit it)
    if settings.admin_token is None:
        update["admin_token"] = load_or_create_secret(data_dir / "admin-token")
    if settings.jwt_private_key is None and not settings.jwt_public_keys:
        update["jwt_private_key"] = load_or_create_private_key(data_dir / "jwt-signing-key.pem")
    return settings.with_changes(**update)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run_up(settings: Settings, *, host: str, port: int, background: Background) -> None:
    """Run the platform until SIGINT/SIGTERM; stops everything it started, in order."""
    from calisera.assembly import build_app
    from calisera.core.migrations import upgrade_all

    # SIGTERM must unwind like Ctrl-C so the database is stopped and nothing is orphaned.
    signal.signal(signal.SIGTERM, _terminate)
    ensure_port_free(host, port)
    metrics_ports = (
        pipeline_metrics_ports(background.metrics_base) if background.metrics_base else ()
    )
    for metrics_port in metrics_ports:
        ensure_port_free("127.0.0.1", metrics_port)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    settings = local_settings(settings, base_url=f"http://{shown_host}:{port}")
    embedded: EmbeddedPostgres | None = None
    watchdog: Watchdog | None = None
    with data_dir_lock(settings.data_dir):
        try:
            if settings.database_url is None:
                embedded = EmbeddedPostgres(settings.data_dir)
                url = embedded.start()
                settings = settings.with_changes(database_url=url)
                log.info("embedded_postgres_ready", pgdata=str(embedded.pgdata))
                watchdog = Watchdog(embedded)
                watchdog.start()
            assert settings.database_url is not None
            states = upgrade_all(settings.database_url)
            log.info("migrated", schemas={s.service: s.current for s in states})
            app = build_app(settings)
            background.start(settings)
            _print_banner(settings, host, port, metrics_ports)
            serve_uvicorn(app, host=host, port=port)
        finally:
            if watchdog is not None:  # before anything stops the server on purpose
                watchdog.stop()
            background.stop()
            if embedded is not None:
                embedded.stop()
                log.info("embedded_postgres_stopped")


def _print_banner(
    settings: Settings, host: str, port: int, metrics_ports: tuple[int, ...] = ()
) -> None:
    base = f"http://{host}:{port}"
    metrics = [f"{base}/metrics"] + [f"http://127.0.0.1:{p}/metrics" for p in metrics_ports]
    lines = [
        "",
        "Calisera is starting:",
        f"  API and pages    {base}  (health: {base}/healthz, docs: {base}/api/docs)",
        f"  provider console {base}/console",
        f"  metrics          {'  '.join(metrics)}",
        f"  data dir         {settings.data_dir}",
        f"  admin token      {settings.data_dir / 'admin-token'}",
        "",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)
