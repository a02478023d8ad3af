from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from ..errors import ApplicationError
from ..services.login_throttle import client_ip, login_throttle_wait


class FailedLoginThrottle(BaseThrottle):
    """Refuse a sign-in while its username or client address is over the failure limit.

    Only failures are counted (by the authentication backend); this reads the
    counters so that the view answers 429 + Retry-After before any password check.
    """

    def allow_request(self, request, view) -> bool:
        username = request.data.get("username") if hasattr(request.data, "get") else None
        self._wait = login_throttle_wait(
            username=username if isinstance(username, str) else None, ip=client_ip(request)
        )
        return not self._wait

    def wait(self) -> int:
        return self._wait


class TokenCreateApi(APIView):
    """Exchange a username and password for an API token.

    After ``LOGIN_THROTTLE_USER`` failures for a username, or ``LOGIN_THROTTLE_IP``
    from one address, within ``LOGIN_THROTTLE_WINDOW`` seconds, the endpoint
    answers 429 with ``Retry-After`` until the window ends.
    """

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [FailedLoginThrottle]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField()

    def throttled(self, request, wait):
        raise Throttled(
            wait=wait,
            detail="too many failed sign-in attempts for this username or from this address.",
        )

    @extend_schema(
        request=InputSerializer,
        responses=inline_serializer("TokenOut", {"token": serializers.CharField()}),
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            raise ApplicationError("wrong username or password", status=400)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
