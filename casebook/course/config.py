"""The course's nbgrader configuration and the nbgrader runs the other commands make."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

from nbgrader.converters import GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log
from traitlets.config import Config, PyFileConfigLoader

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "autograder" / "nbgrader_config.py"


class CourseError(Exception):
    """A command cannot go on: the message says what was wrong and what to do; the command
    line prints it and exits 1 (library code raises, only ``cli`` exits)."""


def load_config(config_file: Path = DEFAULT_CONFIG) -> Config:
    config_file = Path(config_file).resolve()
    return PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()


def run_converter(converter, config: Config, **course_dir: str) -> dict:
    """Run one nbgrader converter (force on); returns capture_log's dict (success, log, error)."""
    config = copy.deepcopy(config)
    for key, value in course_dir.items():
        config.CourseDirectory[key] = str(value)
    app = converter(coursedir=CourseDirectory(config=config), config=config)
    app.force = True
    return capture_log(app)


def check_converted(result: dict, what: str) -> None:
    if not result["success"]:
        raise CourseError(f"{what} failed:\n{result.get('log', '')}{result.get('error', '')}")


def course_path(config: Config, key: str) -> Path:
    return Path(config.CourseDirectory[key])


def assignments_in(config: Config) -> dict[str, list[str]]:
    """``{assignment: [notebook names]}`` found in the source folder."""
    source = course_path(config, "source_directory")
    return {
        d.name: sorted(p.stem for p in d.glob("*.ipynb"))
        for d in sorted(source.iterdir())
        if d.is_dir() and any(d.glob("*.ipynb"))
    }


def generate(
    config: Config, assignment: str, root: Path, release_dir: Path, sqlite: Path | None = None
) -> None:
    """nbgrader generate_assignment: source -> ``release_dir/<assignment>/``; registers the
    assignment in the gradebook of the course folder ``root`` (or in the SQLite file
    ``sqlite``)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(release_dir / assignment, ignore_errors=True)  # what nbgrader's force does
    where = {"db_url": f"sqlite:///{sqlite}"} if sqlite else {}
    result = run_converter(
        GenerateAssignment,
        config,
        root=root,
        release_directory=release_dir,
        assignment_id=assignment,
        **where,
    )
    check_converted(result, f"generate_assignment {assignment}")


def database_url(url: str) -> str:
    """SQLAlchemy 2.1 reads ``postgresql://`` as psycopg 3; requirements.txt has psycopg2."""
    if url.startswith("postgresql://"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url
