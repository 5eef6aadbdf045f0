"""The ``calisera`` command: one entry point for every process of the platform."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from calisera.analytics.cli import app as analytics_app
from calisera.core.logging import configure_logging
from calisera.core.settings import SERVICE_NAMES, Settings

app = typer.Typer(
    name="calisera",
    help="Calisera appointment booking platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(analytics_app, name="analytics")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Local state (embedded PostgreSQL, keys). Env: CALISERA_DATA_DIR. Default ./.calisera",
    ),
]

MetricsPort = Annotated[
    int | None, typer.Option(help="Serve Prometheus /metrics on this port (HOST:PORT/metrics).")
]
MetricsHost = Annotated[
    str, typer.Option(help="Address of the /metrics endpoint (0.0.0.0 in a pod).")
]


def _settings(data_dir: Path | None = None, *, console: bool = False) -> Settings:
    """The process's settings, with logging configured. ``console``: this command may
    log readable lines when a person watches (``up`` on a terminal); the chosen format
    is kept in the settings, so ``up``'s children log the same way."""
    settings = Settings()
    if data_dir is not None:
        settings = settings.with_changes(data_dir=data_dir)
    log_format = settings.log_format
    if log_format is None:
        interactive = console and sys.stderr.isatty()
        log_format = "console" if interactive or not settings.log_json else "json"
        settings = settings.with_changes(log_format=log_format)
    configure_logging(settings.log_level, json=log_format == "json")
    return settings


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"calisera: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for every service.")] = 8000,
    data_dir: DataDir = None,
    workers: Annotated[
        bool, typer.Option(help="Run the outbox relay and the queue workers too.")
    ] = True,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="First /metrics port of the relay and worker (they take it and the next); "
            "default: --port + 1. The services' /metrics is on --port."
        ),
    ] = None,
) -> None:
    """Run everything on this machine: embedded PostgreSQL (unless DATABASE_URL is set),
    migrations, every service on one port, relay and workers."""
    from calisera.processes.server import StartupError
    from calisera.processes.supervisor import Background, pipeline_processes
    from calisera.processes.up import run_up

    settings = _settings(data_dir, console=True)
    first = metrics_port if metrics_port is not None else port + 1
    background = Background(pipeline_processes(first) if workers else [])
    background.metrics_base = first if workers else None
    try:
        run_up(settings, host=host, port=port, background=background)
    except StartupError as exc:
        _fail(str(exc))


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICE_NAMES)}.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    migrate: Annotated[
        bool, typer.Option(help="Apply this service's migrations first instead of refusing.")
    ] = False,
) -> None:
    """Serve one service's API (one Kubernetes Deployment each)."""
    from calisera.assembly import build_app
    from calisera.core.migrations import migrated_services, schema_states, upgrade_all
    from calisera.processes.server import StartupError, serve_uvicorn

    if service not in SERVICE_NAMES:
        _fail(f"unknown service {service!r}; choose one of: {', '.join(SERVICE_NAMES)}", 2)
    settings = _settings()
    if not settings.database_url:
        _fail("DATABASE_URL is not set; `calisera serve` needs a PostgreSQL server.")
    assert settings.database_url
    if service in migrated_services():
        if migrate:
            upgrade_all(settings.database_url, [service])
        state = next(s for s in schema_states(settings.database_url) if s.service == service)
        if state.behind:
            _fail(
                f"schema {service!r} is at revision {state.current or 'none'} but this code needs "
                f"{state.head}; run `calisera migrate` (or pass --migrate)."
            )
    try:
        serve_uvicorn(build_app(settings, [service]), host=host, port=port)
    except StartupError as exc:
        _fail(str(exc))


