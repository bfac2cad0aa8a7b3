"""Evidence on a case (issue 38) over HTTP, on the session's real time-skipping server: an upload
is judged by its content and re-encoded (a photo's GPS is gone, a PNG comes back a JPEG with its
thumbnail), a lie, a bomb, a PDF with JavaScript and a cut-off upload are refused with nothing
kept, `attach` records the digest in the case's chain, and only those who see the case's
personal data get addresses, which stop working when they expire."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from readmodel.evidence_links import grant
from runtime.blobs import DirectoryBlobs, digest_bytes
from tests.support.cases import complaint, new_id
from tests.support.http import app_on, gateway_settings, http, make_identities

GPS = 0x8825  # the EXIF tag of the GPS block


def jpeg_with_gps(width: int = 800, height: int = 600) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated 90°, which the kept photo applies
    exif[GPS] = {1: "N", 2: (22.0, 46.0, 12.0), 3: "E", 4: (113.0, 56.0, 2.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (1200, 900), (0, 120, 200, 255)).save(out, "PNG")
    return out.getvalue()


def bomb() -> bytes:
    """A PNG that says 20,000 x 20,000 pixels (400 M), a few KiB on the wire."""
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
async def gw(client, read_model, tmp_path):
    keys = make_identities(tmp_path)
    config = gateway_settings(tmp_path, task_queue=client.task_queue, data_dir=tmp_path)
    async with http(app_on(client, read_model, config)) as h:
        yield h, keys, tmp_path


async def _case(h, keys) -> str:
    case_id = new_id()
    filed = await h.put(f"/v1/cases/{case_id}", json={"complaint": complaint()}, headers=keys["hotline-07"])
    assert filed.status_code == 201, filed.text
    return case_id


async def _upload(h, keys, case_id: str, data: bytes, name: str = "photo.jpg", who: str = "hotline-07"):
    return await h.post(
        f"/v1/cases/{case_id}/attachments", files={"file": (name, data, "image/jpeg")}, headers=keys[who]
    )


async def test_a_photo_comes_back_without_its_gps_upright_and_with_a_thumbnail_and_its_digest_is_chained(gw):
    h, keys, folder = gw
    case_id = await _case(h, keys)
    sent = jpeg_with_gps()
    up = await _upload(h, keys, case_id, sent)
    assert up.status_code == 201, up.text
    facts = up.json()
    assert facts["kind"] == "photo" and facts["media_type"] == "image/jpeg" and facts["thumbnail"]
    assert (facts["width"], facts["height"]) == (600, 800)  # the orientation applied
    again = await _upload(h, keys, case_id, sent)  # the same bytes: the same id, kept once
    assert again.status_code == 201 and again.json()["id"] == facts["id"]
    attached = await h.post(
        f"/v1/cases/{case_id}/attach",
        json={"attachment": facts["id"], "kind": "photo", "purpose": "problem"},
        headers=keys["hotline-07"],
    )
    assert attached.status_code == 200, attached.text
    [event] = [e for e in attached.json()["timeline"] if e["kind"] == "attached"]
    assert event["detail"]["digest"] == facts["id"] and attached.json()["chain_head"]
    listed = (await h.get(f"/v1/cases/{case_id}/attachments", headers=keys["sup-wang"])).json()["attachments"]
    [item] = listed
    kept = await h.get(item["url"])
    assert kept.status_code == 200 and kept.headers["x-content-type-options"] == "nosniff"
    assert "inline" in kept.headers["content-disposition"] and kept.headers["content-type"] == "image/jpeg"
    assert digest_bytes(iter([kept.content])) == facts["id"]
    photo = Image.open(io.BytesIO(kept.content))
    assert GPS not in photo.getexif() and not photo.getexif()  # no EXIF at all: GPS first
    thumb = Image.open(io.BytesIO((await h.get(item["thumbnail_url"])).content))
    assert max(thumb.size) == 320
    # An auditor sees the list, never the file; an expired address serves nothing.
    audited = (await h.get(f"/v1/cases/{case_id}/attachments", headers=keys["audit-zhao"])).json()["attachments"]
    assert audited[0]["url"] is None and audited[0]["id"] == facts["id"]
    keyring = h._transport.app.state.gateway.links.keyring  # type: ignore[attr-defined]
    old = grant(keyring, case_id, facts["id"], "sup-wang", now=datetime.now(timezone.utc) - timedelta(minutes=11))
    assert (await h.get(f"/v1/evidence/{old}")).status_code == 403
    assert (await h.get(item["url"].replace(item["url"][-6:], "AAAAAA"))).status_code == 403
    stored = DirectoryBlobs(folder / "evidence")
    assert stored.exists(facts["id"]) and not stored.exists(digest_bytes(iter([sent])))  # the original is gone


async def test_a_png_or_an_iphones_heic_becomes_a_jpeg_with_its_thumbnail_and_a_path_in_a_name_is_refused(gw):
    import pillow_heif

    h, keys, _ = gw
    case_id = await _case(h, keys)
    up = await _upload(h, keys, case_id, png(), name="scan.png")
    assert up.status_code == 201 and up.json()["media_type"] == "image/jpeg" and up.json()["thumbnail"]
    pillow_heif.register_heif_opener()
    heic = io.BytesIO()
    Image.new("RGB", (1008, 756), (30, 90, 160)).save(heic, "HEIF")
    up = await _upload(h, keys, case_id, heic.getvalue(), name="IMG_0042.HEIC")
    assert up.status_code == 201, up.text
    assert up.json()["media_type"] == "image/jpeg" and up.json()["thumbnail"] and up.json()["width"] == 1008
    named = await _upload(h, keys, case_id, png(), name="../../etc/cron.d/x.png")
    assert named.status_code == 422 and "path" in named.json()["detail"]


@pytest.mark.parametrize(
    ("data", "status", "why"),
    [
        (b"<?php system($_GET['c']); ?>", 415, "not a photo"),  # a script named .jpg
        (bomb(), 415, "decompression bomb"),
        (jpeg_with_gps()[:2000], 415, "not a photo that can be read"),  # cut off mid-stream
        (
            b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\nstartxref\n0\n%%EOF",
            415,
            "active content",
        ),
        (b"%PDF-1.4\n1 0 obj", 415, "not a whole PDF"),
        (b"", 415, "empty"),
        (
            jpeg_with_gps() + b"PK\x03\x04<?php system($_GET['c']); ?>" * 4,
            415,
            "polyglot",
        ),  # a script riding on a photo
    ],
    ids=["script-as-jpg", "bomb", "cut-off", "pdf-with-javascript", "pdf-cut-off", "empty", "polyglot"],
)
async def test_a_file_that_lies_a_bomb_or_a_cut_off_one_is_refused_and_nothing_is_kept(gw, data, status, why):
    h, keys, folder = gw
    refused = await _upload(h, keys, await _case(h, keys), data)
    assert refused.status_code == status and why in refused.json()["detail"], refused.text
    assert not any(p.is_file() for p in (folder / "evidence").rglob("*")) if (folder / "evidence").exists() else True


async def test_attach_refuses_a_digest_of_no_upload_another_cases_upload_and_a_kind_the_sender_may_not(gw):
    h, keys, _ = gw
    ours, theirs = await _case(h, keys), await _case(h, keys)
    theirs_photo = (await _upload(h, keys, theirs, png())).json()["id"]

    async def attach(case_id: str, body: dict, who: str = "hotline-07"):
        return await h.post(f"/v1/cases/{case_id}/attach", json=body, headers=keys[who])

    nothing = await attach(ours, {"attachment": "0" * 64, "kind": "photo", "purpose": "problem"})
    assert nothing.status_code == 409 and "names no upload of this case" in nothing.text, nothing.text
    elsewhere = await attach(ours, {"attachment": theirs_photo, "kind": "photo", "purpose": "problem"})
    assert elsewhere.status_code == 409 and "names no upload of this case" in elsewhere.text
    mine = (await _upload(h, keys, ours, png())).json()["id"]
    after = await attach(ours, {"attachment": mine, "kind": "photo", "purpose": "after"})  # the hotline: no 整改 photo
    assert after.status_code == 409 and "purpose" in after.text, after.text
    wrong_kind = await attach(ours, {"attachment": mine, "kind": "recording", "purpose": "call"})
    assert wrong_kind.status_code == 409 and "the upload is a photo" in wrong_kind.text
    lied = await attach(ours, {"attachment": mine, "kind": "photo", "purpose": "problem",
                              "found": {"id": mine, "kind": "photo", "purpose": "problem", "media_type": "text/html", "size": 1}})  # fmt: skip
    assert lied.status_code == 200 and lied.json()["attachments"][0]["media_type"] == "image/jpeg"  # the engine's facts
    unseen = await h.post(
        f"/v1/cases/no-{ours}/attachments", files={"file": ("a.png", png())}, headers=keys["hotline-07"]
    )
    assert unseen.status_code == 404


def test_the_same_bytes_are_kept_once_under_their_digest(tmp_path: Path):
    store = DirectoryBlobs(tmp_path / "evidence")
    one, two = tmp_path / "a", tmp_path / "b"
    one.write_bytes(b"same bytes")
    two.write_bytes(b"same bytes")
    assert store.put(one) == store.put(two) and len([p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]) == 1


async def test_urban_management_resolves_only_with_an_after_photo_attached(gw):
    """The policy's rule (sla/policies.py AFTER_PHOTO_TO_RESOLVE, edition 12): refused by name, then
    resolved once the unit attached its photo of the result."""
    h, keys, _ = gw
    case_id = new_id()
    filed = await h.put(
        f"/v1/cases/{case_id}", json={"complaint": complaint(category="urban_management")}, headers=keys["hotline-07"]
    )
    assert filed.status_code == 201, filed.text
    unit = "光明区教育局"  # edu-li's unit: the handler at hand
    assert (
        await h.post(f"/v1/cases/{case_id}/dispatch", json={"department": unit}, headers=keys["hotline-07"])
    ).status_code == 200
    assert (
        await h.post(f"/v1/cases/{case_id}/record_contact", json={"note": "已联系"}, headers=keys["edu-li"])
    ).status_code == 200
    refused = await h.post(f"/v1/cases/{case_id}/resolve", json={"resolution": "已修复"}, headers=keys["edu-li"])
    assert refused.status_code == 409 and "AFTER_PHOTO_TO_RESOLVE" in refused.text, refused.text
    photo = (await _upload(h, keys, case_id, png(), who="edu-li")).json()["id"]
    before = await h.post(
        f"/v1/cases/{case_id}/attach",
        json={"attachment": photo, "kind": "photo", "purpose": "before"},
        headers=keys["edu-li"],
    )
    assert before.status_code == 200
    still = await h.post(f"/v1/cases/{case_id}/resolve", json={"resolution": "已修复"}, headers=keys["edu-li"])
    assert still.status_code == 409  # a photo from before is no proof of the result
    after = await h.post(
        f"/v1/cases/{case_id}/attach",
        json={"attachment": photo, "kind": "photo", "purpose": "after"},
        headers=keys["edu-li"],
    )
    assert after.status_code == 200, after.text
    done = await h.post(f"/v1/cases/{case_id}/resolve", json={"resolution": "已修复"}, headers=keys["edu-li"])
    assert done.status_code == 200 and done.json()["status"] == "resolved", done.text


def wav(seconds: float = 2.0) -> bytes:
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\nxref\n0 1\ntrailer << /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"


async def test_a_call_recording_and_a_pdf_are_kept_as_they_came_with_their_facts(gw):
    """A recording is read by its header (its duration kept), a PDF by its structure; both are kept
    byte for byte, so the id is the digest of what was sent."""
    h, keys, _ = gw
    case_id = await _case(h, keys)
    call = wav(2.5)
    up = await _upload(h, keys, case_id, call, name="call.wav")
    assert up.status_code == 201 and up.json()["kind"] == "recording" and up.json()["duration_seconds"] == 2.5
    assert up.json()["id"] == digest_bytes(iter([call]))
    attached = await h.post(
        f"/v1/cases/{case_id}/attach", json={"attachment": up.json()["id"], "kind": "recording", "purpose": "call"},
        headers=keys["hotline-07"],
    )  # fmt: skip
    assert attached.status_code == 200, attached.text
    doc = await _upload(h, keys, case_id, PDF, name="letter.pdf")
    assert (
        doc.status_code == 201
        and doc.json()["media_type"] == "application/pdf"
        and doc.json()["id"] == digest_bytes(iter([PDF]))
    )


async def test_the_attached_webhook_event_carries_the_files_facts_and_a_signed_address_for_clear_eyes(gw, read_model):
    import uuid
    from urllib.parse import urlsplit

    from models import Actor, Role
    from readmodel.webhooks import Webhooks
    from starter.codec import keyring_from_settings
    from tests.support.receiver import Receiver

    h, keys, _ = gw
    store, run = Webhooks(read_model.engine, keyring_from_settings()), uuid.uuid4().hex[:6]
    clear, masked = Receiver(), Receiver()
    names = [f"evidence-sup-{run}", f"evidence-audit-{run}"]
    store.add(names[0], Actor(id="sup-wang", role=Role.supervisor), clear.url, ["attached"])
    store.add(names[1], Actor(id="audit-zhao", role=Role.auditor), masked.url, ["attached"])
    try:
        case_id = await _case(h, keys)
        photo = (await _upload(h, keys, case_id, png())).json()["id"]
        body = {"attachment": photo, "kind": "photo", "purpose": "problem"}
        assert (await h.post(f"/v1/cases/{case_id}/attach", json=body, headers=keys["hotline-07"])).status_code == 200
        await clear.wait(lambda: clear.delivered(case_id))
        await masked.wait(lambda: masked.delivered(case_id))
        told = clear.delivered(case_id)[0].message["data"]
        assert told["attachment"]["id"] == photo and told["attachment"]["media_type"] == "image/jpeg"
        fetched = await h.get(urlsplit(told["attachment"]["url"]).path)
        assert fetched.status_code == 200 and digest_bytes(iter([fetched.content])) == photo
        assert "attachment" not in masked.delivered(case_id)[0].message["data"]  # an auditor: the facts only
        assert masked.delivered(case_id)[0].message["data"]["event"]["detail"]["digest"] == photo
    finally:
        for name in names:
            store.remove(name)
        clear.close()
        masked.close()


@pytest.fixture
def photo_host():
    """A host serving a phone's photo (with GPS), and one that redirects to it."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    photo = jpeg_with_gps()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/photo.jpg":
                self.send_response(200)
                self.send_header("content-type", "image/jpeg")
                self.send_header("content-length", str(len(photo)))
                self.end_headers()
                self.wfile.write(photo)
            else:  # a redirect: never followed
                self.send_response(302)
                self.send_header("location", "/photo.jpg")
                self.send_header("content-length", "0")
                self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_open311s_media_url_is_fetched_once_and_kept_as_the_problems_photo_and_a_redirect_is_not(
    gw, client, photo_host
):
    import asyncio

    from starter import state
    from tests.support.cases import unique_phone

    h, keys, _ = gw

    async def post(media_url: str) -> str:
        form = {
            "api_key": keys.by_id["hotline-07"], "service_code": "urban_management", "description": "井盖松动",
            "first_name": "女士", "last_name": "陈", "phone": unique_phone(), "media_url": media_url,
            "lat": "22.7712", "long": "113.9425",
            "attribute[district]": "光明区", "attribute[street]": "凤凰街道", "attribute[community]": "塘家社区",
        }  # fmt: skip
        created = await h.post("/open311/v2/requests.json", data=form)
        assert created.status_code == 200, created.text
        return str(created.json()[0]["service_request_id"])

    kept, moved = await post(f"{photo_host}/photo.jpg"), await post(f"{photo_host}/moved")
    for _ in range(100):
        s = await state(client, kept)
        if s.attachments:
            break
        await asyncio.sleep(0.05)
    [photo] = s.attachments
    assert (photo.kind, photo.purpose, photo.media_type) == ("photo", "problem", "image/jpeg")
    served = (await h.get(f"/v1/cases/{kept}/attachments", headers=keys["sup-wang"])).json()["attachments"][0]
    assert GPS not in Image.open(io.BytesIO((await h.get(served["url"])).content)).getexif()
    await asyncio.sleep(0.5)
    assert not (await state(client, moved)).attachments  # a redirect is not followed: no photo, the case filed


