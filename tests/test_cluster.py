"""Grading on a real Dask cluster: a scheduler and two workers on loopback (`dask scheduler`,
`dask worker`), a real PostgreSQL gradebook, a mixed class, and workers killed mid-submission.

One class is graded once on the cluster while a watcher kills the worker grading `loop` once
(it is retried on another worker and graded) and the worker grading `victim` twice (it is
graded zero with the reason); then the same class is graded again, which grades only what was
not graded.
"""

import csv
import functools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from conftest import free_port
from distributed import Client
from nbgrader.api import Gradebook
from test_autograder import (
    ASSIGNMENT,
    CHEAT,
    LOOP,
    NOTEBOOK,
    RELEASE,
    TIMEOUT,
    WRONG_CONV,
    add_cell,
    course,
    handed_in,
    notebook,
    with_code,
)

from casebook.course.cluster import pack, unpack

DASK = Path(sys.executable).parent / "dask"
KILLS = {"loop": 1, "victim": 2}  # how many times the worker grading each one is killed


def mixed_class(folder):
    hand_in = functools.partial(handed_in, folder)

    hand_in("alice", notebook())
    hand_in("victim", notebook())
    hand_in("partial", with_code(notebook(), "conv-multiplications", WRONG_CONV))
    hand_in("broken", text='{"cells": [')
    hand_in("loop", with_code(notebook(), "channel-reducer", LOOP))
    cheat = add_cell(notebook(RELEASE), CHEAT, after="imports")
    hand_in("mallory", with_code(cheat, "conv-multiplications", WRONG_CONV))


