"""What an execution of a page depends on, hashed so an unchanged page is not run again;
and the prose of a page put onto the outputs of its last run."""

import ast
import hashlib
import json
import os

from casebook.book.pages import PACKAGE, page_name

# The libraries whose versions decide what a chapter computes (a test-only tool in
# requirements.txt should not make every chapter run again).
COMPUTING_LIBRARIES = ("keras", "numpy", "scikit-learn", "pandas", "matplotlib")
BACKEND_LIBRARIES = {
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "jax": ("jax", "jaxlib"),
    "torch": ("torch",),
}


# Cell tags that change how a cell runs (papermill's parameters, nbclient's exceptions).
EXECUTION_TAGS = {"parameters", "raises-exception", "skip-execution"}


def inputs_hash(root, notebook, profile, seed):
    """A hash of everything an execution depends on, so an unchanged notebook is not re-run:
    the notebook, the package modules it imports (and the modules those import), this page's
    settings, bands and references, the versions of the computing libraries, the data wheels,
    the profile, the seed and the Keras backend."""
    from casebook import facts

    page = page_name(notebook)
    expectations = {
        "profile": facts.page_entry(profile, page),
        "references": facts.references().get(page),
    }
    digest = hashlib.sha256(f"{profile}|{seed}|{os.environ.get('KERAS_BACKEND', '')}".encode())
    digest.update(json.dumps(expectations, sort_keys=True, default=str).encode())
    digest.update(json.dumps(library_versions(), sort_keys=True).encode())
    digest.update(execution_inputs(root / notebook).encode())
    code = chapter_modules(code_of(root / notebook))
    for path in [root / "requirements-data.txt", *code]:
        if path.exists():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def execution_inputs(notebook):
    """What running a notebook reads of it: its kernel and its code cells, with the tags that
    change how a cell runs. Prose, alt text and display tags are not in it: editing them
    re-dresses the last run (see ``dress``) instead of training again."""
    content = json.loads(notebook.read_text())
    cells = [
        {"source": "".join(cell["source"]), "tags": sorted(set(tags_of(cell)) & EXECUTION_TAGS)}
        for cell in content["cells"]
        if cell["cell_type"] == "code"
    ]
    kernel = content.get("metadata", {}).get("kernelspec", {}).get("language")
    return json.dumps({"kernel": kernel, "cells": cells}, sort_keys=True)


def tags_of(cell):
    return cell.get("metadata", {}).get("tags", [])


def dress(source, executed):
    """The source notebook wearing the outputs of its execution: prose and cell metadata (alt
    text, display tags) come from the source, outputs and the injected parameters from the run.

    Raises ValueError when the run's code is not the source's (the run is stale)."""
    injected = [c for c in executed["cells"] if "injected-parameters" in tags_of(c)]
    runs = [c for c in executed["cells"] if c["cell_type"] == "code" and c not in injected]
    code = [c for c in source["cells"] if c["cell_type"] == "code"]
    if [c["source"] for c in map(normalised, runs)] != [c["source"] for c in map(normalised, code)]:
        raise ValueError("the execution ran other code than the source notebook holds")
    runs, cells = iter(runs), []
    for cell in source["cells"]:
        if cell["cell_type"] == "code":
            run = next(runs)
            cell = {
                **cell,
                "metadata": {**run.get("metadata", {}), **cell.get("metadata", {})},
                "outputs": run["outputs"],
                "execution_count": run.get("execution_count"),
            }
        cells.append(cell)
        if "parameters" in tags_of(cell):
            cells.extend(injected)
    return {**executed, "cells": cells}


def normalised(cell):
    source = cell["source"]
    return {**cell, "source": source if isinstance(source, str) else "".join(source)}


def code_of(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def chapter_modules(code):
    """The package's source files that ``code`` imports, directly or through one another (a
    subpackage counts whole), so changing the autograder or the executor re-runs nothing."""
    found, queue = set(), [PACKAGE / "__init__.py"]
    queue += module_files(code)
    while queue:
        path = queue.pop()
        if path in found or not path.exists():
            continue
        found.add(path)
        queue += module_files(path.read_text())
    return sorted(found)


def module_files(code):
    """Files of the casebook modules one source imports (read with ``ast``, so an import in
    a string or a comment does not count and one split over lines does)."""
    names = set()
    for node in ast.walk(ast.parse(python_lines(code))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[1] for a in node.names if a.name.startswith("casebook.")}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            parts = node.module.split(".")
            if parts[0] != "casebook":
                continue
            # from casebook import a, b: modules a and b; from casebook.x[.y] import z: x
            names |= {a.name for a in node.names} if len(parts) == 1 else {parts[1]}
    files = []
    for name in names:
        if (PACKAGE / name).is_dir():
            files += sorted((PACKAGE / name).rglob("*.py"))
        elif (PACKAGE / f"{name}.py").exists():
            files.append(PACKAGE / f"{name}.py")
    return files


def python_lines(code):
    """A notebook's code with IPython's magics and shell lines (``%pip``, ``!ls``) as ``pass``."""
    lines = code.splitlines()
    return "\n".join(
        line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip()[:1] in ("%", "!") else line
        for line in lines
    )


def library_versions():
    from importlib import metadata

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    versions = {}
    for name in COMPUTING_LIBRARIES + BACKEND_LIBRARIES.get(backend, ()):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
