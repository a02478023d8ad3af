from django.urls import path
from django.views.generic import RedirectView

from . import pages

urlpatterns = [
    path("", RedirectView.as_view(url="/pipelines/", permanent=False)),
    *pages.urlpatterns,
]
