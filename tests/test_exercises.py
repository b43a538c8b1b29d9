"""The exercise round trip: source -> committed release -> submissions -> grades and feedback.

Every assignment in solutions/ gets the same round trip. For each, one class of three students
is graded once (about 30 s on 2 cores): alice hands in the solution notebook, bob the untouched
student version, carol a file that is not JSON.
"""

import csv
import html
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "solutions"
RELEASES = ROOT / "autograder" / "release"
PLACEHOLDER = "# hidden tests ran here"
NOT_WRITTEN = "NotImplementedError: a function this cell tests is not written yet"


@dataclass(frozen=True)
class Exercise:
    """What the round trip expects of one assignment: its graded test cells and their points
    (read from the source notebook's nbgrader metadata) and a public test line the feedback
    shows."""

    grades: dict  # graded test cell -> points
    public_line: str

    @property
    def points(self):
        return sum(self.grades.values())


def graded_cells(assignment):
    """{graded test cell: points} of an assignment's source notebook, in the notebook's order."""
    cells = json.loads((SOURCES / assignment / f"{assignment}.ipynb").read_text())["cells"]
    return {
        c["id"]: c["metadata"]["nbgrader"]["points"]
        for c in cells
        if c["metadata"].get("nbgrader", {}).get("grade")
    }


PUBLIC_LINES = {
    "01_classic_networks": 'grading.expect_params(model, 138_357_544, "vgg16()")',
    "02_resnets": 'grading.expect_params(model, 25_636_712, "resnet50()")',
    "03_one_by_one": 'grading.expect_params(keras.Model(x, y), 6_176, what, why="192 * 32 + 32")',
    "04_inception": "grading.expect_tensor_shape(y, (28, 28, 256), what)",
    "05_mobilenet": "grading.expect_tensor_shape(y, (112, 112, 64), what)",
    "06_efficientnet": "grading.expect_tensor_shape(y, (112, 112, 32), what)",
    "07_transfer_learning": "grading.expect_output_shape(model, (5,), what)",
    "08_augmentation": 'grading.expect_callable(globals(), "rgb_pca")',
    "09_practical_advice": 'grading.expect_callable(globals(), "ensemble_predict")',
}
EXERCISES = {name: Exercise(graded_cells(name), line) for name, line in PUBLIC_LINES.items()}
ASSIGNMENTS = sorted(EXERCISES)


def source(assignment):
    return SOURCES / assignment / f"{assignment}.ipynb"


def released(assignment):
    return RELEASES / assignment / f"{assignment}.ipynb"


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


def hidden_test_lines(path):
    """Lines between the hidden-test markers of a source notebook that appear nowhere else in
    it, not even inside a line (so a ')', a blank line or a shape such as '(28, 28, 512),' shared
    with public code does not count)."""
    hidden, visible = set(), set()
    for cell in json.loads(path.read_text())["cells"]:
        inside = False
        for line in source_lines(cell):
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                inside = "BEGIN" in line
            elif line.strip():
                (hidden if inside else visible).add(line.strip())
    lines = {
        line
        for line in hidden - visible
        if len(line) >= 8 and not any(line in shown for shown in visible)
    }
    assert len(lines) > 20, f"{path.name} should hold hidden tests"
    return lines


