"""The book's pages: the repository, the table of contents, the chapters it names, and
where a profile's build goes."""

from pathlib import Path

import yaml

PACKAGE = Path(__file__).resolve().parents[1]  # the casebook package


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


def page_name(notebook):
    """chapters/01_classic_networks/01_lenet5.ipynb -> 01_classic_networks/01_lenet5"""
    return Path(notebook).with_suffix("").relative_to("chapters").as_posix()


def build_dir(root, kind, profile):
    return root / "_build" / kind / profile
