"""Editor speed in a real browser: load time, a 200-node graph, panning, bundle size.

    cd frontend && npm ci && npm run build && cd ..    # the bench measures the built bundle
    .venv/bin/python bench/editor.py [--loads 5] [--nodes 200]

Needs no services: the script starts its own gunicorn (as ``make run`` does) on a
free port with a throwaway ``VAR_DIR`` (SQLite, filesystem broker; no worker is
started because nothing runs), migrates, creates a user and three pipelines:
empty (the baseline), the demo breast-cancer pipeline and a generated graph of
``--nodes`` blocks (40 chains of dataset → split → logistic regression → train →
evaluate on a grid). Chromium is Debian's (/usr/bin/chromium), driven by the
Playwright Python package; `playwright install` is never needed.

"Editor interactive" = from navigation start (``performance.timeOrigin``) until
every node of the graph is in the DOM and measured by React Flow (none hidden),
the palette search box is enabled and the palette lists blocks. It is read with
``performance.now()`` in a requestAnimationFrame poll, so it is ±1 frame.
Each graph is loaded ``--loads`` times in a fresh browser context (empty HTTP
cache: the cold case, compared with the goal) and as many times in one warm
context (a returning user); medians are printed.

Panning: a mouse drag over empty pane of the 200-node graph in 60 steps at
~60 Hz while a requestAnimationFrame loop records frame times; printed are the
frames seen, the longest gap between frames and the share of gaps over 50 ms.
Then one click on a node must select it (the node gets ``.selected`` and the
inspector shows its parameters), timed from the click.

Bundle: the gzipped size (level 9) of the editor entry's JS, i.e. ``src/main.tsx``
and every chunk it imports transitively per ``frontend/dist/.vite/manifest.json``
(CSS printed separately).

Goals (issue #4): interactive ≤ 1.5 s on localhost; the 200-node graph loads
and pans without dropped interactions; editor JS ≤ 400 KB gzipped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "frontend" / "dist"
MANIFEST = DIST / ".vite" / "manifest.json"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
USERNAME, PASSWORD = "bench", "bench-pass-123"
GOAL_INTERACTIVE_S = 1.5
GOAL_GZIP_KB = 400.0
VIEWPORT = {"width": 1280, "height": 800}


# --- data -------------------------------------------------------------------------------


def big_graph(nodes: int) -> dict:
    """``nodes`` valid blocks (a multiple of 5): chains laid out on a grid."""
    from pipelines.graph.builder import GraphBuilder

    chains = max(1, nodes // 5)
    per_row = 5  # chains side by side; each chain is 4 columns × 2 rows of blocks
    builder = GraphBuilder()
    for i in range(chains):
        ox = (i % per_row) * 4 * 260
        oy = (i // per_row) * 2 * 190
        (
            builder.node(f"load_{i}", "dataset.builtin", at=(ox, oy), name="iris")
            .node(f"split_{i}", "data.split", at=(ox + 260, oy), seed=i)
            .node(f"logreg_{i}", "sklearn.linear_model.LogisticRegression", at=(ox + 260, oy + 190), C=1.0)
            .node(f"train_{i}", "model.train", at=(ox + 520, oy + 95), target="target")
            .node(f"evaluate_{i}", "model.evaluate", at=(ox + 780, oy + 95), target="target")
            .edge(f"load_{i}.table", f"split_{i}.table")
            .edge(f"logreg_{i}.estimator", f"train_{i}.estimator")
            .edge(f"split_{i}.train", f"train_{i}.table")
            .edge(f"train_{i}.model", f"evaluate_{i}.model")
            .edge(f"split_{i}.test", f"evaluate_{i}.table")
        )
    return builder.build()


def setup_data(nodes: int) -> dict[str, tuple[int, int]]:
    """Migrate the throwaway database; create the user and pipelines. → name: (id, nodes)."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from pipelines.access import workspace_for
    from pipelines.demo import breast_cancer_graph
    from pipelines.graph.builder import GraphBuilder
    from pipelines.models import Role
    from pipelines.services.graphs import graph_validate
    from pipelines.services.pipelines import pipeline_create

    user = get_user_model().objects.create_user(USERNAME, password=PASSWORD)
    workspace = workspace_for(user, None, Role.EDITOR)
    graphs = {
        "empty": GraphBuilder().build(),
        "breast_cancer": breast_cancer_graph(),
        f"{nodes}-node": big_graph(nodes),
    }
    out = {}
    for name, graph in graphs.items():
        if graph["nodes"]:
            result = graph_validate(graph=graph, workspace=workspace)
            assert result.valid, f"the {name} graph is not valid: {result.as_dict()}"
        pipeline = pipeline_create(workspace=workspace, user=user, name=name, graph=graph)
        out[name] = (pipeline.pk, len(graph["nodes"]))
    connection.close()
    return out


