"""Execute the chapter notebooks with papermill, once per profile, into
``_build/executed/<profile>/``, reusing every execution whose inputs are unchanged.

The terminal gets one line per page (what happened, its seconds, how many of its facts held)
and a summary; everything the kernel and papermill print, TensorFlow's log lines too, goes to
the page's log, ``_build/logs/<profile>/<chapter>__<page>.log``.
"""

import contextlib
import json
import logging
import os
import signal
import sys
import time

from casebook.book import runs
from casebook.book.cache import cached, execution_files, keep, restore, shared_cache
from casebook.book.inputs import inputs_hash
from casebook.book.pages import build_dir, chapter_notebooks, page_name, repo_root

KERNEL = "casebook"


def execute(profile="cpu", seed=0, only=(), force=False, root=None, page_timeout=None):
    """Execute the chapter notebooks (cached); returns {notebook: "reused" | "executed"}.

    ``page_timeout`` (seconds) stops a page that runs longer. Raises RuntimeError naming every
    notebook that failed, after trying them all.
    """
    from casebook import facts

    if profile not in facts.profiles():
        raise ValueError(
            f"unknown profile {profile!r}: choose one of {', '.join(facts.profiles())}"
        )
    root = repo_root(root)
    notebooks = select(chapter_notebooks(root), only)
    outcome, failures = {}, []
    for number, notebook in enumerate(notebooks, start=1):
        label = f"[{number:>2}/{len(notebooks)}] {page_name(notebook):<40}"
        key = inputs_hash(root, notebook, profile, seed)
        files = execution_files(root, profile, notebook)
        if not force and (cached(files, key) or restore(key, files)):
            outcome[str(notebook)] = "reused"
            print(f"{label} reused    {progress(files)}", flush=True)
            continue
        print(f"{label} executing ({profile} profile, seed {seed}) ...", flush=True)
        log = page_log(root, profile, notebook)
        try:
            run_page(root, notebook, files, profile, seed, key, log, page_timeout)
            keep(key, files)
        except Exception as error:  # report every failing notebook, not only the first
            failures.append(f"{notebook}: {type(error).__name__}: {str(error)[-2000:]}")
            print(f"{label} FAILED    {progress(files)}; see {log}", flush=True)
            continue
        outcome[str(notebook)] = "executed"
        print(f"{label} executed  {progress(files)}", flush=True)
    print(summary(root, profile, notebooks, outcome), flush=True)
    if failures:
        raise RuntimeError("notebooks failed:\n" + "\n".join(failures))
    return outcome


def progress(files):
    """'412 s, 12/12 facts held' from a page's run record and facts."""
    run = runs.read(files["run.json"]) or {}
    seconds = f"{run['seconds']:.0f} s" if run.get("seconds") is not None else "- s"
    held, recorded, missing = fact_counts(files["facts.json"])
    text = f"{seconds:>7}, {held}/{recorded} facts held"
    return text + (f", {missing} not recorded" if missing else "")


def fact_counts(path):
    """(facts that passed, facts recorded, facts expected but not recorded) of a facts file."""
    if not path.exists():
        return 0, 0, 0
    saved = json.loads(path.read_text())
    names = {fact["name"] for fact in saved["facts"]}
    held = sum(bool(fact["passed"]) for fact in saved["facts"])
    return held, len(saved["facts"]), len(set(saved["expected"]) - names)


def summary(root, profile, notebooks, outcome):
    executed = [nb for nb, how in outcome.items() if how == "executed"]
    counts = [fact_counts(runs.facts_file(root, profile, nb)) for nb in notebooks]
    seconds = sum(
        (runs.read(runs.run_file(root, profile, nb)) or {}).get("seconds") or 0 for nb in executed
    )
    held, recorded = sum(c[0] for c in counts), sum(c[1] for c in counts)
    failed = len(notebooks) - len(outcome)
    return (
        f"{len(notebooks)} pages: {len(executed)} executed in {seconds:.0f} s, "
        f"{len(outcome) - len(executed)} reused, {failed} failed; {held} of {recorded} facts "
        f"held; logs in {build_dir(root, 'logs', profile)}"
        + (f", executions kept in {shared_cache()}" if shared_cache() else "")
    )


