"""Executions kept under the hash of their inputs: in ``_build`` and in a cache outside the
clone (``$CASEBOOK_EXECUTION_CACHE``, by default ``~/.cache/casebook/executions``).

An execution is three files: the executed notebook, the facts it recorded and its run record
(``casebook.book.runs``). Only all three together, from a run that finished with the same
inputs, count as a kept execution.
"""

import os
import shutil
from pathlib import Path

from casebook.book import runs


def execution_files(root, profile, notebook):
    """{name in the cache: path in the clone} of one page's execution."""
    from casebook.book.pages import build_dir

    return {
        "executed.ipynb": build_dir(root, "executed", profile) / notebook,
        "facts.json": runs.facts_file(root, profile, notebook),
        "run.json": runs.run_file(root, profile, notebook),
    }


def cached(files, key):
    """Whether the clone holds a whole execution that finished with these inputs."""
    return all(path.exists() for path in files.values()) and runs.finished(files["run.json"], key)


def shared_cache():
    """Where executions are kept across clones: ``$CASEBOOK_EXECUTION_CACHE``, else the
    folder ``executions`` of the package's cache (the converted weights live there too); None
    when CASEBOOK_EXECUTION_CACHE=off."""
    from casebook.pretrained import cache_dir

    folder = os.environ.get("CASEBOOK_EXECUTION_CACHE")
    if folder == "off":
        return None
    return Path(folder).expanduser() if folder else cache_dir() / "executions"


def keep(key, files):
    """Copy a finished execution into the shared cache under its inputs hash."""
    if shared_cache() is None:
        return
    folder = shared_cache() / key
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, path in files.items():
            shutil.copyfile(path, folder / name)
    except OSError as error:  # a read-only home should not fail the book
        print(f"note: could not keep the execution in {folder}: {error}", flush=True)


def restore(key, files):
    """Bring back an execution with this inputs hash from the shared cache, if it is whole."""
    if shared_cache() is None:
        return False
    folder = shared_cache() / key
    if not all((folder / name).exists() for name in files):
        return False
    for name, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / name, path)
    return cached(files, key)
