"""OpenTelemetry export of the live agent's findings: one OTLP log record per detection,
over OTLP/HTTP (protobuf), through the official SDK (``pip install 'flapwatch[otlp]'``).

    agent = flapwatch.Agent(["eth0"], otlp="http://collector:4318")   # or an OtlpLogs(...)

Each record: timestamp = the detection's ``ts_ns``, event name ``flapwatch.<type>`` (the
``type`` of the events file: flap, policy_event, pfc_storm, pause_stat, lldp_event),
severity WARN for flaps, storms and tripped policies (INFO otherwise), and attributes
``flapwatch.kind`` plus ``flapwatch.<column>`` for every column of the row (``flapwatch.port``,
``flapwatch.duration_ns``...; None and empty strings are left out). Resource: ``service.name``
= flapwatch, ``service.version``, ``host.name`` (and OTEL_RESOURCE_ATTRIBUTES).

A collector that is down, slow or refusing never stalls detection: ``emit`` only appends to
the SDK's BatchLogRecordProcessor queue; its worker thread exports, each request bounded by
``timeout_s``. At most ``max_queue`` records are held (queued or in the request in flight);
a record that finds them all taken is dropped and counted, and so is every record of a
request that failed (after the SDK's retries within the timeout). The counts are
``sent``, ``dropped`` (by reason: queue_full, export_failed, shutdown) and ``queued``;
``metric_families()`` gives them to Prometheus as ``flapwatch_otlp_sent_total``,
``flapwatch_otlp_dropped_total{reason}`` and ``flapwatch_otlp_queued``.

The standard variables OTEL_BLRP_MAX_QUEUE_SIZE, OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
OTEL_BLRP_SCHEDULE_DELAY (ms) and OTEL_EXPORTER_OTLP_LOGS_TIMEOUT (s) set the defaults.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from flapwatch.live.agent import Detection

DROP_REASONS = ("queue_full", "export_failed", "shutdown")
_WARN_KINDS = ("flaps", "pfc_storms")


def logs_endpoint(url: str) -> str:
    """``http://collector:4318`` -> ``http://collector:4318/v1/logs``; a URL with a path is kept."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"OTLP endpoint must be http(s)://HOST:PORT[/path], not {url!r}")
    path = parts.path if parts.path not in ("", "/") else "/v1/logs"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def _attribute(value):
    """OTel attribute values are str, bool, int or float; None (an unknown string) is left out."""
    if value is None or value == "":
        return None
    if isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


