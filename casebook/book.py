"""Execute the chapter notebooks once per profile and build the book from those executions.

    python -m casebook.book execute [--profile cpu] [--force] [NOTEBOOK ...]
    python -m casebook.book build   [--profile cpu]
    python -m casebook.book site    [--profile cpu]  (build from the executions there are)
    python -m casebook.book mathjax  (fetches MathJax once, for pages that work offline)
    python -m casebook.book figures  (redraws the README's figures in _static/)
    python -m casebook.book install-cells  (puts the install cell in chapters and exercises)

``execute`` runs each chapter with papermill, injecting the profile and seed, into
``_build/executed/<profile>/`` and the facts each chapter verified into
``_build/results/<profile>/``. An execution is reused while its inputs are unchanged (a hash of
the notebook's code cells, the package modules it imports, its settings and references and the
library versions), so the tests and the book share one run; prose edited since the run is
dressed onto its outputs when the book is staged. A copy of each execution is also kept under
that hash outside the clone (``$CASEBOOK_EXECUTION_CACHE``, by default ``executions`` in the
package's cache, ``~/.cache/casebook``; ``off`` turns it off), so a fresh clone of unchanged
pages does not train them again. ``build`` stages the book sources with the executed notebooks
and runs Jupyter Book with execution off and Sphinx warnings as errors. The pages load MathJax
from the site itself (a copy fetched once with ``npm pack`` into ``_build/vendor``), never from
a CDN, so the book reads offline.
"""

import argparse
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

PACKAGE = Path(__file__).resolve().parent
KERNEL = "casebook"
BOOK_FILES = ("_config.yml", "_toc.yml", "logo.png", "references.bib")
# The libraries whose versions decide what a chapter computes (a test-only tool in
# requirements.txt should not make every chapter run again).
COMPUTING_LIBRARIES = ("keras", "numpy", "scikit-learn", "pandas", "matplotlib")
BACKEND_LIBRARIES = {
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "jax": ("jax", "jaxlib"),
    "torch": ("torch",),
}
IMPORT = re.compile(
    r"^\s*(?:from casebook(?:\.(\w+))?[.\w]* import ([\w, ()]+)|import casebook\.(\w+))", re.M
)
VERIFICATION = "verification.ipynb"  # runs after the chapters: it reads their results
MATHJAX = "3.2.2"  # the MathJax 3 that Jupyter Book 1 would load from jsDelivr
MATHJAX_SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
# What tex-mml-chtml.js loads at run time (fonts, TeX extensions, menu, speech); the other
# combined builds of the package are left out.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output", "ui", "a11y", "adaptors", "sre")
# Cell tags that change how a cell runs (papermill's parameters, nbclient's exceptions).
EXECUTION_TAGS = {"parameters", "raises-exception", "skip-execution"}
OFFLINE = "_offline"  # staged folder given to Sphinx as html_extra_path (see _config.yml)


def repo_root(start=None):
    """The folder holding _toc.yml: the current one or the one the package was installed from."""
    for candidate in (Path(start or Path.cwd()).resolve(), PACKAGE.parent):
        if (candidate / "_toc.yml").exists():
            return candidate
    raise FileNotFoundError("no _toc.yml here or above the package: run from the book's folder")


