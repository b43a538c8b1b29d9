"""How fast the autograder grades a class: submissions graded per minute, one at a time and in
parallel worker processes, on this machine.

    python -m casebook.bench_grading [--students 100] [--jobs 1,2] [--assignment 03_one_by_one]

It generates a class of mixed submissions from the exercise's source and student version (a
quarter each: the solution, the untouched student version, the solution with one function
wrong, a broken file), grades the same class once per value of ``--jobs`` in a fresh course
folder with ``python -m casebook.course grade``, and prints one line per run.
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

ROOT = Path(__file__).resolve().parents[1]


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casebook.bench_grading")
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", default=f"1,{os.cpu_count() or 1}", help="comma-separated")
    parser.add_argument("--assignment", default="03_one_by_one")
    args = parser.parse_args(argv)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    with tempfile.TemporaryDirectory(prefix="casebook-bench-") as tmp:
        submissions = Path(tmp) / "submissions"
        kinds = make_class(submissions, args.assignment, args.students)
        print(
            f"{args.students} submissions of {args.assignment} "
            f"({', '.join(f'{n} {k}' for k, n in kinds.items())}) on {os.cpu_count()} cores"
        )
        for jobs in [int(j) for j in args.jobs.split(",")]:
            course = Path(tmp) / f"course-{jobs}"
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "casebook.course", "grade", submissions]
                + ["--assignment", args.assignment, "--course-dir", course, "--jobs", str(jobs)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - start
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-2000:], sep="\n")
                return 1
            summary = done.stdout.strip().splitlines()[-1].split(":")[0]
            print(
                f"jobs={jobs}: {args.students} in {seconds:.0f} s = "
                f"{60 * args.students / seconds:.1f} submissions/minute ({summary})",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