class OtlpLogs:
    """Detections to an OTLP/HTTP collector as log records, batched, bounded, drops counted."""

    def __init__(
        self,
        endpoint: str,
        *,
        max_queue: int | None = None,
        batch_size: int | None = None,
        schedule_delay_s: float | None = None,
        timeout_s: float | None = None,
        headers: dict[str, str] | None = None,
        resource: dict | None = None,
    ):
        try:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
            from opentelemetry.sdk._logs import LoggerProvider
            from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
            from opentelemetry.sdk.resources import Resource
        except ImportError as e:
            raise ImportError(f"OTLP export needs opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http "
                              f"(pip install 'flapwatch[otlp]'): {e}") from e

        from flapwatch import __version__

        self.endpoint = logs_endpoint(endpoint)
        self.max_queue = int(max_queue or _env_number("OTEL_BLRP_MAX_QUEUE_SIZE", 2048))
        self.batch_size = min(self.max_queue, int(batch_size or _env_number("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", 256)))
        delay_ms = schedule_delay_s * 1e3 if schedule_delay_s is not None else _env_number("OTEL_BLRP_SCHEDULE_DELAY", 500)
        self.timeout_s = timeout_s if timeout_s is not None else _env_number("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", 2.0)

        self._lock = threading.Lock()
        self.accepted = self.sent = 0
        self.dropped = dict.fromkeys(DROP_REASONS, 0)
        self._closed = False
        self._otlp_down = threading.Event()
        self._finished = False  # after close(): late export results are no longer counted

        attrs = {"service.name": "flapwatch", "service.version": __version__, "host.name": socket.gethostname()}
        self.resource = Resource.create({**attrs, **(resource or {})})
        self._otlp = OTLPLogExporter(endpoint=self.endpoint, timeout=self.timeout_s, headers=headers)
        # The processor's own deque never overflows (emit keeps accepted - done under max_queue),
        # so no record leaves uncounted.
        self._processor = BatchLogRecordProcessor(
            _CountingExporter(self._otlp, self._exported, self._shutdown_otlp),
            schedule_delay_millis=delay_ms,
            max_export_batch_size=self.batch_size,
            max_queue_size=self.max_queue,
        )
        self._provider = LoggerProvider(resource=self.resource, shutdown_on_exit=False)
        self._provider.add_log_record_processor(self._processor)
        self._logger = self._provider.get_logger("flapwatch.agent", __version__)

    # counts
    @property
    def queued(self) -> int:
        """Records held: in the processor's queue or in the request in flight."""
        with self._lock:
            return self._held()

    def _held(self) -> int:
        return self.accepted - self.sent - self.dropped["export_failed"]

    @property
    def dropped_total(self) -> int:
        with self._lock:
            return sum(self.dropped.values())

    def counts(self) -> dict:
        with self._lock:
            return {"sent": self.sent, "queued": self._held(), "dropped": dict(self.dropped)}

    def _exported(self, n: int, ok: bool) -> None:
        with self._lock:
            if self._finished:
                return
            if ok:
                self.sent += n
            else:
                self.dropped["export_failed"] += n

    # the detection thread's side: never blocks on the network
    def emit(self, d: "Detection") -> bool:
        """Queue one detection; False when it was dropped (queue full or closed), counted."""
        from opentelemetry._logs import SeverityNumber

        from flapwatch.tables import schema

        with self._lock:
            if self._closed:
                self.dropped["shutdown"] += 1
                return False
            if self._held() >= self.max_queue:
                self.dropped["queue_full"] += 1
                return False
            self.accepted += 1
        row = d.row
        kind = schema.ROW_TYPES.get(d.kind, d.kind)
        warn = d.kind in _WARN_KINDS or (d.kind == "policy_events" and row.get("event") == "trip")
        attributes = {"flapwatch.kind": kind}
        for column, value in row.items():
            value = _attribute(value)
            if value is not None:
                attributes[f"flapwatch.{column}"] = value
        ts = row.get("ts_ns")
        self._logger.emit(
            timestamp=int(ts) if isinstance(ts, int) and ts > 0 else None,
            severity_number=SeverityNumber.WARN if warn else SeverityNumber.INFO,
            severity_text="WARN" if warn else "INFO",
            body=f"{kind} on {row.get('port')}",
            attributes=attributes,
            event_name=f"flapwatch.{kind}",
        )
        return True

    def close(self, timeout_s: float | None = None) -> dict:
        """Send what is queued, waiting at most ``timeout_s`` (default: the request timeout);
        what could not be sent by then is counted as dropped (shutdown). Returns the counts."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        with self._lock:
            if self._closed:
                return self.counts()
            self._closed = True
        # LoggerProvider.shutdown waits up to 30 s for the worker's last export: run it aside.
        closer = threading.Thread(target=self._provider.shutdown, name="flapwatch-otlp-close", daemon=True)
        closer.start()
        closer.join(timeout_s)
        if closer.is_alive():
            self._shutdown_otlp()  # aborts the retry wait; the remaining batches fail at once
            closer.join(1.0)
        with self._lock:
            left = self._held()  # never confirmed sent
            self.dropped["shutdown"] += left
            self.accepted -= left
            self._finished = True
        return self.counts()

    def _shutdown_otlp(self) -> None:
        with self._lock:
            if self._otlp_down.is_set():
                return
            self._otlp_down.set()
        self._otlp.shutdown()

    def metric_families(self):
        """Prometheus metric families (prometheus_client collector protocol)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        c = self.counts()
        sent = CounterMetricFamily("flapwatch_otlp_sent", "Detections the OTLP collector accepted")
        sent.add_metric([], c["sent"])
        dropped = CounterMetricFamily("flapwatch_otlp_dropped",
                                      "Detections never delivered to the OTLP collector", labels=["reason"])
        for reason in DROP_REASONS:
            dropped.add_metric([reason], c["dropped"][reason])
        queued = GaugeMetricFamily("flapwatch_otlp_queued", "Detections held for the OTLP collector (bounded)")
        queued.add_metric([], c["queued"])
        return [sent, dropped, queued]


class _CountingExporter:
    """Wraps the OTLP exporter: every batch ends as sent or export_failed."""

    def __init__(self, inner, on_result, shutdown):
        self._inner, self._on_result, self.shutdown = inner, on_result, shutdown

    def export(self, batch):
        from opentelemetry.sdk._logs.export import LogRecordExportResult

        try:
            ok = self._inner.export(batch) == LogRecordExportResult.SUCCESS
        except Exception:  # the SDK would log and drop it: count it
            ok = False
        self._on_result(len(batch), ok)
        return LogRecordExportResult.SUCCESS if ok else LogRecordExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        return True
