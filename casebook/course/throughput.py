"""How fast the autograder grades a class: submissions graded per minute with 1 and N workers,
in local processes and on an embedded Dask cluster, on this machine.

    casebook bench-grading [--students 100] [--jobs 1,2] [--via processes,cluster]
                           [--repeats 1] [--assignment 03_one_by_one]

It generates a class of mixed submissions from the exercise's source and student version (a
quarter each: the solution, the untouched student version, the solution with one function
wrong, a broken file), grades the same class once per way and value of ``--jobs`` in a fresh
course folder with ``casebook course grade`` (``--cluster local`` for the cluster), prints one
line per run (with what the one process that writes the gradebook spent a submission, which
caps the rate however many workers grade, and what the cluster took to start), then the
ratios: what the cluster costs per submission against local processes, the share of it that is
its start-up (a fixed cost, spread over this class), and the speed-up of the most workers over
one.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from casebook.course.cluster import READY

ROOT = Path(__file__).resolve().parents[2]
WRITER = "the gradebook writer took "  # grade's line on what its one writer costs


KINDS = ("correct", "untouched", "wrong", "broken")  # student i submits KINDS[i % 4]


def make_class(folder: Path, assignment: str, students: int) -> dict[str, int]:
    source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    release = ROOT / "autograder" / "release" / assignment / f"{assignment}.ipynb"
    wrong = nbformat.read(source, as_version=4)
    solution_cell = next(c for c in wrong.cells if "### BEGIN SOLUTION" in c.source)
    solution_cell.source = solution_cell.source.split("### BEGIN SOLUTION")[0] + "return None\n"
    kinds = dict.fromkeys(KINDS, 0)
    for i in range(students):
        kind = KINDS[i % 4]
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


def submissions_per_minute(
    students=100,
    jobs=(1, 2),
    assignment="03_one_by_one",
    report=print,
    via=("processes",),
    repeats=1,
):
    """Grade one generated class once per way and worker count, ``repeats`` rounds in turns
    (the order reversed every other round, so a slow spell of the machine or the order itself
    does not favour one way); returns {(way, workers): submissions/min of the median run}.
    ``via``: "processes" (local worker processes), "cluster" (an embedded Dask cluster of that
    many workers, started by the run and counted in its time).

    Raises RuntimeError with the grader's output when a run fails."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    runs = [(way, workers) for workers in jobs for way in via]
    seconds = {run: [] for run in runs}
    start_ups = {run: [] for run in runs if run[0] == "cluster"}
    with tempfile.TemporaryDirectory(prefix="casebook-bench-") as tmp:
        submissions = Path(tmp) / "submissions"
        kinds = make_class(submissions, assignment, students)
        report(
            f"{students} submissions of {assignment} "
            f"({', '.join(f'{n} {k}' for k, n in kinds.items())}) on {os.cpu_count()} cores"
        )
        for round_ in range(repeats):
            for way, workers in runs if round_ % 2 == 0 else runs[::-1]:
                course = Path(tmp) / f"course-{way}-{workers}-{round_}"  # fresh: nothing kept
                took, summary, up, rows = _grade_once(
                    submissions, assignment, course, way, workers, env
                )
                odd = unexpected(rows)
                summary += f"; {len(odd)} NOT GRADED AS THEIR KIND" if odd else ""
                seconds[way, workers].append(took)
                if up is not None:
                    start_ups[way, workers].append(up)
                report(
                    f"{way:9} jobs={workers}: {students} in {took:.0f} s = "
                    f"{60 * students / took:.1f} submissions/minute ({summary})"
                )
                for line in odd:
                    report(f"  {line}")
    rates = {run: 60 * students / float(np.median(times)) for run, times in seconds.items()}
    start_up = {run: float(np.median(ups)) for run, ups in start_ups.items() if ups}
    for line in ratio_lines(rates) + start_up_lines(rates, start_up, students):
        report(line)
    return rates


