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
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
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
    nbgrader 0.9.6 shows hidden tests in feedback (issues #917, #1363). Any line of a hidden test
    that still appears in an output (a student cell that printed ``In`` after the tests ran) is
    replaced by ``[hidden test]``."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        hidden = hidden_lines(nb)
        nb, resources = super().preprocess(nb, resources)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                _scrub(output, hidden)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
            cell.source = strip_hidden_tests(cell.source, PLACEHOLDER)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [_error_line(output.ename, output.evalue)]
        return cell, resources


def hidden_lines(nb) -> list[str]:
    """The lines of the notebook's hidden tests that appear nowhere outside them (at least 8
    characters, longest first)."""
    hidden, visible = set(), []
    for cell in nb.cells:
        inside = False
        for line in cell.source.split("\n"):
            if BEGIN_HIDDEN in line or END_HIDDEN in line:
                inside = BEGIN_HIDDEN in line
            elif line.strip():
                (hidden.add if inside else visible.append)(line.strip())
    shown = "\n".join(visible)
    lines = {h for h in hidden if len(h) >= 8 and h not in shown}
    if hidden:  # the markers too, when a printed cell shows them
        lines |= {f"### {BEGIN_HIDDEN}", f"### {END_HIDDEN}", BEGIN_HIDDEN, END_HIDDEN}
    return sorted(lines, key=len, reverse=True)


def _scrub(output, hidden: list[str]) -> None:
    def clean(text):
        if isinstance(text, list):
            return [clean(t) for t in text]
        if not isinstance(text, str):
            return text
        for line in hidden:
            text = text.replace(line, "[hidden test]")
        return text

    for key in ("text", "evalue", "traceback"):
        if key in output:
            output[key] = clean(output[key])
    for mime, value in output.get("data", {}).items():
        output["data"][mime] = clean(value)


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


def generate(
    config: Config, assignment: str, root: Path, release_dir: Path, sqlite: Path | None = None
) -> None:
    """nbgrader generate_assignment: source -> ``release_dir/<assignment>/``; registers the
    assignment in the gradebook of the course folder ``root`` (or in the SQLite file
    ``sqlite``)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(release_dir / assignment, ignore_errors=True)  # what nbgrader's force does
    where = {"db_url": f"sqlite:///{sqlite}"} if sqlite else {}
    result = _run(
        GenerateAssignment,
        config,
        root=root,
        release_directory=release_dir,
        assignment_id=assignment,
        **where,
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
    """Submissions in ``folder``, one sub-folder per student: ``<student>/<nb>.ipynb``, or
    ``<student>/<assignment>/<nb>.ipynb`` (nbgrader's layout, which may hold several assignments:
    one Submission each). The assignment is ``--assignment``, else the sub-folder's name, else the
    one whose source has a notebook of that name."""
    by_notebook = {nb: a for a, notebooks in known.items() for nb in notebooks}
    found = []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if student_dir.name.startswith("."):
            continue
        groups = {None: sorted(student_dir.glob("*.ipynb"))}
        if not groups[None]:
            subs = sorted(d for d in student_dir.iterdir() if d.is_dir() and d.name[0] != ".")
            groups = {d.name: sorted(d.glob("*.ipynb")) for d in subs if any(d.glob("*.ipynb"))}
            ours = {k: v for k, v in groups.items() if k in known and assignment in (None, k)}
            if ours and (len(ours) > 1 or assignment is not None):
                groups = ours
            else:  # one folder: whatever its name, as before
                groups = {None: [p for files in groups.values() for p in files]}
        for folder_name, files in groups.items():
            name = assignment
            if name is None and files:
                parent = folder_name or files[0].parent.name
                name = parent if parent in known else by_notebook.get(files[0].stem)
            s = Submission(student_dir.name, name or "?")
            expected = known.get(name, [])
            s.notebooks = {p.stem: p for p in files if p.stem in expected}
            if not s.notebooks and len(files) == 1 and len(expected) == 1:
                s.notebooks = {expected[0]: files[0]}  # renamed: "01_classic_networks (1).ipynb"
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


def read_notebook(path: Path):
    """``(notebook as nbformat 4, '')``, or ``(None, why it is not a notebook nbgrader can
    grade)``. Older notebooks (nbformat 3) are converted."""
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # JSON errors, schema errors, unreadable files
        message = (str(error).splitlines() or [""])[0][:200]
        return None, f"{path.name} is not a valid notebook ({type(error).__name__}: {message})"
    if not any("nbgrader" in cell.metadata for cell in nb.cells):
        return None, f"{path.name} is not the exercise notebook (it has no graded cells)"
    return nb, ""


def notebook_problem(path: Path) -> str:
    """Why ``path`` is not a notebook nbgrader can grade ('' when it is one)."""
    return read_notebook(path)[1]


def cell_changes(nb, release) -> list[str]:
    """What the student changed in the cells nbgrader restores: edited locked cells, deleted
    test cells, duplicated cells (nbgrader puts back, restores or drops them before grading)."""
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    original = {
        c.metadata["nbgrader"]["grade_id"]: c for c in release.cells if "nbgrader" in c.metadata
    }
    seen, edited = set(), []
    for cell, grade_id in zip(nb.cells, ids, strict=True):
        if grade_id in original and grade_id not in seen and is_locked(original[grade_id]):
            if original[grade_id].source not in (cell.source, strip_hidden_tests(cell.source)):
                edited.append(grade_id)
        seen.add(grade_id)
    notes = []
    if edited:
        notes.append(f"locked cells edited, the originals were run: {', '.join(edited)}")
    deleted = [g for g, c in original.items() if g not in seen and is_grade(c)]
    if deleted:
        notes.append(f"test cells deleted, put back and run: {', '.join(deleted)}")
    twice = sorted({g for g in ids if g in original and ids.count(g) > 1})
    if twice:
        notes.append(
            f"cells copied, the first is graded, the copies run as code: {', '.join(twice)}"
        )
    return notes


def _failure(result: dict) -> str:
    """A one-line reason: nbgrader's first specific error message, else the exception."""
    lines = result.get("log", "").splitlines()
    errors = [line[7:].strip() for line in lines if line.startswith("[ERROR]")]
    errors = [e for e in errors if e and not e.startswith(("There was an", "Traceback"))]
    last = (result.get("error", "").strip().splitlines() or ["unknown error"])[-1]
    return f"nbgrader refused it: {(errors or [last])[0][:300]}"


@dataclass
class Job:
    """One submission to grade, everything a worker process needs (picklable)."""

    student: str
    assignment: str
    notebooks: dict[str, str]
    config_file: str
    settings: dict  # "Section.trait" -> value, applied over the config file
    template: str  # a course folder whose gradebook.db and release/ hold the assignment only
    manual: dict  # "notebook/cell" -> the instructor's manual score or comment, kept on re-runs
    scratch_root: str = ""


@dataclass
class Outcome:
    """What a worker found; the main process merges it into the gradebook (one writer)."""

    student: str
    assignment: str
    status: str = "error"
    reason: str = ""
    timestamp: object = None
    grades: dict = field(default_factory=dict)  # "notebook/cell" -> (auto_score, needs_manual)
    comments: dict = field(default_factory=dict)  # "notebook/cell" -> auto_comment
    penalties: dict = field(default_factory=dict)  # notebook -> late penalty
    scratch: str = ""
    seconds: float = 0.0


def apply_settings(config: Config, settings: dict) -> Config:
    for key, value in settings.items():
        section, trait = key.rsplit(".", 1)
        config[section][trait] = value
    return config


def grade_submission(job: Job) -> Outcome:
    """Autograde one submission in a scratch course of its own (its own SQLite gradebook, 0700),
    then write its feedback there. Runs in a worker process; never touches the main gradebook."""
    start = time.perf_counter()
    outcome = Outcome(job.student, job.assignment)
    scratch = Path(tempfile.mkdtemp(prefix="casebook-grade-", dir=job.scratch_root or None))
    outcome.scratch = str(scratch)
    try:
        _grade_in(job, scratch, outcome)
    except Exception as error:  # the grader's own failure still ends as a row in the report
        outcome.status = "error"
        outcome.reason = f"the grader failed: {type(error).__name__}: {error}"[:300]
    outcome.seconds = time.perf_counter() - start
    return outcome


def _grade_in(job: Job, scratch: Path, outcome: Outcome) -> None:
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", "Object of type <Submitted", SAWarning)
    config = apply_settings(load_config(Path(job.config_file)), job.settings)
    root, template = scratch / "course", Path(job.template)
    root.mkdir()
    (scratch / "source" / job.assignment).mkdir(parents=True)  # no instructor file is copied
    shutil.copyfile(template / "gradebook.db", root / "gradebook.db")
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = db_url
    config.CourseDirectory.source_directory = str(scratch / "source")
    config.GuardedExecute.scratch_root = job.scratch_root
    dirs = CourseDirectory(config=config)
    dest = Path(dirs.format_path(dirs.submitted_directory, job.student, job.assignment))
    dest.mkdir(parents=True)
    notes = []
    for name, path in job.notebooks.items():
        path = Path(path)
        nb, problem = read_notebook(path)
        if problem:
            outcome.reason = problem
            return
        release = template / "release" / job.assignment / f"{name}.ipynb"
        notes += cell_changes(nb, nbformat.read(release, as_version=4))
        seen = set()
        for cell in nb.cells:  # nbgrader 0.9.6's DeduplicateIds leaves a copy it then trips on
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id and grade_id in seen:
                del cell.metadata["nbgrader"]
            seen.add(grade_id)
        nbformat.write(nb, dest / f"{name}.ipynb")  # always nbformat 4
        if (path.parent / "timestamp.txt").exists():  # written by nbgrader collect
            shutil.copyfile(path.parent / "timestamp.txt", dest / "timestamp.txt")

    ids = {"assignment_id": job.assignment, "student_id": job.student}
    result = _run(Autograde, config, **ids)
    if not result["success"] and "Address already in use" in str(result):
        result = _run(Autograde, config, **ids)  # jupyter_client's port race: once more
    if not result["success"]:
        outcome.reason = _failure(result)
        return
    lost = []
    with Gradebook(db_url) as gb:
        submission = gb.find_submission(job.assignment, job.student)
        outcome.timestamp = submission.timestamp
        for nb in submission.notebooks:
            outcome.penalties[nb.name] = nb.late_submission_penalty
            errors = _first_errors(Path(dirs.format_path(dirs.autograded_directory, **_ids(job))))
            for g in nb.grades:
                key = f"{nb.name}/{g.name}"
                outcome.grades[key] = (g.auto_score, g.needs_manual_grade)
                if job.manual.get(key) is not None:  # the instructor's grade, for the feedback
                    g.manual_score, g.needs_manual_grade = job.manual[key], True
                if g.score < g.max_score:
                    why = errors.get((nb.name, g.name))
                    lost.append(f"{g.name} {g.score:g}/{g.max_score:g}" + (f" ({why})" * bool(why)))
            for c in nb.comments:
                key = f"{nb.name}/{c.name}"
                outcome.comments[key] = c.auto_comment
                if job.manual.get(f"comment:{key}") is not None:
                    c.manual_comment = job.manual[f"comment:{key}"]
        gb.db.commit()
    if lost:
        notes.append(f"points lost in: {'; '.join(lost)}")
    outcome.status, outcome.reason = "graded", "; ".join(notes)
    if not _run(GenerateFeedback, config, **ids)["success"]:
        outcome.reason = f"{outcome.reason}; no feedback: generate_feedback failed".lstrip("; ")


def _ids(job: Job) -> dict:
    return {"student_id": job.student, "assignment_id": job.assignment}


def _first_errors(folder: Path) -> dict:
    """``{(notebook, grade id): 'Name: message'}``: the first error of each graded cell."""
    found = {}
    for path in folder.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            for output in cell.get("outputs", []):
                if grade_id and output.output_type == "error":
                    text = _error_line(output.ename, output.evalue).splitlines()[0]
                    found[(path.stem, grade_id)] = text if len(text) < 200 else text[:197] + "..."
                    break
    return found


class _Course:
    """The nbgrader course folder: where submissions go and what the gradebook says of them."""

    def __init__(self, config: Config):
        self.config = config
        self.dirs = CourseDirectory(config=config)
        self.root = Path(self.dirs.root)

    def folder(self, step: str, s) -> Path:
        return Path(self.dirs.format_path(getattr(self.dirs, step), s.student, s.assignment))

    def manual(self, s: Submission) -> dict:
        """The instructor's manual scores and comments of an earlier grading of ``s``."""
        kept = {}
        with Gradebook(self.dirs.db_url) as gb:
            try:
                submission = gb.find_submission(s.assignment, s.student)
            except MissingEntry:
                return kept
            for nb in submission.notebooks:
                for g in nb.grades:
                    if g.manual_score is not None:
                        kept[f"{nb.name}/{g.name}"] = g.manual_score
                for c in nb.comments:
                    if c.manual_comment is not None:
                        kept[f"comment:{nb.name}/{c.name}"] = c.manual_comment
        return kept

    def merge(self, o: Outcome, s: Submission) -> None:
        """Write a worker's outcome into the course folder and the gradebook (the one writer);
        manual scores and comments already there stay."""
        for step in ("submitted_directory", "autograded_directory", "feedback_directory"):
            target = self.folder(step, s)
            shutil.rmtree(target, ignore_errors=True)  # what nbgrader's force does
            scratch_dirs = CourseDirectory(root=str(Path(o.scratch) / "course"))
            found = Path(
                scratch_dirs.format_path(getattr(scratch_dirs, step), s.student, s.assignment)
            )
            if found.is_dir():
                shutil.copytree(found, target)
        with Gradebook(self.dirs.db_url) as gb:
            gb.update_or_create_student(s.student)
            kwargs = {"timestamp": o.timestamp} if o.timestamp else {}
            submission = gb.update_or_create_submission(s.assignment, s.student, **kwargs)
            for nb in submission.notebooks:
                nb.late_submission_penalty = o.penalties.get(nb.name)
                for g in nb.grades:
                    auto, needs = o.grades.get(f"{nb.name}/{g.name}", (0, False))
                    g.auto_score, g.needs_manual_grade = auto, needs
                for c in nb.comments:
                    c.auto_comment = o.comments.get(f"{nb.name}/{c.name}")
            gb.db.commit()
            s.score = submission.score - (submission.late_submission_penalty or 0)
            s.max_score, s.status = submission.max_score, "graded"

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
    config: Config,
    submissions: Path,
    assignment: str | None,
    out: Path,
    timeout: int,
    jobs: int = 1,
    settings: dict | None = None,
    config_file: Path = DEFAULT_CONFIG,
) -> list[Submission]:
    """Import, autograde and give feedback to every submission; write the CSV report.

    Each submission is graded by :func:`grade_submission` in a scratch course of its own, in
    ``jobs`` worker processes; this process alone writes the course folder and the gradebook."""
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # grading kernels inherit it
    # nbgrader 0.9.6's Gradebook.add_submission under SQLAlchemy 2 (harmless, once per run)
    warnings.filterwarnings("ignore", "Object of type <Submitted", SAWarning)
    settings = {"Execute.timeout": timeout, **(settings or {})}
    settings["Execute.error_on_timeout"] = {
        "ename": "CellTimeoutError",
        "evalue": f"the cell ran longer than {timeout} s and was stopped",
        "traceback": [],
    }
    apply_settings(config, settings)
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
    with tempfile.TemporaryDirectory(prefix="casebook-template-") as tmp:
        max_scores, jobs_of = {}, {}
        for name in sorted({s.assignment for s in found if s.assignment in known}):
            generate(config, name, course.root, course.root / "release")
            template = Path(tmp) / name
            generate(config, name, template, template / "release", template / "gradebook.db")
            max_scores[name] = course.max_score(name)
        for s in found:
            s.max_score = max_scores.get(s.assignment, 0)
            if not s.reason:
                jobs_of[s.student, s.assignment] = Job(
                    s.student,
                    s.assignment,
                    {k: str(v) for k, v in s.notebooks.items()},
                    str(Path(config_file).resolve()),
                    settings,
                    str(Path(tmp) / s.assignment),
                    course.manual(s),
                )
        outcomes = _run_jobs(found, jobs_of, jobs)
        for s in found:
            o = outcomes.get((s.student, s.assignment))
            if o is not None:
                if o.status == "graded":
                    course.merge(o, s)
                s.reason = o.reason
                shutil.rmtree(o.scratch, ignore_errors=True)
            if s.status != "graded" and s.assignment in known and STUDENT_ID.match(s.student):
                course.forget(s)
    write_report(course, found, out)
    return found


