"""The nbgrader plug-ins that keep hidden tests hidden (named in
``autograder/nbgrader_config.py``): the student versions and the feedback show a placeholder
where the hidden tests ran, and a failure in them shows its error line only."""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import OverwriteCells
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Bool

BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
PLACEHOLDER = "# hidden tests ran here"


def strip_hidden_tests(source: str, placeholder: str | None = None) -> str:
    """Remove each ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region, markers included.

    Without a placeholder the result is what nbgrader's ClearHiddenTests writes into the release;
    with one, each region becomes that single line, indented like its marker.
    """
    kept, hidden = [], False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            hidden = True
            if placeholder is not None:
                kept.append(line[: len(line) - len(line.lstrip())] + placeholder)
        elif END_HIDDEN in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


class HideHiddenTests(Preprocessor):
    """Feedback preprocessor: test cells show a placeholder for their hidden region, and their
    errors show the exception message alone (a traceback would print the failing hidden line).
    nbgrader 0.9.6 shows hidden tests in feedback (issues #917, #1363). Any line of a hidden test
    that still appears in an output (a student cell that printed ``In`` after the tests ran) is
    replaced by ``[hidden test]``."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        hidden = hidden_lines(nb)
        nb, resources = super().preprocess(nb, resources)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                _scrub(output, hidden)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
            cell.source = strip_hidden_tests(cell.source, PLACEHOLDER)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [error_line(output.ename, output.evalue)]
        return cell, resources


def hidden_lines(nb) -> list[str]:
    """The lines of the notebook's hidden tests that appear nowhere outside them (at least 8
    characters, longest first)."""
    hidden, visible = set(), []
    for cell in nb.cells:
        inside = False
        for line in cell.source.split("\n"):
            if BEGIN_HIDDEN in line or END_HIDDEN in line:
                inside = BEGIN_HIDDEN in line
            elif line.strip():
                (hidden.add if inside else visible.append)(line.strip())
    shown = "\n".join(visible)
    lines = {h for h in hidden if len(h) >= 8 and h not in shown}
    if hidden:  # the markers too, when a printed cell shows them
        lines |= {f"### {BEGIN_HIDDEN}", f"### {END_HIDDEN}", BEGIN_HIDDEN, END_HIDDEN}
    return sorted(lines, key=len, reverse=True)


def _scrub(output, hidden: list[str]) -> None:
    def clean(text):
        if isinstance(text, list):
            return [clean(t) for t in text]
        if not isinstance(text, str):
            return text
        for line in hidden:
            text = text.replace(line, "[hidden test]")
        return text

    for key in ("text", "evalue", "traceback"):
        if key in output:
            output[key] = clean(output[key])
    for mime, value in output.get("data", {}).items():
        output["data"][mime] = clean(value)


def error_line(ename: str, evalue: str) -> str:
    if ename == "NotImplementedError" and not evalue.strip():
        evalue = "a function this cell tests is not written yet (it still raises it)"
    return f"{ename}: {evalue.strip()}" if evalue.strip() else ename


class RestoreHiddenTests(OverwriteCells):
    """OverwriteCells that puts the hidden tests back into an unchanged test cell silently.

    Every test cell with hidden tests differs from its source by exactly that region, so plain
    OverwriteCells warns "Attribute 'checksum' ... has changed" for each (nbgrader issue #1961).
    Any other change to a locked cell is still restored and still reported."""

    def preprocess_cell(self, cell, resources, index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and is_locked(cell):
            try:
                source = self.gradebook.find_source_cell(
                    grade_id, self.notebook_id, self.assignment_id
                ).source
            except MissingEntry:
                source = None
            if source is not None and cell.source == strip_hidden_tests(source):
                cell.source = source
        return super().preprocess_cell(cell, resources, index)