def select(notebooks, only):
    """The notebooks named by path or file stem; all of them when none is named."""
    unknown = [name for name in only if not any(name in (str(nb), nb.stem) for nb in notebooks)]
    if unknown:
        known = ", ".join(nb.stem for nb in notebooks)
        raise FileNotFoundError(
            f"no chapter notebook called {', '.join(unknown)}; there are: {known}"
        )
    return [nb for nb in notebooks if not only or str(nb) in only or nb.stem in only]


def page_log(root, profile, notebook):
    return runs.page_file(root, "logs", profile, notebook).with_suffix(".log")


@contextlib.contextmanager
def kernel_environment(**variables):
    """Variables the kernels inherit during an execution, restored afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def output_to(log):
    """This process's and its children's output into ``log``: sys.stdout and sys.stderr, and
    file descriptors 1 and 2, which the kernel inherits (TensorFlow's C++ log lines too)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_fds, saved_streams = (os.dup(1), os.dup(2)), (sys.stdout, sys.stderr)
    with open(log, "w", buffering=1) as file:
        os.dup2(file.fileno(), 1)
        os.dup2(file.fileno(), 2)
        sys.stdout = sys.stderr = file
        try:
            yield
        finally:
            file.flush()
            sys.stdout, sys.stderr = saved_streams
            for fd, saved in zip((1, 2), saved_fds, strict=True):
                os.dup2(saved, fd)
                os.close(saved)


class PageTimeout(Exception):
    """A page ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds):
    """Raise PageTimeout in this (main) thread when ``seconds`` pass; no limit when None."""
    if not seconds:
        yield
        return

    def stop(signum, frame):
        raise PageTimeout(f"the page ran past its limit of {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(int(seconds))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_page(root, notebook, files, profile, seed, key, log, timeout=None, attempts=2):
    """Execute one page within ``timeout`` seconds, its run record saying when it began and
    how it ended: done, failed or timed out."""
    target = files["executed.ipynb"]
    target.parent.mkdir(parents=True, exist_ok=True)
    run = runs.start(files["run.json"], notebook, profile, seed, key)
    start = time.perf_counter()
    status = "failed"
    try:
        with time_limit(timeout):
            run_attempts(root, notebook, files, profile, seed, log, attempts)
        status = "done"
    except PageTimeout:
        status = "timed out"
        raise
    finally:
        runs.finish(files["run.json"], run, status, time.perf_counter() - start)


def run_attempts(root, notebook, files, profile, seed, log, attempts):
    target = files["executed.ipynb"]
    for attempt in range(1, attempts + 1):
        try:
            with (
                kernel_environment(
                    CASEBOOK_FACTS=str(files["facts.json"].parent),
                    TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                ),
                output_to(log),
            ):
                execute_with_papermill(root, notebook, target, profile, seed)
            return
        except PageTimeout:
            raise
        except Exception as error:
            # A kernel that dies before it runs a cell is retried once; a failing cell is not.
            if attempt == attempts or not kernel_died_on_start(error):
                raise


def kernel_died_on_start(error):
    """Whether an execution failed because its kernel never started: jupyter_client's port
    race ("Address already in use"), which papermill may report only as a kernel that "died
    before replying to kernel_info" (seen when several pages start at once)."""
    text = str(error)
    return "Address already in use" in text or "died before replying to kernel_info" in text


def execute_with_papermill(root, notebook, target, profile, seed):
    import papermill

    logger = logging.getLogger("papermill")  # each cell's output (training epochs) to the log
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stdout)
    logger.addHandler(handler)
    try:
        papermill.execute_notebook(
            str(root / notebook),
            str(target),
            parameters={"profile": profile, "seed": seed},
            kernel_name=kernel_name(),
            cwd=str((root / notebook).parent),
            progress_bar=False,
            log_output=True,
            request_save_on_cell_execute=True,
        )
    finally:
        logger.removeHandler(handler)


def kernel_name():
    """The course kernel when it is installed (make book/test install it), else this Python."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL if KERNEL in KernelSpecManager().find_kernel_specs() else "python3"
