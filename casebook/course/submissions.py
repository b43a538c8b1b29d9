"""A folder of submissions, one sub-folder per student: what is in it, what is wrong with a
notebook before it is graded, and what a student changed in the locked cells."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_locked

from casebook.course.hidden_tests import strip_hidden_tests

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


@dataclass
class Submission:
    student: str
    assignment: str
    notebooks: dict[str, Path] = field(default_factory=dict)  # name in the assignment -> file
    reason: str = ""  # why it is not graded, or where it lost points
    score: float = 0.0
    max_score: float = 0.0
    status: str = "error"


def find_submissions(folder: Path, known: dict[str, list[str]], assignment: str | None):
    """Submissions in ``folder``, one sub-folder per student: ``<student>/<nb>.ipynb``, or
    ``<student>/<assignment>/<nb>.ipynb`` (nbgrader's layout, which may hold several assignments:
    one Submission each). The assignment is ``--assignment``, else the sub-folder's name, else the
    one whose source has a notebook of that name."""
    by_notebook = {nb: a for a, notebooks in known.items() for nb in notebooks}
    found = []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if student_dir.name.startswith("."):
            continue
        groups = {None: sorted(student_dir.glob("*.ipynb"))}
        if not groups[None]:
            subs = sorted(d for d in student_dir.iterdir() if d.is_dir() and d.name[0] != ".")
            groups = {d.name: sorted(d.glob("*.ipynb")) for d in subs if any(d.glob("*.ipynb"))}
            ours = {k: v for k, v in groups.items() if k in known and assignment in (None, k)}
            if ours and (len(ours) > 1 or assignment is not None):
                groups = ours
            else:  # one folder: whatever its name, as before
                groups = {None: [p for files in groups.values() for p in files]}
        for folder_name, files in groups.items():
            name = assignment
            if name is None and files:
                parent = folder_name or files[0].parent.name
                name = parent if parent in known else by_notebook.get(files[0].stem)
            s = Submission(student_dir.name, name or "?")
            expected = known.get(name, [])
            s.notebooks = {p.stem: p for p in files if p.stem in expected}
            if not s.notebooks and len(files) == 1 and len(expected) == 1:
                s.notebooks = {expected[0]: files[0]}  # renamed: "01_classic_networks (1).ipynb"
            if not STUDENT_ID.match(s.student):
                s.reason = "the folder name is not a valid student id"
            elif not files:
                s.reason = "no notebook"
            elif not expected:
                s.reason = f"no assignment has a notebook called {files[0].name}"
            elif not s.notebooks:
                s.reason = f"no {expected[0]}.ipynb"
            found.append(s)
    return found


def read_notebook(path: Path):
    """``(notebook as nbformat 4, '')``, or ``(None, why it is not a notebook nbgrader can
    grade)``. Older notebooks (nbformat 3) are converted."""
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # JSON errors, schema errors, unreadable files
        message = (str(error).splitlines() or [""])[0][:200]
        return None, f"{path.name} is not a valid notebook ({type(error).__name__}: {message})"
    if not any("nbgrader" in cell.metadata for cell in nb.cells):
        return None, f"{path.name} is not the exercise notebook (it has no graded cells)"
    return nb, ""


def notebook_problem(path: Path) -> str:
    """Why ``path`` is not a notebook nbgrader can grade ('' when it is one)."""
    return read_notebook(path)[1]


def cell_changes(nb, release) -> list[str]:
    """What the student changed in the cells nbgrader restores: edited locked cells, deleted
    test cells, duplicated cells (nbgrader puts back, restores or drops them before grading)."""
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    original = {
        c.metadata["nbgrader"]["grade_id"]: c for c in release.cells if "nbgrader" in c.metadata
    }
    seen, edited = set(), []
    for cell, grade_id in zip(nb.cells, ids, strict=True):
        if grade_id in original and grade_id not in seen and is_locked(original[grade_id]):
            if original[grade_id].source not in (cell.source, strip_hidden_tests(cell.source)):
                edited.append(grade_id)
        seen.add(grade_id)
    notes = []
    if edited:
        notes.append(f"locked cells edited, the originals were run: {', '.join(edited)}")
    deleted = [g for g, c in original.items() if g not in seen and is_grade(c)]
    if deleted:
        notes.append(f"test cells deleted, put back and run: {', '.join(deleted)}")
    twice = sorted({g for g in ids if g in original and ids.count(g) > 1})
    if twice:
        notes.append(
            f"cells copied, the first is graded, the copies run as code: {', '.join(twice)}"
        )
    return notes