def page_text(path):
    """What a reader of an HTML page sees: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """One class of three graded for one assignment (pytest groups the tests by assignment)."""
    assignment = request.param
    notebook = f"{assignment}.ipynb"
    tmp = tmp_path_factory.mktemp(f"grading-{assignment}")
    submissions = tmp / "submissions"
    for student in ("alice", "bob", "carol"):
        (submissions / student).mkdir(parents=True)
    shutil.copy(source(assignment), submissions / "alice" / notebook)
    shutil.copy(released(assignment), submissions / "bob" / notebook)
    (submissions / "carol" / notebook).write_text('{"cells": [ {"cell_type": "code", ')
    done = course("grade", submissions, "--course-dir", tmp / "course", "--out", tmp / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    with open(tmp / "out" / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return {
        "assignment": assignment,
        "exercise": EXERCISES[assignment],
        "tmp": tmp,
        "db": f"sqlite:///{tmp / 'course' / 'gradebook.db'}",
        "rows": rows,
        "stdout": done.stdout,
    }


def test_every_assignment_has_a_source_a_release_and_expectations():
    sources = sorted(p.name for p in SOURCES.iterdir() if p.is_dir())
    assert sources == ASSIGNMENTS
    for assignment in ASSIGNMENTS:
        assert source(assignment).is_file() and released(assignment).is_file()
        assert EXERCISES[assignment].points == 10, assignment


def test_the_points_the_students_read_are_the_points_graded():
    for assignment in ASSIGNMENTS:
        prose = "\n".join(
            "".join(c["source"])
            for c in json.loads(source(assignment).read_text())["cells"]
            if c["cell_type"] == "markdown"
        )
        found = re.search(r"\*\*Points:\*\*(.*?)\*\*(\d+) in all\*\*", prose, re.S)
        assert found, f"{assignment}: no '**Points:** ... **N in all**' line"
        listed = [int(n) for n in re.findall(r"(\d+)[,:]", found.group(1))]
        exercise = EXERCISES[assignment]
        assert listed == list(exercise.grades.values()), assignment
        assert int(found.group(2)) == exercise.points, assignment


def test_committed_release_is_current():
    done = course("release", "--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_release_check_fails_when_a_solution_changes(tmp_path):
    # The check is the same code for every assignment (test_committed_release_is_current runs
    # it on all of them); one stale assignment shows that it notices.
    assignment = ASSIGNMENTS[0]
    (tmp_path / "autograder").mkdir()
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", tmp_path / "autograder")
    shutil.copytree(RELEASES, tmp_path / "autograder" / "release")
    shutil.copytree(SOURCES, tmp_path / "solutions")
    changed = tmp_path / "solutions" / assignment / f"{assignment}.ipynb"
    text = changed.read_text()
    assert "**How to work.**" in text
    changed.write_text(text.replace("**How to work.**", "**How to work:**"))
    config = tmp_path / "autograder" / "nbgrader_config.py"

    done = course("--config", config, "release", assignment, "--check")

    assert done.returncode == 1, done.stdout + done.stderr
    stale = tmp_path / "autograder" / "release" / assignment / f"{assignment}.ipynb"
    assert f"{stale}: stale" in done.stdout
    assert "casebook course release" in done.stdout


def test_csv_has_one_row_per_student(graded):
    path = graded["tmp"] / "out" / "grades.csv"
    header = path.read_text().splitlines()[0]
    assert header == "student,assignment,score,max_score,status,reason"
    assert sorted(graded["rows"]) == ["alice", "bob", "carol"]
    assert {row["assignment"] for row in graded["rows"].values()} == {graded["assignment"]}
    progress = re.findall(r"^\[(\d)/3\] (\w+) ", graded["stdout"], re.M)  # one line each
    assert sorted(n for n, _ in progress) == ["1", "2", "3"]
    assert sorted(student for _, student in progress) == ["alice", "bob", "carol"]


def test_solution_scores_full_marks(graded):
    alice = graded["rows"]["alice"]
    full = f"{graded['exercise'].points:g}"
    assert (alice["status"], alice["score"], alice["max_score"]) == ("graded", full, full)
    assert alice["reason"] == ""


def test_untouched_student_version_scores_zero_on_every_test(graded):
    bob = graded["rows"]["bob"]
    full = f"{graded['exercise'].points:g}"
    assert (bob["status"], bob["score"], bob["max_score"]) == ("graded", "0", full)
    with Gradebook(graded["db"]) as gb:
        submission = gb.find_submission(graded["assignment"], "bob")
        grades = [g for nb in submission.notebooks for g in nb.grades]
        scores = {g.name: (g.score, g.max_score) for g in grades}
    assert scores == {name: (0, points) for name, points in graded["exercise"].grades.items()}


def test_broken_submission_scores_zero_with_a_reason_and_others_are_graded(graded):
    carol = graded["rows"]["carol"]
    full = f"{graded['exercise'].points:g}"
    assert (carol["status"], carol["score"], carol["max_score"]) == ("error", "0", full)
    assert "not a valid notebook" in carol["reason"]
    assert graded["rows"]["alice"]["status"] == "graded"
    # the gradebook knows carol, holds no submission of hers, and has no feedback for her
    with Gradebook(graded["db"]) as gb:
        gb.find_student("carol")
        with pytest.raises(MissingEntry):
            gb.find_submission(graded["assignment"], "carol")
    assert not (graded["tmp"] / "out" / "feedback" / "carol").exists()


def test_no_hidden_test_reaches_students(graded):
    assignment, exercise = graded["assignment"], graded["exercise"]
    hidden = hidden_test_lines(source(assignment))
    release = "\n".join("".join(cell["source"]) for cell in code_cells(released(assignment)))
    assert not [line for line in hidden if line in release]
    assert "HIDDEN TESTS" not in release

    pages = sorted((graded["tmp"] / "out" / "feedback").glob(f"*/{assignment}.html"))
    assert [p.parent.name for p in pages] == ["alice", "bob"]
    for page in pages:
        text = page_text(page)
        # the check can see code: public tests and the placeholder are on the page
        assert exercise.public_line in text
        assert text.count(PLACEHOLDER) == len(exercise.grades)
        assert not [line for line in hidden if line in text], page
        assert "most recent call last" not in text and "Cell In[" not in text  # no traceback
        assert "HIDDEN TESTS" not in text


def test_feedback_keeps_the_plain_words_message(graded):
    assignment = graded["assignment"]
    text = page_text(graded["tmp"] / "out" / "feedback" / "bob" / f"{assignment}.html")
    assert text.count(NOT_WRITTEN) == len(graded["exercise"].grades)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_test_cells_turn_tensors_into_arrays_the_way_every_backend_allows(name):
    """np.asarray(model(x)) or np.allclose(model(x), ...) fails on PyTorch (a tensor that
    tracks gradients); a test cell says keras.ops.convert_to_numpy(model(x)) instead."""
    source = json.loads((SOURCES / name / f"{name}.ipynb").read_text())
    for cell in source["cells"]:
        calls = re.findall(r"np\.\w+\(\w+\(", "".join(cell["source"]))
        assert not calls, f"{name}, cell {cell.get('id')}: {calls}"
