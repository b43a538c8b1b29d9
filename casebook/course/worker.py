"""Grading one submission, in a worker process and a scratch course of its own."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from casebook.course.config import load_config, run_converter
from casebook.course.hidden_tests import error_line
from casebook.course.submissions import cell_changes, read_notebook


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
    scratch: str = ""  # the scratch course folder, on the machine that merges it
    seconds: float = 0.0
    files: dict = field(default_factory=dict)  # the scratch course as bytes, from a cluster worker


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
    result = run_converter(Autograde, config, **ids)
    if not result["success"] and "Address already in use" in str(result):
        result = run_converter(Autograde, config, **ids)  # jupyter_client's port race: once more
    if not result["success"]:
        outcome.reason = _failure(result)
        return
    lost = []
    with Gradebook(db_url) as gb:
        submission = gb.find_submission(job.assignment, job.student)
        outcome.timestamp = submission.timestamp
        for nb in submission.notebooks:
            outcome.penalties[nb.name] = nb.late_submission_penalty
            errors = first_errors(Path(dirs.format_path(dirs.autograded_directory, **_ids(job))))
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
    if not run_converter(GenerateFeedback, config, **ids)["success"]:
        outcome.reason = f"{outcome.reason}; no feedback: generate_feedback failed".lstrip("; ")


def _ids(job: Job) -> dict:
    return {"student_id": job.student, "assignment_id": job.assignment}


def first_errors(folder: Path) -> dict:
    """``{(notebook, grade id): 'Name: message'}``: the first error of each graded cell."""
    found = {}
    for path in folder.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            for output in cell.get("outputs", []):
                if grade_id and output.output_type == "error":
                    text = error_line(output.ename, output.evalue).splitlines()[0]
                    found[(path.stem, grade_id)] = text if len(text) < 200 else text[:197] + "..."
                    break
    return found
