"""A small HTTP client for the MLOps Studio API (standard library only).

Server and token come from ``--url``/``--token``, else ``MLOPS_URL``/``MLOPS_TOKEN``,
else the file ``mlops login`` wrote (``<user config dir>/mlops/config.json``, mode 600).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT = 60


class ApiError(click.ClickException):
    """A refusal from the server (4xx) or a server that cannot be reached (exit 3)."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body
        # 4xx: the request was wrong (2, like a usage error); otherwise the server is the problem (3).
        self.exit_code = 2 if status is not None and 400 <= status < 500 else 3


def config_path() -> Path:
    return Path(click.get_app_dir("mlops")) / "config.json"


def config_read() -> dict[str, str]:
    try:
        data = json.loads(config_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def config_write(data: dict[str, str]) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    os.chmod(path, 0o600)
    return path


@dataclass
class Response:
    status: int
    body: Any
    text: str
    content_type: str


class Client:
    def __init__(self, url: str | None, token: str | None):
        saved = config_read()
        self.url = (url or os.environ.get("MLOPS_URL") or saved.get("url") or DEFAULT_URL).rstrip("/")
        self.token = token or os.environ.get("MLOPS_TOKEN") or saved.get("token")

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw: bytes | None = None,
        content_type: str | None = None,
        query: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (),
        auth: bool = True,
    ) -> Response:
        """Send one request; a 4xx/5xx not listed in ``ok`` raises ApiError with the server's message."""
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Accept": "application/json"}
        data = raw
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif content_type:
            headers["Content-Type"] = content_type
        if auth:
            if not self.token:
                raise ApiError(
                    "not logged in: run `mlops login`, or pass --token / set MLOPS_TOKEN", status=401
                )
            headers["Authorization"] = f"Token {self.token}"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310 - the user's server
                return _response(resp.status, resp.read(), resp.headers.get("Content-Type", ""))
        except urllib.error.HTTPError as exc:
            response = _response(exc.code, exc.read(), exc.headers.get("Content-Type", ""))
            if exc.code in ok:
                return response
            raise ApiError(_message(response), status=exc.code, body=response.body) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(f"cannot reach {self.url}: {reason}") from None

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs).body

    def post(self, path: str, body: Any = None, **kwargs) -> Any:
        return self.request("POST", path, json_body=body if body is not None else {}, **kwargs).body


def _response(status: int, raw: bytes, content_type: str) -> Response:
    text = raw.decode("utf-8", "replace")
    body: Any = text
    if "json" in content_type:
        try:
            body = json.loads(text)
        except ValueError:
            pass
    return Response(status, body, text, content_type)


def _message(response: Response) -> str:
    body = response.body
    if isinstance(body, dict) and "detail" in body:
        message = f"{body['detail']}"
        if body.get("field"):
            message += f" (field: {body['field']})"
        return f"the server refused ({response.status}): {message}"
    return f"the server answered {response.status}: {response.text[:300]}"
