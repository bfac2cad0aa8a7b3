"""A server that cannot take its port says so, and the program goes on to shut down: uvicorn's
own answer (SystemExit inside its task) once left the demo stuck instead."""

from __future__ import annotations

import asyncio
import socket

import pytest

from runtime.serve import CannotListen, server, start_serving


async def _app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


async def test_a_port_already_taken_is_named_and_the_loop_goes_on():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CannotListen, match=f"127.0.0.1:{port}"):
            await asyncio.wait_for(start_serving(server(_app, "127.0.0.1", port)), timeout=10)
    await asyncio.sleep(0)  # still running: no SystemExit escaped


async def test_a_free_port_is_served_until_told_to_stop():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = server(_app, "127.0.0.1", port)
    task = await asyncio.wait_for(start_serving(running), timeout=10)
    assert running.started and not task.done()
    running.should_exit = True
    await asyncio.wait_for(task, timeout=10)