def _run_jobs(found: list[Submission], jobs_of: dict, jobs: int) -> dict:
    """Grade every job, ``jobs`` at a time in worker processes (in this one when 1)."""
    outcomes, n = {}, len(found)

    def done(o: Outcome, s: Submission) -> None:
        outcomes[s.student, s.assignment] = o
        shown = f"{o.status}" if o.status != "graded" else "graded"
        print(
            f"  {s.student} {s.assignment}: {shown} {o.reason}".rstrip() + f" ({o.seconds:.1f} s)"
        )

    if jobs <= 1:
        for i, s in enumerate(found, start=1):
            print(f"grading {i}/{n}: {s.student} ...", flush=True)
            job = jobs_of.get((s.student, s.assignment))
            if job is not None:
                done(grade_submission(job), s)
            else:
                print(f"  {s.student}: not graded: {s.reason}")
        return outcomes
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {}
        for i, s in enumerate(found, start=1):
            print(f"grading {i}/{n}: {s.student} ...", flush=True)
            job = jobs_of.get((s.student, s.assignment))
            if job is not None:
                futures[pool.submit(grade_submission, job)] = s
            else:
                print(f"  {s.student}: not graded: {s.reason}")
        for future in as_completed(futures):
            s = futures[future]
            try:
                o = future.result()
            except Exception as error:  # a worker that died
                o = Outcome(s.student, s.assignment, reason=f"the grader failed: {error!r}")
            done(o, s)
    return outcomes