@pytest.fixture(scope="module")
def scheduler():
    """`dask scheduler` and two single-threaded `dask worker`s on loopback."""
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
        "PATH": f"{DASK.parent}{os.pathsep}{os.environ['PATH']}",
    }
    port = address.rsplit(":", 1)[1]
    commands = [[DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"]]
    commands += [
        [DASK, "worker", address, "--nthreads", "1", "--name", f"w{i}", "--no-dashboard"]
        for i in (1, 2)
    ]
    processes = []
    try:
        for command in commands:
            processes.append(
                subprocess.Popen(
                    command,
                    env=env,
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            time.sleep(1 if command is commands[0] else 0)
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def watch_and_kill(address, stop, killed):
    """Kill the worker process grading a student of KILLS, once it has graded it for 3 s (and
    holds nothing else: a worker's death counts against every submission it holds)."""
    with Client(address, timeout="60s") as client:
        seen, dead = {}, set()  # (worker, key) -> when first seen; pids already killed
        while not stop.is_set():
            for worker, keys in client.processing().items():
                for key in keys if len(keys) == 1 else []:
                    student = key.split("-")[1]
                    if killed.count(student) >= KILLS.get(student, 0):
                        continue
                    since = seen.setdefault((worker, key), time.monotonic())
                    if time.monotonic() - since > 3:
                        # a worker killed a moment ago may still be listed: it answers no pid
                        pids = client.run(os.getpid, workers=[worker], on_error="ignore")
                        pid = pids.get(worker)
                        if isinstance(pid, int) and pid not in dead:
                            os.kill(pid, signal.SIGKILL)
                            dead.add(pid)
                            killed.append(student)
                            seen.clear()  # its retry is timed from when it starts again
            time.sleep(0.2)


@pytest.fixture(scope="module")
def graded(scheduler, postgres, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    mixed_class(tmp / "submissions")
    common = [tmp / "submissions", "--course-dir", tmp / "course", "--db", postgres]
    common += ["--cluster", scheduler, "--timeout", TIMEOUT, "--cpu", "120"]
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=watch_and_kill, args=(scheduler, stop, killed))
    watcher.start()
    try:
        first = course("grade", *common, "--out", tmp / "first", timeout=900)
    finally:
        stop.set()
        watcher.join()
    again = course("grade", *common, "--out", tmp / "again", timeout=900)
    return {"tmp": tmp, "db": postgres, "first": first, "again": again, "killed": killed}


def rows(graded, run):
    with open(graded["tmp"] / run / "grades.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def test_the_watcher_killed_the_workers_it_meant_to(graded):
    assert graded["first"].returncode == 0, graded["first"].stdout + graded["first"].stderr
    assert sorted(graded["killed"]) == ["loop", "victim", "victim"]
    # what the cluster took to start, a cost paid once however big the class
    assert re.search(
        r"the cluster was ready in [\d.]+ s, with [12] worker thread", graded["first"].stdout
    )


def test_every_submission_has_its_grade_and_reason(graded):
    got = rows(graded, "first")
    assert {s: (r["status"], r["score"]) for s, r in got.items()} == {
        "alice": ("graded", "10"),
        "partial": ("graded", "4"),
        "broken": ("error", "0"),
        "loop": ("graded", "6"),
        "mallory": ("graded", "0"),
        "victim": ("error", "0"),
    }
    assert got["alice"]["reason"] == ""
    assert "conv-multiplications-tests 0/3" in got["partial"]["reason"]
    assert "bottleneck-multiplications-tests 0/3" in got["partial"]["reason"]  # it uses the conv
    assert "is not a valid notebook" in got["broken"]["reason"]
    assert "CellTimeoutError: the cell ran longer than" in got["loop"]["reason"]
    assert "should be 120,422,400" in got["mallory"]["reason"]
    assert got["victim"]["reason"] == (
        "the grader failed: the worker grading it died 2 times (retried 1 times on another worker)"
    )


def test_the_postgresql_gradebook_holds_the_graded_ones(graded):
    # read after both runs: victim, lost in the first, was graded in the second
    with Gradebook(graded["db"]) as gb:
        got = {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}
        students = {s.id for s in gb.students}
    assert got == {"alice": 10, "partial": 4, "loop": 6, "mallory": 0, "victim": 10}
    assert students == {"alice", "partial", "broken", "loop", "mallory", "victim"}


def test_a_rerun_grades_only_what_was_not_graded(graded):
    again = graded["again"]
    assert again.returncode == 0, again.stdout + again.stderr
    kept = {line.split()[1] for line in again.stdout.splitlines() if ": kept: " in line}
    assert kept == {"alice", "partial", "loop", "mallory"}
    got = rows(graded, "again")
    assert (got["victim"]["status"], got["victim"]["score"]) == ("graded", "10")
    assert (got["loop"]["score"], got["loop"]["reason"]) == (
        "6",
        rows(graded, "first")["loop"]["reason"],
    )
    assert (graded["tmp"] / "again" / "feedback" / "alice" / f"{ASSIGNMENT}.html").is_file()


def test_a_changed_submission_is_graded_again(graded, tmp_path):
    changed = tmp_path / "submissions"
    (changed / "alice").mkdir(parents=True)
    nbformat.write(
        with_code(notebook(), "conv-multiplications", WRONG_CONV), changed / "alice" / NOTEBOOK
    )
    common = ["--course-dir", graded["tmp"] / "course", "--db", graded["db"], "--jobs", "1"]
    done = course("grade", changed, *common, "--out", tmp_path / "out", "--timeout", TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[1/1] alice 03_one_by_one: graded 4/10" in done.stdout
    # what its one writer cost, and the rate that caps grading at
    assert re.search(
        r"writer took \d+ ms a submission: .* at most [\d,]+ submissions/min", done.stdout
    )


def test_a_parcel_cannot_unpack_outside_its_folder(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.txt").write_text("x")
    assert pack(tmp_path / "a") == {"b/x.txt": b"x"}
    with pytest.raises(ValueError, match="outside the folder"):
        unpack({"../escaped.txt": b"x"}, tmp_path / "c")
    assert not (tmp_path / "escaped.txt").exists()


def test_no_scheduler_at_the_address_is_a_clear_error(tmp_path):
    (tmp_path / "in" / "alice").mkdir(parents=True)
    nbformat.write(notebook(), tmp_path / "in" / "alice" / NOTEBOOK)
    address = f"tcp://127.0.0.1:{free_port()}"
    done = course(
        "grade", tmp_path / "in", "--course-dir", tmp_path / "course", "--cluster", address
    )
    assert done.returncode == 1
    assert f"error: no Dask scheduler answers at {address}" in done.stderr


def test_the_embedded_cluster_turns_off_settings_that_exist():
    """A misspelt Dask setting is ignored without a word: each one must be a real setting, with
    a default other than what the embedded cluster sets."""
    import dask
    import distributed  # noqa: F401  (loads distributed's defaults into dask.config)

    from casebook.course.cluster import EMBEDDED_CONFIG

    for key, value in EMBEDDED_CONFIG.items():
        default = dask.config.get(key)  # KeyError when there is no such setting
        assert default != value, key
    with dask.config.set(EMBEDDED_CONFIG):
        assert dask.config.get("distributed.worker.profile.enabled") is False
