"""``casebook course``: instructor commands for the graded exercises (nbgrader 0.9.6 underneath).

    casebook course release [ASSIGNMENT ...] [--check]
    casebook course grade SUBMISSIONS [--assignment A] [--course-dir DIR] [--out DIR]
                                      [--timeout S] [--jobs N] [--db URL]
                                      [--cluster tcp://HOST:8786 | local] [--regrade]
    casebook course feedback | export | collect ASSIGNMENT --to INBOX
    casebook course report [ASSIGNMENT ...] [--out FILE] [--threshold 0.8]

Every path comes from ``autograder/nbgrader_config.py`` (``--config`` picks another): the source
notebooks in ``solutions/``, the committed student versions in ``autograder/release/`` and the
instructor's course folder ``autograder/course/`` (gradebook.db, submitted/, autograded/,
feedback/). The same file configures ``nbgrader`` run by hand in ``autograder/`` and names the
plug-ins in ``casebook.course.hidden_tests`` and ``casebook.course.sandbox``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from casebook.course.config import (
    DEFAULT_CONFIG,
    CourseError,
    course_path,
    database_url,
    load_config,
)
from casebook.course.grade import grade
from casebook.course.gradebook import collect, export, feedback
from casebook.course.release import release
from casebook.course.report import report


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
    with_environment_tools()
    try:
        return run(argv)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def with_environment_tools() -> None:
    """Put this Python's own bin folder on PATH: nbgrader runs ``alembic`` from there when it
    opens a gradebook, and ``.venv/bin/casebook`` run without activating the venv has not."""
    tools = str(Path(sys.executable).parent)
    if tools not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([tools, os.environ.get("PATH", "")])


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="casebook course", description=__doc__.split("\n")[0])
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
    gra.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="grade on the Dask cluster whose scheduler is ADDRESS (tcp://HOST:8786), or on an "
        "embedded one of --jobs workers ('local'); default: --jobs local processes",
    )
    gra.add_argument(
        "--regrade",
        action="store_true",
        help="grade again the submissions already graded from the same files",
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
    rep = commands.add_parser(
        "report", help="an HTML report: scores, failing tests, messages, near-identical code"
    )
    rep.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all graded")
    _course_options(rep)
    rep.add_argument("--out", type=Path, help="default: COURSE-DIR/results/report.html")
    rep.add_argument(
        "--threshold",
        type=float,
        default=0.8,
        help="share of the shorter submission's code two must share to be listed (default 0.8)",
    )
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
    results = course_path(config, "root") / "results"
    if args.command == "feedback":
        return feedback(config, args.assignment, (args.out or results).resolve())
    if args.command == "export":
        return export(config, (args.out or results / "gradebook.csv").resolve())
    if args.command == "report":
        out = (args.out or results / "report.html").resolve()
        exercises = report(config, out, args.assignments, args.threshold)
        pairs = sum(len(e.similar) for e in exercises)
        graded = sum(len(e.graded) for e in exercises)
        print(f"{graded} graded submissions, {pairs} near-identical pairs: {out}")
        return 0
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
        cluster=args.cluster,
        regrade=args.regrade,
    )
    return 0 if any(s.status == "graded" for s in found) else 1