def toc_files(root):
    """Every file the table of contents names, in reading order, as paths without suffix."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                found.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return found


def resolve(root, name):
    for suffix in (".ipynb", ".md"):
        if (root / f"{name}{suffix}").exists():
            return root / f"{name}{suffix}"
    raise FileNotFoundError(
        f"_toc.yml names {name!r} but neither {name}.ipynb nor {name}.md exists"
    )


def chapter_notebooks(root):
    """The notebooks under chapters/ that the table of contents names, in reading order."""
    paths = [resolve(root, name) for name in toc_files(root)]
    notebooks = [p.relative_to(root) for p in paths if p.suffix == ".ipynb"]
    return [nb for nb in notebooks if nb.parts[0] == "chapters"]


def inputs_hash(root, notebook, profile, seed):
    """A hash of everything an execution depends on, so an unchanged notebook is not re-run:
    the notebook, the package modules it imports (and the modules those import), this page's
    settings, bands and references, the versions of the computing libraries, the data wheels,
    the profile, the seed and the Keras backend."""
    from casebook import results

    page = page_name(notebook)
    expectations = {
        "profile": results.profiles()[profile]["pages"].get(page),
        "references": results.references().get(page),
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
    """Files of the casebook modules one source imports."""
    names = set()
    for submodule, imported, dotted in IMPORT.findall(code):
        if submodule or dotted:
            names.add(submodule or dotted)
        else:  # from casebook import a, b
            names |= {n.strip(" ()") for n in imported.split(",") if n.strip(" ()")}
    files = []
    for name in names:
        if (PACKAGE / name).is_dir():
            files += sorted((PACKAGE / name).rglob("*.py"))
        elif (PACKAGE / f"{name}.py").exists():
            files.append(PACKAGE / f"{name}.py")
    return files


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


def page_name(notebook):
    """chapters/01_classic_networks/01_lenet5.ipynb -> 01_classic_networks/01_lenet5"""
    return Path(notebook).with_suffix("").relative_to("chapters").as_posix()


def build_dir(root, kind, profile):
    return root / "_build" / kind / profile


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


def mathjax(root):
    """MathJax's es5 build for the site, fetched once (npm pack, or the npm registry when npm is
    not installed) into _build/vendor and checked against its sha256."""
    folder = root / "_build" / "vendor" / f"mathjax-{MATHJAX}"
    if (folder / "tex-mml-chtml.js").exists():
        return folder
    print(f"fetching MathJax {MATHJAX} into {folder}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tarball = Path(tmp) / f"mathjax-{MATHJAX}.tgz"
        npm = shutil.which("npm")
        if npm is not None:  # the registry, proxy and credentials npm is configured with
            subprocess.run(
                [npm, "pack", f"mathjax@{MATHJAX}", "--pack-destination", tmp, "--silent"],
                check=True,
                cwd=tmp,
                stdout=subprocess.DEVNULL,
            )
        else:  # the same file, straight from the registry
            import urllib.request

            registry = os.environ.get("npm_config_registry", "https://registry.npmjs.org")
            url = f"{registry.rstrip('/')}/mathjax/-/{tarball.name}"
            urllib.request.urlretrieve(url, tarball)
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        if digest != MATHJAX_SHA256:
            raise RuntimeError(f"{tarball.name} has sha256 {digest}, expected {MATHJAX_SHA256}")
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        package = Path(tmp) / "package"
        partial = folder.with_name(f"{folder.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        shutil.copy2(package / "LICENSE", partial / "LICENSE")
        for part in MATHJAX_PARTS:
            source = package / "es5" / part
            if source.is_dir():
                shutil.copytree(source, partial / part)
            else:
                shutil.copy2(source, partial / part)
        partial.rename(folder)
    return folder


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
    print("building the HTML:", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)
    html = output / "_build" / "html"
    print(f"the book is in {html}/index.html", flush=True)
    return html


def verify_page(root, profile, seed):
    """Execute the verification page, which tabulates the facts of every chapter."""
    source = root / VERIFICATION
    if source.exists():
        target = build_dir(root, "executed", profile) / VERIFICATION
        print(f"{VERIFICATION}: collecting the recorded facts", flush=True)
        run_papermill(root, Path(VERIFICATION), target, profile, seed, key="always")


def setup(app):
    """The book's Sphinx extension (``_config.yml``: ``sphinx.extra_extensions``).

    Jupyter Book always loads sphinx-thebe, whose inline configuration lands twice on every
    page (a console error: "Identifier 'THEBE_JS_URL' has already been declared") and names a
    CDN. The book has no thebe button, so its pages go without thebe's assets.
    """
    app.connect("html-page-context", drop_thebe_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def drop_thebe_assets(app, pagename, templatename, context, doctree):
    def thebe(asset):
        body = getattr(asset, "attributes", {}).get("body") or ""
        return "thebe" in str(getattr(asset, "filename", asset) or "") or "THEBE" in body

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not thebe(asset)]


def readme_figures(folder):
    """The figures the README shows, drawn from the package's models (``figures`` command)."""
    import matplotlib

    matplotlib.use("Agg")
    from casebook import models, plots

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figure = plots.architecture_diagram(
        models.lenet5(), title="LeNet-5, drawn from casebook.models.lenet5()"
    )
    path = folder / "lenet5_architecture.png"
    # No metadata: the same code and matplotlib give the same bytes, so staleness is testable.
    figure.savefig(path, dpi=100, metadata={"Software": None})
    return [path]