def test_the_engine_fetches_from_public_hosts_only():
    from gateway.evidence import public_host

    for url in ("http://10.1.2.3/a.jpg", "http://192.168.1.1/a.jpg", "http://169.254.169.254/latest", "http://[::1]/a"):
        assert public_host(url, frozenset()), url  # the city's own network, the cloud's metadata
    assert "user or password" in (public_host("https://u:p@example.com/a.jpg", frozenset()) or "")
    assert public_host("ftp://example.com/a.jpg", frozenset())
    assert public_host("http://127.0.0.1:8000/a.jpg", frozenset({"127.0.0.1"})) is None  # the operator allows it


async def test_a_supervisor_makes_a_photo_public_with_a_face_covered_and_open311_shows_only_that(gw, read_model):
    """publish_photo with a box: a new, covered photo is made and shown (its digest in the chain
    too); the original stays private; Open311's media_url serves the covered one and nothing else."""
    import asyncio
    from urllib.parse import urlsplit

    h, keys, _ = gw
    case_id = await _case(h, keys)
    original = (await _upload(h, keys, case_id, png())).json()["id"]
    body = {"attachment": original, "kind": "photo", "purpose": "problem"}
    assert (await h.post(f"/v1/cases/{case_id}/attach", json=body, headers=keys["hotline-07"])).status_code == 200
    refused = await h.post(
        f"/v1/cases/{case_id}/publish_photo", json={"attachment": original}, headers=keys["hotline-07"]
    )
    assert refused.status_code == 403  # a supervisor's call
    lied = {"attachment": original, "box": [0.0, 0.0, 0.5, 0.5], "published": {"id": "0" * 64, "kind": "photo",
            "purpose": "other", "media_type": "image/jpeg", "size": 1}}  # fmt: skip
    shown = await h.post(f"/v1/cases/{case_id}/publish_photo", json=lied, headers=keys["sup-wang"])
    assert shown.status_code == 200, shown.text
    [event] = [e for e in shown.json()["timeline"] if e["kind"] == "photo_published"]
    covered = event["detail"]["digest"]
    assert covered not in (original, "0" * 64) and event["detail"]["original"] == original  # the engine's copy
    public = [a for a in shown.json()["attachments"] if a["public"]]
    assert [a["id"] for a in public] == [covered]
    for _ in range(100):
        [request] = (await h.get("/open311/v2/requests.json", params={"service_request_id": case_id})).json()
        if request["media_url"]:
            break
        await asyncio.sleep(0.05)
    media = await h.get(urlsplit(request["media_url"]).path)
    assert media.status_code == 200 and media.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(media.content)).convert("RGB")
    assert image.getpixel((10, 10)) == (0, 0, 0) and image.getpixel((image.width - 10, image.height - 10)) != (0, 0, 0)
    assert (await h.get(f"/open311/v2/media/{case_id}/{original}.jpg")).status_code == 404  # the original: private


