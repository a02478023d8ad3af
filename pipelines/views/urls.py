from django.urls import path
from django.views.generic import RedirectView

from . import datasets, editor, pages, registry

urlpatterns = [
    path("", RedirectView.as_view(url="/pipelines/", permanent=False)),
    *pages.urlpatterns,
    *datasets.urlpatterns,
    *editor.urlpatterns,
    *registry.urlpatterns,
]
