"""The HTML book is built from the executions the tests checked, with warnings as errors."""

import re
from pathlib import Path

import pytest

from casebook import book

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(executed):
    profile, _ = executed
    outcome, html = book.build(profile, root=ROOT)
    return outcome, html


@pytest.mark.notebooks
def test_the_book_reuses_the_tested_executions(site):
    outcome, _ = site
    assert set(outcome.values()) == {"cached"}, outcome


@pytest.mark.notebooks
def test_every_page_of_the_toc_is_in_the_site(site):
    _, html = site
    for name in book.toc_files(ROOT):
        assert (html / f"{name}.html").exists(), name


@pytest.mark.notebooks
def test_glued_numbers_reach_the_pages(site):
    _, html = site
    lenet = (html / "chapters/01_classic_networks/01_lenet5.html").read_text()
    assert "60,000" in lenet and "61,706" in lenet
    assert not re.search(r"\{glue:", lenet), "an unresolved glue role"


@pytest.mark.notebooks
def test_no_hidden_test_reaches_the_exercise_page(site):
    _, html = site
    page = (html / "autograder/release/01_classic_networks/01_classic_networks.html").read_text()
    assert "HIDDEN TESTS" not in page
