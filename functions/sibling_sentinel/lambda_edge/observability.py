"""One place configures Powertools; metrics go out as EMF on stdout, so no PutMetricData permission."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "SiblingSentinel"
SERVICE = "sibling-sentinel"


def observability() -> tuple[Logger, Metrics]:
    """Namespace and service come from POWERTOOLS_* variables when set, else the product's defaults."""
    service = os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE
    return Logger(service=service), Metrics(namespace=namespace, service=service)


class EmfCounter:
    """The domain's Counter port on Powertools Metrics; one dimension (service) keeps the bill small."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def count(self, name: str, value: float = 1) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def seconds(self, name: str, value: float) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=value)

    def percent(self, name: str, value: float) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Percent, value=value)
