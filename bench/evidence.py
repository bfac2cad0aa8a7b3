"""Evidence measured (part of `make bench`; `python -m bench.evidence`): what the engine does to
each upload once it is on disk (starter/evidence.py `judge`, then kept in a directory store), on
a phone's photo of about 5 MiB (4,000 x 3,000 pixels of noise, so JPEG cannot shrink it), and the
memory a process takes while ten 100 MiB recordings are judged at once (mapped, never read whole).

With --http (what `make bench` runs), the same over HTTP as an integrator sends them: a dev server, a
worker and the gateway each in a process of its own; a case filed, then the photo uploaded again
and again (each upload timed from the first byte sent to the answer), and ten recordings of 100
MiB uploaded at once while the gateway process's memory is read every 10 ms."""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

from models.evidence import Bounds
from runtime.blobs import DirectoryBlobs
from starter.evidence import judge


def _p99(ordered: list[float]) -> float:
    """The 99th percentile of sorted times: the smallest at or above 99 % of them."""
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


def _rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def phone_photo(seed: int = 1) -> bytes:
    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(seed).integers(0, 256, size=(3000, 4000, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, "JPEG", quality=55)
    return out.getvalue()


def long_call(path: Path, mib: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        silence = b"\x00\x00" * (1 << 19)  # 1 MiB
        for _ in range(mib):
            w.writeframes(silence)


def measure(photos: int, recordings: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="bench-evidence-"))
    store, bounds = DirectoryBlobs(folder / "store"), Bounds(recording=200 << 20)
    photo = folder / "photo.jpg"
    photo.write_bytes(phone_photo())
    times = []
    for _ in range(photos):
        t = time.perf_counter()
        judged = judge(photo, bounds)
        kept = folder / "kept.jpg"
        kept.write_bytes(judged.data or b"")
        store.put(kept)
        times.append(time.perf_counter() - t)
    times.sort()
    calls = [folder / f"call-{i}.wav" for i in range(recordings)]
    for call in calls:
        long_call(call, 100)
    before, peak = _rss_mib(), [0.0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mib())
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    workers = [threading.Thread(target=lambda c=c: store.put(c) if judge(c, bounds) else None) for c in calls]
    t = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    took = time.perf_counter() - t
    done.set()
    watcher.join()
    return {
        "photo_bytes": photo.stat().st_size,
        "photos": photos,
        "photo_ms_p50": round(statistics.median(times) * 1000, 1),
        "photo_ms_p99": round(_p99(times) * 1000, 1),
        "photos_per_second_per_core": round(1 / statistics.mean(times), 2),
        "recordings": recordings,
        "recording_mib": 100,
        "recordings_seconds": round(took, 2),
        "rss_before_mib": round(before, 1),
        "rss_peak_added_mib": round(peak[0] - before, 1),
        "cores": os.cpu_count(),
    }


async def over_http(photos: int, recordings: int) -> dict[str, object]:
    import asyncio

    import httpx

    from bench.gateway import GatewayProcess
    from bench.processes import Process, free_port
    from models import Role
    from runtime import devserver
    from starter import data_converter
    from starter.identities import IdentityStore
    from workflows.search_attributes import KEYS

    folder = Path(tempfile.mkdtemp(prefix="bench-evidence-http-"))
    os.environ["COMPLAINTS_DATA_DIR"] = str(folder)
    port, http_port = free_port(), free_port()
    env = await devserver.start_dev_server(
        data_converter(), search_attributes=KEYS, db_file=folder / "temporal.db", port=port
    )
    environ = {**os.environ, "TEMPORAL_ADDRESS": f"localhost:{port}", "PYTHONUNBUFFERED": "1",
               "COMPLAINTS_RATE_LIMIT": "0", "COMPLAINTS_METRICS_ADDRESS": "off",
               "COMPLAINTS_EVIDENCE_MAX_RECORDING_MIB": "200"}  # fmt: skip
    key = IdentityStore(f"sqlite:///{folder / 'complaints.db'}").add("bench-hotline", Role.dispatcher)
    worker = Process(["worker.py"], environ, folder / "worker.log")
    gateway = GatewayProcess(environ, http_port, folder / "gateway.log")
    photo, calls = phone_photo(), [folder / f"call-{i}.wav" for i in range(recordings)]
    for call in calls:
        long_call(call, 100)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=gateway.base, timeout=300, headers=headers) as h:
            filing = {"complaint": {"channel": "hotline", "complainant": {"name": "陈女士", "phone": "13900000001"},
                      "category": "urban_management", "title": "井盖松动", "description": "井盖松动",
                      "location": {"district": "光明区", "street": "凤凰街道", "community": "塘家社区"}}}  # fmt: skip
            case_id = (await h.post("/v1/cases", json=filing)).json()["case_id"]
            times = []
            for _ in range(photos):
                t = time.perf_counter()
                answer = await h.post(f"/v1/cases/{case_id}/attachments", files={"file": ("p.jpg", photo)})
                times.append(time.perf_counter() - t)
                assert answer.status_code == 201, answer.text
            times.sort()
            before, peak, done = gateway.rss_mib(), [0.0], asyncio.Event()

            async def watch() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], gateway.rss_mib())
                    await asyncio.sleep(0.01)

            async def send(call: Path) -> int:
                with call.open("rb") as f:  # streamed from disk by httpx: the client holds no copy either
                    return (
                        await h.post(f"/v1/cases/{case_id}/attachments", files={"file": (call.name, f)})
                    ).status_code

            watcher = asyncio.create_task(watch())
            t = time.perf_counter()
            statuses = await asyncio.gather(*(send(c) for c in calls))
            took = time.perf_counter() - t
            done.set()
            await watcher
            assert all(s == 201 for s in statuses), statuses
    finally:
        gateway.stop()
        worker.stop()
        await env.shutdown()
    return {
        "http_photo_ms_p50": round(statistics.median(times) * 1000, 1),
        "http_photo_ms_p99": round(_p99(times) * 1000, 1),
        "http_recordings_seconds": round(took, 2),
        "gateway_rss_before_mib": round(before, 1),
        "gateway_rss_peak_added_mib": round(peak[0] - before, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.evidence", description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--recordings", type=int, default=10)
    parser.add_argument("--http", action="store_true", help="also over HTTP, through the gateway's own process")
    args = parser.parse_args(argv)
    r = measure(args.photos, args.recordings)
    if args.http:
        import asyncio

        r |= asyncio.run(over_http(args.photos, args.recordings))
        print(
            f"over HTTP: the photo uploaded and kept in p50 {r['http_photo_ms_p50']} ms, p99 {r['http_photo_ms_p99']} ms; "
            f"{args.recordings} recordings of 100 MiB at once in {r['http_recordings_seconds']} s, the gateway "
            f"+{r['gateway_rss_peak_added_mib']} MiB at the peak (from {r['gateway_rss_before_mib']} MiB)",
            file=sys.stderr,
        )
    print(
        f"evidence: a {int(str(r['photo_bytes'])) / 2**20:.1f} MiB photo judged and kept in p50 {r['photo_ms_p50']} ms, "
        f"p99 {r['photo_ms_p99']} ms ({r['photos_per_second_per_core']} a second on one core); "
        f"{r['recordings']} recordings of 100 MiB at once in {r['recordings_seconds']} s, "
        f"+{r['rss_peak_added_mib']} MiB at the peak",
        file=sys.stderr,
    )
    print(json.dumps(r))
    if args.http:  # the Temporal runtime's threads: leave without the interpreter's teardown
        from runtime import process

        process.exit_now(0)


if __name__ == "__main__":
    main()
