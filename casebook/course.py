"""Instructor commands for the graded exercises (nbgrader 0.9.6 underneath).

    python -m casebook.course release [ASSIGNMENT ...] [--check]
    python -m casebook.course grade SUBMISSIONS [--assignment A] [--course-dir DIR] [--out DIR]
                                                [--timeout S]

Every path comes from ``autograder/nbgrader_config.py`` (``--config`` picks another): the source
notebooks in ``solutions/``, the committed student versions in ``autograder/release/`` and the
instructor's course folder ``autograder/course/`` (gradebook.db, submitted/, autograded/,
feedback/). The same file configures ``nbgrader`` run by hand in ``autograder/``. It names the two
preprocessors below: one strips hidden tests from the feedback, one quiets a checksum warning.
"""

from __future__ import annotations

import argparse
import copy
import csv
import filecmp
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import OverwriteCells
from nbgrader.utils import capture_log, is_grade, is_locked, is_solution
from sqlalchemy.exc import SAWarning
from traitlets import Bool
from traitlets.config import Config, PyFileConfigLoader

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "autograder" / "nbgrader_config.py"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
PLACEHOLDER = "# hidden tests ran here"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
CSV_COLUMNS = ["student", "assignment", "score", "max_score", "status", "reason"]


# --- nbgrader plug-ins (named in autograder/nbgrader_config.py) ---------------------------------


def strip_hidden_tests(source: str, placeholder: str | None = None) -> str:
    """Remove each ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region, markers included.

    Without a placeholder the result is what nbgrader's ClearHiddenTests writes into the release;
    with one, each region becomes that single line, indented like its marker.
    """
    kept, hidden = [], False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            hidden = True
            if placeholder is not None:
                kept.append(line[: len(line) - len(line.lstrip())] + placeholder)
        elif END_HIDDEN in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


