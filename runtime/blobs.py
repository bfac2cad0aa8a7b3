"""Where evidence is kept (issue 38): content-addressed blobs behind one small interface, each
named by the SHA-256 of its bytes, so the same bytes are kept once and a changed file no longer
hashes to its name (the audit's check). Two backends: a directory under the data folder (one
machine), or an S3-compatible store (a cluster: MinIO, Alibaba OSS, Tencent COS, AWS S3).

Nothing here lists a store to anyone: a blob is reached only by its digest, and only the gateway
hands out (signed, short-lived) links to it."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

DIGEST = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 20


class BlobMissing(LookupError):
    """No blob of that digest in the store."""


class Blobs(Protocol):
    def put(self, path: Path) -> str:
        """Keep the file's bytes (once, however often they come); their digest."""
        ...

    def exists(self, digest: str) -> bool: ...

    def open(self, digest: str) -> Iterator[bytes]:
        """The blob's bytes in chunks; BlobMissing when it is not there."""
        ...

    def remove(self, digest: str) -> None:
        """For an operator (and the audit's tests): the blob gone."""
        ...

    def replace(self, digest: str, data: bytes) -> None:
        """For the audit's tests only: other bytes under the same name (a tampered file)."""
        ...


def digest_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def digest_bytes(chunks: Iterator[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def _checked(digest: str) -> str:
    if not DIGEST.fullmatch(digest):
        raise BlobMissing(f"{digest!r} is no SHA-256 digest")
    return digest


class DirectoryBlobs:
    """Blobs as files, root/ab/cd/<digest>: written to a temporary file and renamed, so a reader
    never sees half of one."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str) -> Path:
        digest = _checked(digest)
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, path: Path) -> str:
        digest = digest_of(path)
        target = self._path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        os.close(fd)
        shutil.copyfile(path, temporary)
        os.replace(temporary, target)
        return digest

    def exists(self, digest: str) -> bool:
        try:
            return self._path(digest).is_file()
        except BlobMissing:
            return False

    def open(self, digest: str) -> Iterator[bytes]:
        path = self._path(digest)
        try:
            f = path.open("rb")
        except FileNotFoundError:
            raise BlobMissing(f"no blob {digest}") from None
        with f:
            while chunk := f.read(CHUNK):
                yield chunk

    def remove(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)

    def replace(self, digest: str, data: bytes) -> None:
        self._path(digest).write_bytes(data)


class S3Blobs:
    """Blobs as objects of one bucket (boto3), keyed evidence/<digest>; the bucket is made if absent."""

    def __init__(
        self, bucket: str, *, endpoint_url: str | None = None, prefix: str = "evidence/", **client: Any
    ) -> None:
        import boto3

        self.bucket, self.prefix = bucket, prefix
        self.s3 = boto3.client("s3", endpoint_url=endpoint_url, **client)
        try:
            self.s3.head_bucket(Bucket=bucket)
        except self.s3.exceptions.ClientError:
            self.s3.create_bucket(Bucket=bucket)

    def _key(self, digest: str) -> str:
        return self.prefix + _checked(digest)

    def put(self, path: Path) -> str:
        digest = digest_of(path)
        if not self.exists(digest):
            self.s3.upload_file(str(path), self.bucket, self._key(digest))  # multipart for large files
        return digest

    def exists(self, digest: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self._key(digest))
        except (self.s3.exceptions.ClientError, BlobMissing):
            return False
        return True

    def open(self, digest: str) -> Iterator[bytes]:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self._key(digest))["Body"]
        except self.s3.exceptions.NoSuchKey:
            raise BlobMissing(f"no blob {digest}") from None
        yield from body.iter_chunks(CHUNK)

    def remove(self, digest: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self._key(digest))

    def replace(self, digest: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self._key(digest), Body=data)


def blobs_of(where: str, data_dir: Path) -> Blobs:
    """COMPLAINTS_EVIDENCE_STORE: empty for a directory under the data folder, a path for another
    directory, or s3://bucket (with COMPLAINTS_S3_ENDPOINT for a store other than AWS's, and the
    credentials boto3 finds: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, or a role)."""
    if where.startswith("s3://"):
        bucket = where.removeprefix("s3://").strip("/")
        if not bucket or "/" in bucket:
            raise ValueError(f"COMPLAINTS_EVIDENCE_STORE={where!r}: expected s3://bucket")
        return S3Blobs(bucket, endpoint_url=os.environ.get("COMPLAINTS_S3_ENDPOINT") or None)
    return DirectoryBlobs(Path(where) if where else data_dir / "evidence")
