"""``{% firing_alert_count as n %}``: the nav's badge of firing alerts (one count query a page)."""

from __future__ import annotations

from django import template

from ..selectors.alerts import alert_firing_count

register = template.Library()


@register.simple_tag(takes_context=True)
def firing_alert_count(context) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return alert_firing_count(user=user)