async def test_a_complaint_is_filed_with_its_photos_in_one_request_and_never_lost_for_a_bad_one(gw):
    import json

    h, keys, _ = gw
    filing = json.dumps({"complaint": complaint(title="井盖松动", category="urban_management")}, ensure_ascii=False)
    answer = await h.post(
        "/v1/cases/with-evidence",
        data={"filing": filing, "purpose": ["problem", "problem"]},
        files=[("file", ("scene.png", png(), "image/png")), ("file", ("scene.jpg", b"<?php echo 1; ?>", "image/jpeg"))],
        headers=keys["hotline-07"],
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert answer.headers["location"] == f"/v1/cases/{body['case_id']}"
    assert [a["purpose"] for a in body["attachments"]] == ["problem"] and body["attachments"][0][
        "media_type"
    ] == "image/jpeg"
    assert [r["file"] for r in body["refused"]] == ["scene.jpg"] and "not a photo" in body["refused"][0]["why"]
    broken = await h.post("/v1/cases/with-evidence", data={"filing": "{not json"}, headers=keys["hotline-07"])
    assert broken.status_code == 422 and "filing" in broken.text


async def test_a_body_past_the_largest_file_is_cut_off_before_it_reaches_the_disk(client, read_model, tmp_path):
    """The bound is read before the handler spools anything: a declared length over it is 413 at
    once, and a streamed body is cut off once it passes it (the client treated as gone)."""
    keys = make_identities(tmp_path)
    config = gateway_settings(
        tmp_path, task_queue=client.task_queue, data_dir=tmp_path,
        evidence_max_photo_mib=1, evidence_max_document_mib=1, evidence_max_recording_mib=1,
    )  # fmt: skip
    async with http(app_on(client, read_model, config)) as h:
        case_id = await _case(h, keys)
        big = b"\xff\xd8\xff" + b"0" * (3 << 20)
        declared = await _upload(h, keys, case_id, big)
        assert declared.status_code == 413 and "2 MiB" in declared.json()["detail"], declared.text

        async def streamed():
            boundary = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
            yield boundary
            for _ in range(3):
                yield b"0" * (1 << 20)
            yield b"\r\n--x--\r\n"

        headers = keys["hotline-07"] | {"content-type": "multipart/form-data; boundary=x"}
        cut = await h.post(f"/v1/cases/{case_id}/attachments", content=streamed(), headers=headers)
        assert cut.status_code == 413, cut.text
    assert not (tmp_path / "evidence").exists()
