"""The autograder against bad submissions, cheats and snoops, on a real PostgreSQL gradebook, and
in parallel.

One class of bad students is graded once (one `grade` run, two worker processes, short limits) on
the smallest exercise; each test then checks one student. Every bad submission is a real notebook
made from the solution or the student version.
"""

import csv
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from casebook.course import sandbox
from casebook.course.hidden_tests import hidden_lines as hidden_lines_of

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "03_one_by_one"  # the fastest exercise to grade
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOURCE = ROOT / "solutions" / ASSIGNMENT / NOTEBOOK
RELEASE = ROOT / "autograder" / "release" / ASSIGNMENT / NOTEBOOK
FULL = "10"
SECRET = "HIDDEN-MARKER"  # what the snoop looks for: a line only the hidden tests hold
TIMEOUT = 20  # per cell; import keras alone can take 10 s on a busy 2-core runner


def course(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "casebook.course", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def notebook(base=SOURCE):
    return nbformat.read(base, as_version=4)


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def with_code(nb, grade_id, code):
    cell(nb, grade_id).source = code
    return nb


def add_cell(nb, code, after=None):
    new = nbformat.v4.new_code_cell(code)
    index = len(nb.cells) if after is None else nb.cells.index(cell(nb, after)) + 1
    nb.cells.insert(index, new)
    return nb


def hidden_lines():
    """Lines of the hidden tests that appear nowhere else in the source notebook."""
    return hidden_lines_of(notebook())


WRONG_CONV = "def conv_multiplications(h, w, c_in, f, c_out):\n    return 0\n"
LOOP = "def channel_reducer(x, c_out):\n    while True:\n        pass\n"
HOG = (
    "import numpy as np\n\ndef channel_reducer(x, c_out):\n"
    "    hog = np.ones((2**16, 2**16))  # 32 GiB\n    return hog\n"
)
CHEAT = """\
import types
from casebook import grading as _real

for _name in dir(_real):
    if _name.startswith("expect"):
        setattr(_real, _name, lambda *args, **kwargs: None)
grading = types.SimpleNamespace(**{n: (lambda *a, **k: None) for n in dir(_real)})
"""
BLANK = "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"
# A correct function that warns and writes to stderr while the test cell calls it.
WARNER = """\
import sys
import warnings

_counted = conv_multiplications


def conv_multiplications(*args, **kwargs):
    warnings.warn("conv_multiplications counts with Python integers")
    print("a note on stderr", file=sys.stderr)
    return _counted(*args, **kwargs)
"""
SNOOP = """\
import glob, os, pathlib, casebook
targets = [{source!r}, {gradebook!r}, {other!r}]
targets += [str(pathlib.Path(casebook.__file__).parents[1] / "solutions" / {name!r} / {nb!r})]
targets += glob.glob("/tmp/casebook-grade-*/course/gradebook.db")
targets += glob.glob("/tmp/casebook-template-*/*/gradebook.db")
for folder in [os.getcwd(), os.path.dirname(os.getcwd()), os.path.expanduser("~")]:
    for here, dirs, files in os.walk(folder):
        targets += [os.path.join(here, f) for f in files]
for target in targets:
    try:
        data = open(target, "rb").read()
    except OSError as error:
        print("DENIED", target, type(error).__name__)
        continue
    print("READ", target, "LEAK" if ({head!r} + {tail!r}).encode() in data else "clean")
print("ENV", sorted(k for k in os.environ if "PG" in k or "DATABASE" in k or "SECRET" in k))
"""
ESCAPE = """\
import pathlib
for target in {targets!r}:
    try:
        pathlib.Path(target).write_text("escaped")
        print("WROTE", target)
    except OSError as error:
        print("REFUSED", target, type(error).__name__)
"""


def handed_in(folder, student, nb=None, text=None):
    """``folder/student/NOTEBOOK``: the notebook ``nb``, or ``text`` as it is."""
    (folder / student).mkdir(parents=True)
    path = folder / student / NOTEBOOK
    path.write_text(text) if text is not None else nbformat.write(nb, path)


def bad_class(folder, instructor):
    """Write one submission per student; returns the expectations per student."""
    subs = folder
    hand_in = functools.partial(handed_in, subs)

    hand_in("alice", notebook())
    hand_in("bob", notebook(RELEASE))
    hand_in("loop", with_code(notebook(), "channel-reducer", LOOP))
    hand_in(
        "exits", add_cell(notebook(), "import os\nos._exit(3)", after="bottleneck-multiplications")
    )
    segfault = "import ctypes\nctypes.string_at(0)"
    hand_in("segfault", add_cell(notebook(), segfault, after="bottleneck-multiplications-tests"))
    hand_in("hog", with_code(notebook(), "channel-reducer", HOG))
    hand_in("notjson", text='{"cells": [ {"cell_type": "code", ')
    hand_in("notnotebook", text=json.dumps({"hello": "world"}))
    hand_in("elder", text=nbformat.writes(nbformat.convert(notebook(), 3)))
    deleter = with_code(notebook(), "conv-multiplications", WRONG_CONV)
    deleter.cells.remove(cell(deleter, "conv-multiplications-tests"))
    hand_in("deleter", deleter)
    twins = notebook()
    twin = nbformat.from_dict(json.loads(json.dumps(cell(twins, "conv-multiplications"))))
    twin.source, twin.id = WRONG_CONV, "a-copy-of-the-cell"
    twins.cells.insert(twins.cells.index(cell(twins, "conv-multiplications")) + 1, twin)
    hand_in("twins", twins)
    editor = with_code(notebook(), "conv-multiplications", WRONG_CONV)
    hand_in("editor", with_code(editor, "conv-multiplications-tests", "pass"))
    cheat = add_cell(notebook(RELEASE), CHEAT, after="imports")
    for name in ("conv-multiplications", "bottleneck-multiplications"):
        cheat = with_code(
            cheat, name, cell(cheat, name).source.replace("raise NotImplementedError()", "return 0")
        )
    cheat = with_code(cheat, "channel-reducer", "def channel_reducer(x, c_out):\n    return x\n")
    hand_in("mallory", cheat)
    blank = add_cell(with_code(notebook(RELEASE), "conv-multiplications", WRONG_CONV), BLANK)
    blank.cells.insert(2, blank.cells.pop())  # right after the imports
    hand_in("trudy", blank)
    hand_in("chatty", add_cell(notebook(), "print('x' * 1000 + '\\n') ; print('y' * 30_000_000)"))
    hand_in("warner", add_cell(notebook(), WARNER, after="conv-multiplications"))
    targets = [
        "../escaped.txt",
        str(instructor / "course" / "escaped.txt"),
        str(folder / "alice" / "escaped.txt"),
        str(Path.home() / "casebook-escaped.txt"),
    ]
    hand_in("escaper", add_cell(notebook(), ESCAPE.format(targets=targets), after="imports"))
    snoop = SNOOP.format(
        source=str(instructor / "solutions" / ASSIGNMENT / NOTEBOOK),
        gradebook=str(instructor / "course" / "gradebook.db"),
        other=str(folder / "alice" / NOTEBOOK),
        name=ASSIGNMENT,
        nb=NOTEBOOK,
        head=SECRET[:4],
        tail=SECRET[4:],
    )
    snoop_nb = add_cell(notebook(), snoop, after="imports")
    hand_in("snoop", add_cell(snoop_nb, "print(In)\nprint(_ih)"))
    return targets


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad-class")
    instructor = tmp / "instructor"
    (instructor / "autograder").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, instructor / "solutions" / ASSIGNMENT)
    shutil.copytree(ROOT / "autograder" / "release", instructor / "autograder" / "release")
    source = instructor / "solutions" / ASSIGNMENT / NOTEBOOK
    text = source.read_text()
    source.write_text(
        text.replace("### BEGIN HIDDEN TESTS", f"### BEGIN HIDDEN TESTS\\n# {SECRET}", 1)
    )
    config = instructor / "autograder" / "nbgrader_config.py"
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", config)
    submissions = tmp / "submissions"
    targets = bad_class(submissions, instructor)
    env_secret = {"PGPASSWORD": "instructor-secret"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "casebook.course", "--config", config, "grade", submissions]
        + ["--course-dir", instructor / "course", "--out", tmp / "out", "--jobs", "2"]
        + ["--timeout", str(TIMEOUT), "--memory", "4096", "--cpu", "120", "--max-output", "64"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **env_secret},
    )
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    with open(tmp / "out" / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return {
        "tmp": tmp,
        "course": instructor / "course",
        "config": config,
        "submissions": submissions,
        "rows": rows,
        "stdout": done.stdout,
        "seconds": seconds,
        "targets": targets,
        "db": f"sqlite:///{instructor / 'course' / 'gradebook.db'}",
    }


def row(graded, student):
    return graded["rows"][student]


def outputs(graded, student):
    """Every output text of the student's autograded notebook (the instructor's copy)."""
    path = graded["course"] / "autograded" / student / ASSIGNMENT / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    texts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            texts.append(o.get("text", "") + o.get("evalue", "") + str(o.get("data", "")))
    return "\n".join(texts)


def feedback_text(graded, student):
    page = graded["tmp"] / "out" / "feedback" / student / f"{ASSIGNMENT}.html"
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def scores(graded, student):
    with Gradebook(graded["db"]) as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        return {g.name: g.score for nb in submission.notebooks for g in nb.grades}


def test_every_student_has_a_row_and_the_good_ones_full_marks(graded):
    assert len(graded["rows"]) == 18
    for student in ("alice", "chatty", "escaper", "snoop", "elder", "warner"):
        assert (row(graded, student)["status"], row(graded, student)["score"]) == ("graded", FULL)
    assert row(graded, "bob")["score"] == "0"
    print(f"bad class of 18 graded in {graded['seconds']:.0f} s")


def test_warnings_and_stderr_in_a_test_cell_cost_nothing_and_stay_visible(graded):
    assert row(graded, "warner")["reason"] == ""
    assert "conv_multiplications counts with Python integers" in outputs(graded, "warner")
    assert "a note on stderr" in outputs(graded, "warner")


def test_a_cell_that_never_ends_is_stopped(graded):
    r = row(graded, "loop")
    assert (r["status"], r["score"]) == ("graded", "6")
    assert (
        f"channel-reducer-tests 0/4 (CellTimeoutError: the cell ran longer than {TIMEOUT} s"
        in r["reason"]
    )


@pytest.mark.parametrize("student", ["exits", "segfault"])
def test_a_kernel_that_dies_costs_only_the_cells_it_did_not_run(graded, student):
    r = row(graded, student)
    assert r["status"] == "graded"
    assert "the kernel died while this cell ran" in outputs(graded, student)
    assert "NotRun: not run: the kernel died in cell" in r["reason"]
    expected = {"exits": "3", "segfault": "6"}[student]
    assert r["score"] == expected


def test_memory_blow_up_fails_that_test_only(graded):
    r = row(graded, "hog")
    assert (r["status"], r["score"]) == ("graded", "6")
    assert "channel-reducer-tests 0/4 (MemoryError" in r["reason"]


@pytest.mark.parametrize(
    ("student", "why"),
    [
        ("notjson", "is not a valid notebook (NotJSONError"),
        ("notnotebook", "is not a valid notebook"),
    ],
)
def test_a_file_that_is_not_a_notebook_scores_zero_with_its_reason(graded, student, why):
    r = row(graded, student)
    assert (r["status"], r["score"], r["max_score"]) == ("error", "0", FULL)
    assert why in r["reason"]
    with Gradebook(graded["db"]) as gb:
        gb.find_student(student)
        with pytest.raises(MissingEntry):
            gb.find_submission(ASSIGNMENT, student)


def test_an_old_nbformat_is_converted_and_graded(graded):
    assert json.loads((graded["submissions"] / "elder" / NOTEBOOK).read_text())["nbformat"] == 3
    assert row(graded, "elder")["score"] == FULL


def test_deleted_test_cells_are_put_back_and_run(graded):
    r = row(graded, "deleter")
    assert (r["status"], r["score"]) == ("graded", "4")  # bottleneck_multiplications uses it
    assert "test cells deleted, put back and run: conv-multiplications-tests" in r["reason"]
    assert scores(graded, "deleter")["conv-multiplications-tests"] == 0


def test_duplicated_cells_are_graded_once_and_the_copies_run(graded):
    r = row(graded, "twins")
    assert (r["status"], r["score"]) == ("graded", "4")  # the wrong copy ran after the right one
    copied = "cells copied, the first is graded, the copies run as code: conv-multiplications"
    assert copied in r["reason"]


def test_edited_test_cells_are_restored(graded):
    r = row(graded, "editor")
    assert (r["status"], r["score"]) == ("graded", "4")
    assert "locked cells edited, the originals were run: conv-multiplications-tests" in r["reason"]


def test_patched_or_rebound_checks_do_not_pass_wrong_code(graded):
    r = row(graded, "mallory")
    assert (r["status"], r["score"]) == ("graded", "0")
    assert "conv_multiplications(28, 28, 192, 5, 32) should be 120,422,400" in r["reason"]
    assert "but your function returned 0" in r["reason"]


def test_a_notebook_that_blanks_the_test_cells_scores_nothing(graded):
    r = row(graded, "trudy")
    assert (r["status"], r["score"]) == ("graded", "0")
    assert "TestCellSkipped: this test cell did not run to its end" in r["reason"]


def test_huge_output_is_cut(graded):
    path = graded["course"] / "autograded" / "chatty" / ASSIGNMENT / NOTEBOOK
    assert path.stat().st_size < 1_000_000
    assert "[output cut: more than 64 KiB]" in outputs(graded, "chatty")
    page = graded["tmp"] / "out" / "feedback" / "chatty" / f"{ASSIGNMENT}.html"
    assert page.stat().st_size < 2_000_000


def test_a_submission_cannot_write_outside_its_folder(graded):
    text = outputs(graded, "escaper")
    for target in graded["targets"]:
        assert f"REFUSED {target}" in text
        assert not (Path(graded["submissions"] / "escaper") / target).resolve().exists()
    assert "WROTE" not in text


def test_no_file_the_kernel_can_read_holds_a_hidden_test(graded):
    text = outputs(graded, "snoop")
    assert "READ" in text  # its own folder
    assert not re.search(r"^READ \S+ LEAK", text, re.MULTILINE)
    for what in ("instructor", "course/gradebook.db", f"solutions/{ASSIGNMENT}", "alice"):
        assert re.search(rf"DENIED \S*{re.escape(what)}\S* PermissionError", text), what
    assert "ENV []" in text  # the grader's PGPASSWORD did not reach the kernel


def test_feedback_shows_what_failed_in_words_and_no_hidden_test(graded):
    hidden = hidden_lines()
    for page in sorted((graded["tmp"] / "out" / "feedback").glob(f"*/{ASSIGNMENT}.html")):
        text = feedback_text(graded, page.parent.name)
        assert SECRET not in text and "HIDDEN TESTS" not in text, page
        assert not [line for line in hidden if line in text], page
    assert "[hidden test]" in feedback_text(graded, "snoop")  # it printed In after the tests
    mallory = feedback_text(graded, "mallory")
    assert "should be 120,422,400" in mallory and "but your function returned 0" in mallory


def test_regrading_is_idempotent_and_keeps_manual_grades(graded, tmp_path):
    with Gradebook(graded["db"]) as gb:
        grade = gb.find_grade("channel-reducer-tests", ASSIGNMENT, ASSIGNMENT, "alice")
        grade.manual_score = 1
        gb.db.commit()
        before = {s.id for s in gb.students}
    again = tmp_path / "again"
    shutil.copytree(graded["submissions"] / "alice", again / "alice")
    out = tmp_path / "out"
    common = ["--config", graded["config"], "grade", again, "--course-dir", graded["course"]]
    done = course(*common, "--out", out, "--regrade")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[1/1] alice 03_one_by_one: graded 7/10" in done.stdout
    with open(out / "grades.csv", newline="") as f:
        (alice,) = list(csv.DictReader(f))
    assert (alice["status"], alice["score"]) == ("graded", "7")  # 3 + 3 + the manual 1
    with Gradebook(graded["db"]) as gb:
        assert {s.id for s in gb.students} == before
        assert (
            gb.find_grade("channel-reducer-tests", ASSIGNMENT, ASSIGNMENT, "alice").manual_score
            == 1
        )
        assert gb.find_submission(ASSIGNMENT, "loop").score == 6  # the others untouched
    assert (out / "feedback" / "alice" / f"{ASSIGNMENT}.html").is_file()


def test_sandbox_refuses_reads_outside_and_keeps_limits(tmp_path):
    if sandbox.landlock_abi() < 1:
        pytest.fail("this kernel has no Landlock; the sandbox cannot be checked here")
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    run = tmp_path / "run"
    run.mkdir()
    code = (
        "import resource, pathlib\n"
        f"try:\n    pathlib.Path({str(secret)!r}).read_text(); print('read')\n"
        "except PermissionError:\n    print('denied')\n"
        "pathlib.Path('mine.txt').write_text('ok'); print(pathlib.Path('mine.txt').read_text())\n"
        "print(resource.getrlimit(resource.RLIMIT_AS)[0] >> 20)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "casebook.course.sandbox", "--memory", str(3072 << 20), "--"]
        + [sys.executable, "-c", code],
        cwd=run,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (run / ".kernel.log").read_text().split() == ["denied", "ok", "3072"]


# --- PostgreSQL, parallel -------------------------------------------------------------------------


def test_parallel_grading_into_postgresql(postgres, tmp_path):
    submissions = tmp_path / "submissions"
    for student, base in (("alice", SOURCE), ("bob", RELEASE), ("carol", None), ("dave", SOURCE)):
        (submissions / student).mkdir(parents=True)
        target = submissions / student / NOTEBOOK
        shutil.copy(base, target) if base else target.write_text("not json")
    common = ["--course-dir", tmp_path / "course", "--db", postgres]
    done = course("grade", submissions, *common, "--out", tmp_path / "out", "--jobs", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "course" / "gradebook.db").exists()
    with Gradebook(postgres) as gb:
        got = {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}
        assert got == {"alice": 10, "bob": 0, "dave": 10}
        assert {s.id for s in gb.students} == {"alice", "bob", "carol", "dave"}
    exported = course("export", *common, "--out", tmp_path / "export.csv")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    with open(tmp_path / "export.csv", newline="") as f:
        rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(f)}
    assert rows["alice", ASSIGNMENT]["score"] == "10"
    assert rows["carol", ASSIGNMENT]["status"] == "missing"
    again = course("feedback", *common, "--out", tmp_path / "again")
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(p.name for p in (tmp_path / "again" / "feedback").iterdir()) == [
        "alice",
        "bob",
        "dave",
    ]


def test_collect_from_the_exchange(tmp_path):
    exchange = tmp_path / "exchange"
    inbound = exchange / "cnn-case-studies" / "inbound"
    for student, stamp in (
        ("alice", "2026-01-01 10:00:00.000000 UTC"),
        ("alice", "2026-01-02 10:00:00.000000 UTC"),
        ("bob", "2026-01-01 09:00:00.000000 UTC"),
    ):
        folder = inbound / f"{student}+{ASSIGNMENT}+{stamp}+abc{len(stamp)}{student}"
        folder.mkdir(parents=True)
        shutil.copy(RELEASE, folder / NOTEBOOK)
        (folder / "timestamp.txt").write_text(stamp)
    to = tmp_path / "submissions"
    done = course("collect", ASSIGNMENT, "--exchange", exchange, "--to", to)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (to / "alice" / ASSIGNMENT / "timestamp.txt").read_text().startswith("2026-01-02")
    assert (to / "bob" / ASSIGNMENT / NOTEBOOK).is_file()
