"""Grading on a Dask cluster: ``casebook course grade SUBMISSIONS --cluster tcp://HOST:8786``.

A submission travels to a worker as bytes (a :class:`Parcel`: its notebooks, the course's
nbgrader configuration, the assignment's template course), so the workers share no folder with
the instructor's machine; they need the same ``casebook[course]`` installed. The worker grades
it with :func:`casebook.course.worker.grade_submission`, in the same sandbox as local grading,
and sends back the outcome with the scratch course folders as bytes. The client alone writes
the gradebook (one writer), as each outcome arrives.

A worker that dies mid-submission loses nothing: the scheduler gives the submission to another
worker; when that one dies too (``distributed.scheduler.allowed-failures``, 1 for the embedded
cluster; start an external scheduler with ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1``)
the submission is graded zero with the reason.

``--cluster local`` starts an embedded LocalCluster of ``--jobs`` single-threaded workers.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from casebook.course.config import CourseError
from casebook.course.worker import Job, Outcome, grade_submission

ALLOWED_FAILURES = 1  # a submission is tried on a second worker once, then graded zero
READY = "the cluster was ready in "  # grade's line on what the cluster took to start

# A grading worker waits on its kernel; on a machine whose cores all grade, the cluster's own
# housekeeping takes time from the kernels. The embedded cluster turns off what grading does not
# use: the statistical profiler (a stack sample of every thread each 10 ms), the GIL monitor,
# and work stealing (no worker holds more than the one submission it grades). Its timers run
# less often: the event-loop tick (20 ms in each process), the system monitor (500 ms, for a
# dashboard it has not got) and the workers' memory monitor (100 ms): at Dask's defaults an
# idle cluster keeps a good part of a core busy, which kernels grading on every core pay for.
EMBEDDED_CONFIG = {
    "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.scheduler.work-stealing": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def pack(folder: Path, skip: Iterable[str] = ()) -> dict[str, bytes]:
    """Every file under ``folder`` as ``{relative path: bytes}``."""
    skip = set(skip)
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and str(path.relative_to(folder)) not in skip
    }


def unpack(files: dict[str, bytes], folder: Path) -> Path:
    """Write ``pack``'s files under ``folder``; refuses a path that leaves it."""
    folder = folder.resolve()
    for name, data in files.items():
        target = (folder / name).resolve()
        if not target.is_relative_to(folder):
            raise ValueError(f"{name!r} is outside the folder it is unpacked in")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


@dataclasses.dataclass
class Parcel:
    """One submission as bytes: what a worker on another machine needs to grade it."""

    job: Job
    submission: dict[str, bytes]  # "<notebook>.ipynb" and nbgrader's "timestamp.txt"
    config: bytes  # the course's nbgrader_config.py


def parcel_of(job: Job) -> Parcel:
    submission = {}
    for name, path in job.notebooks.items():
        path = Path(path)
        submission[f"{name}.ipynb"] = path.read_bytes()
        if (path.parent / "timestamp.txt").exists():
            submission["timestamp.txt"] = (path.parent / "timestamp.txt").read_bytes()
    return Parcel(job, submission, Path(job.config_file).read_bytes())


def grade_parcel(parcel: Parcel, template: dict[str, bytes]) -> Outcome:
    """Grade one submission on a worker; the outcome carries its course folders as bytes."""
    with tempfile.TemporaryDirectory(prefix="casebook-parcel-") as tmp:
        here = Path(tmp)
        submission = unpack(parcel.submission, here / "submission")
        (here / "nbgrader_config.py").write_bytes(parcel.config)
        job = dataclasses.replace(
            parcel.job,
            notebooks={name: str(submission / f"{name}.ipynb") for name in parcel.job.notebooks},
            config_file=str(here / "nbgrader_config.py"),
            template=str(unpack(template, here / "template")),
            scratch_root="",
        )
        outcome = grade_submission(job)
        scratch = Path(outcome.scratch)
        course = scratch / "course"
        outcome.files = pack(course, skip=["gradebook.db"]) if course.is_dir() else {}
        shutil.rmtree(scratch, ignore_errors=True)
        outcome.scratch = ""
    return outcome


def landed(outcome: Outcome) -> Outcome:
    """Unpack a worker's course folders into a scratch folder here, where ``merge`` reads them."""
    scratch = Path(tempfile.mkdtemp(prefix="casebook-grade-"))
    unpack(outcome.files, scratch / "course")
    outcome.scratch, outcome.files = str(scratch), {}
    return outcome


def client_for(address: str, workers: int):
    """A Dask client of the cluster at ``address``, or of an embedded one for ``"local"``."""
    import dask
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)  # not a line per worker event

    if address != "local":
        try:
            return Client(address, timeout="20s")
        except OSError as error:
            raise CourseError(
                f"no Dask scheduler answers at {address} ({error}): start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`"
            ) from error
    with dask.config.set(EMBEDDED_CONFIG):
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    return Client(cluster)


def allowed_failures(dask_scheduler=None) -> int:
    """The scheduler's retries of a task whose worker died (run on the scheduler)."""
    return dask_scheduler.allowed_failures


def grade_on_cluster(
    jobs: dict, address: str, workers: int, done: Callable[[Outcome], None]
) -> None:
    """Grade every Job of ``{(student, assignment): Job}`` on the cluster; ``done(outcome)`` as
    each one finishes, in the order they finish.

    No worker holds more than the submission it grades: the next one is sent when one is done,
    so a worker that dies takes one submission with it (to be retried), not a queue of them.
    The next one is sent before the finished one is written, so no worker waits on the writer."""
    from distributed import as_completed

    start = time.perf_counter()
    client = client_for(address, workers)
    try:
        retries = client.run_on_scheduler(allowed_failures)
        up = time.perf_counter() - start  # a fixed cost, whatever the size of the class
        print(f"{READY}{up:.1f} s, with {threads(client)} worker thread(s)", flush=True)
        # Each task carries its template as bytes rather than a scattered copy: scattered data
        # dies with the workers holding it, and with it every submission that needs it, while
        # a task's own arguments stay with the scheduler for its retry.
        templates = {job.template: pack(Path(job.template)) for job in jobs.values()}
        waiting, running, finished = list(jobs.values()), {}, as_completed()

        def send_more() -> None:
            while waiting and len(running) < threads(client):
                job = waiting.pop(0)
                key = f"grade-{job.student}-{job.assignment}-{uuid.uuid4().hex[:8]}"
                parcel = parcel_of(job)
                future = client.submit(grade_parcel, parcel, templates[job.template], key=key)
                running[future] = job
                finished.add(future)

        send_more()
        for future in finished:
            job = running.pop(future)
            send_more()
            done(outcome_of(future, job, retries))
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()


def threads(client) -> int:
    """Submissions the cluster grades at once: its workers' threads (at least 1)."""
    workers = client.scheduler_info()["workers"].values()
    return max(1, sum(w.get("nthreads", 1) for w in workers))


def outcome_of(future, job: Job, retries: int) -> Outcome:
    from distributed.scheduler import KilledWorker

    try:
        return landed(future.result())
    except KilledWorker:
        why = f"the worker grading it died {retries + 1} times"
        why += f" (retried {retries} times on another worker)" if retries else ""
    except Exception as error:  # the worker's own failure, still a row in the report
        why = f"{type(error).__name__}: {error}"
    return Outcome(job.student, job.assignment, reason=f"the grader failed: {why}"[:300])
