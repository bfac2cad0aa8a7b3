"""Settings from the environment, in one place. Every name is documented in the README."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# The shipped configuration (calendar overrides, notice templates, the simulator's sample) is
# package data of `runtime`: found here in an editable checkout and in an installed wheel alike.
CONFIG_DIR = Path(__file__).resolve().parent / "config"


@dataclass(frozen=True)
class Settings:
    temporal_address: str | None  # TEMPORAL_ADDRESS; unset: the embedded dev server
    namespace: str  # TEMPORAL_NAMESPACE
    task_queue: str  # COMPLAINTS_TASK_QUEUE
    data_dir: Path  # COMPLAINTS_DATA_DIR: the dev server's SQLite file and other local state
    calendar_file: Path  # COMPLAINTS_CALENDAR_FILE: extra holidays and working days (TOML)
    notifier: str  # COMPLAINTS_NOTIFIER: "log", or "module:factory" returning a Sender
    dev_server_port: int  # COMPLAINTS_DEV_PORT
    dev_ui_port: int  # COMPLAINTS_DEV_UI_PORT
    db_url: str  # COMPLAINTS_DB_URL: the read model; default a SQLite file in the data folder
    phone_key: str | None  # COMPLAINTS_PHONE_KEY: the key of the phone hash; default a file in the data folder
    sms_url: str | None  # COMPLAINTS_SMS_URL: an SMS gateway taking JSON over HTTP POST
    sms_token: str | None  # COMPLAINTS_SMS_TOKEN: its bearer token
    warn_at: tuple[float, ...] | None  # COMPLAINTS_WARN_AT: "0.5,0.75" warns at half time too; default per policy
    codec_keys: str | None  # COMPLAINTS_CODEC_KEYS: "id:base64key,..." (first encrypts); default a dev key file
    sandbox: bool  # COMPLAINTS_WORKFLOW_SANDBOX=1: run workflows in the SDK's sandbox (the tests do; default off)
    identities_url: str  # COMPLAINTS_IDENTITIES_URL: the database of identities; default COMPLAINTS_DB_URL
    identities_file: Path  # COMPLAINTS_IDENTITIES_FILE: an earlier version's identities, for `identity import`
    rate_limit: float  # COMPLAINTS_RATE_LIMIT: requests per second per identity (or per address); 0: no limit
    rate_burst: int  # COMPLAINTS_RATE_BURST: how many requests may come at once before the limit bites
    codec_origin: str  # COMPLAINTS_CODEC_ORIGIN: the Temporal Web UI's origin, allowed to call /codec (CORS)
    metrics_address: str | None  # COMPLAINTS_METRICS_ADDRESS: the worker's Prometheus host:port; "off": none
    notice_templates: Path  # COMPLAINTS_NOTICE_TEMPLATES: the notices' texts; default runtime/config/notices.toml
    notice_language: str  # COMPLAINTS_NOTICE_LANGUAGE: zh (default) or en, a language of that file
    sms_max_segments: int  # COMPLAINTS_SMS_MAX_SEGMENTS: SMS parts a complainant's notice may take (2)
    console_secret: str | None  # COMPLAINTS_CONSOLE_SECRET: signs console sessions; default a file in the data folder
    simulation_file: Path  # COMPLAINTS_SIMULATION_FILE: the console's what-if inputs; default the sample
    public_url: str  # COMPLAINTS_PUBLIC_URL: where complainants reach the gateway (their /s/ links)
    link_keys: (
        str | None
    )  # COMPLAINTS_LINK_KEYS: "id:base64key,..." sign the links (first signs); default a dev key file
    # COMPLAINTS_WEBHOOK_ALLOW_HTTP_HOSTS: hosts a webhook may reach over plain http (loopback in tests)
    webhook_allow_http_hosts: frozenset[str] = frozenset()
    # COMPLAINTS_WEBHOOK_PAUSE_AFTER: seconds an event may keep failing before its subscription pauses (3 days)
    webhook_pause_after: float = 3 * 24 * 3600
    # COMPLAINTS_WEBHOOK_FIRST_RETRY: seconds before the first retry; each next waits twice as long, up to an hour
    webhook_first_retry: float = 1.0
    # COMPLAINTS_AUDIT_KEYS: "id:base64(32-byte Ed25519 seed),..." (first signs anchors and audit
    # reports, all verify); default a dev key file. docs/operators.md: making, keeping, rotating.
    audit_keys: str | None = None
    # COMPLAINTS_AUDIT_TASK_QUEUE: the audits' task queue (default "audit"), served by every worker
    # and by `python worker.py --audit`
    audit_task_queue: str = "audit"
    # COMPLAINTS_JURISDICTIONS_FILE: the city's tree (places, units, stations, each district's rules);
    # default the shipped runtime/config/jurisdictions.toml (city-contract.md)
    jurisdictions_file: Path = CONFIG_DIR / "jurisdictions.toml"
    # COMPLAINTS_UNITS: "open" (default) takes a department the tree does not list as an unlisted
    # unit, with a warning; "listed" refuses it
    units: str = "open"
    # COMPLAINTS_RISK_FILE: the strong-signal rules (强信息); default runtime/config/risk.toml
    risk_file: Path = CONFIG_DIR / "risk.toml"
    # COMPLAINTS_EVIDENCE_STORE: where evidence is kept: empty, a directory under the data folder;
    # a path, that directory; s3://bucket, an S3-compatible store (COMPLAINTS_S3_ENDPOINT for MinIO, OSS, COS)
    evidence_store: str = ""
    # COMPLAINTS_EVIDENCE_MAX_PHOTO_MIB, _DOCUMENT_MIB, _RECORDING_MIB: the largest file of each kind;
    # COMPLAINTS_EVIDENCE_PER_CASE: how many files a case may hold
    evidence_max_photo_mib: int = 10
    evidence_max_document_mib: int = 20
    evidence_max_recording_mib: int = 100
    evidence_per_case: int = 30
    # COMPLAINTS_SUGGEST_CERTAINTY: below this probability the district's model does not suggest a
    # unit and its routing table does (0.41, Amsterdam's classifier's threshold; 0 to 1)
    suggest_certainty: float = 0.41

    @property
    def audit_key_file(self) -> Path:
        return self.data_dir / "audit-keys"

    @property
    def codec_key_file(self) -> Path:
        return self.data_dir / "codec-keys"

    @property
    def link_key_file(self) -> Path:
        return self.data_dir / "link-keys"

    @property
    def phone_key_file(self) -> Path:
        return self.data_dir / "phone-hash.key"


def load() -> Settings:
    env = os.environ
    # The data folder is the operator's, never the installed package's: ./data where it runs.
    data_dir = Path(env.get("COMPLAINTS_DATA_DIR") or Path.cwd() / "data")
    return Settings(
        temporal_address=env.get("TEMPORAL_ADDRESS") or None,
        namespace=env.get("TEMPORAL_NAMESPACE", "default"),
        task_queue=env.get("COMPLAINTS_TASK_QUEUE", "complaints"),
        data_dir=data_dir,
        calendar_file=Path(env.get("COMPLAINTS_CALENDAR_FILE", CONFIG_DIR / "calendar-overrides.toml")),
        notifier=env.get("COMPLAINTS_NOTIFIER", "log"),
        dev_server_port=int(env.get("COMPLAINTS_DEV_PORT", "7233")),
        dev_ui_port=int(env.get("COMPLAINTS_DEV_UI_PORT", "8233")),
        db_url=env.get("COMPLAINTS_DB_URL") or f"sqlite:///{data_dir / 'complaints.db'}",
        phone_key=env.get("COMPLAINTS_PHONE_KEY") or None,
        sms_url=env.get("COMPLAINTS_SMS_URL") or None,
        sms_token=env.get("COMPLAINTS_SMS_TOKEN") or None,
        codec_keys=env.get("COMPLAINTS_CODEC_KEYS") or None,
        warn_at=_fractions(env.get("COMPLAINTS_WARN_AT")),
        sandbox=env.get("COMPLAINTS_WORKFLOW_SANDBOX", "0").lower() in ("1", "true", "yes", "on"),
        identities_url=env.get("COMPLAINTS_IDENTITIES_URL")
        or env.get("COMPLAINTS_DB_URL")
        or f"sqlite:///{data_dir / 'complaints.db'}",
        identities_file=Path(env.get("COMPLAINTS_IDENTITIES_FILE") or data_dir / "identities.toml"),
        rate_limit=_number("COMPLAINTS_RATE_LIMIT", env.get("COMPLAINTS_RATE_LIMIT"), 20.0),
        rate_burst=int(_number("COMPLAINTS_RATE_BURST", env.get("COMPLAINTS_RATE_BURST"), 60)),
        codec_origin=env.get("COMPLAINTS_CODEC_ORIGIN", "http://localhost:8233"),
        notice_templates=Path(env.get("COMPLAINTS_NOTICE_TEMPLATES") or CONFIG_DIR / "notices.toml"),
        notice_language=env.get("COMPLAINTS_NOTICE_LANGUAGE", "zh"),
        sms_max_segments=max(1, int(_number("COMPLAINTS_SMS_MAX_SEGMENTS", env.get("COMPLAINTS_SMS_MAX_SEGMENTS"), 2))),
        console_secret=env.get("COMPLAINTS_CONSOLE_SECRET") or None,
        simulation_file=Path(env.get("COMPLAINTS_SIMULATION_FILE") or CONFIG_DIR / "simulation" / "luohu-2022.toml"),
        public_url=_public_url(env.get("COMPLAINTS_PUBLIC_URL") or "http://127.0.0.1:8080"),
        link_keys=env.get("COMPLAINTS_LINK_KEYS") or None,
        audit_keys=env.get("COMPLAINTS_AUDIT_KEYS") or None,
        audit_task_queue=env.get("COMPLAINTS_AUDIT_TASK_QUEUE") or "audit",
        jurisdictions_file=Path(env.get("COMPLAINTS_JURISDICTIONS_FILE") or CONFIG_DIR / "jurisdictions.toml"),
        risk_file=Path(env.get("COMPLAINTS_RISK_FILE") or CONFIG_DIR / "risk.toml"),
        evidence_store=env.get("COMPLAINTS_EVIDENCE_STORE", ""),
        evidence_max_photo_mib=_whole(
            "COMPLAINTS_EVIDENCE_MAX_PHOTO_MIB", env.get("COMPLAINTS_EVIDENCE_MAX_PHOTO_MIB"), 10
        ),
        evidence_max_document_mib=_whole(
            "COMPLAINTS_EVIDENCE_MAX_DOCUMENT_MIB", env.get("COMPLAINTS_EVIDENCE_MAX_DOCUMENT_MIB"), 20
        ),
        evidence_max_recording_mib=_whole(
            "COMPLAINTS_EVIDENCE_MAX_RECORDING_MIB", env.get("COMPLAINTS_EVIDENCE_MAX_RECORDING_MIB"), 100
        ),
        evidence_per_case=_whole("COMPLAINTS_EVIDENCE_PER_CASE", env.get("COMPLAINTS_EVIDENCE_PER_CASE"), 30),
        suggest_certainty=_share("COMPLAINTS_SUGGEST_CERTAINTY", env.get("COMPLAINTS_SUGGEST_CERTAINTY"), 0.41),
        units=_choice("COMPLAINTS_UNITS", env.get("COMPLAINTS_UNITS") or "open", ("open", "listed")),
        webhook_allow_http_hosts=frozenset(
            h.strip().lower() for h in env.get("COMPLAINTS_WEBHOOK_ALLOW_HTTP_HOSTS", "").split(",") if h.strip()
        ),
        webhook_pause_after=_positive(
            "COMPLAINTS_WEBHOOK_PAUSE_AFTER", env.get("COMPLAINTS_WEBHOOK_PAUSE_AFTER"), 3 * 24 * 3600
        ),
        webhook_first_retry=_positive("COMPLAINTS_WEBHOOK_FIRST_RETRY", env.get("COMPLAINTS_WEBHOOK_FIRST_RETRY"), 1.0),
        metrics_address=_address("COMPLAINTS_METRICS_ADDRESS", env.get("COMPLAINTS_METRICS_ADDRESS", "127.0.0.1:9464")),
    )


def _choice(name: str, text: str, choices: tuple[str, ...]) -> str:
    if text.strip().lower() not in choices:
        raise ValueError(f"{name}={text!r}: expected one of {', '.join(choices)}")
    return text.strip().lower()


def _address(name: str, text: str) -> str | None:
    if text.strip().lower() in ("", "off", "0", "no", "none"):
        return None
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{name}={text!r}: expected host:port, e.g. 0.0.0.0:9464, or off")
    return text.strip()


def _public_url(text: str) -> str:
    url = text.strip().rstrip("/")
    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?", url):
        raise ValueError(
            f"COMPLAINTS_PUBLIC_URL={text!r}: expected the gateway's address as complainants reach it, "
            "such as https://12345.example.gov.cn"
        )
    return url


def _number(name: str, text: str | None, default: float) -> float:
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected a number") from None
    if value < 0:
        raise ValueError(f"{name}={text!r}: must not be negative")
    return value


def _whole(name: str, text: str | None, default: int) -> int:
    value = _number(name, text, default)
    if value < 1 or value != int(value):
        raise ValueError(f"{name}={text!r}: a whole number, at least 1")
    return int(value)


def _share(name: str, text: str | None, default: float) -> float:
    value = _number(name, text, default)
    if value > 1:
        raise ValueError(f"{name}={text!r}: a probability, from 0 to 1")
    return value


def _positive(name: str, text: str | None, default: float) -> float:
    value = _number(name, text, default)
    if value <= 0:
        raise ValueError(f"{name}={text!r}: must be more than 0 seconds")
    return value


def _fractions(text: str | None) -> tuple[float, ...] | None:
    if not text:
        return None
    try:
        values = tuple(sorted(float(part) for part in text.split(",") if part.strip()))
    except ValueError:
        raise ValueError(f"COMPLAINTS_WARN_AT={text!r}: expected fractions such as 0.5,0.75") from None
    if not all(0 < v < 1 for v in values):
        raise ValueError(f"COMPLAINTS_WARN_AT={text!r}: each fraction must be between 0 and 1")
    return values