def install_cell_source(root):
    """The install cell of every chapter and exercise: where the book's package is missing
    (Colab, a bare Binder) it installs it, with the data wheels, from the repository that
    ``_config.yml`` names; elsewhere (``make``, CI, the autograder) it does nothing."""
    repository = yaml.safe_load((repo_root(root) / "_config.yml").read_text())["repository"]
    url, branch = repository["url"].rstrip("/"), repository.get("branch", "main")
    raw = url.replace("https://github.com/", "https://raw.githubusercontent.com/")
    return (
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("casebook") is None:  # Colab, Binder: install it\n'
        f'    %pip install --quiet "casebook @ git+{url}@{branch}"\n'
        f"    %pip install --quiet --no-deps -r {raw}/{branch}/requirements-data.txt"
    )


def install_cells(root=None, write=False):
    """The chapter and exercise source notebooks whose install cell is missing or differs from
    ``install_cell_source``; with ``write``, put the current cell in them (``install-cells``).
    The cell follows the parameters of a chapter and precedes the imports of an exercise."""
    root = repo_root(root)
    cell_source = install_cell_source(root)
    notebooks = [root / nb for nb in chapter_notebooks(root)]
    notebooks += sorted(root.glob("solutions/*/*.ipynb"))
    stale = []
    for path in notebooks:
        content = json.loads(path.read_text())
        cells = content["cells"]
        current = [c for c in cells if "install" in tags_of(c)]
        if len(current) == 1 and "".join(current[0]["source"]) == cell_source:
            continue
        stale.append(path.relative_to(root))
        if not write:
            continue
        cells[:] = [c for c in cells if "install" not in tags_of(c)]
        exercise = path.parts[-3] == "solutions"
        position = next(
            i + (0 if exercise else 1)
            for i, cell in enumerate(cells)
            if ("imports" == cell.get("id") if exercise else "parameters" in tags_of(cell))
        )
        cells.insert(position, install_cell(cell_source, exercise))
        path.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")
    return stale


def install_cell(source, exercise):
    metadata = {"tags": ["install", "remove-cell"]}  # the site shows the page, not the setup
    if exercise:  # read-only for students, and never graded
        metadata["nbgrader"] = {
            "grade": False, "grade_id": "install", "locked": True, "schema_version": 3,
            "solution": False, "task": False,
        }  # fmt: skip
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": "install",
        "metadata": metadata,
        "outputs": [],
        "source": source.splitlines(keepends=True),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m casebook.book", description=__doc__.split("\n\n")[0]
    )
    commands = ["execute", "build", "site", "mathjax", "figures", "install-cells"]
    parser.add_argument("command", choices=commands)
    parser.add_argument("notebooks", nargs="*", help="only these (path or file stem); default all")
    parser.add_argument("--profile", default=os.environ.get("CASEBOOK_PROFILE", "cpu"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="execute even if nothing changed")
    args = parser.parse_intermixed_args(argv)  # `execute --profile full 01_lenet5` works too
    try:
        if args.command == "execute":
            execute(args.profile, args.seed, args.notebooks, args.force)
        elif args.command == "figures":
            print("\n".join(str(p) for p in readme_figures(repo_root() / "_static")))
        elif args.command == "mathjax":
            print(mathjax(repo_root()))
        elif args.command == "install-cells":
            print("\n".join(f"updated {path}" for path in install_cells(write=True)))
        elif args.command == "site":
            site(args.profile, args.seed)
        else:
            build(args.profile, args.seed)
    except (RuntimeError, ValueError, FileNotFoundError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
