"""nbgrader configuration of the course.

Read by `python -m casebook.course` (release, grade) and by `nbgrader` itself when it runs in this
folder (`cd autograder && nbgrader formgrader`, `nbgrader autograde ...`). Paths are absolute,
derived from this file's place, so it works from any working directory.
"""

from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    OverwriteKernelspec,
)

from casebook.course import HideHiddenTests, RestoreHiddenTests

here = Path(__file__).resolve().parent
c = get_config()  # noqa: F821 (defined by traitlets when it reads this file)

c.CourseDirectory.course_id = "cnn-case-studies"
# The instructor's folder (git-ignored): gradebook.db, submitted/, autograded/, feedback/.
c.CourseDirectory.root = str(here / "course")
# Source notebooks (solutions and hidden tests) and the committed student versions.
c.CourseDirectory.source_directory = str(here.parent / "solutions")
c.CourseDirectory.release_directory = str(here / "release")

# Seconds per cell when grading; no cell of an exercise may train a model.
c.Execute.timeout = 30
# A student who deletes a test cell gets it back (and it runs) instead of escaping it.
c.OverwriteCells.add_missing_cells = True

# nbgrader 0.9.6's sanitize list with OverwriteCells replaced: hidden tests go back into test
# cells without the "Attribute 'checksum' ... has changed" warning for every such cell (#1961).
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreHiddenTests,
    CheckCellMetadata,
]
# nbgrader 0.9.6 shows hidden tests in the feedback (#917, #1363): strip them first.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
