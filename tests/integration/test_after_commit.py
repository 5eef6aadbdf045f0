"""After-commit work: runs only for committed transactions and never fails a committed write."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from calisera.core.after_commit import after_commit
from calisera.core.database import Database
from calisera.core.settings import Settings
from tests.conftest import ADMIN_TOKEN, peer_unavailable
from tests.integration.listing.test_availability_api import make_service, slots


def _failures(job: str) -> float:
    return REGISTRY.get_sample_value("calisera_after_commit_failures_total", {"job": job}) or 0.0


async def test_jobs_run_after_commit_and_are_dropped_on_rollback(database_url: str) -> None:
    db = Database(database_url)
    ran: list[str] = []

    def job(name: str):
        async def run() -> None:
            ran.append(name)

        return run

    try:
        async with db.sessionmaker() as session:
            async with session.begin():
                await session.execute(sa.text("SELECT 1"))
                after_commit(session, job("committed"), name="test")
                assert ran == []  # not before the commit
            assert ran == ["committed"]
            with pytest.raises(RuntimeError):
                async with session.begin():
                    after_commit(session, job("rolled back"), name="test")
                    raise RuntimeError("abort")
            async with session.begin():
                await session.execute(sa.text("SELECT 1"))
        assert ran == ["committed"]
    finally:
        await db.dispose()


async def test_a_failing_job_is_counted_and_the_commit_stands(database_url: str) -> None:
    db = Database(database_url)
    before = _failures("test.failing")

    async def boom() -> None:
        raise ConnectionError("cache down")

    try:
        async with db.sessionmaker() as session, session.begin():
            await session.execute(sa.text("CREATE TABLE after_commit_probe (x int)"))
            after_commit(session, boom, name="test.failing")
        async with db.sessionmaker() as session:
            exists = await session.scalar(sa.text("SELECT to_regclass('after_commit_probe')"))
        assert exists is not None
        assert _failures("test.failing") == before + 1
    finally:
        await db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """A private redis-server on a loopback port that the test may stop and restart."""

    def __init__(self, binary: str, workdir: Path):
        self.binary, self.workdir, self.port = binary, workdir, _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            import time

            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        peer_unavailable("redis-server is not installed (Debian package redis-server)")
    server = RedisServer(str(binary), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _book(client: httpx.AsyncClient, service_id: str, start: str) -> httpx.Response:
    return await client.post(
        "/api/v1/bookings",
        json={
            "service_id": service_id,
            "start": start,
            "customer": {"name": "Ada", "email": "ada@example.com"},
        },
    )


@pytest.mark.redis
async def test_bookings_answer_201_while_redis_is_down_and_the_cache_recovers(
    settings: Settings, redis_server: RedisServer
) -> None:
    from calisera.assembly import build_app

    app = build_app(settings.with_changes(cache_url=redis_server.url))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            _, service = await make_service(c, headers)
            offered = await slots(c, service["id"])
            first, second = offered[0]["start"], offered[1]["start"]
            before = _failures("listing.invalidate")

            redis_server.stop()
            r = await _book(c, service["id"], first)
            assert r.status_code == 201, r.text  # committed: the cache being down is no error
            assert _failures("listing.invalidate") == before + 1

            redis_server.start()
            await asyncio.sleep(0.6)  # longer than the busy-time TTL of any entry written before
            r = await _book(c, service["id"], second)
            assert r.status_code == 201, r.text
            after = {s["start"] for s in await slots(c, service["id"])}
    assert first not in after and second not in after
