from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("pipelines.api.urls")),
    path("v2/", include("pipelines.api.v2_urls")),
    path("", include("pipelines.views.urls")),
]

handler404 = "pipelines.api.errors.api_not_found"
handler500 = "pipelines.api.errors.api_server_error"
