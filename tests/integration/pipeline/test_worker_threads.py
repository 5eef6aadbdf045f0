"""A worker's tasks may run in two threads of one process: Celery's solo pool runs a
retried task whose countdown has come in its timer thread while the main thread is
inside another task. Each thread has its own event loop and engine, so neither finds
the other's loop running (the retry was lost with "This event loop is already running")."""

from __future__ import annotations

import asyncio
import threading

from calisera.processes import worker


def test_a_task_in_the_timer_thread_runs_while_the_main_thread_is_inside_one(settings):
    worker.configure(settings)
    main = worker.process_state()
    inside, done = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    async def busy() -> str:
        inside.set()
        await asyncio.to_thread(done.wait, 10)  # the main thread's loop stays running
        return "main"

    def timer_thread() -> None:
        inside.wait(10)
        try:
            state = worker.process_state()
            seen["loop_differs"] = state.loop is not main.loop
            seen["result"] = state.run(asyncio.sleep(0, result="timer"))
        except Exception as exc:  # what the retried task died of before
            seen["error"] = repr(exc)
        finally:
            done.set()

    thread = threading.Thread(target=timer_thread)
    thread.start()
    assert main.run(busy()) == "main"
    thread.join(10)
    assert seen == {"loop_differs": True, "result": "timer"}
    worker.close_process_states()
    worker.configure(settings)
