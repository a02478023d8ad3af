"""``mlops``: the commands.

Exit codes, so CI jobs can branch on them:
  0  done (a run succeeded, a promotion passed its gates, a graph is valid)
  1  the thing itself failed: a run failed or was cancelled, a gate blocked, a graph is invalid
  2  the request was refused (4xx: bad input, no access, a stale push) or bad usage
  3  the server could not be reached or failed (5xx), or --wait timed out
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
import yaml

from .client import ApiError, Client, config_path, config_write

FINAL = ("succeeded", "failed", "cancelled")
TYPES = {".json": "application/json", ".yaml": "application/yaml", ".yml": "application/yaml"}


class Context:
    def __init__(self, url: str | None, token: str | None, as_json: bool):
        self.url, self.token, self.as_json = url, token, as_json

    @property
    def client(self) -> Client:
        return Client(self.url, self.token)

    def emit(self, data: Any, text: str) -> None:
        """Print ``text`` for people, or ``data`` as JSON with --json."""
        click.echo(json.dumps(data, indent=2) if self.as_json else text)


_pass_context = click.make_pass_decorator(Context)


def _set(name: str):
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None:
            setattr(ctx.find_object(Context), name, value)

    return callback


def pass_ctx(command):
    """Pass the Context, and take --url/--token after the command too (`mlops runs list --url …`)."""
    command = click.option("--token", expose_value=False, callback=_set("token"), help="API token")(command)
    command = click.option("--url", expose_value=False, callback=_set("url"), help="server URL")(command)
    return _pass_context(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", help="server, e.g. http://127.0.0.1:8000 (or MLOPS_URL)")
@click.option("--token", help="API token (or MLOPS_TOKEN; `mlops login` stores one)")
@click.option("--json", "as_json", is_flag=True, help="print the server's JSON instead of text")
@click.pass_context
def cli(ctx: click.Context, url: str | None, token: str | None, as_json: bool) -> None:
    """MLOps Studio from the command line: pipelines as code, runs, promotion and deploys."""
    ctx.obj = Context(url, token, as_json)


@cli.command()
@click.option("--username", prompt=True)
@click.option("--password", prompt=True, hide_input=True)
@pass_ctx
def login(ctx: Context, username: str, password: str) -> None:
    """Exchange a username and password for a token and store it (mode 600)."""
    client = ctx.client
    body = client.request(
        "POST", "/api/auth/token/", json_body={"username": username, "password": password}, auth=False
    ).body
    path = config_write({"url": client.url, "token": body["token"]})
    click.echo(f"logged in to {client.url} as {username}; token stored in {path}")


@cli.command()
def logout() -> None:
    """Forget the stored token."""
    path = config_path()
    path.unlink(missing_ok=True)
    click.echo(f"removed {path}")


# --- pipelines ------------------------------------------------------------------------


@cli.group()
def pipeline() -> None:
    """Pipelines as code: pull, push, validate, run."""


@pipeline.command()
@click.argument("pipeline_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="write here (default: stdout)")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), help="default: from the file name, else yaml")
@pass_ctx
def pull(ctx: Context, pipeline_id: int, output: Path | None, fmt: str | None) -> None:
    """Export PIPELINE_ID as a YAML or JSON document."""
    fmt = fmt or ("json" if output is not None and output.suffix == ".json" else "yaml")
    text = ctx.client.request("GET", f"/api/pipelines/{pipeline_id}/export/", query={"format": fmt}).text
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"pipeline {pipeline_id} written to {output}", err=True)


@pipeline.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--new", is_flag=True, help="import as a new pipeline even if the document has an id")
@click.option("--workspace", type=int, help="with --new or no id: the workspace to import into")
@click.option("--no-update", is_flag=True, help="do not rewrite FILE with the pushed version")
@pass_ctx
def push(ctx: Context, file: Path, new: bool, workspace: int | None, no_update: bool) -> None:
    """Send FILE to the server: update its pipeline (409 if someone saved since) or import it.

    After an update, FILE is rewritten with the server's export, so its version
    is current for the next push.
    """
    raw = file.read_bytes()
    content_type = TYPES.get(file.suffix.lower(), "application/yaml")
    document = _read_document(raw, content_type)
    client = ctx.client
    target = document.get("id") if isinstance(document, dict) and not new else None
    if target is None:
        body = client.request(
            "POST", "/api/pipelines/import/", raw=raw, content_type=content_type, query={"workspace": workspace}
        ).body
        ctx.emit(body, f"imported as pipeline {body['id']} ({body['name']!r}, version {body['version']})")
        for warning in body.get("warnings", []):
            click.echo(f"warning: {warning}", err=True)
        return
    try:
        body = client.request("POST", f"/api/pipelines/{target}/import/", raw=raw, content_type=content_type).body
    except ApiError as exc:
        if exc.status == 409:
            current = (exc.body or {}).get("current_version")
            raise ApiError(
                f"pipeline {target} was saved since this file was pulled (it is at version {current}, "
                f"the file says {document.get('version')}): `mlops pipeline pull {target}` and apply your "
                "changes again",
                status=409,
            ) from None
        raise
    if not no_update:
        fmt = "json" if content_type == "application/json" else "yaml"
        text = client.request("GET", f"/api/pipelines/{target}/export/", query={"format": fmt}).text
        file.write_text(text)
    ctx.emit(body, f"pushed pipeline {target}: now version {body['version']}")


def _read_document(raw: bytes, content_type: str) -> Any:
    try:
        if content_type == "application/json":
            return json.loads(raw)
        return yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise click.ClickException(f"the file is not valid {content_type.split('/')[1].upper()}: {exc}") from None


@pipeline.command()
@click.argument("pipeline_id", type=int)
@click.option("-f", "--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="validate this document's graph instead of the saved draft")
@pass_ctx
def validate(ctx: Context, pipeline_id: int, file: Path | None) -> None:
    """Check PIPELINE_ID's graph (or FILE's) without running it; exit 1 if it is invalid."""
    body: dict[str, Any] = {}
    if file is not None:
        document = _read_document(file.read_bytes(), TYPES.get(file.suffix.lower(), "application/yaml"))
        if not isinstance(document, dict) or not isinstance(document.get("graph"), dict):
            raise click.ClickException("the file has no graph mapping")
        body = {"graph": document["graph"]}
    result = ctx.client.post(f"/api/pipelines/{pipeline_id}/validate/", body)
    lines = ["valid" if result["valid"] else "invalid"]
    lines += [f"  graph: {message}" for message in result.get("graph_errors", [])]
    for node, messages in sorted(result.get("errors", {}).items()):
        lines += [f"  {node}: {message}" for message in messages]
    ctx.emit(result, "\n".join(lines))
    if not result["valid"]:
        sys.exit(1)


@pipeline.command()
@click.argument("pipeline_id", type=int)
@click.option("--wait", is_flag=True, help="wait for the run to end; exit 1 unless it succeeded")
@click.option("--no-cache", is_flag=True, help="run every step again")
@click.option("--timeout", type=float, default=3600, show_default=True, help="seconds --wait waits")
@pass_ctx
def run(ctx: Context, pipeline_id: int, wait: bool, no_cache: bool, timeout: float) -> None:
    """Start a run of PIPELINE_ID."""
    client = ctx.client
    started = client.post(f"/api/pipelines/{pipeline_id}/runs/", {"use_cache": not no_cache})
    click.echo(f"run {started['id']} queued ({client.url}/runs/{started['id']}/)", err=True)
    if not wait:
        ctx.emit(started, str(started["id"]))
        return
    finished = _wait(client, started["id"], timeout)
    ctx.emit(finished, _run_text(finished))
    if finished["status"] != "succeeded":
        sys.exit(1)


def _wait(client: Client, run_id: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        body = client.get(f"/api/runs/{run_id}/")
        if body["status"] in FINAL:
            return body
        if time.monotonic() > deadline:
            raise ApiError(f"run {run_id} is still {body['status']} after {timeout:g} s (--timeout)")
        time.sleep(delay)
        delay = min(delay * 1.5, 5.0)


def _run_text(run: dict) -> str:
    head = f"run {run['id']}: {run['status']}"
    if run.get("headline"):
        head += f" · {run['headline']['name']} {run['headline']['value']:.4g}"
    if run.get("duration_seconds") is not None:
        head += f" · {run['duration_seconds']:.1f} s"
    lines = [head]
    if run.get("error"):
        lines.append(f"  error: {run['error']}")
    for step in run.get("steps", []):
        cached = " (cached)" if step.get("cache_hit") else ""
        lines.append(f"  {step['status']:<10} {step['node_id']}{cached}")
        if step.get("error"):
            lines.append(f"             {step['error']}")
    return "\n".join(lines)


# --- runs -------------------------------------------------------------------------------


@cli.group()
def runs() -> None:
    """Look at runs."""


@runs.command("list")
@click.option("--pipeline", "pipeline_id", type=int, help="only this pipeline's runs")
@click.option("--status", type=click.Choice(["queued", "running", "succeeded", "failed", "cancelled"]))
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@pass_ctx
def runs_list(ctx: Context, pipeline_id: int | None, status: str | None, limit: int) -> None:
    """The newest runs first."""
    body = ctx.client.get("/api/runs/", query={"pipeline": pipeline_id, "status": status, "limit": limit})
    rows = body["results"]
    lines = [f"{'RUN':>6}  {'STATUS':<10} {'TRIGGER':<9} {'PIPELINE':<30} CREATED"]
    lines += [
        f"{r['id']:>6}  {r['status']:<10} {r['trigger']:<9} {r['pipeline_name'][:30]:<30} {r['created_at']}"
        for r in rows
    ]
    ctx.emit(rows, "\n".join(lines) if rows else "no runs")


@runs.command("show")
@click.argument("run_id", type=int)
@pass_ctx
def runs_show(ctx: Context, run_id: int) -> None:
    """One run with its steps."""
    body = ctx.client.get(f"/api/runs/{run_id}/")
    ctx.emit(body, _run_text(body))


# --- delivery -------------------------------------------------------------------------


@cli.group()
def model() -> None:
    """Registered models."""


@model.command()
@click.argument("name")
@click.argument("version", type=int)
@click.option("--alias", required=True, help="e.g. champion, challenger")
@click.option("--reason", default="", help="recorded in the promotion history")
@click.option("--override", is_flag=True, help="admins: promote despite a blocking gate (needs --reason)")
@pass_ctx
def promote(ctx: Context, name: str, version: int, alias: str, reason: str, override: bool) -> None:
    """Point ALIAS of model NAME at VERSION, through its gates; exit 1 if a gate blocks."""
    from urllib.parse import quote

    body: dict[str, Any] = {"alias": alias, "reason": reason}
    if override:
        body["override"] = True
    response = ctx.client.request(
        "POST", f"/api/registered-models/{quote(name, safe='')}/versions/{version}/promote/", json_body=body, ok=(422,)
    )
    result = response.body if isinstance(response.body, dict) else {}
    gates = result.get("gates", [])
    lines = [
        f"  {'pass' if g.get('passed') else 'FAIL'}  {g.get('kind')}: {g.get('detail', '')}" for g in gates
    ]
    if response.status == 422:
        ctx.emit(result, "\n".join([f"blocked: {name} v{version} was not promoted to {alias!r}", *lines]))
        sys.exit(1)
    ctx.emit(result, "\n".join([f"promoted {name} v{version} to {alias!r}", *lines]))


@cli.command()
@click.argument("name")
@click.option("--model-version", type=int, help="the model version id to serve (pinned)")
@click.option("--model", "model_name", help="a registered model name: the deployment follows --alias")
@click.option("--alias", help="with --model: the alias to follow, e.g. champion")
@pass_ctx
def deploy(ctx: Context, name: str, model_version: int | None, model_name: str | None, alias: str | None) -> None:
    """Deploy NAME (a new revision if it exists), pinned to a version or following an alias."""
    if (model_version is None) == (model_name is None):
        raise click.UsageError("give either --model-version ID or --model NAME --alias ALIAS")
    if model_name is not None and not alias:
        raise click.UsageError("--model needs --alias")
    body: dict[str, Any] = {"name": name}
    if model_version is not None:
        body["model_version"] = model_version
    else:
        body.update(model=model_name, alias=alias)
    client = ctx.client
    result = client.post("/api/deployments/", body)
    ctx.emit(result, f"deployed {name}: POST {client.url}/api/deployments/{name}/predict")


def main() -> None:
    cli(prog_name="mlops")


if __name__ == "__main__":
    main()