# --- server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    cmd = [
        str(gunicorn), "mlops_studio.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--threads", "4",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited: see {log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    sys.exit(f"the server did not answer within 30 s: see {log}")


# --- browser measurements ---------------------------------------------------------------

INTERACTIVE_JS = """(expected) => {
  const nodes = document.querySelectorAll('.react-flow__node');
  if (nodes.length !== expected) return false;
  for (const n of nodes) if (n.style.visibility === 'hidden') return false;
  if (expected === 0 && !document.querySelector('[data-testid="empty-state"]')) return false;
  const search = document.querySelector('[data-testid="palette-search"]');
  if (!search || search.disabled) return false;
  if (!document.querySelector('[data-testid^="palette-"][draggable="true"]')) return false;
  return performance.now();
}"""

FRAMES_START_JS = """() => {
  window.__frames = [];
  window.__recording = true;
  const tick = (t) => { window.__frames.push(t); if (window.__recording) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""

FRAMES_STOP_JS = """() => { window.__recording = false; return window.__frames; }"""

EMPTY_PANE_POINT_JS = """() => {
  const pane = document.querySelector('.react-flow__pane').getBoundingClientRect();
  for (let y = pane.top + 40; y < pane.bottom - 40; y += 12) {
    for (let x = pane.left + 40; x < pane.right - 300; x += 12) {
      const el = document.elementFromPoint(x, y);
      if (el && el.classList.contains('react-flow__pane')) return {x, y};
    }
  }
  return null;
}"""


def load_once(page, url: str, expected: int) -> float:
    page.goto(url, wait_until="commit")
    handle = page.wait_for_function(INTERACTIVE_JS, arg=expected, polling="raf", timeout=60_000)
    return handle.json_value() / 1000.0


def measure_loads(browser, state: dict, url: str, expected: int, loads: int) -> dict[str, list[float]]:
    cold = []
    for _ in range(loads):
        context = browser.new_context(viewport=VIEWPORT, storage_state=state)
        cold.append(load_once(context.new_page(), url, expected))
        context.close()
    context = browser.new_context(viewport=VIEWPORT, storage_state=state)
    page = context.new_page()
    load_once(page, url, expected)  # fills the HTTP cache
    warm = [load_once(page, url, expected) for _ in range(loads)]
    context.close()
    return {"cold": cold, "warm": warm}


def measure_pan(browser, state: dict, url: str, expected: int) -> dict:
    context = browser.new_context(viewport=VIEWPORT, storage_state=state)
    page = context.new_page()
    load_once(page, url, expected)
    page.wait_for_timeout(500)  # let the initial fit and the run poll settle
    start = page.evaluate(EMPTY_PANE_POINT_JS)
    if not start:
        sys.exit("no empty spot on the pane to drag")
    viewport = page.locator(".react-flow__viewport")
    before = viewport.evaluate("(el) => el.style.transform")
    page.evaluate(FRAMES_START_JS)
    page.mouse.move(start["x"], start["y"])
    t_down = page.evaluate("performance.now()")
    page.mouse.down()
    steps = 60
    for i in range(1, steps + 1):  # ≤ 60 Hz, like a real mouse: 300 px right, 150 px down
        page.mouse.move(start["x"] + 5 * i, start["y"] + 2.5 * i)
        time.sleep(1 / 60)
    page.mouse.up()
    t_up = page.evaluate("performance.now()")
    page.wait_for_timeout(100)
    frames = page.evaluate(FRAMES_STOP_JS)
    after = viewport.evaluate("(el) => el.style.transform")
    # Frames of the drag itself (from the last frame before the press to the first after release).
    first = max([i for i, t in enumerate(frames) if t <= t_down] or [0])
    last = min([i for i, t in enumerate(frames) if t >= t_up] or [len(frames) - 1])
    frames = frames[first : last + 1]
    gaps = [b - a for a, b in zip(frames, frames[1:], strict=False)]

    # A click on a node must still select it.
    node = page.locator(".react-flow__node").filter(has=page.locator(".ed-node-title")).nth(expected // 2)
    node.scroll_into_view_if_needed()
    node_id = node.get_attribute("data-id")
    title = node.locator(".ed-node-title")
    box = title.bounding_box()
    if not box or box["x"] < 0 or box["y"] < 0:
        page.locator(".react-flow__controls-fitview").click()
        page.wait_for_timeout(400)
        box = title.bounding_box()
    t0 = time.perf_counter()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(f'.react-flow__node.selected[data-id="{node_id}"]', timeout=5_000)
    page.get_by_test_id("params-form").wait_for(timeout=5_000)
    click_ms = (time.perf_counter() - t0) * 1000
    context.close()
    return {
        "panned": before != after,
        "frames": len(frames),
        "duration_ms": frames[-1] - frames[0] if len(frames) > 1 else 0.0,
        "max_gap_ms": max(gaps) if gaps else float("inf"),
        "over_50ms": sum(g > 50 for g in gaps),
        "over_50ms_pct": 100.0 * sum(g > 50 for g in gaps) / len(gaps) if gaps else 100.0,
        "median_gap_ms": statistics.median(gaps) if gaps else float("inf"),
        "click_selects": True,
        "click_ms": click_ms,
        "node": node_id,
    }


# --- bundle size ------------------------------------------------------------------------


def bundle_size(entry: str = "src/main.tsx") -> dict:
    manifest = json.loads(MANIFEST.read_text())
    js, css, seen, pending = [], [], set(), [entry]
    while pending:
        name = pending.pop(0)
        if name in seen or name not in manifest:
            continue
        seen.add(name)
        chunk = manifest[name]
        js.append(chunk["file"])
        css.extend(chunk.get("css", []))
        pending.extend(chunk.get("imports", []))

    def sizes(files: list[str]) -> tuple[float, float]:
        raw = sum((DIST / f).stat().st_size for f in files)
        packed = sum(len(gzip.compress((DIST / f).read_bytes(), 9)) for f in files)
        return raw / 1024, packed / 1024

    js_raw, js_gz = sizes(js)
    css_raw, css_gz = sizes(sorted(set(css)))
    return {"js_files": js, "js_kb": js_raw, "js_gz_kb": js_gz, "css_kb": css_raw, "css_gz_kb": css_gz}


# --- main -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=5, help="loads per graph and cache state")
    parser.add_argument("--nodes", type=int, default=200, help="size of the big graph (× 5)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway VAR_DIR")
    args = parser.parse_args()
    if not MANIFEST.exists():
        sys.exit("the editor is not built: cd frontend && npm ci && npm run build")
    if not Path(CHROMIUM).exists():
        sys.exit(f"no Chromium at {CHROMIUM} (set CHROMIUM_PATH)")

    var_dir = Path(tempfile.mkdtemp(prefix="bench-editor-"))
    for name in ("DATABASE_URL", "REDIS_URL", "ARTIFACT_ROOT"):
        os.environ.pop(name, None)  # SQLite and the file broker under VAR_DIR: no services
    os.environ.update(
        VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="mlops_studio.settings",
        DEBUG="0",
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(40))  # gunicorn inherits it
    pipelines = setup_data(args.nodes)
    port = free_port()
    server = start_server(port, var_dir / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("input[name=username]", USERNAME)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit], input[type=submit]")
            page.wait_for_url(f"{base}/pipelines/")
            state = context.storage_state()
            context.close()

            results = {}
            for name, (pk, count) in pipelines.items():
                url = f"{base}/pipelines/{pk}/edit/"
                results[name] = measure_loads(browser, state, url, count, args.loads)
            big_name = f"{args.nodes}-node"
            big_pk, big_count = pipelines[big_name]
            pan = measure_pan(browser, state, f"{base}/pipelines/{big_pk}/edit/", big_count)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)

    size = bundle_size()
    med = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in results.items()}
    print(f"\nEditor benchmark — gunicorn on localhost, Chromium {VIEWPORT['width']}×{VIEWPORT['height']}, "
          f"median of {args.loads} loads (cold = fresh context, warm = HTTP cache filled)")
    print(f"{'graph':<16}{'nodes':>6}{'cold s':>9}{'warm s':>9}   all cold loads (s)")
    for name, (_, count) in pipelines.items():
        loads = " ".join(f"{x:.3f}" for x in results[name]["cold"])
        print(f"{name:<16}{count:>6}{med[name]['cold']:>9.3f}{med[name]['warm']:>9.3f}   {loads}")
    demo = med["breast_cancer"]["cold"]
    print(f"\nInteractive (demo pipeline, cold): {demo:.3f} s vs goal {GOAL_INTERACTIVE_S} s "
          f"→ ratio {demo / GOAL_INTERACTIVE_S:.2f} ({'met' if demo <= GOAL_INTERACTIVE_S else 'MISSED'})")
    big = med[big_name]["cold"]
    empty = med["empty"]["cold"]
    print(f"{big_name} load (cold): {big:.3f} s vs goal {GOAL_INTERACTIVE_S} s → ratio "
          f"{big / GOAL_INTERACTIVE_S:.2f}; baseline empty pipeline {empty:.3f} s → {big_name} / empty = "
          f"{big / empty:.2f}×")
    print(f"Pan {big_name}: 60-step drag took {pan['duration_ms']:.0f} ms, {pan['frames']} frames, view moved: "
          f"{pan['panned']}; max frame gap {pan['max_gap_ms']:.1f} ms, median {pan['median_gap_ms']:.1f} ms, "
          f"{pan['over_50ms']} frames over 50 ms ({pan['over_50ms_pct']:.1f}%)")
    print(f"Click after panning selects node {pan['node']!r}: {pan['click_selects']} "
          f"(selected + inspector shown in {pan['click_ms']:.0f} ms)")
    print(f"Editor JS gzipped: {size['js_gz_kb']:.1f} KB ({size['js_kb']:.1f} KB raw, {len(size['js_files'])} files) "
          f"vs goal {GOAL_GZIP_KB:.0f} KB → ratio {size['js_gz_kb'] / GOAL_GZIP_KB:.2f}; "
          f"CSS {size['css_gz_kb']:.1f} KB gzipped")


if __name__ == "__main__":
    main()
