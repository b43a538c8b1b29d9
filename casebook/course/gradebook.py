"""What the gradebook gives back: feedback again after manual grading, the whole gradebook
as CSV, and submissions collected from nbgrader's exchange."""

from __future__ import annotations

import copy
import csv
import shutil
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from casebook.course.config import check_converted, run_converter
from casebook.course.grade import CourseFolder


def feedback(config: Config, assignment: str | None, out: Path) -> int:
    """Regenerate every feedback page from the gradebook (after manual grading) into
    ``OUT/feedback/<student>/``."""
    course = CourseFolder(config)
    with Gradebook(course.dirs.db_url) as gb:
        names = [a.name for a in gb.assignments if assignment in (None, a.name)]
    count = 0
    for name in names:
        check_converted(
            run_converter(GenerateFeedback, config, assignment_id=name), f"generate_feedback {name}"
        )
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
    with Gradebook(CourseFolder(config).dirs.db_url) as gb:
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
