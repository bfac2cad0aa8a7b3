"""The evidence store's two backends pass the same tests (issue 38): a directory under the data
folder, and an S3-compatible store, here moto's server mode on a local port, started by the test
(a real HTTP server speaking S3's protocol, as MinIO, OSS or COS would)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.blobs import BlobMissing, Blobs, DirectoryBlobs, S3Blobs, blobs_of, digest_bytes
from tests.support.processes import free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _on_the_local_s3(monkeypatch, endpoint: str) -> None:
    """boto3's settings for moto's server: any credentials, its region, its address."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COMPLAINTS_S3_ENDPOINT", endpoint)


@pytest.fixture(params=["directory", "s3"])
def store(request, tmp_path, s3_endpoint, monkeypatch) -> Blobs:
    if request.param == "directory":
        return DirectoryBlobs(tmp_path / "evidence")
    _on_the_local_s3(monkeypatch, s3_endpoint)
    found = blobs_of(f"s3://evidence-{tmp_path.name.lower().replace('_', '-')[:40]}", tmp_path)
    assert isinstance(found, S3Blobs)
    return found


def test_bytes_are_kept_once_under_their_digest_and_read_back_whole(store: Blobs, tmp_path: Path):
    one, two = tmp_path / "one", tmp_path / "two"
    data = bytes(range(256)) * 5000  # over a chunk: read back in pieces
    one.write_bytes(data)
    two.write_bytes(data)
    digest = store.put(one)
    assert store.put(two) == digest == digest_bytes(iter([data]))
    assert store.exists(digest) and b"".join(store.open(digest)) == data


def test_a_missing_or_malformed_digest_is_missing_and_a_changed_file_no_longer_hashes_to_its_name(
    store: Blobs, tmp_path: Path
):
    path = tmp_path / "photo"
    path.write_bytes(b"a photo's bytes")
    digest = store.put(path)
    store.replace(digest, b"other bytes")  # what the audit must find
    assert digest_bytes(store.open(digest)) != digest
    store.remove(digest)
    assert not store.exists(digest)
    with pytest.raises(BlobMissing):
        list(store.open(digest))
    assert not store.exists("../../etc/passwd")
    with pytest.raises(BlobMissing):
        list(store.open("../../etc/passwd"))


async def test_an_upload_over_http_is_kept_in_and_served_from_the_s3_store(
    client, read_model, tmp_path, s3_endpoint, monkeypatch
):
    import io

    from PIL import Image

    from tests.support.cases import complaint, new_id
    from tests.support.http import app_on, gateway_settings, http, make_identities

    _on_the_local_s3(monkeypatch, s3_endpoint)
    keys = make_identities(tmp_path)
    config = gateway_settings(
        tmp_path, task_queue=client.task_queue, data_dir=tmp_path, evidence_store="s3://over-http"
    )
    photo = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 200, 10)).save(photo, "PNG")
    async with http(app_on(client, read_model, config)) as h:
        case_id = new_id()
        await h.put(f"/v1/cases/{case_id}", json={"complaint": complaint()}, headers=keys["hotline-07"])
        up = await h.post(
            f"/v1/cases/{case_id}/attachments", files={"file": ("p.png", photo.getvalue())}, headers=keys["hotline-07"]
        )
        assert up.status_code == 201, up.text
        digest = up.json()["id"]
        attached = await h.post(
            f"/v1/cases/{case_id}/attach", json={"attachment": digest, "kind": "photo", "purpose": "problem"},
            headers=keys["hotline-07"],
        )  # fmt: skip
        assert attached.status_code == 200, attached.text
        [item] = (await h.get(f"/v1/cases/{case_id}/attachments", headers=keys["sup-wang"])).json()["attachments"]
        served = await h.get(item["url"])
        assert served.status_code == 200 and digest_bytes(iter([served.content])) == digest
    assert S3Blobs("over-http", endpoint_url=s3_endpoint).exists(digest)
    assert not (tmp_path / "evidence").exists()  # nothing on the machine's disk
