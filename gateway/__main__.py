"""python -m gateway [--host 127.0.0.1] [--port 8080]: the HTTP gateway, on uvicorn.

Ctrl-C or SIGTERM: finishes the requests under way, then exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from runtime import logs, process
from runtime.serve import server

log = logs.get("gateway")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m gateway", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    return p


async def serve(host: str, port: int) -> int:
    from gateway import create_app

    running = server(create_app(), host, port)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(running, "should_exit", True))
    print(f"gateway on http://{host}:{port} (OpenAPI: http://{host}:{port}/docs)", flush=True)
    await running.serve()
    log.info("gateway stopped")
    return 0 if running.started else 1


def main() -> None:
    logs.configure()
    args = parser().parse_args()
    process.run(lambda: serve(args.host, args.port))


if __name__ == "__main__":
    main()
