from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from pipelines import accounts

urlpatterns = [
    path("admin/", admin.site.urls),
    # Sign-in limits and email-aware password reset; the rest is django.contrib.auth's.
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/password_reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("pipelines.api.urls")),
    path("v2/", include("pipelines.api.v2_urls")),
    path("", include("pipelines.views.urls")),
]

handler404 = "pipelines.api.errors.api_not_found"
handler403 = "pipelines.api.errors.api_permission_denied"
handler500 = "pipelines.api.errors.api_server_error"
