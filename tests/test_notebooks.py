"""Every chapter executed with papermill; every fact it recorded within its reference or band."""

import json
from pathlib import Path

import pytest

from casebook import book

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = book.chapter_notebooks(ROOT)


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=str)
def test_chapter_facts_hold(executed, notebook):
    profile, _ = executed
    saved = json.loads(book.facts_file(ROOT, profile, notebook).read_text())
    facts = {fact["name"]: fact for fact in saved["facts"]}
    missing = sorted(set(saved["expected"]) - set(facts))
    assert not missing, f"{notebook} did not record: {missing}"
    failing = [
        f"{f['name']} = {f['value']!r}, expected {f['expected']} ({f['source']})"
        for f in facts.values()
        if not f["passed"]
    ]
    assert not failing, f"{notebook} ({profile} profile, seed {saved['seed']}):\n" + "\n".join(
        failing
    )
    assert all(f["device"] and f["profile"] == profile for f in facts.values())
