"""``casebook course report``: one HTML page for the instructor after grading.

Per exercise: the distribution of scores, each test's failure rate, the most common failure
messages (the first line of the error each failing test printed), and the pairs of submissions
whose code is near-identical, each with the lines they share. Similarity comes from copydetect
(winnowed fingerprints of the tokenized code, the method of MOSS). Its boilerplate is the code
the release hands out and the model answer in ``solutions/``: many right answers to a short
exercise are the model answer, which is no sign of copying; what students wrote beyond it is.

The page is for instructors only: it quotes the hidden tests' messages. Figures are inline PNGs,
so the one file can be mailed or opened offline.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
from copydetect import CodeFingerprint, compare_files  # noqa: E402
from nbgrader.api import Gradebook  # noqa: E402
from nbgrader.coursedir import CourseDirectory  # noqa: E402
from nbgrader.utils import is_locked  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from traitlets.config import Config  # noqa: E402

from casebook.course.config import CourseError, course_path  # noqa: E402
from casebook.course.worker import first_errors  # noqa: E402

NOISE = 25  # copydetect's k: the shortest run of tokens that counts as shared
WINDOW = 1  # winnowing window: every k-gram is a fingerprint (classes are small enough)


@dataclass
class Graded:
    """One graded submission: its score, each test's points and message, the code written."""

    student: str
    score: float
    max_score: float
    tests: dict = field(default_factory=dict)  # test cell -> (score, max_score)
    messages: dict = field(default_factory=dict)  # failed test cell -> first error line
    code: str = ""


@dataclass
class Similar:
    first: str
    second: str
    similarity: float  # shared tokens over the tokens of the shorter submission
    shared: list[str]  # the first one's lines inside shared code


@dataclass
class Exercise:
    name: str
    graded: list[Graded]
    ungraded: list[str]  # students in the gradebook with no graded submission
    similar: list[Similar]


def report(
    config: Config, out: Path, assignments: list[str] | None = None, threshold: float = 0.8
) -> list[Exercise]:
    """Write the report of the graded ``assignments`` (default: every one with a submission)
    to ``out``; returns what it shows."""
    dirs = CourseDirectory(config=config)
    with _gradebook(dirs.db_url) as gb:
        known = [a.name for a in gb.assignments]
        students = [s.id for s in gb.students]
        missing = sorted(set(assignments or []) - set(known))
        if missing:
            raise CourseError(
                f"the gradebook has no assignment {', '.join(missing)}: it knows "
                f"{', '.join(known) or 'none'}; grade submissions first (casebook course grade)"
            )
        exercises = []
        for name in assignments or known:
            graded = [_graded(dirs, sub) for sub in gb.assignment_submissions(name)]
            if not graded and not assignments:
                continue
            done = {g.student for g in graded}
            ungraded = sorted(s for s in students if s not in done)
            boilerplate = _handed_out(config, name)
            exercises.append(
                Exercise(name, graded, ungraded, similar(graded, boilerplate, threshold))
            )
    if not exercises:
        raise CourseError(f"the gradebook {dirs.db_url} holds no graded submission yet")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(exercises, threshold))
    return exercises


def _gradebook(url: str) -> Gradebook:
    """The gradebook at ``url``; a missing one is an error, not a new empty one."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise CourseError(
            f"there is no gradebook at {url.removeprefix('sqlite:///')}: grade submissions "
            "first (casebook course grade), or name the course with --course-dir or --db"
        )
    try:
        return Gradebook(url)
    except OperationalError as error:
        raise CourseError(f"cannot open the gradebook {url}: {error.orig}") from None


def _graded(dirs: CourseDirectory, submission) -> Graded:
    student, assignment = submission.student.id, submission.assignment.name
    g = Graded(student, submission.score, submission.max_score)

    def folder(step: str) -> Path:
        return Path(dirs.format_path(getattr(dirs, step), student, assignment))

    errors = first_errors(folder("autograded_directory"))  # the words grades.csv uses
    code = []
    for nb in submission.notebooks:
        for grade in nb.grades:
            if grade.cell.cell_type == "code":
                g.tests[grade.name] = (grade.score, grade.max_score)
                if grade.score < grade.max_score and (nb.name, grade.name) in errors:
                    g.messages[grade.name] = errors[nb.name, grade.name]
        path = folder("submitted_directory") / f"{nb.name}.ipynb"
        if path.is_file():
            code += _student_cells(nbformat.read(path, as_version=4))
    g.code = "\n\n".join(code)
    return g


def _student_cells(nb) -> list[str]:
    """What a student writes: answer cells and cells they added (not the locked tests)."""
    return [c.source for c in nb.cells if c.cell_type == "code" and not is_locked(c)]


def _handed_out(config: Config, assignment: str) -> str:
    """The release's code and the model answer: what no student is suspected of copying."""
    cells = []
    for key in ("release_directory", "source_directory"):
        for path in sorted((course_path(config, key) / assignment).glob("*.ipynb")):
            cells += _student_cells(nbformat.read(path, as_version=4))
    return "\n\n".join(cells)


def _fingerprint(code: str, boilerplate=None) -> CodeFingerprint:
    return CodeFingerprint(
        "submission.py", NOISE, WINDOW, boilerplate, language="python", fp=io.StringIO(code)
    )


