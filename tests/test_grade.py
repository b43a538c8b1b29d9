"""What ``casebook course grade`` remembers between runs: ``graded.json`` (the Ledger) and the
hash of what a grade depends on. The runs themselves are in test_autograder and test_cluster."""

import dataclasses
import json

from casebook.course import grade
from casebook.course.submissions import Submission
from casebook.course.worker import Job


def test_the_ledger_keeps_what_was_recorded_and_saves_it_atomically(tmp_path):
    path = tmp_path / "course" / "graded.json"
    ledger = grade.Ledger(path)
    alice = Submission("alice", "03_one_by_one", reason="points lost in: x")
    ledger.record(alice, "hash-1")
    assert not path.exists()  # saved every SAVE_EVERY seconds, not at every submission
    ledger.save()
    again = grade.Ledger(path)
    assert again.unchanged(alice, "hash-1") == {"inputs": "hash-1", "reason": "points lost in: x"}
    assert again.unchanged(alice, "hash-2") is None  # changed files: graded again
    again.drop(alice)
    again.save()
    assert json.loads(path.read_text()) == {}
    assert [p.name for p in path.parent.iterdir()] == ["graded.json"]  # no partial file left


def test_a_damaged_ledger_costs_a_regrade_with_a_note(tmp_path, capsys):
    path = tmp_path / "graded.json"
    path.write_text('{"alice/03_one_by_one": {"inp')
    ledger = grade.Ledger(path)
    assert ledger.unchanged(Submission("alice", "03_one_by_one"), "hash-1") is None
    assert f"note: {path} is not JSON; every submission is graded again" in capsys.readouterr().out


def test_the_inputs_hash_follows_the_files_and_the_settings(tmp_path):
    from casebook.course.config import load_config

    nb = tmp_path / "alice" / "03_one_by_one.ipynb"
    nb.parent.mkdir()
    nb.write_text("{}")
    config = load_config()
    job = Job("alice", "03_one_by_one", {"03_one_by_one": str(nb)}, str(grade.DEFAULT_CONFIG),
              {"Execute.timeout": 30}, "", {})  # fmt: skip
    first = grade.inputs_of(job, config)
    assert grade.inputs_of(job, config) == first
    (nb.parent / "timestamp.txt").write_text("2026-12-07 10:00:00")  # handed in again, later
    late = grade.inputs_of(job, config)
    assert late != first
    nb.write_text('{"cells": []}')
    assert grade.inputs_of(job, config) not in (first, late)
    longer = dataclasses.replace(job, settings={"Execute.timeout": 60})
    assert grade.inputs_of(longer, config) != grade.inputs_of(job, config)
