"""Formatting for the server-rendered pages: durations, metrics, status pills."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ..models import StepStatus

register = template.Library()


@register.filter
def duration(seconds: Any) -> str:
    """``0.42`` → "0.42 s", ``75`` → "1 m 15 s", ``3900`` → "1 h 5 m"; None → "—"."""
    if seconds is None or seconds == "":
        return "—"
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        return "—"
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


@register.filter
def metric(value: Any) -> str:
    """A metric value short enough for a table cell: 4 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if abs(value) >= 1000:
            return f"{value:,.1f}"
        return f"{value:.4g}"
    return str(value)


@register.filter
def signed(value: Any) -> str:
    """A delta with its sign: ``+0.0123``, ``−2``."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    if value == 0:
        return "±0"
    magnitude = abs(value)
    text = f"{magnitude:.4f}" if isinstance(value, float) and magnitude < 1 else metric(magnitude)
    if text.strip("0.") == "":  # smaller than the shown precision
        text = f"{magnitude:.1e}"
    return ("+" if value > 0 else "−") + text


@register.filter
def cell(value: Any) -> str:
    """A value from a table preview."""
    if value is None:
        return "null"
    if isinstance(value, float):
        return metric(value)
    return str(value)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def percent(value: Any) -> int:
    """A 0..1 fraction as a whole percentage for widths."""
    try:
        return max(0, min(100, int(round(float(value) * 100))))
    except (TypeError, ValueError):
        return 0


@register.simple_tag
def status_badge(status: str, cached: bool = False) -> str:
    """A pill: ``<span class="badge badge--failed">failed</span>``."""
    if cached and status == StepStatus.SUCCEEDED:
        return mark_safe('<span class="badge badge--cached">cached</span>')
    return format_html(
        '<span class="badge badge--{}"><span class="badge-dot"></span>{}</span>',
        status or "none",
        status or "—",
    )


@register.filter
def ago(moment: Any) -> str:
    """ "just now", "4 minutes ago", "2 days ago" (the largest unit only)."""
    if not moment:
        return ""
    from django.utils import timezone
    from django.utils.timesince import timesince

    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return timesince(moment, depth=1) + " ago"
