"""nbgrader configuration of the course.

Read by `casebook course` (release, collect, grade, feedback, export) and by `nbgrader`
itself when it runs in this folder (`cd autograder && nbgrader formgrader`, `nbgrader autograde
...`). Paths are absolute, derived from this file's place, so it works from any working directory.
"""

from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from casebook.course.hidden_tests import HideHiddenTests, RestoreHiddenTests
from casebook.course.sandbox import GuardedExecute

here = Path(__file__).resolve().parent
c = get_config()  # noqa: F821 (defined by traitlets when it reads this file)

c.CourseDirectory.course_id = "cnn-case-studies"
# The instructor's folder (git-ignored): gradebook.db, submitted/, autograded/, feedback/.
c.CourseDirectory.root = str(here / "course")
# Source notebooks (solutions and hidden tests) and the committed student versions.
c.CourseDirectory.source_directory = str(here.parent / "solutions")
c.CourseDirectory.release_directory = str(here / "release")
# The gradebook: SQLite in the course folder unless set here or with `--db URL`, e.g.
# c.CourseDirectory.db_url = "postgresql://grader@db.example.org/cnn_case_studies"
# nbgrader's exchange (`collect`); students submit with `nbgrader submit`.
c.Exchange.root = "/srv/nbgrader/exchange"

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
# nbgrader 0.9.6's autograde list with Execute replaced: the kernel runs in an empty folder of its
# own, with limits, behind Landlock (casebook/sandbox.py); the checks are restored before every
# test cell; a dead kernel costs the cells it did not run, not the whole notebook.
c.Autograde.autograde_preprocessors = [
    GuardedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# Limits of a grading kernel (`grade --memory --cpu --file-size --max-output` override them).
c.SandboxKernelManager.memory_mb = 6144  # address space; TensorFlow alone reserves ~2.5 GiB
c.SandboxKernelManager.cpu_seconds = 600  # the whole notebook
c.SandboxKernelManager.file_size_mb = 64  # largest file it may write
c.GuardedExecute.max_output_kb = 256  # output kept per cell
# nbgrader 0.9.6 shows hidden tests in the feedback (#917, #1363): strip them first.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
