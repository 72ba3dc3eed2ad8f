"""The nightly sampled verification's own settings, read once from the environment at the edge.

Kept apart from Config because only the VerifySample function reads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..domain.verify.sampled_verification import AutoRepair
from ..errors import ConfigError

VARIABLES = ("VERIFY_BUDGET_BYTES", "VERIFY_CYCLE_NIGHTS", "AUTO_REPAIR")


@dataclass(frozen=True)
class SamplingConfig:
    budget_bytes: int = 50 * 10**9  # VERIFY_BUDGET_BYTES: stored bytes read per night
    nights: int = 7  # VERIFY_CYCLE_NIGHTS: every tarball is verified once in this many nights
    auto_repair: AutoRepair = AutoRepair.OFF  # AUTO_REPAIR: off | missing

    def __post_init__(self) -> None:
        if self.budget_bytes < 1:
            raise ConfigError(f"VERIFY_BUDGET_BYTES must be 1 or more, got {self.budget_bytes}")
        if not 1 <= self.nights <= 366:
            raise ConfigError(f"VERIFY_CYCLE_NIGHTS must be between 1 and 366, got {self.nights}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SamplingConfig:
        values: dict[str, object] = {}
        for field, var in (("budget_bytes", "VERIFY_BUDGET_BYTES"), ("nights", "VERIFY_CYCLE_NIGHTS")):
            raw = env.get(var, "").strip()
            if raw:
                try:
                    values[field] = int(raw)
                except ValueError:
                    raise ConfigError(f"{var} must be an integer, got {raw!r}") from None
        raw = env.get("AUTO_REPAIR", "").strip().lower()
        if raw:
            try:
                values["auto_repair"] = AutoRepair(raw)
            except ValueError:
                raise ConfigError(f"AUTO_REPAIR must be off or missing, got {raw!r}") from None
        return cls(**values)  # type: ignore[arg-type]
