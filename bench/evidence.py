"""Evidence measured (part of `make bench`; `python -m bench.evidence`): what the engine does to
each upload once it is on disk (starter/evidence.py `judge`, then kept in a directory store), on
a phone's photo of about 5 MiB (4,000 x 3,000 pixels of noise, so JPEG cannot shrink it), and the
memory a process takes while ten 100 MiB recordings are judged at once (mapped, never read whole).

Not measured here: the HTTP transfer itself (the multipart parser writes the body to a temporary
file a megabyte at a time); the photo's p99 reported is the server's work after the bytes arrived."""

from __future__ import annotations

import argparse
import io
import json
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
        "photo_ms_p99": round(times[max(0, int(len(times) * 0.99) - 1)] * 1000, 1),
        "photos_per_second_per_core": round(1 / statistics.mean(times), 2),
        "recordings": recordings,
        "recording_mib": 100,
        "recordings_seconds": round(took, 2),
        "rss_before_mib": round(before, 1),
        "rss_peak_added_mib": round(peak[0] - before, 1),
        "cores": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.evidence", description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--recordings", type=int, default=10)
    args = parser.parse_args(argv)
    r = measure(args.photos, args.recordings)
    print(
        f"evidence: a {int(str(r['photo_bytes'])) / 2**20:.1f} MiB photo judged and kept in p50 {r['photo_ms_p50']} ms, "
        f"p99 {r['photo_ms_p99']} ms ({r['photos_per_second_per_core']} a second on one core); "
        f"{r['recordings']} recordings of 100 MiB at once in {r['recordings_seconds']} s, "
        f"+{r['rss_peak_added_mib']} MiB at the peak",
        file=sys.stderr,
    )
    print(json.dumps(r))


if __name__ == "__main__":
    main()
