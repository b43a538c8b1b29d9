"""The exercise round trip: source -> committed release -> submissions -> grades and feedback.

One class of three students is graded once for the whole module (about 30 s on 2 cores):
alice hands in the solution notebook, bob the untouched student version, carol a file that is
not JSON.
"""

import csv
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_classic_networks"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOURCE = ROOT / "solutions" / ASSIGNMENT / NOTEBOOK
RELEASE = ROOT / "autograder" / "release" / ASSIGNMENT / NOTEBOOK


def course(*args):
    """Run ``python -m casebook.course ARGS``; returns the completed process (output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "casebook.course", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def source_lines(cell):
    return "".join(cell["source"]).split("\n")


def hidden_test_lines():
    """Lines between the hidden-test markers of the source notebook that appear nowhere else in
    it (so a ')' or a blank line shared with public code does not count)."""
    hidden, visible = set(), set()
    for cell in json.loads(SOURCE.read_text())["cells"]:
        inside = False
        for line in source_lines(cell):
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                inside = "BEGIN" in line
            elif line.strip():
                (hidden if inside else visible).add(line.strip())
    lines = {line for line in hidden - visible if len(line) >= 8}
    assert len(lines) > 20, "the source notebook should hold hidden tests"
    return lines


def page_text(path):
    """What a reader of an HTML page sees: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grading")
    submissions = tmp / "submissions"
    for student in ("alice", "bob", "carol"):
        (submissions / student).mkdir(parents=True)
    shutil.copy(SOURCE, submissions / "alice" / NOTEBOOK)
    shutil.copy(RELEASE, submissions / "bob" / NOTEBOOK)
    (submissions / "carol" / NOTEBOOK).write_text('{"cells": [ {"cell_type": "code", ')
    done = course("grade", submissions, "--course-dir", tmp / "course", "--out", tmp / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    with open(tmp / "out" / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return {"tmp": tmp, "rows": rows, "stdout": done.stdout}


def test_committed_release_is_current():
    done = course("release", "--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_release_check_fails_when_a_solution_changes(tmp_path):
    (tmp_path / "autograder").mkdir()
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", tmp_path / "autograder")
    shutil.copytree(ROOT / "autograder" / "release", tmp_path / "autograder" / "release")
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    changed = tmp_path / "solutions" / ASSIGNMENT / NOTEBOOK
    changed.write_text(changed.read_text().replace("modern variant", "today's variant"))
    config = tmp_path / "autograder" / "nbgrader_config.py"

    done = course("--config", config, "release", "--check")

    assert done.returncode == 1, done.stdout + done.stderr
    stale = tmp_path / "autograder" / "release" / ASSIGNMENT / NOTEBOOK
    assert f"{stale}: stale" in done.stdout
    assert "python -m casebook.course release" in done.stdout


def test_csv_has_one_row_per_student(graded):
    path = graded["tmp"] / "out" / "grades.csv"
    header = path.read_text().splitlines()[0]
    assert header == "student,assignment,score,max_score,status,reason"
    assert sorted(graded["rows"]) == ["alice", "bob", "carol"]
    assert "grading 3/3: carol" in graded["stdout"]


def test_solution_scores_full_marks(graded):
    alice = graded["rows"]["alice"]
    assert (alice["status"], alice["score"], alice["max_score"]) == ("graded", "10", "10")
    assert alice["reason"] == ""


def test_untouched_student_version_scores_zero_on_every_test(graded):
    bob = graded["rows"]["bob"]
    assert (bob["status"], bob["score"], bob["max_score"]) == ("graded", "0", "10")
    db = f"sqlite:///{graded['tmp'] / 'course' / 'gradebook.db'}"
    with Gradebook(db) as gb:
        grades = [g for nb in gb.find_submission(ASSIGNMENT, "bob").notebooks for g in nb.grades]
        scores = {g.name: (g.score, g.max_score) for g in grades}
    assert scores == {
        "conv-output-size-tests": (0, 2),
        "conv-params-tests": (0, 2),
        "lenet5-tests": (0, 3),
        "vgg16-tests": (0, 3),
    }


def test_broken_submission_scores_zero_with_a_reason_and_others_are_graded(graded):
    carol = graded["rows"]["carol"]
    assert (carol["status"], carol["score"], carol["max_score"]) == ("error", "0", "10")
    assert "not a valid notebook" in carol["reason"]
    assert graded["rows"]["alice"]["status"] == "graded"
    # the gradebook knows carol, holds no submission of hers, and has no feedback for her
    with Gradebook(f"sqlite:///{graded['tmp'] / 'course' / 'gradebook.db'}") as gb:
        gb.find_student("carol")
        with pytest.raises(MissingEntry):
            gb.find_submission(ASSIGNMENT, "carol")
    assert not (graded["tmp"] / "out" / "feedback" / "carol").exists()


def test_no_hidden_test_reaches_students(graded):
    hidden = hidden_test_lines()
    released = "\n".join("".join(cell["source"]) for cell in code_cells(RELEASE))
    assert not [line for line in hidden if line in released]
    assert "HIDDEN TESTS" not in released

    pages = sorted((graded["tmp"] / "out" / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert [p.parent.name for p in pages] == ["alice", "bob"]
    for page in pages:
        text = page_text(page)
        # the check can see code: public tests and the placeholder are on the page
        assert 'grading.expect_params(model, 138_357_544, "vgg16()")' in text
        assert text.count("# hidden tests ran here") == 4
        assert not [line for line in hidden if line in text], page
        assert "most recent call last" not in text and "Cell In[" not in text  # no traceback
        assert "HIDDEN TESTS" not in text


def test_feedback_keeps_the_plain_words_message(graded):
    text = page_text(graded["tmp"] / "out" / "feedback" / "bob" / f"{ASSIGNMENT}.html")
    assert "NotImplementedError: a function this cell tests is not written yet" in text
