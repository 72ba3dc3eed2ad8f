"""One typed, frozen configuration, read once at the edge (a handler or the CLI)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .domain.core.rules import Requirement, ScopedRule, listing_rule, manifest_rule
from .domain.core.tarballs import DEFAULT_EXTENSIONS, TarballNaming
from .domain.core.verdicts import Policy
from .domain.event_path.check import MAX_ATTEMPTS, SQS_MAX_DELAY_S, checks_needed
from .domain.inventory.external_sort import DEFAULT_RUN_ROWS
from .domain.sweep.fleet import DEFAULT_MIN_TARBALLS, FleetRules
from .domain.sweep.sweep import as_folder
from .errors import ConfigError

# field name -> (environment variable, CLI flag or "")
_SOURCES: dict[str, tuple[str, str]] = {
    "bucket": ("BACKUP_BUCKET", ""),
    "prefix": ("BACKUP_PREFIX", ""),
    "min_listing_bytes": ("MIN_LISTING_BYTES", "--min-listing-bytes"),
    "stale_tolerance_seconds": ("STALE_TOLERANCE_SECONDS", "--stale-tolerance"),
    "grace_seconds": ("GRACE_SECONDS", "--grace"),
    "threshold": ("PROBLEM_THRESHOLD", "--threshold"),
    "tarball_extensions": ("TARBALL_EXTENSIONS", "--extensions"),
    "group_depth": ("GROUP_DEPTH", "--group-depth"),
    "concurrency": ("SWEEP_CONCURRENCY", "--concurrency"),
    "processes": (
        "",
        "--processes",
    ),  # the CLI's alone: FullSweep has one vCPU, and its ranges on threads can pause
    "check_queue_url": ("CHECK_QUEUE_URL", ""),
    "alert_topic_arn": ("ALERT_TOPIC_ARN", ""),
    "check_delay_seconds": ("CHECK_DELAY_SECONDS", ""),
    "check_deadline_seconds": ("CHECK_DEADLINE_SECONDS", ""),
    "idempotency_table": ("IDEMPOTENCY_TABLE", ""),
    "report_bucket": ("REPORT_BUCKET", ""),
    "report_prefix": ("REPORT_PREFIX", ""),
    "sweep_max_run_seconds": ("SWEEP_MAX_RUN_SECONDS", ""),
    "manifest_rule": ("MANIFEST_RULE", "--manifest"),
    "manifest_rules": ("MANIFEST_RULES", "--manifest-rules"),
    "endpoint_url": ("", "--endpoint-url"),
    "inventory_run_rows": ("", "--inventory-run-rows"),
    "aws_max_attempts": ("AWS_MAX_ATTEMPTS", ""),
    # fleet health (domain/sweep/fleet.py)
    "min_tarballs": ("MIN_TARBALLS", "--min-tarballs"),
    "max_backup_age_seconds": ("MAX_BACKUP_AGE_SECONDS", "--max-backup-age"),
    "map_batch_ranges": ("SWEEP_MAP_BATCH_RANGES", ""),
}


def _name(field: str) -> str:
    env, flag = _SOURCES[field]
    return " / ".join(n for n in (flag, env) if n)


@dataclass(frozen=True)
class Config:
    bucket: str = ""
    prefix: str = ""
    min_listing_bytes: int = 64
    stale_tolerance_seconds: int = 3600
    grace_seconds: int = 7200
    threshold: int = 0
    tarball_extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    group_depth: int = 1
    concurrency: int = 16
    processes: int = 0  # worker processes for the CLI's sharded sweep; 0: one per usable CPU
    check_queue_url: str = ""
    alert_topic_arn: str = ""
    check_delay_seconds: int = 300
    check_deadline_seconds: int = 3600
    idempotency_table: str = ""
    report_bucket: str = ""
    report_prefix: str = "sibling-sentinel/reports/"
    sweep_max_run_seconds: int = 6 * 3600  # a paused sweep older than this is abandoned
    manifest_rule: str = Requirement.OFF.value
    manifest_rules: tuple[str, ...] = ()  # "folder/=required" entries; the longest matching folder wins
    endpoint_url: str | None = None
    aws_max_attempts: int = 8
    inventory_run_rows: int = DEFAULT_RUN_ROWS  # inventory rows sorted in memory at once, in all readers
    min_tarballs: int = DEFAULT_MIN_TARBALLS
    # 0: no host's freshness is checked. The CLI's default, because it sweeps any prefix (an archive, a
    # test fixture) whose cadence it cannot know; the template sets 26 h for a nightly backup.
    max_backup_age_seconds: int = 0
    map_batch_ranges: int = 8  # key ranges per Distributed Map item (the sweep on Step Functions)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", as_folder(self.prefix))
        object.__setattr__(self, "report_prefix", as_folder(self.report_prefix))
        for field in (
            "min_listing_bytes",
            "stale_tolerance_seconds",
            "grace_seconds",
            "threshold",
            "group_depth",
            "check_deadline_seconds",
            "min_tarballs",
            "max_backup_age_seconds",
        ):
            if getattr(self, field) < 0:
                raise ConfigError(f"{_name(field)} must be 0 or more, got {getattr(self, field)}")
        if not 900 <= self.sweep_max_run_seconds <= 7 * 24 * 3600:
            raise ConfigError(
                f"{_name('sweep_max_run_seconds')} must be between 900 and 604800, "
                f"got {self.sweep_max_run_seconds}"
            )
        if not 1 <= self.aws_max_attempts <= 20:
            raise ConfigError(
                f"{_name('aws_max_attempts')} must be between 1 and 20, got {self.aws_max_attempts}"
            )
        if self.inventory_run_rows < 1:
            raise ConfigError(
                f"{_name('inventory_run_rows')} must be 1 or more, got {self.inventory_run_rows}"
            )
        if not 1 <= self.map_batch_ranges <= 1000:
            raise ConfigError(
                f"{_name('map_batch_ranges')} must be between 1 and 1000, got {self.map_batch_ranges}"
            )
        if not 1 <= self.concurrency <= 64:
            raise ConfigError(f"{_name('concurrency')} must be between 1 and 64, got {self.concurrency}")
        if not 0 <= self.processes <= 64:
            raise ConfigError(
                f"{_name('processes')} must be between 0 (one per CPU) and 64, got {self.processes}"
            )
        if not 0 <= self.check_delay_seconds <= SQS_MAX_DELAY_S:
            raise ConfigError(
                f"{_name('check_delay_seconds')} must be between 0 and {SQS_MAX_DELAY_S} (the SQS limit), "
                f"got {self.check_delay_seconds}"
            )
        if checks_needed(self.check_delay_seconds, self.check_deadline_seconds) > MAX_ATTEMPTS:
            longest = self.check_delay_seconds + (MAX_ATTEMPTS - 1) * SQS_MAX_DELAY_S
            raise ConfigError(
                f"{_name('check_deadline_seconds')} of {self.check_deadline_seconds} needs more than "
                f"{MAX_ATTEMPTS} checks, which Lambda's recursive-loop detection would cut off silently; "
                f"with {_name('check_delay_seconds')}={self.check_delay_seconds} it can be at most {longest}"
            )
        if self.endpoint_url is not None:  # given, if only as "": an empty flag is a mistake, not "unset"
            check_endpoint_url(self.endpoint_url, _name("endpoint_url"))
        try:
            self.naming()
        except ValueError as e:
            raise ConfigError(f"{_name('tarball_extensions')}: {e}") from e
        self.manifest_scope()

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Config:
        values: dict[str, Any] = {}
        for f in fields(cls):
            var = _SOURCES[f.name][0]
            raw = env.get(var, "").strip() if var else ""
            if raw:
                values[f.name] = _parse(f.name, raw)
        return cls(**values)

    def with_flags(self, flags: Any) -> Config:
        """The flags given on a command line (an argparse namespace) over this config, each by its name in
        `_SOURCES`; a flag the command does not have, or left unset, keeps what the environment gave."""
        return self.with_overrides(
            **{
                field: getattr(flags, flag[2:].replace("-", "_"), None)
                for field, (_, flag) in _SOURCES.items()
                if flag
            }
        )

    def with_overrides(self, **overrides: Any) -> Config:
        """Flags beat the environment; a flag left at None keeps what the environment gave."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def sweep_processes(self, cpus: int) -> int:
        """Worker processes for the CLI's sharded sweep; 1 keeps the sweep in this process.

        `--processes N` as given, but never more than there are shards at once (`concurrency`). By
        default one per usable CPU, but no more than `concurrency // 2`: each worker then keeps at
        least two listings in flight, so its core has work while a page is on the wire.
        """
        if self.processes:
            return min(self.processes, self.concurrency)
        return max(1, min(cpus, self.concurrency // 2))

    def fleet_rules(self) -> FleetRules:
        return FleetRules(self.min_tarballs, self.max_backup_age_seconds or None)

    @property
    def event_path_settle_seconds(self) -> int:
        """After this long, an upload the event path handled has its first check's record."""
        return self.check_delay_seconds + self.check_deadline_seconds

    def naming(self) -> TarballNaming:
        return TarballNaming(self.tarball_extensions)

    def policy(self, grace_seconds: int | None = None) -> Policy:
        rule = listing_rule(self.min_listing_bytes, self.stale_tolerance_seconds)
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        scope = self.manifest_scope()
        return Policy(self.naming(), (rule,), grace, (scope,) if scope.ever_on else ())

    def restore_policy(self) -> Policy:
        """A restore needs a valid manifest wherever the backup is, whatever MANIFEST_RULE says."""
        rule = manifest_rule(required=True, stale_tolerance_s=self.stale_tolerance_seconds)
        return Policy(self.naming(), (rule,), grace_s=0)

    @property
    def reads_manifests(self) -> bool:
        return self.manifest_scope().ever_on

    def manifest_scope(self) -> ScopedRule:
        """MANIFEST_RULE everywhere, except under the folders MANIFEST_RULES names."""
        default = _requirement("manifest_rule", self.manifest_rule)
        prefixes = []
        for entry in self.manifest_rules:
            prefix, sep, value = entry.rpartition("=")
            folder = as_folder(prefix.strip())
            if not sep or not folder:
                raise ConfigError(
                    f"{_name('manifest_rules')}: {entry!r} must look like 'backups/corpus/=required' "
                    f"(for every folder, use {_name('manifest_rule')})"
                )
            prefixes.append((folder, _requirement("manifest_rules", value.strip())))
        if len({p for p, _ in prefixes}) < len(prefixes):
            raise ConfigError(f"{_name('manifest_rules')}: a folder is named twice")
        rule = manifest_rule(stale_tolerance_s=self.stale_tolerance_seconds)
        return ScopedRule(rule, default, tuple(prefixes))

    def require(self, *names: str) -> None:
        """Fail with the variable's name when a setting the caller needs is empty."""
        for name in names:
            if not getattr(self, name):
                raise ConfigError(f"{_name(name)} is not set")


def check_endpoint_url(url: str, name: str) -> None:
    """An endpoint is a URL with its scheme; botocore would refuse it later with a bare ValueError."""
    if not url.strip():
        raise ConfigError(
            f"{name} is empty: give the endpoint's URL (https://... or http://...), or leave it out"
        )
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("http", "https"):
        hint = url.split("://", 1)[-1]
        raise ConfigError(f"{name} {url!r} needs a scheme: write http://{hint} or https://{hint}")


def parse_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise ConfigError(f"{url!r} is not an s3:// URL")
    bucket, _, rest = url[len("s3://") :].partition("/")
    if not bucket:
        raise ConfigError(f"{url!r} has no bucket name")
    return bucket, rest


def _requirement(field: str, value: str) -> Requirement:
    try:
        return Requirement(value.lower())
    except ValueError:
        choices = ", ".join(r.value for r in Requirement)
        raise ConfigError(f"{_name(field)} must be one of {choices}, got {value!r}") from None


def comma_list(raw: str) -> tuple[str, ...]:
    """`a, b,,c` -> ("a", "b", "c"), for variables and flags alike."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _parse(field: str, raw: str) -> Any:
    default = next(f for f in fields(Config) if f.name == field).default
    if isinstance(default, tuple):
        return comma_list(raw)
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{_name(field)} must be an integer, got {raw!r}") from None
    return raw
