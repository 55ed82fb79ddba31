"""Connector configuration: where a vendor's nightly files are pulled from, and when.

A connector is a YAML document an operator reviews (`credx connectors apply`):

    name: nccer-sftp
    vendor: nccer
    kind: sftp                      # sftp | s3 | local
    schedule: "30 2 * * *"          # cron (minute hour day month weekday), in `timezone`
    timezone: America/Chicago
    expect_by: "06:00"              # no file by then: an alert (optional)
    sftp:
      host: sftp.nccer.example
      port: 22
      username: state-la
      key_file: /etc/credx/keys/nccer_ed25519   # the private key stays a file, never inline
      host_key: "SHA256:..."        # pinned; an unknown or changed key refuses to connect
      directory: /outbound
      pattern: "*.csv.gz"
      sidecar: none                 # none | done (file.done marks complete) | sha256 (file.sha256)
      post_action: move             # leave | move (to processed_dir) | delete
      processed_dir: processed

No secret is ever part of a connector document: SFTP keys are files, S3
credentials come from the standard AWS chain or a named profile.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from exchange.acknowledgements import AcknowledgementSettings

CONNECTOR_NAME = r"^[a-z0-9][a-z0-9_-]{1,63}$"
FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}=?$")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SftpSettings(_Settings):
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1, max_length=100)
    key_file: Path
    key_passphrase_env: str | None = None  # name of an environment variable, never the value
    host_key: str  # "SHA256:" + base64 of the server host key's SHA-256, as `ssh-keygen -l` shows
    directory: str = "."
    pattern: str = "*"
    sidecar: Literal["none", "done", "sha256"] = "none"
    post_action: Literal["leave", "move", "delete"] = "leave"
    processed_dir: str = "processed"
    stable_seconds: float = Field(default=2.0, ge=0, le=600)  # size unchanged across listings
    connect_timeout: float = Field(default=15, gt=0, le=300)
    pull_deadline: float = Field(default=3600, gt=0, le=86_400)  # whole pull, seconds
    retries: int = Field(default=3, ge=0, le=10)
    max_requests: int = Field(default=64, ge=1, le=1024)  # bounded prefetch
    algorithms: dict[str, list[str]] | None = None  # paramiko disabled_algorithms, legacy servers

    @field_validator("host_key")
    @classmethod
    def _fingerprint(cls, value: str) -> str:
        if not FINGERPRINT.fullmatch(value):
            raise ValueError("host_key must be a SHA256 fingerprint like SHA256:AbC... (43 chars)")
        return value


class S3Settings(_Settings):
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = ""
    endpoint_url: str | None = None  # any S3-compatible store
    region: str | None = None
    profile: str | None = None  # a named AWS profile; otherwise the standard credential chain
    post_action: Literal["leave", "copy"] = "leave"  # leave: remembered by key + ETag
    processed_prefix: str = "processed/"
    multipart_threshold_mb: int = Field(default=64, ge=5, le=5120)


class LocalSettings(_Settings):
    directory: Path
    settle_seconds: float = Field(default=5.0, ge=0)


class ConnectorConfig(_Settings):
    name: str = Field(pattern=CONNECTOR_NAME)
    vendor: str
    kind: Literal["sftp", "s3", "local"]
    schedule: str = "0 2 * * *"
    timezone: str = "UTC"
    expect_by: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    pgp_key: str | None = None  # GnuPG key id or fingerprint that decrypts .pgp/.gpg files
    sftp: SftpSettings | None = None
    s3: S3Settings | None = None
    local: LocalSettings | None = None
    acknowledgements: AcknowledgementSettings | None = None  # exchange.acknowledgements
