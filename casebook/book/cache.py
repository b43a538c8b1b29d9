"""Executions kept under the hash of their inputs: in ``_build`` and in a cache outside the
clone (``$CASEBOOK_EXECUTION_CACHE``, by default ``~/.cache/casebook/executions``)."""

import json
import os
import shutil
from pathlib import Path

from casebook.book.pages import build_dir, page_name


def results_file(root, profile, notebook):
    page = page_name(notebook)
    return build_dir(root, "results", profile) / f"{page.replace('/', '__')}.json"


def cached(target, key, results):
    """Whether both the executed notebook and its facts come from a run with these inputs."""
    if not (target.exists() and results.exists()):
        return False
    metadata = json.loads(target.read_text()).get("metadata", {})
    facts = json.loads(results.read_text())
    return metadata.get("casebook", {}).get("inputs_hash") == key == facts.get("inputs_hash")


def shared_cache():
    """Where executions are kept across clones: ``$CASEBOOK_EXECUTION_CACHE``, else the
    folder ``executions`` of the package's cache (the converted weights live there too); None
    when CASEBOOK_EXECUTION_CACHE=off."""
    from casebook.pretrained import cache_dir

    folder = os.environ.get("CASEBOOK_EXECUTION_CACHE")
    if folder == "off":
        return None
    return Path(folder).expanduser() if folder else cache_dir() / "executions"


def keep(key, target, results):
    """Copy a finished execution and its facts into the shared cache under its inputs hash."""
    if shared_cache() is None:
        return
    folder = shared_cache() / key
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, folder / "executed.ipynb")
        shutil.copyfile(results, folder / "facts.json")
    except OSError as error:  # a read-only home should not fail the book
        print(f"note: could not keep the execution in {folder}: {error}", flush=True)


def restore(key, target, results):
    """Bring back an execution with this inputs hash from the shared cache, if it is whole."""
    if shared_cache() is None:
        return False
    folder = shared_cache() / key
    executed, facts = folder / "executed.ipynb", folder / "facts.json"
    if not (executed.exists() and facts.exists()):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    results.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(executed, target)
    shutil.copyfile(facts, results)
    return cached(target, key, results)


def stamp(results, key):
    """Mark a results file as written by the run with these inputs (anything else rewriting
    it, a half-finished run say, drops the mark and the next build runs the page again)."""
    facts = json.loads(results.read_text())
    results.write_text(json.dumps({**facts, "inputs_hash": key}, indent=1))
