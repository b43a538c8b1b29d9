import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from casebook import book
from casebook.course.config import database_url


@pytest.fixture(scope="session")
def executed(pytestconfig):
    """Execute every chapter once for this test run (reusing an unchanged earlier run)."""
    profile = os.environ.get("CASEBOOK_PROFILE", "cpu")
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # show which notebook runs, and how far
        outcome = book.execute(profile)
    return profile, outcome


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server on loopback, in a temporary folder, for this module."""
    initdb = shutil.which("initdb") or "/usr/local/bin/initdb"
    pg_ctl = shutil.which("pg_ctl") or "/usr/local/bin/pg_ctl"
    # not under pytest's folder: when root runs the tests it is private to root
    folder = Path(tempfile.mkdtemp(prefix="casebook-postgres-"))
    as_user = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as its own user
        user = "postgres"
        shutil.chown(folder, user)
        as_user = ["runuser", "-u", user, "--"]
    else:
        user = os.environ.get("USER", "postgres")
    data, port = folder / "data", free_port()
    subprocess.run(
        [*as_user, initdb, "-D", data, "-U", user, "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-k {folder} -p {port} -h 127.0.0.1"
    subprocess.run(
        [*as_user, pg_ctl, "-D", data, "-o", options, "-l", folder / "log", "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*as_user, "psql", "-h", folder, "-p", str(port), "-U", user, "-d", "postgres"]
            + ["-c", "CREATE DATABASE gradebook"],
            check=True,
            capture_output=True,
        )
        yield database_url(f"postgresql://{user}@127.0.0.1:{port}/gradebook")
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", data, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
