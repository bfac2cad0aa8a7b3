"""What an upload is, judged by its content (never its name or header), and what is kept of it
(issue 38). A photo is decoded and encoded again: its EXIF (GPS first: the complainant's home)
is dropped, its orientation applied, its size capped at MAX_SIDE, and a THUMB_SIDE thumbnail
made, so no byte the sender chose is kept (a polyglot's payload does not survive). A document is
a PDF, checked by its structure and refused with active content; a recording is WAV, MP3 or M4A,
checked by its header, with its duration kept. Anything else is refused, and nothing of it kept."""

from __future__ import annotations

import io
import mmap
import re
import struct
import tempfile
import wave
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from models.evidence import Attachment, Bounds, Kind, Purpose
from models.updates import Attach, PublishPhoto
from readmodel.evidence import record_upload, upload_of
from readmodel.schema import shared_engine
from readmodel.tables import UploadRow
from runtime import settings
from runtime.blobs import Blobs, blobs_of

MAX_SIDE = 4096
THUMB_SIDE = 320
MAX_PIXELS = 64_000_000  # Pillow's bomb limit: a 4096 px photo is 16 M; a phone's 50 MP is let in
TRAILING_ALLOWED = 16  # padding some cameras write after a JPEG's end
PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|OpenAction|AA)\b")


class Refused(ValueError):
    """An upload not kept: `status` 413 (too large) or 415 (not a type kept); the message names why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Judged:
    kind: Kind
    media_type: str
    data: bytes | None  # what is kept, re-made (a photo); None: the upload itself is kept as it came
    size: int
    thumbnail: bytes | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None


def sniff(head: bytes) -> tuple[Kind, str] | None:
    """The kind and media type the first bytes say, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.photo, "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind.photo, "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Kind.photo, "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"heim", b"hevc"):
        return Kind.photo, "image/heic"
    if head.startswith(b"%PDF-"):
        return Kind.document, "application/pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Kind.recording, "audio/wav"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return Kind.recording, "audio/mpeg"
    if head[4:8] == b"ftyp" and head[8:12] in (b"M4A ", b"M4B ", b"mp42", b"isom"):
        return Kind.recording, "audio/mp4"
    return None


def judge(path: Path, bounds: Bounds) -> Judged:
    """The upload as it will be kept, or Refused naming why."""
    size = path.stat().st_size
    if size == 0:
        raise Refused(415, "file: empty")
    with path.open("rb") as f:
        head = f.read(64)
    found = sniff(head)
    if found is None:
        raise Refused(415, "file: not a photo (JPEG, PNG, WebP, HEIC), a PDF or a recording (WAV, MP3, M4A)")
    kind, media_type = found
    if size > bounds.of(kind):
        raise Refused(413, f"file: a {kind.value} may be at most {bounds.of(kind) // (1 << 20)} MiB")
    if kind == Kind.photo:
        _trailing(path, media_type)
        return _photo(path, media_type)
    if kind == Kind.document:
        return _pdf(path)
    return _recording(path, media_type)


def _photo(path: Path, media_type: str) -> Judged:
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    if media_type == "image/heic":
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
        except ImportError:
            raise Refused(415, "file: HEIC photos need pillow-heif, not installed here; send JPEG or PNG") from None
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise Refused(415, f"file: {image.width}x{image.height} pixels is a decompression bomb, not a photo")
            image.load()
            upright = ImageOps.exif_transpose(image)
            upright = upright.convert("RGB")
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(415, "file: a decompression bomb, not a photo") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise Refused(415, f"file: not a photo that can be read ({err})") from None
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    return _encoded(upright)


def _encoded(image: Any) -> Judged:
    """A photo as the engine keeps one: JPEG, no metadata of the sender's (no exif=), and its thumbnail."""
    kept, small = io.BytesIO(), io.BytesIO()
    image.save(kept, "JPEG", quality=85, optimize=True)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb.save(small, "JPEG", quality=80)
    data = kept.getvalue()
    return Judged(Kind.photo, "image/jpeg", data, len(data), small.getvalue(), image.width, image.height)


def _trailing(path: Path, media_type: str) -> None:
    """A photo with bytes after its end (a polyglot: a script or an archive riding on an image) is
    refused, not quietly cleaned: whoever sent it meant something else by it."""
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if media_type == "image/jpeg":
            end = data.rfind(b"\xff\xd9")
            extra = len(data) - (end + 2) if end >= 0 else 0
        elif media_type == "image/png":
            end = data.rfind(b"IEND")
            extra = len(data) - (end + 8) if end >= 0 else 0
        elif media_type == "image/webp":
            extra = len(data) - (8 + struct.unpack("<I", data[4:8])[0])
        else:
            extra = 0
    if extra > TRAILING_ALLOWED:
        raise Refused(415, f"file: {extra} bytes after the image's end (a polyglot): not kept")


def _pdf(path: Path) -> Judged:
    """Checked in place (mapped, never read whole into memory), kept as it came."""
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if data.rfind(b"%%EOF", max(0, len(data) - 1024)) < 0 or data.rfind(b"startxref", max(0, len(data) - 2048)) < 0:
            raise Refused(415, "file: not a whole PDF (no trailer): cut off, or another file named .pdf")
        found = PDF_ACTIVE.search(data)  # type: ignore[call-overload]
        if found:
            raise Refused(415, f"file: a PDF with active content ({found.group(0).decode()}) is not kept")
        size = len(data)
    return Judged(Kind.document, "application/pdf", None, size)