class HideHiddenTests(Preprocessor):
    """Feedback preprocessor: test cells show a placeholder for their hidden region, and their
    errors show the exception message alone (a traceback would print the failing hidden line).
    nbgrader 0.9.6 shows hidden tests in feedback (issues #917, #1363)."""

    enabled = Bool(True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
            cell.source = strip_hidden_tests(cell.source, PLACEHOLDER)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [_error_line(output.ename, output.evalue)]
        return cell, resources


def _error_line(ename: str, evalue: str) -> str:
    if ename == "NotImplementedError" and not evalue.strip():
        evalue = "a function this cell tests is not written yet (it still raises it)"
    return f"{ename}: {evalue.strip()}" if evalue.strip() else ename


class RestoreHiddenTests(OverwriteCells):
    """OverwriteCells that puts the hidden tests back into an unchanged test cell silently.

    Every test cell with hidden tests differs from its source by exactly that region, so plain
    OverwriteCells warns "Attribute 'checksum' ... has changed" for each (nbgrader issue #1961).
    Any other change to a locked cell is still restored and still reported."""

    def preprocess_cell(self, cell, resources, index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and is_locked(cell):
            try:
                source = self.gradebook.find_source_cell(
                    grade_id, self.notebook_id, self.assignment_id
                ).source
            except MissingEntry:
                source = None
            if source is not None and cell.source == strip_hidden_tests(source):
                cell.source = source
        return super().preprocess_cell(cell, resources, index)


# --- configuration and nbgrader runs ----------------------------------------------------------


def load_config(config_file: Path = DEFAULT_CONFIG) -> Config:
    config_file = Path(config_file).resolve()
    return PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()


def _run(converter, config: Config, **course_dir: str) -> dict:
    """Run one nbgrader converter (force on); returns capture_log's dict (success, log, error)."""
    config = copy.deepcopy(config)
    for key, value in course_dir.items():
        config.CourseDirectory[key] = str(value)
    app = converter(coursedir=CourseDirectory(config=config), config=config)
    app.force = True
    return capture_log(app)


def _check(result: dict, what: str) -> None:
    if not result["success"]:
        sys.exit(f"{what} failed:\n{result.get('log', '')}{result.get('error', '')}")


def _path(config: Config, key: str) -> Path:
    return Path(config.CourseDirectory[key])


def assignments_in(config: Config) -> dict[str, list[str]]:
    """``{assignment: [notebook names]}`` found in the source folder."""
    source = _path(config, "source_directory")
    return {
        d.name: sorted(p.stem for p in d.glob("*.ipynb"))
        for d in sorted(source.iterdir())
        if d.is_dir() and any(d.glob("*.ipynb"))
    }


def generate(config: Config, assignment: str, root: Path, release_dir: Path) -> None:
    """nbgrader generate_assignment: source -> ``release_dir/<assignment>/``; registers the
    assignment in the gradebook of the course folder ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(release_dir / assignment, ignore_errors=True)  # what nbgrader's force does
    result = _run(
        GenerateAssignment,
        config,
        root=root,
        release_directory=release_dir,
        assignment_id=assignment,
    )
    _check(result, f"generate_assignment {assignment}")


# --- release ----------------------------------------------------------------------------------


def release(config: Config, assignments: list[str], check: bool) -> int:
    known = assignments_in(config)
    unknown = sorted(set(assignments) - set(known))
    if unknown:
        sys.exit(f"no such assignment in {_path(config, 'source_directory')}: {unknown}")
    assignments = assignments or list(known)
    committed = _path(config, "release_directory")
    with tempfile.TemporaryDirectory(prefix="casebook-release-") as tmp:
        target = Path(tmp) / "release" if check else committed
        for assignment in assignments:
            start = time.perf_counter()
            generate(config, assignment, Path(tmp) / "course", target)
            if not check:
                print(
                    f"released {assignment} -> {target / assignment} "
                    f"({time.perf_counter() - start:.1f} s)"
                )
        if not check:
            return 0
        problems = []
        for assignment in assignments:
            new, old = target / assignment, committed / assignment
            names = {p.relative_to(new) for p in new.rglob("*") if p.is_file()}
            names |= {p.relative_to(old) for p in old.rglob("*") if p.is_file()}
            for name in sorted(names):
                shown = old / name
                if not (new / name).exists():
                    problems.append(f"{shown}: no longer generated (delete it)")
                elif not shown.exists():
                    problems.append(f"{shown}: missing")
                elif not filecmp.cmp(new / name, shown, shallow=False):
                    problems.append(f"{shown}: stale")
    if problems:
        print("The committed release is not what the sources generate:", *problems, sep="\n  ")
        print("Run `python -m casebook.course release` and commit the result.")
        return 1
    print(f"release is current: {', '.join(assignments)}")
    return 0


# --- grade ------------------------------------------------------------------------------------


@dataclass
class Submission:
    student: str
    assignment: str
    notebooks: dict[str, Path] = field(default_factory=dict)  # name in the assignment -> file
    reason: str = ""  # why it is not graded, or where it lost points
    score: float = 0.0
    max_score: float = 0.0
    status: str = "error"


def find_submissions(folder: Path, known: dict[str, list[str]], assignment: str | None):
    """One Submission per student sub-folder: ``<student>/<nb>.ipynb`` or
    ``<student>/<assignment>/<nb>.ipynb``. The assignment is ``--assignment``, else the
    sub-folder's name, else the one whose source has a notebook of that name."""
    by_notebook = {nb: a for a, notebooks in known.items() for nb in notebooks}
    found = []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if student_dir.name.startswith("."):
            continue
        files = sorted(student_dir.glob("*.ipynb")) or sorted(student_dir.glob("*/*.ipynb"))
        files = [p for p in files if ".ipynb_checkpoints" not in p.parts]
        name = assignment
        if name is None and files:
            parent = files[0].parent.name
            name = parent if parent in known else by_notebook.get(files[0].stem)
        s = Submission(student_dir.name, name or "?")
        expected = known.get(name, [])
        s.notebooks = {p.stem: p for p in files if p.stem in expected}
        if not s.notebooks and len(files) == 1 and len(expected) == 1:
            s.notebooks = {expected[0]: files[0]}  # renamed, e.g. "01_classic_networks (1).ipynb"
        if not STUDENT_ID.match(s.student):
            s.reason = "the folder name is not a valid student id"
        elif not files:
            s.reason = "no notebook"
        elif not expected:
            s.reason = f"no assignment has a notebook called {files[0].name}"
        elif not s.notebooks:
            s.reason = f"no {expected[0]}.ipynb"
        found.append(s)
    return found


def notebook_problem(path: Path) -> str:
    """Why ``path`` is not a notebook nbgrader can grade ('' when it is one)."""
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # JSON errors, schema errors, unreadable files
        message = (str(error).splitlines() or [""])[0][:200]
        return f"{path.name} is not a valid notebook ({type(error).__name__}: {message})"
    if not any("nbgrader" in cell.metadata for cell in nb.cells):
        return f"{path.name} is not the exercise notebook (it has no graded cells)"
    return ""


def _failure(result: dict) -> str:
    """A one-line reason: nbgrader's first specific error message, else the exception."""
    lines = result.get("log", "").splitlines()
    errors = [line[7:].strip() for line in lines if line.startswith("[ERROR]")]
    errors = [line for line in errors if line and not line.startswith("There was an")]
    last = (result.get("error", "").strip().splitlines() or ["unknown error"])[-1]
    return f"nbgrader refused it: {(errors or [last])[0][:300]}"


class _Course:
    """The nbgrader course folder: where submissions go and what the gradebook says of them."""

    def __init__(self, config: Config):
        self.config = config
        self.dirs = CourseDirectory(config=config)
        self.root = Path(self.dirs.root)

    def folder(self, step: str, s: Submission) -> Path:
        return Path(self.dirs.format_path(getattr(self.dirs, step), s.student, s.assignment))

    def submit(self, s: Submission) -> None:
        """Copy the notebook into submitted/, under the name the assignment gives it."""
        for step in ("submitted_directory", "autograded_directory", "feedback_directory"):
            shutil.rmtree(self.folder(step, s), ignore_errors=True)  # what nbgrader's force does
        dest = self.folder("submitted_directory", s)
        dest.mkdir(parents=True)
        for name, path in s.notebooks.items():
            shutil.copyfile(path, dest / f"{name}.ipynb")
            if (path.parent / "timestamp.txt").exists():  # written by nbgrader collect
                shutil.copyfile(path.parent / "timestamp.txt", dest / "timestamp.txt")

    def autograde(self, s: Submission) -> dict:
        ids = {"assignment_id": s.assignment, "student_id": s.student}
        result = _run(Autograde, self.config, **ids)
        if not result["success"] and "Address already in use" in str(result):
            result = _run(Autograde, self.config, **ids)  # jupyter_client's port race: once more
        return result

    def record(self, s: Submission) -> None:
        """Read the score of a graded submission from the gradebook."""
        with Gradebook(self.dirs.db_url) as gb:
            submission = gb.find_submission(s.assignment, s.student)
            s.score = submission.score - (submission.late_submission_penalty or 0)
            s.max_score, s.status = submission.max_score, "graded"
            lost = [
                f"{g.name} {g.score:g}/{g.max_score:g}"
                for nb in submission.notebooks
                for g in nb.grades
                if g.score < g.max_score
            ]
        s.reason = f"points lost in: {', '.join(lost)}" if lost else ""

    def forget(self, s: Submission) -> None:
        """Remove every trace of an ungradable submission: the gradebook lists the student with
        no submission (nbgrader's zero) and no earlier grade or feedback survives."""
        for step in ("submitted_directory", "autograded_directory", "feedback_directory"):
            shutil.rmtree(self.folder(step, s), ignore_errors=True)
        with Gradebook(self.dirs.db_url) as gb:
            gb.update_or_create_student(s.student)
            try:
                gb.remove_submission(s.assignment, s.student)
            except MissingEntry:
                pass
        s.score, s.status = 0, "error"

    def max_score(self, assignment: str) -> float:
        with Gradebook(self.dirs.db_url) as gb:
            return gb.find_assignment(assignment).max_score


def grade(
    config: Config, submissions: Path, assignment: str | None, out: Path, timeout: int
) -> list[Submission]:
    """Import, autograde and give feedback to every student folder; write the CSV report."""
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # grading kernels inherit it
    # nbgrader 0.9.6's Gradebook.add_submission under SQLAlchemy 2 (harmless, once per run)
    warnings.filterwarnings("ignore", "Object of type <Submitted", SAWarning)
    config.Execute.timeout = timeout
    known = assignments_in(config)
    if assignment is None and len(known) == 1:
        assignment = next(iter(known))
    if assignment is not None and assignment not in known:
        sys.exit(f"no assignment {assignment!r} in {_path(config, 'source_directory')}")
    course = _Course(config)
    if submissions.is_relative_to(course.root):
        sys.exit(f"{submissions} is inside the course folder, which grade rewrites: copy it out")
    found = find_submissions(submissions, known, assignment)
    if not found:
        sys.exit(f"no student folders in {submissions}")
    max_scores = {}
    for name in sorted({s.assignment for s in found if s.assignment in known}):
        generate(config, name, course.root, course.root / "release")
        max_scores[name] = course.max_score(name)

    for i, s in enumerate(found, start=1):
        start = time.perf_counter()
        print(f"grading {i}/{len(found)}: {s.student} ...", flush=True)
        s.max_score = max_scores.get(s.assignment, 0)
        if not s.reason:
            s.reason = "; ".join(filter(None, map(notebook_problem, s.notebooks.values())))
        if not s.reason:
            course.submit(s)
            result = course.autograde(s)
            if result["success"]:
                course.record(s)
                ids = {"assignment_id": s.assignment, "student_id": s.student}
                if not _run(GenerateFeedback, config, **ids)["success"]:
                    s.reason = f"{s.reason}; no feedback: generate_feedback failed".lstrip("; ")
            else:
                s.reason = _failure(result)
        if s.status != "graded" and s.assignment in known and STUDENT_ID.match(s.student):
            course.forget(s)
        outcome = f"{s.score:g}/{s.max_score:g}" if s.status == "graded" else "not graded:"
        outcome = " ".join(filter(None, [outcome, s.reason]))
        print(f"  {s.student}: {outcome} ({time.perf_counter() - start:.1f} s)")

    write_report(course, found, out)
    return found


def write_report(course: _Course, found: list[Submission], out: Path) -> None:
    """``OUT/grades.csv`` and ``OUT/feedback/<student>/<notebook>.html``."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for s in found:
            row = [s.student, s.assignment, f"{s.score:g}", f"{s.max_score:g}", s.status, s.reason]
            writer.writerow(row)
            shutil.rmtree(out / "feedback" / s.student, ignore_errors=True)
            html = course.folder("feedback_directory", s)
            if s.status == "graded" and html.exists():
                shutil.copytree(html, out / "feedback" / s.student)
    graded = sum(s.status == "graded" for s in found)
    print(f"{graded} graded, {len(found) - graded} not gradable: {out / 'grades.csv'}")


# --- command line -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m casebook.course", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="nbgrader config file")
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser(
        "release", help="write the student versions (nbgrader generate_assignment)"
    )
    rel.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    rel.add_argument("--check", action="store_true", help="fail if the committed release is stale")
    gra = commands.add_parser(
        "grade", help="autograde a folder of submissions, write CSV + feedback"
    )
    gra.add_argument(
        "submissions", type=Path, metavar="SUBMISSIONS", help="one sub-folder per student"
    )
    gra.add_argument("--assignment", help="default: from the folder or notebook name")
    gra.add_argument("--course-dir", type=Path, help="nbgrader course folder (gradebook.db, ...)")
    gra.add_argument(
        "--out", type=Path, help="where grades.csv and feedback/ go (default: COURSE-DIR/results)"
    )
    gra.add_argument("--timeout", type=int, default=30, help="seconds per cell (default 30)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="  nbgrader %(levelname)s: %(message)s")
    config = load_config(args.config)
    if args.command == "release":
        return release(config, args.assignments, args.check)
    if args.course_dir:
        config.CourseDirectory.root = str(args.course_dir.resolve())
    out = args.out or _path(config, "root") / "results"
    found = grade(config, args.submissions.resolve(), args.assignment, out.resolve(), args.timeout)
    return 0 if any(s.status == "graded" for s in found) else 1


if __name__ == "__main__":
    sys.exit(main())
