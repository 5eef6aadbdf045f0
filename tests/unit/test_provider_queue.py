"""calisera.core.locks.ProviderQueue: one turn per provider at a time, in arrival
order, other providers never wait, and nothing is kept once everyone is done."""

from __future__ import annotations

import asyncio
import uuid

from calisera.core.locks import ProviderQueue


async def test_writes_of_one_provider_take_turns_in_arrival_order_and_others_pass():
    queue = ProviderQueue()
    ada, bob = uuid.uuid4(), uuid.uuid4()
    order: list[str] = []
    release = asyncio.Event()

    async def write(provider: uuid.UUID, name: str, hold: bool = False) -> None:
        async with queue.turn(provider):
            order.append(f"{name} in")
            if hold:
                await release.wait()
            order.append(f"{name} out")

    first = asyncio.create_task(write(ada, "a1", hold=True))
    await asyncio.sleep(0)
    later = [asyncio.create_task(write(ada, f"a{i}")) for i in (2, 3)]
    await asyncio.create_task(write(bob, "b1"))  # another provider: not held up
    assert order == ["a1 in", "b1 in", "b1 out"]
    release.set()
    await asyncio.gather(first, *later)
    assert order[3:] == ["a1 out", "a2 in", "a2 out", "a3 in", "a3 out"]
    assert len(queue) == 0


async def test_a_failed_write_gives_up_its_turn():
    queue = ProviderQueue()
    provider = uuid.uuid4()
    try:
        async with queue.turn(provider):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with asyncio.timeout(1):
        async with queue.turn(provider):
            pass
    assert len(queue) == 0
