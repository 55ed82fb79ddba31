"""A trained linkage model as a versioned JSON document.

The document is the Splink settings (comparisons, blocking rules, trained m
and u values) plus credx's metadata: a format version, the model id (a hash
of the settings), the sha256 of the inputs it was trained on, the seed and
when it was made.  Saving it with a run is what makes a run reproducible.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

FORMAT_VERSION = 1


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class LinkModel:
    settings: dict[str, Any]
    inputs_sha256: str
    seed: int
    created: str
    trained: bool
    format_version: int = FORMAT_VERSION

    @property
    def version(self) -> str:
        """A content id: the same settings always give the same version."""
        return hashlib.sha256(canonical(self.settings).encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "version": self.version}, sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> LinkModel:
        data = json.loads(text)
        data.pop("version", None)
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported linkage model format {data.get('format_version')!r}")
        return cls(**data)

    def m_differs(self, comparison: str) -> float | None:
        """The m value of `comparison`'s last ("else") level: the share of true matches
        whose values disagree entirely, as this model estimates it (None if unknown)."""
        for item in self.settings.get("comparisons", []):
            if item.get("output_column_name") == comparison:
                value = item["comparison_levels"][-1].get("m_probability")
                return value if isinstance(value, float) else None
        return None