def write_report(course: _Course, found: list[Submission], out: Path) -> None:
    """``OUT/grades.csv`` and ``OUT/feedback/<student>/<notebook>.html``."""
    out.mkdir(parents=True, exist_ok=True)
    for student in {s.student for s in found}:
        shutil.rmtree(out / "feedback" / student, ignore_errors=True)
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for s in found:
            row = [s.student, s.assignment, f"{s.score:g}", f"{s.max_score:g}", s.status, s.reason]
            writer.writerow(row)
            html = course.folder("feedback_directory", s)
            if s.status == "graded" and html.exists():
                shutil.copytree(html, out / "feedback" / s.student, dirs_exist_ok=True)
    graded = sum(s.status == "graded" for s in found)
    print(f"{graded} graded, {len(found) - graded} not gradable: {out / 'grades.csv'}")


# --- feedback, export, collect ------------------------------------------------------------------


def feedback(config: Config, assignment: str | None, out: Path) -> int:
    """Regenerate every feedback page from the gradebook (after manual grading) into
    ``OUT/feedback/<student>/``."""
    course = _Course(config)
    with Gradebook(course.dirs.db_url) as gb:
        names = [a.name for a in gb.assignments if assignment in (None, a.name)]
    count = 0
    for name in names:
        _check(_run(GenerateFeedback, config, assignment_id=name), f"generate_feedback {name}")
        for html in sorted(
            Path(course.dirs.root, course.dirs.feedback_directory).glob(f"*/{name}")
        ):
            shutil.copytree(html, out / "feedback" / html.parent.name, dirs_exist_ok=True)
            count += 1
    print(f"feedback for {count} submissions: {out / 'feedback'}")
    return 0


