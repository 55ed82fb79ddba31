"""One validated `Settings` object, read from the environment and an optional TOML file.

Every setting has a `CREDX_` environment variable; a TOML file named by
`CREDX_CONFIG` (or `credx.toml` inside `CREDX_HOME`) supplies the rest.
Environment variables win over the file.  `describe_settings()` feeds the
manual's generated settings reference and the test that fails when a setting is
undocumented.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_core import PydanticUndefined
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _config_file() -> Path:
    explicit = os.environ.get("CREDX_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("CREDX_HOME", "var")) / "credx.toml"


class Settings(BaseSettings):
    """Where credx keeps its state and how it reaches it."""

    model_config = SettingsConfigDict(env_prefix="CREDX_", extra="forbid")

    home: Path = Field(
        default=Path("var"),
        description="Directory for the SQLite database, blob store, keys and reports.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: SQLite file `credx.db` in the home. "
        "PostgreSQL: `postgresql+psycopg://user@host:5432/db`.",
    )
    blob_url: str | None = Field(
        default=None,
        description="Where encrypted files are stored. Default: directory `blobs` in the home "
        "(`file:///path` or a plain path); `s3://bucket/prefix` for an S3 bucket.",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="Endpoint of an S3-compatible store (MinIO, Ceph, ...) for an `s3://` "
        "blob URL. Default: AWS S3. Credentials come from the standard AWS chain, never "
        "from credx settings.",
    )
    s3_region: str | None = Field(
        default=None,
        description="Region of the `s3://` blob bucket. Default: from the AWS configuration.",
    )
    s3_profile: str | None = Field(
        default=None,
        description="Named AWS profile for the `s3://` blob store. Default: the standard "
        "credential chain (environment, instance or task role, ...).",
    )
    keys_dir: Path | None = Field(
        default=None,
        description="Directory of master key files (mode 0700, files 0600). Default: `keys` "
        "in the home. Keep it out of database and blob backups; restore all three together.",
    )
    kms_key_id: str | None = Field(
        default=None,
        description="AWS KMS key (id, ARN or alias) that wraps the data keys of new files "
        "instead of the local key files; `credx keys rotate` then moves existing data keys "
        "into KMS. Credentials come from the standard AWS chain. Default: local key files.",
    )
    kms_endpoint_url: str | None = Field(
        default=None,
        description="Endpoint of KMS (a VPC endpoint, or a test server). Default: AWS's.",
    )
    kms_region: str | None = Field(
        default=None, description="Region of the KMS key. Default: from the AWS configuration."
    )
    gnupg_home: Path | None = Field(
        default=None,
        description="GnuPG home holding the state's private keys, which decrypt connectors' "
        "`.pgp`/`.gpg`/`.asc` files (`pgp_key`). Default: `gnupg` in the home (mode 0700). "
        "The service key must have no passphrase; keep the directory out of database and "
        "blob backups.",
    )
    unassigned_retention_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="Days a delivery held by no agreement (quarantined, rejected whole, or "
        "whose every row was rejected) is kept before the daily purge destroys it with its "
        "rejected rows. No agreement authorises keeping such raw student data; 30 days leave "
        "time to apply a missing agreement or fix a mapping and send the file again.",
    )
    ingest_batch_rows: int = Field(
        default=50_000,
        ge=1_000,
        le=2_000_000,
        description="Rows validated and loaded per batch; bounds ingest memory.",
    )
    ingest_parallel_min_bytes: int = Field(
        default=64 << 20,
        ge=0,
        description="Files at least this large are checked in a second process while the "
        "first writes (two cores); smaller ones in one process. `0` forces it; a huge value "
        "turns it off.",
    )
    worker_lease_seconds: int = Field(
        default=1800,
        ge=0,
        description="A job claimed longer ago than this by a worker that has not finished it "
        "is taken over (the worker died); pulls are exactly-once, so a re-run is safe.",
    )
    worker_poll_seconds: float = Field(
        default=5.0, gt=0, description="How often an idle worker looks for new jobs."
    )
    drop_settle_seconds: float = Field(
        default=5.0,
        ge=0,
        description="A file in a drop folder must be unchanged this long before it is swept.",
    )

    checkpoint_witness_url: str | None = Field(
        default=None,
        description="Where signed log checkpoints are kept out of the database's reach: "
        "`s3://bucket/prefix` (a bucket created with S3 Object Lock; each checkpoint is "
        "locked in COMPLIANCE mode) or a directory on other storage. Set, the worker "
        "witnesses a checkpoint daily and `credx log verify --latest-checkpoint` checks the "
        "log against the newest.",
    )
    checkpoint_retention_days: int = Field(
        default=1461,
        ge=1,
        le=36_500,
        description="How long each witnessed checkpoint is locked in an S3 witness (default "
        "four years, as Louisiana keeps supporting documentation).",
    )
    sqlite_busy_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long a command or request waits for another process's write lock on "
        "a SQLite database before giving up with a clear \"database is busy\" error.",
    )

    upload_max_bytes: int = Field(
        default=20 << 20,
        ge=1024,
        description="Largest evidence file (image, PDF or badge) a district may upload; the "
        "web app stops reading a body at this size and the service checks it again.",
    )
    upload_max_pixels: int = Field(
        default=25_000_000,
        ge=10_000,
        le=200_000_000,
        description="Largest image (width x height) decoded; bigger ones are refused as "
        "possible decompression bombs. A letter page scanned at 300 dpi is 8.4 million.",
    )
    upload_max_pdf_pages: int = Field(
        default=20, ge=1, le=1000, description="PDFs with more pages are refused."
    )
    upload_decode_concurrency: int = Field(
        default=2,
        ge=1,
        le=64,
        description="At most this many uploads are decoded at once per server process, each "
        "in its own sandboxed decoder process (see `upload_sandbox_*`); the others wait.",
    )
    upload_sandbox_memory_mb: int = Field(
        default=512,
        ge=32,
        le=1 << 16,
        description="Address space (RLIMIT_AS) one decoder process may add to what its "
        "libraries map: an upload needing more is refused with 413 (`decode_memory_limit`).",
    )
    upload_sandbox_cpu_seconds: int = Field(
        default=20,
        ge=1,
        le=3600,
        description="CPU time (RLIMIT_CPU) one decode may use: an upload needing more is "
        "refused with 422 (`decode_time_limit`).",
    )
    upload_sandbox_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Wall-clock time one decode may take before its process is killed and "
        "the upload refused with 422 (`decode_time_limit`).",
    )
    upload_sandbox_queue: int = Field(
        default=32,
        ge=0,
        le=10_000,
        description="Uploads that may wait for a decoder beyond `upload_decode_concurrency`; "
        "more are refused with 503 (`decoders_busy`) rather than queued without bound.",
    )
    upload_pdf_max_inflated_mb: int = Field(
        default=32,
        ge=1,
        le=1 << 16,
        description="Most bytes a PDF's compressed streams other than images (page contents, "
        "fonts) may expand to, all together; more is refused with 413 "
        "(`pdf_too_large_inflated`) before PDFium draws it. Each image may expand to what its "
        "declared size needs (its pixels are held to `upload_max_pixels`).",
    )
    upload_bulk_max_entries: int = Field(
        default=1000,
        ge=1,
        description="Most files in one bulk upload (zip), and most lines in its manifest.",
    )
    upload_bulk_max_bytes: int = Field(
        default=1 << 30,
        ge=1 << 20,
        description="Largest bulk upload (zip) and the most its files may add up to once "
        "extracted.",
    )

    badge_trusted_issuers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Digital-badge issuers whose keys and status lists credx may fetch: "
        "`https://` URL prefixes and DIDs (`did:web:badges.example.org`), separated by "
        "commas. Empty: only self-contained `did:key` badges verify. `http://` only for "
        "127.0.0.1/localhost (tests, an issuer on the same machine).",
    )
    badge_max_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        le=16 << 20,
        description="Largest badge file, and largest issuer document or status list "
        "fetched while verifying one.",
    )
    badge_fetch_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Time limit for each fetch of an issuer's key or status list.",
    )

    web_session_hours: float = Field(
        default=8.0,
        gt=0,
        le=24 * 30,
        description="A web sign-in lasts this long (never past its token's expiry); signing "
        "out or revoking the token ends it sooner.",
    )
    sign_in_max_failures: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins (web or API) allowed from one client address for one "
        "token id; then that address may not try that id again for `sign_in_window_seconds` "
        "(429, the secret not checked), doubling with each further batch of failures within "
        "a day. Other addresses, the holder's included, are not affected. Counted in the "
        "database, so all workers agree.",
    )
    sign_in_address_max_failures: int = Field(
        default=50,
        ge=1,
        description="Failed sign-ins allowed from one client address, whatever the token ids; "
        "then its wrong secrets are refused with 429 (same backoff) while valid ones still "
        "sign in (a school behind one NAT address keeps working).",
    )
    sign_in_window_seconds: int = Field(
        default=900,
        ge=1,
        description="The first block after too many failed sign-ins; each further batch "
        "doubles it, up to a day.",
    )

    audit_response_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="A district may answer a final audit finding (corrected file or written "
        "explanation) once, within this many days of the finding becoming final (Louisiana "
        "gives at least 30); later answers are refused with the date that passed.",
    )

    suppression_threshold: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Public report cells with a count from 1 to one below this are suppressed "
        "(with complementary suppression so totals cannot give them back).",
    )
    roster_code_sets: Path | None = Field(
        default=None,
        description="TOML file replacing the default roster subgroup code sets (gender, "
        "race_ethnicity, grade, pathway); `--code-sets` overrides it per import. Default: "
        "the built-in sets (see the manual, Rosters).",
    )

    linkage_target_precision: float = Field(
        default=0.999,
        gt=0.5,
        lt=1,
        description="Record linkage: the precision the merges of a run must reach by the model's "
        "own estimate. Each run merges pairs from the lowest match probability at which the "
        "mean probability of the pairs merged still meets this (strong evidence lowers it, "
        "weak evidence raises it); the run reports the threshold it chose.",
    )
    linkage_target_recall: float = Field(
        default=0.999,
        gt=0.5,
        lt=1,
        description="Record linkage: the review band below the threshold reaches down until "
        "the pairs left below it hold at most 1 minus this of the matches the model expects "
        "in the run; so the queue shrinks when the evidence is strong.",
    )
    linkage_review_lower: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Record linkage: a pair below this match probability is never merged on "
        "its score nor queued for review (`credx link review`), whatever the targets.",
    )
    linkage_max_cluster_size: int = Field(
        default=50,
        ge=2,
        description="Record linkage: a person may hold at most this many distinct records; "
        "a merge that would exceed it is refused and queued for review.",
    )
    linkage_max_block_size: int = Field(
        default=5_000,
        ge=10,
        description="Record linkage: a blocking key value shared by more records than this "
        "is skipped by that blocking rule (with a warning), so one degenerate value cannot "
        "explode into billions of pairs.",
    )
    linkage_seed: int = Field(
        default=20261127,
        description="Record linkage: seed for the random sampling that trains the model, so "
        "the same records give the same persons.",
    )

    dashboard_nights: int = Field(
        default=7,
        ge=1,
        le=62,
        description="Operator dashboard: how many nights of deliveries the delivery and "
        "rejection panels show.",
    )
    dashboard_late_after_minutes: int = Field(
        default=120,
        ge=1,
        le=24 * 60,
        description="Operator dashboard: a night's delivery pulled more than this long after "
        "its connector's scheduled time (or after its `expect_by`, when that is later) is "
        "`late`; none by then is `missing`.",
    )
    dashboard_expiry_days: int = Field(
        default=60,
        ge=1,
        le=3650,
        description="Operator dashboard: agreements ending within this many days are listed "
        "as expiring soon.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token a Prometheus scraper off this machine must send to "
        "`/metrics`. Unset: `/metrics` answers loopback clients only (404 to others). Keep "
        "it in a secret file, not in the TOML.",
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="`credx serve` and `credx worker` log one JSON object per line (`json`) "
        "or plain lines (`text`, for a terminal). Either way query strings, tokens and "
        "student fields are scrubbed.",
    )

    public_url: str = Field(
        default="http://localhost:8000",
        description="The address people reach credx at: notifications link to its pages.",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="Notifications by email: `smtp://[user:password@]host[:port]` (STARTTLS "
        "required) or `smtps://...`. Unset: no email is sent (rows stay pending). Keep it "
        "in a secret file when it holds a password.",
    )
    smtp_ca_file: str | None = Field(
        default=None, description="A CA bundle to trust for the SMTP server's certificate."
    )
    mail_from: str = Field(
        default="credx@localhost", description="The `From` address of notification emails."
    )
    webhook_url: str | None = Field(
        default=None,
        description="Every notification is also POSTed here as signed JSON (the state's "
        "ticketing or chat system). Unset: no webhooks.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="The HMAC-SHA256 key of `X-Credx-Signature` on webhooks (required with "
        "`CREDX_WEBHOOK_URL`).",
    )
    notify_max_attempts: int = Field(
        default=8, ge=1, le=50,
        description="Attempts to deliver a notification before it is parked as `dead`.",
    )  # fmt: skip
    notify_backoff_seconds: int = Field(
        default=30, ge=1, le=3600,
        description="Wait before the second attempt; doubled after each failure (at most an "
        "hour).",
    )  # fmt: skip
    notify_lease_seconds: int = Field(
        default=120, ge=1, le=3600,
        description="How long a worker holds a notification it is sending; one held longer "
        "(the worker died) is sent again, with the same id.",
    )  # fmt: skip

    oidc_issuer: str | None = Field(
        default=None,
        description="Sign-in with the state's identity provider (OpenID Connect): its issuer "
        "URL, e.g. `https://login.microsoftonline.com/<tenant>/v2.0`. Unset: token sign-in "
        "only.",
    )
    oidc_client_id: str | None = Field(
        default=None, description="credx's client id at the identity provider."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None,
        description="credx's client secret at the identity provider (keep it in a secret file).",
    )
    oidc_mapping_file: Path | None = Field(
        default=None,
        description="The claims-to-role mapping document (YAML): which claim value gives which "
        "role, state, district or vendor. Checked when `credx serve` starts.",
    )
    oidc_scopes: str = Field(
        default="openid email profile groups",
        description="Scopes credx asks the identity provider for (the mapping's claim must "
        "come with them).",
    )

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("badge_trusted_issuers", mode="before")
    @classmethod
    def _split_issuers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item for item in value.replace(",", " ").split() if item]
        return value

    @field_validator("badge_trusted_issuers", mode="after")
    @classmethod
    def _safe_issuers(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not _is_safe_issuer_entry(entry):
                raise ValueError(
                    f"badge issuer {entry!r} must be a DID or an https:// URL "
                    "(http:// only for 127.0.0.1 or localhost)"
                )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'credx.db'}"

    @property
    def resolved_blob_url(self) -> str:
        return self.blob_url or str(self.home / "blobs")

    @property
    def resolved_keys_dir(self) -> Path:
        return (self.keys_dir or self.home / "keys").expanduser().resolve()

    @property
    def resolved_gnupg_home(self) -> Path:
        return (self.gnupg_home or self.home / "gnupg").expanduser().resolve()

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


def _is_safe_issuer_entry(entry: str) -> bool:
    """Refuse plain-http issuers off this machine, so keys are never fetched in the clear."""
    if entry.startswith("did:"):
        return True
    for prefix in ("https://", "http://127.0.0.1", "http://localhost", "http://[::1]"):
        if entry.startswith(prefix):
            rest = entry[len(prefix):]
            return prefix == "https://" or rest[:1] in ("", ":", "/")
    return False


def load_settings(**overrides: Any) -> Settings:
    """Read settings now (not at import), so tests and the CLI see the current environment."""
    return Settings(**overrides)


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting, for docs and tests."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = "" if field.default in (None, PydanticUndefined) else str(field.default)
        rows.append((f"CREDX_{name.upper()}", default, field.description or ""))
    return rows
