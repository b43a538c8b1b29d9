"""Committed generated files are what their command generates now."""

from pathlib import Path

from casebook import book

ROOT = Path(__file__).resolve().parents[1]


def test_readme_figures_are_current(tmp_path):
    for path in book.readme_figures(tmp_path):
        committed = ROOT / "_static" / path.name
        assert committed.exists(), f"{committed} is missing: run `python -m casebook.book figures`"
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} is stale: run `python -m casebook.book figures` and commit it"
        )
