"""``{% chart_assets %}``: the script and stylesheet that draw ``[data-vega-chart]`` figures.

Every chart figure (``pages/outputs/chart_figure.html``) includes them, so any
page that shows a chart draws it without wiring of its own: the browser runs a
module script once however often it is included, and the script draws every
figure on the page. Without a built frontend they render as nothing and the
figures keep their text.
"""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join

from ..views.editor import vite_assets
from ..views.outputs import CHARTS_ENTRY

register = template.Library()


@register.simple_tag
def chart_assets() -> str:
    assets = vite_assets(CHARTS_ENTRY)
    if not assets:
        return ""
    css = format_html_join("", '<link rel="stylesheet" href="{}">', ((static(h),) for h in assets["css"]))
    js = format_html_join("", '<script type="module" src="{}"></script>', ((static(s),) for s in assets["js"]))
    return format_html("{}{}", css, js)
