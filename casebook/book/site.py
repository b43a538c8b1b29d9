"""Stage the book's sources with the executed chapters and build the HTML with Jupyter Book
(execution off, Sphinx warnings as errors)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from casebook.book.executor import execute, execute_with_papermill, kernel_environment, output_to
from casebook.book.inputs import dress, tags_of
from casebook.book.mathjax import mathjax
from casebook.book.pages import build_dir, repo_root, resolve, toc_files

BOOK_FILES = ("_config.yml", "_toc.yml", "logo.png", "references.bib")


VERIFICATION = "verification.ipynb"  # runs after the chapters: it reads their results


OFFLINE = "_offline"  # staged folder given to Sphinx as html_extra_path (see _config.yml)


def stage(root, profile):
    """A copy of the book's sources with the executed chapters in place of the clean ones."""
    staged = build_dir(root, "stage", profile)
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    for name in BOOK_FILES:
        if (root / name).exists():
            shutil.copy2(root / name, staged / name)
    for name in toc_files(root):
        source = resolve(root, name)
        executed = build_dir(root, "executed", profile) / source.relative_to(root)
        destination = staged / source.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if executed.exists():
            run = json.loads(executed.read_text())
            try:
                run = dress(json.loads(source.read_text()), run)
            except ValueError:  # `site` after a code edit: show the run as it was
                print(f"note: {name} has new code since its execution; run `execute`")
            destination.write_text(json.dumps(hide_injected_parameters(run), indent=1))
        else:
            shutil.copy2(source, destination)
    for folder in ("images", "_static"):
        if (root / folder).exists():
            shutil.copytree(root / folder, staged / folder)
    # Not under _static: Jupyter Book adds every .js file there to every page. html_extra_path
    # copies this folder's _static/mathjax into the site's _static/mathjax (mathjax_path).
    shutil.copytree(mathjax(root), staged / OFFLINE / "_static" / "mathjax")
    return staged


def hide_injected_parameters(notebook):
    """papermill adds a cell with the injected values; the page prints its settings already."""
    for cell in notebook["cells"]:
        if "injected-parameters" in tags_of(cell):
            cell["metadata"]["tags"] = [*tags_of(cell), "remove-cell"]
    return notebook


def build(profile="cpu", seed=0, root=None):
    """Execute what changed, run the verification page, stage and build the HTML."""
    root = repo_root(root)
    outcome = execute(profile, seed, root=root)
    return outcome, site(profile, seed, root)


def site(profile="cpu", seed=0, root=None):
    """Run the verification page, stage and build the HTML from the executions in _build
    (chapters without one are shown unexecuted); returns the folder of the HTML."""
    root = repo_root(root)
    verify_page(root, profile, seed)
    staged = stage(root, profile)
    output = build_dir(root, "site", profile)
    command = [
        str(Path(sys.executable).parent / "jupyter-book"), "build", str(staged),
        "--path-output", str(output), "--warningiserror", "--keep-going",
    ]  # fmt: skip
    log = build_dir(root, "logs", profile) / "jupyter-book.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"building the HTML with Jupyter Book (its output: {log})", flush=True)
    with open(log, "w") as file:
        done = subprocess.run(command, stdout=file, stderr=subprocess.STDOUT)
    if done.returncode:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        raise RuntimeError(f"Jupyter Book failed ({log}); its last lines:\n{tail}")
    html = output / "_build" / "html"
    print(f"the book is in {html}/index.html", flush=True)
    return html


def verify_page(root, profile, seed):
    """Execute the verification page, which tabulates the facts of every chapter."""
    source = root / VERIFICATION
    if source.exists():
        target = build_dir(root, "executed", profile) / VERIFICATION
        log = build_dir(root, "logs", profile) / "verification.log"
        print(f"{VERIFICATION}: collecting the recorded facts (its output: {log})", flush=True)
        facts = str(build_dir(root, "facts", profile))
        target.parent.mkdir(parents=True, exist_ok=True)
        with kernel_environment(CASEBOOK_FACTS=facts), output_to(log):
            execute_with_papermill(root, Path(VERIFICATION), target, profile, seed)
