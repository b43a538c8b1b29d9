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
    resnet = (html / "chapters/02_resnets/01_resnet.html").read_text()
    assert "25,636,712" in resnet and "25,557,032" in resnet
    for notebook in book.chapter_notebooks(ROOT):
        page = (html / notebook.with_suffix(".html")).read_text()
        assert not re.search(r"\{glue:", page), f"an unresolved glue role in {notebook}"


@pytest.mark.notebooks
def test_no_hidden_test_reaches_the_exercise_page(site):
    _, html = site
    pages = sorted((html / "autograder" / "release").glob("*/*.html"))
    assert len(pages) == len(list((ROOT / "solutions").glob("*/*.ipynb")))
    for page in pages:
        assert "HIDDEN TESTS" not in page.read_text(), page
