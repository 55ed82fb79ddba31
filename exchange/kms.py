"""AWS KMS as a key provider: data keys are wrapped and unwrapped inside KMS.

`Encrypt` and `Decrypt` are called with the blob id as encryption context
(bound into the ciphertext, logged by CloudTrail), so a wrapped key moved to
another blob does not unwrap.  The master key never leaves KMS; credx sees
only plaintext data keys it made itself and their KMS ciphertexts.
Credentials come from the standard AWS chain (environment, profile, instance
or task role), never from credx settings.  Rotation of the key material is
KMS's own (enable automatic rotation on the key); `credx keys rotate`
re-wraps every data key under the key's current material, and moves data
keys still wrapped by local key files into KMS.

boto3 errors are translated into `CredxError`s an operator can act on.
"""

from __future__ import annotations

from typing import Any

from kernel.errors import CredxError, IntegrityFailure, Unavailable

PREFIX = "kms:"
NAME = "aws-kms"


class KmsUnavailable(Unavailable):
    """KMS could not be reached or refused the call: nothing was wrapped or unwrapped."""


class KmsKeys:
    """One KMS key (`CREDX_KMS_KEY_ID`: key id, ARN or alias) as a `KeyProvider`."""

    name = NAME

    def __init__(
        self, key_id: str, *, endpoint_url: str | None = None, region: str | None = None,
        client: Any = None,
    ):  # fmt: skip
        self.key_id = key_id
        self._client = client
        self._endpoint_url = endpoint_url
        self._region = region

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # loaded only when KMS is configured

            session = boto3.session.Session(region_name=self._region)
            self._client = session.client("kms", endpoint_url=self._endpoint_url)
        return self._client

    def owns(self, key_id: str) -> bool:
        return key_id.startswith(PREFIX)

    def active_id(self) -> str:
        # the blobs table keeps 64 characters: the key's own id, not its 75-character ARN
        return PREFIX + self.key_id.rsplit("/", 1)[-1][: 64 - len(PREFIX)]

    def rotate(self) -> str:
        return self.active_id()

    def wrap(self, key_id: str, blob_id: str, data_key: bytes) -> bytes:
        answer = self._call(
            "Encrypt", KeyId=self.key_id, Plaintext=data_key,
            EncryptionContext={"credx-blob": blob_id},
        )  # fmt: skip
        return bytes(answer["CiphertextBlob"])

    def unwrap(self, key_id: str, blob_id: str, wrapped: bytes) -> bytes:
        try:
            answer = self._call(
                "Decrypt", CiphertextBlob=wrapped, EncryptionContext={"credx-blob": blob_id}
            )
        except KmsUnavailable as exc:
            if "InvalidCiphertext" in str(exc):
                raise IntegrityFailure(
                    f"data key of blob {blob_id} does not unwrap in KMS (key {key_id}): the "
                    "key record was altered or belongs to another blob"
                ) from None
            raise
        return bytes(answer["Plaintext"])

    def describe(self) -> dict[str, Any]:
        """KMS's own description of the key (state, rotation), for `credx keys check`."""
        meta = self._call("DescribeKey", KeyId=self.key_id)["KeyMetadata"]
        return {"key_state": meta.get("KeyState"), "arn": meta.get("Arn")}

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client, _snake(operation))
        try:
            return method(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise KmsUnavailable(
                f"AWS KMS refused {operation} with key {self.key_id} ({code}): check that the "
                "key exists, is enabled, and that this host's AWS role may use it"
            ) from None
        except BotoCoreError as exc:
            raise KmsUnavailable(
                f"AWS KMS could not be reached for {operation} ({type(exc).__name__}); "
                "nothing was changed, try again once it is reachable"
            ) from None


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def kms_keys(key_id: str | None, **options: Any) -> KmsKeys | None:
    """The KMS provider when `CREDX_KMS_KEY_ID` is set, else None (local key files only)."""
    if not key_id:
        return None
    if not key_id.strip():
        raise CredxError("CREDX_KMS_KEY_ID is blank: set a KMS key id, ARN or alias, or unset it")
    return KmsKeys(key_id.strip(), **options)