def similar(graded: list[Graded], boilerplate: str, threshold: float) -> list[Similar]:
    """Pairs whose shared code covers at least ``threshold`` of the shorter one, most similar
    first. The ``boilerplate`` code does not count as shared."""
    handed_out = list(_fingerprint(boilerplate).hashes)
    handed_out_lines = {line.strip() for line in boilerplate.splitlines()}
    prints = {g.student: _fingerprint(g.code, handed_out) for g in graded}
    pairs = []
    for a, b in combinations(sorted(prints), 2):
        overlap, (sim_a, sim_b), (slices_a, _) = compare_files(prints[a], prints[b])
        if overlap and max(sim_a, sim_b) >= threshold:
            shared = _lines_in(prints[a], slices_a, handed_out_lines)
            pairs.append(Similar(a, b, float(max(sim_a, sim_b)), shared))
    return sorted(pairs, key=lambda p: -p.similarity)


def _lines_in(fingerprint: CodeFingerprint, slices, handed_out: set[str]) -> list[str]:
    """The lines of the raw code mostly inside shared slices (character ranges), in order,
    but for lines handed out: a shared run of tokens may reach into the code around it."""
    code = fingerprint.raw_code
    shared = bytearray(len(code))
    for start, end in zip(*slices, strict=True):
        shared[int(start) : int(end)] = b"\1" * (int(end) - int(start))
    kept, offset = [], 0
    for line in code.split("\n"):
        visible = [i for i, ch in enumerate(line, offset) if not ch.isspace()]
        mostly_shared = visible and 2 * sum(shared[i] for i in visible) >= len(visible)
        if mostly_shared and line.strip() not in handed_out:
            kept.append(line)
        offset += len(line) + 1
    return kept


# -- the page -------------------------------------------------------------------------------


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _figure(fig, alt: str) -> str:
    return f'<img src="data:image/png;base64,{_png(fig)}" alt="{html.escape(alt)}">'


def _score_figure(e: Exercise) -> str:
    fig, ax = plt.subplots(figsize=(5, 2.6))
    top = max((g.max_score for g in e.graded), default=1) or 1
    ax.hist([g.score for g in e.graded], bins=min(20, int(top) + 1), range=(0, top))
    ax.set(xlabel="score", ylabel="submissions", title=f"{e.name}: scores")
    return _figure(fig, f"histogram of the {len(e.graded)} scores of {e.name}, 0 to {top:g}")


def failure_rates(e: Exercise) -> dict[str, float]:
    """Each test cell: the share of graded submissions that lost points in it."""
    tests = sorted({t for g in e.graded for t in g.tests})
    return {
        t: sum(1 for g in e.graded if t in g.tests and g.tests[t][0] < g.tests[t][1])
        / len(e.graded)
        for t in tests
    }


def _failure_figure(rates: dict[str, float], name: str) -> str:
    fig, ax = plt.subplots(figsize=(5, 0.4 * len(rates) + 0.8))
    ax.barh(list(rates), [100 * r for r in rates.values()])
    ax.set(xlabel="% of submissions failing", xlim=(0, 100), title=f"{name}: tests")
    ax.invert_yaxis()
    return _figure(fig, f"bar chart of how often each test of {name} failed")


def common_messages(e: Exercise, top: int = 5) -> list[tuple[str, str, int]]:
    counts = Counter((t, m) for g in e.graded for t, m in g.messages.items())
    return [(t, m, n) for (t, m), n in counts.most_common(top)]


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _section(e: Exercise, threshold: float) -> str:
    scores = [g.score for g in e.graded]
    mean = sum(scores) / len(scores) if scores else 0
    parts = [
        f'<section id="{html.escape(e.name)}"><h2>{html.escape(e.name)}</h2>',
        f"<p>{len(e.graded)} graded (mean {mean:.1f}), {len(e.ungraded)} with no graded "
        f"submission{': ' + html.escape(', '.join(e.ungraded)) if e.ungraded else ''}.</p>",
    ]
    if not e.graded:
        return "".join(parts) + "</section>"
    rates = failure_rates(e)
    parts += [_score_figure(e), "<h3>Tests</h3>", _failure_figure(rates, e.name)]
    parts.append(
        _table(
            ["test", "failed"],
            [[html.escape(t), f"{100 * r:.0f}%"] for t, r in rates.items()],
        )
    )
    parts.append("<h3>Most common failure messages</h3>")
    parts.append(
        _table(
            ["test", "message", "submissions"],
            [
                [html.escape(t), f"<code>{html.escape(m)}</code>", str(n)]
                for t, m, n in common_messages(e)
            ],
        )
    )
    parts.append(f"<h3>Near-identical code (at least {100 * threshold:.0f}% shared)</h3>")
    if not e.similar:
        parts.append("<p>No pair.</p>")
    for p in e.similar:
        parts.append(
            f'<div class="pair"><p>{html.escape(p.first)} and {html.escape(p.second)}: '
            f"{100 * p.similarity:.0f}% shared</p><pre>{html.escape(chr(10).join(p.shared))}</pre>"
            "</div>"
        )
    return "".join(parts) + "</section>"


STYLE = """body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;
text-align:left}pre{background:#f6f6f6;padding:.5em;overflow-x:auto}img{display:block}"""


def render(exercises: list[Exercise], threshold: float) -> str:
    sections = "".join(_section(e, threshold) for e in exercises)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Grading report</title><style>{STYLE}</style></head><body>"
        "<h1>Grading report</h1><p>For instructors: the messages quote hidden tests.</p>"
        f"{sections}</body></html>"
    )