def _recording(path: Path, media_type: str) -> Judged:
    """Its header read (mapped, never whole in memory), its duration found; kept as it came."""
    try:
        with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if media_type == "audio/wav":
                duration = _wav(path)
            else:
                duration = {"audio/mpeg": _mp3, "audio/mp4": _m4a}[media_type](data)  # type: ignore[operator]
            size = len(data)
    except (wave.Error, EOFError, struct.error, ValueError) as err:
        raise Refused(415, f"file: not a recording that can be read ({err})") from None
    return Judged(Kind.recording, media_type, None, size, duration_seconds=round(duration, 1))


def _wav(path: Path) -> float:
    with wave.open(str(path)) as w:
        if w.getframerate() <= 0:
            raise ValueError("no frame rate")
        return w.getnframes() / w.getframerate()


# MPEG-1 Layer III bit rates (kbit/s) by the header's index, and sample rates (Hz).
_MP3_RATES = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0]
_MP3_SAMPLES = [44100, 48000, 32000, 0]


def _mp3(data: Any) -> float:
    """Its length from the first frame's bit rate (a constant-rate file's; an estimate otherwise)."""
    start = 0
    if data.startswith(b"ID3"):
        size = data[6:10]
        start = 10 + ((size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3])
    header = data[start : start + 4]
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        raise ValueError("no MPEG frame")
    rate = _MP3_RATES[header[2] >> 4] * 1000
    if not rate or not _MP3_SAMPLES[(header[2] >> 2) & 3]:
        raise ValueError("not an MPEG audio frame")
    return (len(data) - start) * 8 / rate


def _m4a(data: Any) -> float:
    """Its length from the movie header (mvhd: timescale and duration)."""
    at = data.find(b"mvhd")
    if at < 0:
        raise ValueError("no movie header")
    version = data[at + 4]
    if version == 1:
        timescale, duration = struct.unpack(">IQ", data[at + 24 : at + 36])
    else:
        timescale, duration = struct.unpack(">II", data[at + 16 : at + 24])
    if not timescale:
        raise ValueError("no timescale")
    return float(duration) / timescale


def attach_command(case_id: str, cmd: Attach, engine: Engine | None = None) -> Attach:
    """The `attach` update as the case takes it: the upload's own facts (whatever `found` a client
    sent is replaced), or none when the digest names no upload of this case (the case refuses it)."""
    row = upload_of(engine or shared_engine(settings.load().db_url), case_id, cmd.attachment)
    found = (
        None
        if row is None
        else Attachment(
            id=row.digest,
            kind=Kind(row.kind),
            purpose=cmd.purpose,
            media_type=row.media_type,
            size=row.size,
            thumbnail=row.thumbnail,
            width=row.width,
            height=row.height,
            duration_seconds=row.duration_seconds,
        )
    )
    return cmd.model_copy(update={"found": found})


def cover(photo: bytes, box: list[float]) -> Judged:
    """The photo with the box (fractions: left, top, right, bottom) painted black, encoded again:
    a new photo, made from the kept one (already without its EXIF)."""
    from PIL import Image, ImageDraw

    with Image.open(io.BytesIO(photo)) as image:
        covered = image.convert("RGB")
    w, h = covered.size
    ImageDraw.Draw(covered).rectangle(
        (int(box[0] * w), int(box[1] * h), max(int(box[2] * w) - 1, 0), max(int(box[3] * h) - 1, 0)), fill="black"
    )
    return _encoded(covered)


def publish_command(case_id: str, cmd: PublishPhoto, store: Blobs | None, engine: Engine | None = None) -> PublishPhoto:
    """`publish_photo` as the case takes it: with a box, the covered copy made, kept and recorded
    as an upload of the case, its facts in `published` (a client's own replaced)."""
    if cmd.box is None:
        return cmd.model_copy(update={"published": None})
    config = settings.load()
    engine = engine or shared_engine(config.db_url)
    store = store or blobs_of(config.evidence_store, config.data_dir)
    if upload_of(engine, case_id, cmd.attachment) is None:
        return cmd.model_copy(update={"published": None})  # the case refuses it, naming the attachment
    judged = cover(b"".join(store.open(cmd.attachment)), cmd.box)
    with tempfile.TemporaryDirectory(prefix="cover-") as folder:
        kept, small = Path(folder) / "kept", Path(folder) / "thumbnail"
        kept.write_bytes(judged.data or b"")
        small.write_bytes(judged.thumbnail or b"")
        digest, thumbnail = store.put(kept), store.put(small)
    row = UploadRow(
        case_id=case_id, digest=digest, kind="photo", media_type="image/jpeg", size=judged.size, thumbnail=thumbnail,
        width=judged.width, height=judged.height, uploaded_by=cmd.actor.id, at=datetime.now(timezone.utc),
    )  # fmt: skip
    record_upload(engine, row)
    found = Attachment(id=digest, kind=Kind.photo, purpose=Purpose.other, media_type="image/jpeg", size=judged.size,
                       thumbnail=thumbnail, width=judged.width, height=judged.height, public=True)  # fmt: skip
    return cmd.model_copy(update={"published": found})
