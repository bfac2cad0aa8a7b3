"""Serve an ASGI app on uvicorn inside our own event loop, stopped by us rather than by uvicorn's
signal handling (which re-raises the signal after shutdown, ending the process with its code)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp


class Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the caller decides what a signal does: set should_exit, or cancel the task


class CannotListen(RuntimeError):
    """The server could not take its address (a port another program holds, say)."""


def server(app: ASGIApp, host: str, port: int) -> Server:
    return Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on"))


async def serve_until_cancelled(running: Server) -> None:
    """Serve; a cancellation (Ctrl-C, SIGTERM through process.run_async) finishes the requests
    under way before it goes on."""
    task = asyncio.ensure_future(running.serve())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        running.should_exit = True
        await task
        raise


async def start_serving(running: Server) -> asyncio.Task[None]:
    """Serve in a task of its own and return once it listens. An address it cannot take raises
    CannotListen here: uvicorn answers that with SystemExit inside its task, which would escape
    the event loop and leave the program stuck shutting down instead of saying why."""

    async def serve() -> None:
        try:
            await running.serve()
        except SystemExit:
            raise CannotListen(_cannot(running)) from None

    task = asyncio.create_task(serve())
    while not running.started:
        if task.done():
            task.result()  # its CannotListen
            raise CannotListen(_cannot(running))
        await asyncio.sleep(0.05)
    return task


def _cannot(running: Server) -> str:
    return f"cannot listen on {running.config.host}:{running.config.port}: is another program using it?"
