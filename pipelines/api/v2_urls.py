"""Open Inference Protocol (KServe V2) routes, mounted at /v2/ by mlops_studio/urls.py."""

from django.urls import path

from . import serving

urlpatterns = [
    path("", serving.v2_server, name="v2-server"),
    path("health/live", serving.v2_live, name="v2-live"),
    path("health/ready", serving.v2_ready, name="v2-ready"),
    path("models/<str:name>", serving.v2_model, name="v2-model"),
    path("models/<str:name>/ready", serving.v2_model_ready, name="v2-model-ready"),
    path("models/<str:name>/infer", serving.v2_infer, name="v2-infer"),
]
