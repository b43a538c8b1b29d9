"""Each page's run, written by the executor as data and nowhere else.

``_build/runs/<profile>/<page>.json`` holds what one execution of a page was: its inputs hash,
profile, seed, backend, settings, when it started, how many seconds it took and whether it
finished. It is written when the page starts (``running``) and once more when it ends
(``done`` or ``failed``), so a page cut off half-way says so. The shared cache keeps it with
the execution; the progress lines, ``casebook gpu-runs record`` and ``casebook bench`` read it.
"""

import datetime
import json
import os
from pathlib import Path

from casebook.book.pages import build_dir, page_name


def page_file(root, kind, profile, notebook):
    """``_build/<kind>/<profile>/<chapter>__<page>.json``: a page's facts or its run."""
    page = page_name(notebook)
    return build_dir(root, kind, profile) / f"{page.replace('/', '__')}.json"


def facts_file(root, profile, notebook):
    return page_file(root, "facts", profile, notebook)


def run_file(root, profile, notebook):
    return page_file(root, "runs", profile, notebook)


def start(path, notebook, profile, seed, key):
    """Write the record of a run that begins now; returns it for ``finish``."""
    from casebook import facts

    run = {
        "page": page_name(notebook),
        "notebook": Path(notebook).as_posix(),
        "profile": profile,
        "seed": seed,
        "backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "settings": facts.page_entry(profile, page_name(notebook))["settings"],
        "inputs_hash": key,
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "seconds": None,
        "status": "running",
    }
    write(path, run)
    return run


def finish(path, run, status, seconds):
    write(path, {**run, "status": status, "seconds": round(seconds, 1)})


def write(path, run):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=1) + "\n")


def read(path):
    """The run recorded at ``path``, or None when there is none."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def read_all(folder):
    """Every run recorded in a folder, in the order they started."""
    found = [json.loads(path.read_text()) for path in Path(folder).glob("*.json")]
    return sorted(found, key=lambda run: (run["started"], run["notebook"]))


def finished(path, key):
    """Whether the run at ``path`` finished with these inputs."""
    run = read(path)
    return bool(run) and run["status"] == "done" and run["inputs_hash"] == key
