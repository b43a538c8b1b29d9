"""``casebook course grade``: every submission in a folder, in worker processes or on a Dask
cluster, into the gradebook, with ``grades.csv`` (a reason for every lost point) and feedback
per student. A re-run grades only what is new or changed since the last one (``--regrade``:
everything)."""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from tqdm import tqdm
from traitlets.config import Config

from casebook.course.cluster import grade_on_cluster
from casebook.course.config import (
    DEFAULT_CONFIG,
    CourseError,
    assignments_in,
    course_path,
    generate,
)
from casebook.course.submissions import STUDENT_ID, Submission, find_submissions
from casebook.course.worker import Job, Outcome, apply_settings, grade_submission

CSV_COLUMNS = ["student", "assignment", "score", "max_score", "status", "reason"]


class CourseFolder:
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
            _take_score(s, submission)

    def kept(self, s: Submission, entry: dict | None) -> bool:
        """Whether the gradebook still holds the grade of ``s`` that the ledger's ``entry``
        recorded; if so ``s`` takes its score (manual grades included) and reason."""
        if entry is None:
            return False
        with Gradebook(self.dirs.db_url) as gb:
            try:
                submission = gb.find_submission(s.assignment, s.student)
            except MissingEntry:
                return False
            _take_score(s, submission)
            s.reason = entry["reason"]
        return True

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


def _take_score(s: Submission, submission) -> None:
    """The gradebook's score of ``submission`` (manual grades and late penalty included)."""
    s.score = submission.score - (submission.late_submission_penalty or 0)
    s.max_score, s.status = submission.max_score, "graded"


def grade(
    config: Config,
    submissions: Path,
    assignment: str | None,
    out: Path,
    timeout: int,
    jobs: int = 1,
    settings: dict | None = None,
    config_file: Path = DEFAULT_CONFIG,
    cluster: str | None = None,
    regrade: bool = False,
) -> list[Submission]:
    """Import, autograde and give feedback to every submission; write the CSV report.

    Each submission is graded by :func:`grade_submission` in a scratch course of its own, in
    ``jobs`` worker processes or on the Dask cluster at ``cluster`` ("local": an embedded one);
    this process alone writes the course folder and the gradebook, each outcome as it arrives.
    A submission graded before from the same files is kept as it is unless ``regrade``."""
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
        raise CourseError(
            f"no assignment {assignment!r} in {course_path(config, 'source_directory')}"
        )
    course = CourseFolder(config)
    if submissions.is_relative_to(course.root):
        raise CourseError(
            f"{submissions} is inside the course folder, which grade rewrites: copy it out"
        )
    found = find_submissions(submissions, known, assignment)
    if not found:
        raise CourseError(f"no student folders in {submissions}")
    progress = Progress(len(found))
    with tempfile.TemporaryDirectory(prefix="casebook-template-") as tmp:
        max_scores, jobs_of = {}, {}
        for name in sorted({s.assignment for s in found if s.assignment in known}):
            generate(config, name, course.root, course.root / "release")
            template = Path(tmp) / name
            generate(config, name, template, template / "release", template / "gradebook.db")
            max_scores[name] = course.max_score(name)
        ledger = Ledger(course.root / "graded.json")
        inputs = {}
        for s in found:
            s.max_score = max_scores.get(s.assignment, 0)
            if s.reason:
                progress.line(s, f"not graded: {s.reason}")
                continue
            job = Job(
                s.student,
                s.assignment,
                {k: str(v) for k, v in s.notebooks.items()},
                str(Path(config_file).resolve()),
                settings,
                str(Path(tmp) / s.assignment),
                course.manual(s),
            )
            inputs[s.student, s.assignment] = inputs_of(job, config)
            if not regrade and course.kept(s, ledger.unchanged(s, inputs[s.student, s.assignment])):
                progress.line(s, f"kept: graded before from the same files ({s.score:g})")
                continue
            jobs_of[s.student, s.assignment] = job
        by_key = {(s.student, s.assignment): s for s in found}
        writing = []  # seconds this process, the one writer, spent on each outcome

        def done(o: Outcome) -> None:
            start = time.perf_counter()
            s = by_key[o.student, o.assignment]
            s.reason = o.reason
            if o.status == "graded":
                course.merge(o, s)
                ledger.record(s, inputs[o.student, o.assignment])
            shutil.rmtree(o.scratch, ignore_errors=True)
            shown = f"graded {s.score:g}/{s.max_score:g}" if s.status == "graded" else "not graded:"
            progress.line(s, f"{shown} {o.reason}".rstrip() + f" ({o.seconds:.1f} s)")
            writing.append(time.perf_counter() - start)

        try:
            _run_jobs(jobs_of, jobs, cluster, done)
            for s in found:
                if s.status != "graded" and s.assignment in known and STUDENT_ID.match(s.student):
                    course.forget(s)
                    ledger.drop(s)
        finally:
            ledger.save()  # what was merged before a crash or ^C is not graded again
    progress.close()
    if writing:
        print(writer_line(writing))
    write_report(course, found, out)
    return found


