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


def terminate_like_ctrl_c(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM takes the same clean way out as Ctrl-C


def run(main: Callable[[], Coroutine[Any, Any, int | None]]) -> NoReturn:
    signal.signal(signal.SIGTERM, terminate_like_ctrl_c)
    try:
        code = asyncio.run(main()) or 0
    except KeyboardInterrupt:
        code = 130
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
