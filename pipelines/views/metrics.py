"""``GET /metrics``: Prometheus text format for central monitoring.

Who may scrape (deployment names belong to workspaces, so nothing is shown to
anonymous callers): a scraper sending ``Authorization: Bearer <METRICS_TOKEN>``
(set the ``METRICS_TOKEN`` environment variable; unset, no bearer token is
accepted), or a staff user, by session or API token. Anyone else gets 401
(no or bad credentials) or 403 (signed in, not staff), as JSON.

The numbers are computed at scrape time (``selectors.metrics`` says why).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import path
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from ..selectors import metrics as selectors
from ..services.prediction_logs import LATENCY_BUCKETS_MS


class _Collector:
    def collect(self):
        requests = CounterMetricFamily(
            "mlops_prediction_requests", "Prediction requests answered or refused", labels=["deployment"]
        )
        errors = CounterMetricFamily(
            "mlops_prediction_errors", "Prediction requests refused (status >= 400)", labels=["deployment"]
        )
        rows = CounterMetricFamily("mlops_prediction_rows", "Rows predicted", labels=["deployment"])
        latency = HistogramMetricFamily(
            "mlops_prediction_latency_seconds", "Time to answer a prediction request", labels=["deployment"]
        )
        for t in selectors.deployment_traffic_totals():
            requests.add_metric([t.name], t.requests)
            errors.add_metric([t.name], t.errors)
            rows.add_metric([t.name], t.rows)
            buckets = [(_bound(ms), count) for ms, count in zip(LATENCY_BUCKETS_MS, t.buckets, strict=True)]
            latency.add_metric([t.name], [*buckets, ("+Inf", t.requests)], t.latency_sum_ms / 1000.0)
        yield from (requests, errors, rows, latency)

        runs = GaugeMetricFamily("mlops_runs", "Pipeline runs by status", labels=["status"])
        for status, n in selectors.runs_by_status().items():
            runs.add_metric([status], n)
        steps = GaugeMetricFamily("mlops_steps", "Steps of runs by status", labels=["status"])
        for status, n in selectors.steps_by_status().items():
            steps.add_metric([status], n)
        yield from (runs, steps)

        queues = GaugeMetricFamily("mlops_queue_length", "Tasks waiting in a Celery queue", labels=["queue"])
        for queue, n in selectors.queue_lengths().items():
            queues.add_metric([queue], n)
        backlog = GaugeMetricFamily(
            "mlops_prediction_log_backlog", "Prediction log batches not yet written, by state", labels=["state"]
        )
        for state, n in selectors.log_backlog().items():
            backlog.add_metric([state], n)
        yield from (queues, backlog)


def _bound(ms: float) -> str:
    return repr(ms / 1000.0)


def _refusal(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"detail": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def _may_scrape(request) -> JsonResponse | None:
    """None when the caller may scrape, else the refusal."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        token = settings.METRICS_TOKEN
        if token and hmac.compare_digest(value.strip().encode(), token.encode()):
            return None
        return _refusal(401, "the metrics token is not valid")
    user = request.user
    if scheme.lower() == "token":
        try:
            found = TokenAuthentication().authenticate(request)
        except AuthenticationFailed as exc:
            return _refusal(401, str(exc.detail))
        user = found[0] if found else None
    if user is None or not user.is_authenticated:
        return _refusal(401, "send 'Authorization: Bearer <METRICS_TOKEN>', or sign in as a staff user")
    if not user.is_staff:
        return _refusal(403, "only staff users and the metrics token may read /metrics")
    return None


def metrics(request):
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"detail": f"method {request.method} not allowed; use GET"}, status=405,
                            headers={"Allow": "GET, HEAD"})
    refused = _may_scrape(request)
    if refused is not None:
        return refused
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


urlpatterns = [path("metrics", metrics, name="metrics")]
