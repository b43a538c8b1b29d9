"""The nbgrader plug-ins that keep hidden tests hidden (named in
``autograder/nbgrader_config.py``): the student versions and the feedback show a placeholder
where the hidden tests ran, and a failure in them shows its error line only."""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, OverwriteCells
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Bool

PLACEHOLDER = "# hidden tests ran here"


class HiddenTestRegions(ClearHiddenTests):
    """nbgrader's ClearHiddenTests, with its region parser exposed: ``regions`` splits a
    source into visible lines and hidden regions, using the same delimiters (configurable as
    nbgrader's) and raising the same errors on a nested or unterminated region. Everything
    here that reads hidden tests goes through it."""

    def regions(self, source: str) -> list[tuple[bool, list[str]]]:
        """[(hidden, lines), ...] in order; a hidden region's lines include its two markers."""
        parts, in_test = [], False
        for line in source.split("\n"):
            begins = self.begin_test_delimeter in line
            if begins and in_test:
                raise RuntimeError("Encountered nested begin hidden tests statements")
            if begins or not parts or parts[-1][0] != in_test:
                in_test = in_test or begins
                parts.append((in_test, []))
            parts[-1][1].append(line)
            if in_test and self.end_test_delimeter in line:
                in_test = False
        if in_test:
            raise RuntimeError("No end hidden tests statement found")
        return parts

    def without_hidden(self, source: str, placeholder: str | None = None) -> str:
        """The source without its hidden regions, markers included. Without a placeholder it
        is what nbgrader writes into the release; with one, each region becomes that single
        line, indented like its marker."""
        kept = []
        for hidden, lines in self.regions(source):
            if not hidden:
                kept += lines
            elif placeholder is not None:
                kept.append(lines[0][: len(lines[0]) - len(lines[0].lstrip())] + placeholder)
        return "\n".join(kept)

    def _remove_hidden_test_region(self, cell) -> bool:
        stripped = self.without_hidden(cell.source)
        removed = any(hidden for hidden, _ in self.regions(cell.source))
        cell.source = stripped
        return removed


PARSER = HiddenTestRegions()
BEGIN_HIDDEN, END_HIDDEN = PARSER.begin_test_delimeter, PARSER.end_test_delimeter


def strip_hidden_tests(source: str, placeholder: str | None = None) -> str:
    """``HiddenTestRegions.without_hidden`` with nbgrader's default delimiters."""
    return PARSER.without_hidden(source, placeholder)


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
        for inside, lines in PARSER.regions(cell.source):
            body = lines[1:-1] if inside else lines
            (hidden.update if inside else visible.extend)(line.strip() for line in body)
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
