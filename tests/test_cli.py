"""The one ``casebook`` command: each subcommand is its module's command line."""

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from casebook import cli

ROOT = Path(__file__).resolve().parents[1]


def casebook(*args):
    return subprocess.run(
        [sys.executable, "-m", "casebook.cli", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_pyproject_installs_the_command():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"casebook": "casebook.cli:main"}


@pytest.mark.parametrize("subcommand", sorted(cli.COMMANDS))
def test_every_subcommand_answers_help_with_its_own_usage(subcommand):
    done = casebook(subcommand, "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: casebook" in done.stdout


def test_an_unknown_subcommand_names_the_ones_there_are():
    done = casebook("grade")
    assert done.returncode == 2
    assert "no subcommand 'grade'" in done.stderr and "course" in done.stderr


def test_the_course_commands_do_not_import_the_book_build():
    code = "import sys; import casebook.course.cli; print('casebook.book' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