EXPORT_COLUMNS = ["student", "assignment", "score", "max_score", "late_penalty", "timestamp"]
EXPORT_COLUMNS += ["needs_manual_grade", "status"]


def export(config: Config, out: Path) -> int:
    """One CSV row per student and assignment from the gradebook: ``submitted`` or ``missing``
    (a student with no gradable submission scores 0)."""
    with Gradebook(_Course(config).dirs.db_url) as gb:
        rows = []
        for a in sorted(gb.assignments, key=lambda a: a.name):
            for st in sorted(gb.students, key=lambda st: st.id):
                try:
                    sub = gb.find_submission(a.name, st.id)
                except MissingEntry:
                    rows.append([st.id, a.name, "0", f"{a.max_score:g}", "", "", "", "missing"])
                    continue
                late = sub.late_submission_penalty or 0
                rows.append(
                    [
                        st.id,
                        a.name,
                        f"{sub.score - late:g}",
                        f"{sub.max_score:g}",
                        f"{late:g}",
                        sub.timestamp.isoformat() if sub.timestamp else "",
                        str(bool(sub.needs_manual_grade)).lower(),
                        "submitted",
                    ]
                )
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        csv.writer(f).writerows([EXPORT_COLUMNS, *rows])
    print(f"{len(rows)} rows: {out}")
    return 0


