from django.urls import path
from django.views.generic import RedirectView

from . import (
    datasets,
    downloads,
    editor,
    metrics,
    pipelines_list,
    registry,
    run_compare,
    run_detail,
    run_history,
)

urlpatterns = [
    path("", RedirectView.as_view(url="/pipelines/", permanent=False)),
    *pipelines_list.urlpatterns,
    *run_history.urlpatterns,
    *run_compare.urlpatterns,
    *run_detail.urlpatterns,
    *downloads.urlpatterns,
    *datasets.urlpatterns,
    *editor.urlpatterns,
    *registry.urlpatterns,
    *metrics.urlpatterns,
]

from . import alerts  # noqa: E402 - issue 9

urlpatterns += alerts.urlpatterns
from . import monitoring  # noqa: E402

urlpatterns += monitoring.urlpatterns
from . import cards  # noqa: E402 - issue 11

urlpatterns += cards.urlpatterns
from . import audit  # noqa: E402 - issue 11

urlpatterns += audit.urlpatterns
