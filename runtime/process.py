"""Run a program's main coroutine and leave without the interpreter's teardown.

temporalio's Rust runtime keeps threads that can touch the GIL while CPython finalizes, which
aborts the process with `PyGILState_Release: thread state ... must be current` (SIGABRT; see
temporalio/sdk-python#300). Everything is shut down cleanly inside the coroutine; then we flush
and exit directly, so the teardown that races those threads never runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

INTERRUPTED = 130


async def _sigterm_cancels(work: Coroutine[Any, Any, int | None]) -> int | None:
    # SIGTERM cancels the main task, exactly as asyncio does for Ctrl-C, so every `finally`
    # (worker and dev server shutdown) runs; a program may install its own handler instead.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await work


def run_async(work: Coroutine[Any, Any, int | None]) -> int | None:
    """asyncio.run, where Ctrl-C and SIGTERM both end in a clean cancellation: INTERRUPTED then."""
    try:
        return asyncio.run(_sigterm_cancels(work))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return INTERRUPTED


def run(main: Callable[[], Coroutine[Any, Any, int | None]]) -> NoReturn:
    try:
        code = run_async(main()) or 0
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 1
    except BaseException:
        logging.shutdown()
        raise  # a real failure keeps its traceback and the normal exit path
    exit_now(code)


def exit_now(code: int) -> NoReturn:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