@app.command()
def migrate(
    check: Annotated[
        bool, typer.Option(help="Only report; exit 1 when a schema is behind.")
    ] = False,
) -> None:
    """Apply every service's migrations, each in its own schema. Idempotent."""
    from calisera.core.migrations import schema_states, upgrade_all

    settings = _settings()
    if not settings.database_url:
        _fail("DATABASE_URL is not set (`calisera up` migrates its embedded database itself).")
    assert settings.database_url
    states = schema_states(settings.database_url) if check else upgrade_all(settings.database_url)
    for s in states:
        mark = "behind" if s.behind else "ok"
        typer.echo(f"{s.service:<15} {s.current or '-':<24} head {s.head:<24} {mark}")
    if check and any(s.behind for s in states):
        raise typer.Exit(1)


@app.command()
def worker(
    queues: Annotated[
        list[str],
        typer.Argument(help="Consumer queue(s): notifications, analytics, listing."),
    ],
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, solo, threads.")] = "prefork",
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Run the Celery worker of one consumer queue (or of several, as `up` does)."""
    from calisera.core.metrics import prepare_multiprocess_dir
    from calisera.processes.worker import run_worker

    prepare_multiprocess_dir()
    run_worker(
        _settings(),
        queues,
        concurrency=concurrency,
        pool=pool,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
    )


@app.command()
def relay(
    once: Annotated[bool, typer.Option(help="Publish what is pending, then exit.")] = False,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
    route: Annotated[
        list[str] | None,
        typer.Option(
            help="consumer=pattern[,pattern...], once per consumer (what `up` passes its "
            "relay); default: the services' consumers, imported."
        ),
    ] = None,
) -> None:
    """Move committed outbox events of every service to the broker."""
    from calisera.processes.relay import run_relay
    from calisera.processes.routing import parse_routes

    try:
        routes = parse_routes(route) if route else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--route") from exc
    run_relay(
        _settings(),
        once=once,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        routes=routes,
    )


dlq = typer.Typer(help="Dead-lettered deliveries: events a consumer failed on repeatedly.")
app.add_typer(dlq, name="dlq")


@dlq.command("list")
def dlq_list(
    consumer: Annotated[str | None, typer.Option(help="Only this consumer queue.")] = None,
) -> None:
    """Show dead-lettered deliveries."""
    from calisera.processes.dead_letters import dead_letters, describe

    for row in dead_letters(_settings(), consumer):
        typer.echo(describe(row))


@dlq.command("replay")
def dlq_replay(
    consumer: Annotated[str | None, typer.Option(help="Only this consumer queue.")] = None,
    event_id: Annotated[str | None, typer.Option(help="Only this event.")] = None,
) -> None:
    """Hand dead-lettered deliveries back to the relay, which publishes them again."""
    from uuid import UUID

    from calisera.processes.dead_letters import replay_dead_letters

    count = replay_dead_letters(_settings(), consumer, UUID(event_id) if event_id else None)
    typer.echo(f"replaying {count} deliveries")


@app.command()
def demo(
    url: Annotated[str, typer.Option(help="Base URL of a running platform.")] = (
        "http://127.0.0.1:8000"
    ),
    data_dir: DataDir = None,
) -> None:
    """Create a realistic demo provider with services, availability and bookings."""
    from calisera.demo import run_demo
    from calisera.processes.up import local_settings

    settings = local_settings(_settings(data_dir))
    typer.echo(run_demo(url, settings))


@app.command()
def token(
    email: Annotated[str, typer.Option(help="E-mail of the user the token is for.")],
    subject: Annotated[str | None, typer.Option(help="User id (default: the e-mail).")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
    data_dir: DataDir = None,
) -> None:
    """Print a development access token signed with the local key of `calisera up`."""
    from calisera.core.tokens import TokenIssuer
    from calisera.processes.up import local_settings

    settings = local_settings(_settings(data_dir))
    if settings.jwt_private_key is None:
        _fail("no signing key: set CALISERA_JWT_PRIVATE_KEY or run `calisera up` once.")
    assert settings.jwt_private_key is not None
    issuer = TokenIssuer(settings.jwt_private_key.get_secret_value())
    typer.echo(issuer.issue(subject or email, email=email, ttl_seconds=ttl))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