def collect(config: Config, assignment: str, to: Path) -> int:
    """nbgrader's exchange -> ``TO/<student>/<assignment>/`` (latest submission of each
    student, with its ``timestamp.txt``), ready for ``grade TO``."""
    from nbgrader.auth import Authenticator
    from nbgrader.exchange.default import ExchangeCollect

    with tempfile.TemporaryDirectory(prefix="casebook-collect-") as tmp:
        config = copy.deepcopy(config)
        config.CourseDirectory.root = tmp
        config.CourseDirectory.assignment_id = assignment
        dirs = CourseDirectory(config=config)
        app = ExchangeCollect(
            coursedir=dirs, authenticator=Authenticator(config=config), config=config
        )
        app.update = True
        app.start()
        submitted = Path(tmp) / dirs.submitted_directory
        count = 0
        for folder in sorted(submitted.glob(f"*/{assignment}")):
            target = to / folder.parent.name / assignment
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(folder, target)
            count += 1
    print(f"collected {count} submissions of {assignment} into {to}")
    return 0


# --- command line -----------------------------------------------------------------------------


def database_url(url: str) -> str:
    """SQLAlchemy 2.1 reads ``postgresql://`` as psycopg 3; requirements.txt has psycopg2."""
    if url.startswith("postgresql://"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url


def _course_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--course-dir", type=Path, help="nbgrader course folder (gradebook.db, ...)"
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="gradebook (default: sqlite in the course folder), e.g. "
        "postgresql://user@host/gradebook",
    )


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
    col = commands.add_parser("collect", help="copy submissions out of nbgrader's exchange")
    col.add_argument("assignment", metavar="ASSIGNMENT")
    col.add_argument("--to", type=Path, required=True, help="SUBMISSIONS folder to fill")
    col.add_argument("--exchange", type=Path, help="exchange root (default: the config's)")
    gra = commands.add_parser(
        "grade", help="autograde a folder of submissions, write CSV + feedback"
    )
    gra.add_argument(
        "submissions", type=Path, metavar="SUBMISSIONS", help="one sub-folder per student"
    )
    gra.add_argument("--assignment", help="default: from the folder or notebook name")
    _course_options(gra)
    gra.add_argument(
        "--out", type=Path, help="where grades.csv and feedback/ go (default: COURSE-DIR/results)"
    )
    gra.add_argument("--timeout", type=int, default=30, help="seconds per cell (default 30)")
    gra.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="submissions graded at once, each in its own process (default: cores, at most 4)",
    )
    gra.add_argument("--memory", type=int, metavar="MIB", help="address space of a kernel")
    gra.add_argument("--cpu", type=int, metavar="S", help="CPU seconds of a kernel")
    gra.add_argument("--file-size", type=int, metavar="MIB", help="largest file a kernel writes")
    gra.add_argument("--max-output", type=int, metavar="KIB", help="output kept per cell")
    fee = commands.add_parser("feedback", help="regenerate feedback from the gradebook")
    fee.add_argument("--assignment", help="default: all")
    _course_options(fee)
    fee.add_argument("--out", type=Path, help="default: COURSE-DIR/results")
    exp = commands.add_parser("export", help="the gradebook as CSV, one row per student+assignment")
    _course_options(exp)
    exp.add_argument("--out", type=Path, help="default: COURSE-DIR/results/gradebook.csv")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="  nbgrader %(levelname)s: %(message)s")
    config = load_config(args.config)
    if args.command == "release":
        return release(config, args.assignments, args.check)
    if args.command == "collect":
        if args.exchange:
            config.Exchange.root = str(args.exchange.resolve())
        return collect(config, args.assignment, args.to.resolve())
    if args.course_dir:
        config.CourseDirectory.root = str(args.course_dir.resolve())
    if args.db:
        config.CourseDirectory.db_url = database_url(args.db)
    results = _path(config, "root") / "results"
    if args.command == "feedback":
        return feedback(config, args.assignment, (args.out or results).resolve())
    if args.command == "export":
        return export(config, (args.out or results / "gradebook.csv").resolve())
    settings = {
        "SandboxKernelManager.memory_mb": args.memory,
        "SandboxKernelManager.cpu_seconds": args.cpu,
        "SandboxKernelManager.file_size_mb": args.file_size,
        "GuardedExecute.max_output_kb": args.max_output,
    }
    settings = {k: v for k, v in settings.items() if v is not None}
    out = (args.out or results).resolve()
    found = grade(
        config,
        args.submissions.resolve(),
        args.assignment,
        out,
        args.timeout,
        jobs=args.jobs,
        settings=settings,
        config_file=args.config,
    )
    return 0 if any(s.status == "graded" for s in found) else 1


if __name__ == "__main__":
    sys.exit(main())
