"""casebook.course.hidden_tests: one parser of hidden-test regions, nbgrader's own."""

import glob
from pathlib import Path

import nbformat
import pytest
from nbgrader.preprocessors import ClearHiddenTests

from casebook.course.hidden_tests import HiddenTestRegions, hidden_lines, strip_hidden_tests

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted(glob.glob(str(ROOT / "solutions" / "*" / "*.ipynb")))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: Path(p).stem)
def test_stripping_writes_what_nbgraders_release_writes(path):
    notebook = nbformat.read(path, as_version=4)
    regions = 0
    for cell in notebook.cells:
        theirs = nbformat.from_dict(dict(cell))
        removed = ClearHiddenTests()._remove_hidden_test_region(theirs)
        regions += removed
        assert strip_hidden_tests(cell.source) == theirs.source
    assert regions, f"{path} has no hidden tests"


def test_a_placeholder_keeps_the_markers_indentation():
    source = "a = 1\n    ### BEGIN HIDDEN TESTS\n    assert secret\n    ### END HIDDEN TESTS\nb"
    assert strip_hidden_tests(source, "# hidden") == "a = 1\n    # hidden\nb"


@pytest.mark.parametrize(
    "source, error",
    [
        ("### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS", "nested"),
        ("### BEGIN HIDDEN TESTS\nassert secret", "No end hidden tests"),
    ],
)
def test_broken_regions_raise_nbgraders_errors(source, error):
    with pytest.raises(RuntimeError, match=error):
        strip_hidden_tests(source)


def test_configured_delimiters_are_the_ones_read():
    parser = HiddenTestRegions(begin_test_delimeter="BEGIN SECRET", end_test_delimeter="END SECRET")
    assert parser.without_hidden("x\n# BEGIN SECRET\ny\n# END SECRET") == "x"


def test_hidden_lines_are_the_lines_seen_only_inside_regions():
    cell = (
        "visible_check()\n### BEGIN HIDDEN TESTS\n"
        "assert secret_value == 42\nvisible_check()\n### END HIDDEN TESTS"
    )
    lines = hidden_lines(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)]))
    assert "assert secret_value == 42" in lines and "visible_check()" not in lines
