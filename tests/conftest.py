import os

import pytest

from casebook import book


@pytest.fixture(scope="session")
def executed(pytestconfig):
    """Execute every chapter once for this test run (reusing an unchanged earlier run)."""
    profile = os.environ.get("CASEBOOK_PROFILE", "cpu")
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # show which notebook runs, and how far
        outcome = book.execute(profile)
    return profile, outcome