def writer_line(seconds: list[float]) -> str:
    """What writing an outcome into the course folder and the gradebook cost this process, the
    only writer, a submission: the rate it caps grading at, however many workers grade."""
    each = sum(seconds) / len(seconds)
    return (
        f"the gradebook writer took {1000 * each:.0f} ms a submission: it keeps up with at "
        f"most {60 / max(each, 1e-9):,.0f} submissions/minute"
    )


def _run_jobs(jobs_of: dict, jobs: int, cluster: str | None, done) -> None:
    """Grade every job: on the cluster, else ``jobs`` at a time in worker processes (in this
    one when 1); ``done(outcome)`` as each finishes."""
    if not jobs_of:
        return
    if cluster:
        grade_on_cluster(jobs_of, cluster, jobs, done)
        return
    if jobs <= 1 or len(jobs_of) <= 1:
        for job in jobs_of.values():
            done(grade_submission(job))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(grade_submission, job): job for job in jobs_of.values()}
        for future in as_completed(futures):
            job = futures[future]
            try:
                o = future.result()
            except Exception as error:  # a worker that died
                o = Outcome(job.student, job.assignment, reason=f"the grader failed: {error!r}")
            done(o)


def inputs_of(job: Job, config: Config) -> str:
    """A hash of everything a grade depends on: the submitted files, the assignment's source
    (tests included), the nbgrader configuration and the grading settings."""
    digest = hashlib.sha256(json.dumps(job.settings, sort_keys=True, default=str).encode())
    source = course_path(config, "source_directory") / job.assignment
    files = [Path(job.config_file), *sorted(p for p in source.rglob("*") if p.is_file())]
    for name, path in sorted(job.notebooks.items()):
        files += [Path(path), Path(path).parent / "timestamp.txt"]
        digest.update(name.encode())
    for path in files:
        digest.update(str(path.name).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"(none)")
    return digest.hexdigest()


class Ledger:
    """``graded.json`` in the course folder: the inputs each graded submission was graded
    from, so that a re-run grades only what is new or changed. Saved at most every
    ``SAVE_EVERY`` seconds while grading, and at the end: a crash costs at most those seconds'
    submissions a regrade, and a class of thousands does not rewrite the file thousands of
    times."""

    SAVE_EVERY = 10.0

    def __init__(self, path: Path):
        self.path, self.saved = path, time.monotonic()
        try:
            self.entries = json.loads(path.read_text()) if path.exists() else {}
        except ValueError:  # a damaged ledger costs a regrade, nothing else
            print(f"note: {path} is not JSON; every submission is graded again", flush=True)
            self.entries = {}

    def unchanged(self, s: Submission, inputs: str) -> dict | None:
        entry = self.entries.get(f"{s.student}/{s.assignment}")
        return entry if entry and entry.get("inputs") == inputs else None

    def record(self, s: Submission, inputs: str) -> None:
        self.entries[f"{s.student}/{s.assignment}"] = {"inputs": inputs, "reason": s.reason}
        if time.monotonic() - self.saved > self.SAVE_EVERY:
            self.save()

    def drop(self, s: Submission) -> None:
        self.entries.pop(f"{s.student}/{s.assignment}", None)

    def save(self) -> None:
        self.saved = time.monotonic()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".json.partial")
        partial.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
        os.replace(partial, self.path)  # a crash leaves the old ledger, never half of one


class Progress:
    """One line per submission on stdout, and a bar on stderr when it is a terminal."""

    def __init__(self, total: int):
        self.total, self.count = total, 0
        self.bar = tqdm(
            total=total, unit="submission", desc="grading", disable=not sys.stderr.isatty()
        )

    def line(self, s: Submission, text: str) -> None:
        self.count += 1
        self.bar.update(1)
        tqdm.write(f"[{self.count}/{self.total}] {s.student} {s.assignment}: {text}", sys.stdout)
        sys.stdout.flush()

    def close(self) -> None:
        self.bar.close()


def write_report(course: CourseFolder, found: list[Submission], out: Path) -> None:
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
