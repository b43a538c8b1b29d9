"""Execute the chapter notebooks with papermill, once per profile, into
``_build/executed/<profile>/``, reusing every execution whose inputs are unchanged."""

import contextlib
import json
import logging
import os
import sys
import time

from casebook.book.cache import cached, keep, restore, results_file, shared_cache, stamp
from casebook.book.inputs import inputs_hash
from casebook.book.pages import build_dir, chapter_notebooks, repo_root

KERNEL = "casebook"


def execute(profile="cpu", seed=0, only=(), force=False, root=None):
    """Execute the chapter notebooks (cached); returns {notebook: "cached" | "executed"}.

    Raises RuntimeError naming every notebook that failed, after trying them all.
    """
    from casebook import results

    if profile not in results.profiles():
        raise ValueError(
            f"unknown profile {profile!r}: choose one of {', '.join(results.profiles())}"
        )
    root = repo_root(root)
    notebooks = select(chapter_notebooks(root), only)
    outcome, failures = {}, []
    for number, notebook in enumerate(notebooks, start=1):
        label = f"[{number}/{len(notebooks)}] {notebook}"
        key = inputs_hash(root, notebook, profile, seed)
        target = build_dir(root, "executed", profile) / notebook
        if not force and cached(target, key, results_file(root, profile, notebook)):
            print(f"{label}: unchanged since its last run, reusing it", flush=True)
            outcome[str(notebook)] = "cached"
            continue
        results = results_file(root, profile, notebook)
        if not force and restore(key, target, results):
            print(f"{label}: reusing the run with the same inputs from {shared_cache()}")
            outcome[str(notebook)] = "cached"
            continue
        print(f"{label}: executing ({profile} profile, seed {seed})", flush=True)
        start = time.perf_counter()
        try:
            run_papermill(root, notebook, target, profile, seed, key)
            stamp(results, key)
            keep(key, target, results)
        except Exception as error:  # report every failing notebook, not only the first
            failures.append(f"{notebook}: {type(error).__name__}: {str(error)[-2000:]}")
            print(
                f"{label}: FAILED after {time.perf_counter() - start:.0f} s; see {target}",
                flush=True,
            )
            continue
        print(f"{label}: done in {time.perf_counter() - start:.0f} s", flush=True)
        outcome[str(notebook)] = "executed"
    if failures:
        raise RuntimeError("notebooks failed:\n" + "\n".join(failures))
    return outcome


def select(notebooks, only):
    """The notebooks named by path or file stem; all of them when none is named."""
    unknown = [name for name in only if not any(name in (str(nb), nb.stem) for nb in notebooks)]
    if unknown:
        known = ", ".join(nb.stem for nb in notebooks)
        raise FileNotFoundError(
            f"no chapter notebook called {', '.join(unknown)}; there are: {known}"
        )
    return [nb for nb in notebooks if not only or str(nb) in only or nb.stem in only]


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


def run_papermill(root, notebook, target, profile, seed, key, attempts=2):
    target.parent.mkdir(parents=True, exist_ok=True)
    results = str(build_dir(root, "results", profile))
    quiet = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")
    for attempt in range(1, attempts + 1):
        try:
            with kernel_environment(CASEBOOK_RESULTS=results, TF_CPP_MIN_LOG_LEVEL=quiet):
                execute_with_papermill(root, notebook, target, profile, seed)
            break
        except Exception as error:
            # A kernel that dies before it runs a cell is retried once; a failing cell is not.
            if attempt == attempts or not kernel_died_on_start(error):
                raise
    executed = json.loads(target.read_text())
    executed["metadata"]["casebook"] = {"inputs_hash": key, "profile": profile, "seed": seed}
    target.write_text(json.dumps(executed, indent=1))


def kernel_died_on_start(error):
    """Whether an execution failed because its kernel never started: jupyter_client's port
    race ("Address already in use"), which papermill may report only as a kernel that "died
    before replying to kernel_info" (seen when several pages start at once)."""
    text = str(error)
    return "Address already in use" in text or "died before replying to kernel_info" in text


def execute_with_papermill(root, notebook, target, profile, seed):
    import papermill

    if not sys.stderr.isatty():  # in CI: stream each cell's output (training epochs) to the log
        logger = logging.getLogger("papermill")
        logger.setLevel(logging.INFO)
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler(sys.stdout))
    papermill.execute_notebook(
        str(root / notebook),
        str(target),
        parameters={"profile": profile, "seed": seed},
        kernel_name=kernel_name(),
        cwd=str((root / notebook).parent),
        progress_bar=sys.stderr.isatty(),
        log_output=not sys.stderr.isatty(),
        request_save_on_cell_execute=True,
    )


def kernel_name():
    """The course kernel when it is installed (make book/test install it), else this Python."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL if KERNEL in KernelSpecManager().find_kernel_specs() else "python3"
