"""How fast the autograder grades a class: submissions graded per minute, one at a time and in
parallel worker processes, on this machine.

    casebook course throughput [--students 100] [--jobs 1,2] [--assignment 03_one_by_one]

It generates a class of mixed submissions from the exercise's source and student version (a
quarter each: the solution, the untouched student version, the solution with one function
wrong, a broken file), grades the same class once per value of ``--jobs`` in a fresh course
folder with ``casebook course grade``, and prints one line per run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]


def make_class(folder: Path, assignment: str, students: int) -> dict[str, int]:
    source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    release = ROOT / "autograder" / "release" / assignment / f"{assignment}.ipynb"
    wrong = nbformat.read(source, as_version=4)
    solution_cell = next(c for c in wrong.cells if "### BEGIN SOLUTION" in c.source)
    solution_cell.source = solution_cell.source.split("### BEGIN SOLUTION")[0] + "return None\n"
    kinds = {"correct": 0, "untouched": 0, "wrong": 0, "broken": 0}
    for i in range(students):
        kind = list(kinds)[i % 4]
        kinds[kind] += 1
        target = folder / f"student{i:03d}" / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        if kind == "correct":
            shutil.copy(source, target)
        elif kind == "untouched":
            shutil.copy(release, target)
        elif kind == "wrong":
            nbformat.write(wrong, target)
        else:
            target.write_text('{"cells": [')
    return kinds


def submissions_per_minute(students=100, jobs=(1, 2), assignment="03_one_by_one", report=print):
    """Grade one generated class once per worker count; returns {workers: submissions/min}.

    Raises RuntimeError with the grader's output when a run fails."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    rates = {}
    with tempfile.TemporaryDirectory(prefix="casebook-bench-") as tmp:
        submissions = Path(tmp) / "submissions"
        kinds = make_class(submissions, assignment, students)
        report(
            f"{students} submissions of {assignment} "
            f"({', '.join(f'{n} {k}' for k, n in kinds.items())}) on {os.cpu_count()} cores"
        )
        for workers in jobs:
            course = Path(tmp) / f"course-{workers}"
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "casebook.course", "grade", submissions]
                + ["--assignment", assignment, "--course-dir", course, "--jobs", str(workers)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - start
            if done.returncode != 0:
                raise RuntimeError(f"grading failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
            rates[workers] = 60 * students / seconds
            summary = done.stdout.strip().splitlines()[-1].split(":")[0]
            report(
                f"jobs={workers}: {students} in {seconds:.0f} s = "
                f"{rates[workers]:.1f} submissions/minute ({summary})"
            )
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="casebook course throughput")
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", default=f"1,{os.cpu_count() or 1}", help="comma-separated")
    parser.add_argument("--assignment", default="03_one_by_one")
    args = parser.parse_args(argv)
    jobs = [int(j) for j in args.jobs.split(",")]
    try:
        submissions_per_minute(args.students, jobs, args.assignment, report=_flush_print)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def _flush_print(line):
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
