"""The README points only at files of this repository, and they exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
README = (ROOT / "README.md").read_text()
TOP_LEVEL = ("pipelines/", "frontend/", "templates/", "bench/", "tests/", "mlops_studio/", ".ci/")


def test_readme_has_no_link_that_leaves_the_repository():
    targets = re.findall(r"\]\(([^)]+)\)", README)
    local = [t for t in targets if not re.match(r"https?://", t)]
    assert all(not t.startswith(("/", "..")) and (ROOT / t).exists() for t in local), local
    assert "../" not in README


def test_every_repository_file_the_readme_names_exists():
    named = {p for p in re.findall(r"`([\w./-]+)`", README) if p.startswith(TOP_LEVEL)}
    assert named, "the README names no files: the pattern is wrong"
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


def test_readme_states_no_count_of_demo_pipelines_that_could_go_stale():
    from pipelines.demo import DEMO_PIPELINES

    for count in re.findall(r"holds (\w+) (?:demo )?pipelines", README):
        words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        assert count in (str(len(DEMO_PIPELINES)), words[len(DEMO_PIPELINES)])