def _grade_once(submissions, assignment, course, way, workers, env):
    """Seconds the grading took, its summary, the seconds the cluster took to start (None
    without a cluster) and the rows of its grades.csv."""
    command = [sys.executable, "-m", "casebook.course", "grade", submissions]
    command += ["--assignment", assignment, "--course-dir", course, "--jobs", str(workers)]
    command += ["--cluster", "local"] if way == "cluster" else []
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"grading failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    lines = done.stdout.strip().splitlines()
    summary = lines[-1].split(":")[0]
    writer = next((line for line in lines if line.startswith(WRITER)), None)
    if writer:  # "... took 85 ms a submission: ..." -> "writer 85 ms/submission"
        summary += f"; writer {writer[len(WRITER) :].split()[0]} ms/submission"
    ready = next((line for line in lines if line.startswith(READY)), None)
    up = float(ready[len(READY) :].split()[0]) if ready else None
    if up is not None:
        summary += f"; cluster up in {up:.1f} s"
    with open(Path(course) / "results" / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return took, summary, up, rows


def unexpected(rows: list[dict]) -> list[str]:
    """The rows of a generated class's grades.csv not graded as their kind is: the solution full
    marks, the untouched and the wrong one graded below it, the broken file not gradable. A run
    that grades some submissions wrong (a kernel that failed to start, a cell timed out on a
    busy machine) is not timing the same work as the others."""
    odd = []
    for row in rows:
        kind = KINDS[int(row["student"].removeprefix("student")) % 4]
        graded, full = row["status"] == "graded", float(row["score"]) == float(row["max_score"])
        expected = {"correct": graded and full, "broken": not graded}.get(kind, graded and not full)
        if not expected:
            odd.append(
                f"{row['student']} ({kind}): {row['status']} {row['score']}/{row['max_score']}"
                f" {row['reason']}".rstrip()
            )
    return odd


def ratios(rates: dict) -> dict[str, float]:
    """The cluster's time over local processes' at each worker count, and each way's speed-up
    of its most workers over one."""
    found = {}
    for way, workers in sorted(rates):
        if way == "cluster" and ("processes", workers) in rates:
            found[f"cluster time over processes, {workers} worker(s)"] = (
                rates["processes", workers] / rates[way, workers]
            )
    for way in sorted({w for w, _ in rates}):
        counts = sorted(n for w, n in rates if w == way)
        if len(counts) > 1 and counts[0] == 1:
            found[f"{way}: {counts[-1]} workers over 1"] = rates[way, counts[-1]] / rates[way, 1]
    return found


def cluster_extra(rates: dict, workers: int) -> float:
    """The seconds a submission costs more through the cluster than through local processes,
    both with ``workers`` workers (negative where the cluster was faster)."""
    return 60 / rates["cluster", workers] - 60 / rates["processes", workers]


def ratio_lines(rates: dict) -> list[str]:
    """:func:`ratios` in words, with the cluster's cost in seconds per submission."""
    lines = [f"{name}: {value:.3f}x" for name, value in ratios(rates).items()]
    for way, workers in sorted(rates):
        if way == "cluster" and ("processes", workers) in rates:
            extra = cluster_extra(rates, workers)
            lines.append(f"the cluster costs {extra:+.2f} s per submission, {workers} worker(s)")
    return lines


def start_up_lines(rates: dict, start_up: dict, students: int) -> list[str]:
    """The cluster's cost per submission once its start-up (``{(way, workers): seconds}``), a
    cost paid once whatever the size of the class, is taken out."""
    lines = []
    for (way, workers), up in sorted(start_up.items()):
        if (way, workers) in rates and ("processes", workers) in rates:
            extra = cluster_extra(rates, workers)
            lines.append(
                f"of it the cluster's start-up ({up:.1f} s) is {up / students:.2f} s a submission "
                f"here: {extra - up / students:+.2f} s per submission after it, {workers} worker(s)"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="casebook bench-grading")
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", default=f"1,{os.cpu_count() or 1}", help="comma-separated")
    parser.add_argument("--assignment", default="03_one_by_one")
    parser.add_argument("--via", default="processes,cluster", help="processes and/or cluster")
    parser.add_argument("--repeats", type=int, default=1, help="rounds; the median is kept")
    args = parser.parse_args(argv)
    jobs = [int(j) for j in args.jobs.split(",")]
    via = args.via.split(",")
    if set(via) - {"processes", "cluster"}:
        parser.error(f"--via takes processes and/or cluster, not {args.via}")
    try:
        submissions_per_minute(
            args.students, jobs, args.assignment, _flush_print, via, args.repeats
        )
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def _flush_print(line):
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
