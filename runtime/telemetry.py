"""The worker's metrics: the SDK's own and the engine's counters, on one Prometheus endpoint."""

from __future__ import annotations

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig


def runtime_with_metrics(address: str | None) -> Runtime | None:
    """A Temporal runtime serving http://ADDRESS/metrics, or None (the SDK's default) when off."""
    if not address:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


def metrics_url(address: str) -> str:
    return f"http://{address}/metrics"
