"""Builds the nightly sampled verification from its settings; clients are made lazily, once."""

from __future__ import annotations

import functools

from aws_lambda_powertools import Logger, Metrics

from ..adapters.s3 import S3Lister, S3Objects
from ..adapters.tarball_bytes import S3JsonReports, S3ListingWriter, S3TarballBytes
from ..config import Config
from ..domain.verify.sampled_verification import AutoRepair, SampledVerification
from .observability import EmfCounter
from .verify_config import SamplingConfig
from .wiring import aws_client, utc_now


@functools.cache
def sampled_verification(
    config: Config, sampling: SamplingConfig, logger: Logger, metrics: Metrics
) -> SampledVerification:
    """The listing writer exists only with AUTO_REPAIR=missing, and writes only `*.list.txt` under
    the prefix; the template grants that one write and no other to the backup bucket."""
    config.require("bucket")
    s3 = aws_client(config, "s3")
    return SampledVerification(
        lister=S3Lister(s3),
        store=S3Objects(s3),
        source=S3TarballBytes(s3),
        writes=S3ListingWriter(s3, config.prefix) if sampling.auto_repair is AutoRepair.MISSING else None,
        reports=S3JsonReports(s3, config.report_bucket or config.bucket),
        metrics=EmfCounter(metrics),
        log=logger,
        policy=config.policy(),
        bucket=config.bucket,
        prefix=config.prefix,
        report_prefix=config.report_prefix,
        nights=sampling.nights,
        budget_bytes=sampling.budget_bytes,
        clock=utc_now,
    )
