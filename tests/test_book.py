"""The HTML book is built from the executions the tests checked, with warnings as errors."""

import functools
import json
import re
from pathlib import Path

import pytest
import yaml

from casebook import book
from casebook.book import gpu_runs

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def built(profile):
    """Build the book once per test run; test_browser.py reads the same site."""
    return book.build(profile, root=ROOT)


@pytest.fixture(scope="module")
def site(executed):
    profile, _ = executed
    return built(profile)


@pytest.mark.notebooks
def test_the_book_reuses_the_tested_executions(site):
    outcome, _ = site
    assert set(outcome.values()) == {"reused"}, outcome


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


def notebook_pages():
    """Every page of the table of contents that is a notebook: chapters, exercises, verification."""
    return [name for name in book.toc_files(ROOT) if book.resolve(ROOT, name).suffix == ".ipynb"]


def test_pages_load_mathjax_from_the_site_not_a_cdn():
    sphinx = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert "://" not in sphinx["mathjax_path"]
    assert sphinx["html_extra_path"] == [book.OFFLINE]


@pytest.mark.notebooks
def test_no_page_loads_anything_from_another_host(site):
    _, html = site
    assert (html / "_static" / "mathjax" / "tex-mml-chtml.js").exists()
    assert (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    remote = re.compile(r"<(?:script|link|img|iframe)[^>]*(?:src|href)=\"(?:https?:)?//", re.I)
    for page in html.rglob("*.html"):
        assert not remote.search(page.read_text()), f"{page} loads a file from another host"


@pytest.mark.notebooks
def test_every_notebook_page_downloads_its_ipynb_and_launches_it(site):
    _, html = site
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository, branch = config["repository"]["url"], config["repository"]["branch"]
    org_repo = repository.removeprefix("https://github.com/")
    for name in notebook_pages():
        page = (html / f"{name}.html").read_text()
        download = re.search(r'href="([^"]+\.ipynb)"[^>]*btn-download-source-button', page)
        assert download, f"{name}: no .ipynb download button"
        notebook = json.loads((html / f"{name}.html").parent.joinpath(download[1]).read_text())
        assert notebook["nbformat"] == 4 and notebook["cells"], name
        colab = f"https://colab.research.google.com/github/{org_repo}/blob/{branch}/{name}.ipynb"
        assert f'href="{colab}"' in page, f"{name}: no Colab button for {colab}"
        binder = f"/v2/gh/{org_repo}/{branch}?urlpath=lab/tree/{name}.ipynb"
        assert binder in page, f"{name}: no Binder button"
        assert (ROOT / f"{name}.ipynb").exists(), f"{name}.ipynb is not in the repository"


@pytest.mark.notebooks
def test_the_verification_page_lists_every_page_and_fact(site):
    _, html = site
    page = (html / "verification.html").read_text()
    for notebook in book.chapter_notebooks(ROOT):
        assert f'href="{notebook.with_suffix(".html").as_posix()}"' in page, notebook
    facts = book.build_dir(ROOT, "results", html.parents[1].name)  # _build/site/<profile>/...
    for path in facts.glob("*.json"):
        for fact in json.loads(path.read_text())["facts"]:
            assert fact["name"] in page, fact["name"]
    assert 'id="benchmark' in page, "the verification page has no Benchmark section"
    assert 'id="the-full-profile-on-a-gpu' in page, "no section for the full profile's GPU run"
    for meta, _ in gpu_runs.newest_per_page(gpu_runs.runs()).values():  # each page's run
        assert meta["device"] in page and meta["commit"] in page


def markdown_of(notebook):
    cells = json.loads((ROOT / notebook).read_text())["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]


def test_every_chapter_page_ends_with_a_summary_that_links_its_exercise():
    for notebook in book.chapter_notebooks(ROOT):
        summary, chapter = markdown_of(notebook)[-1], notebook.parts[1]
        assert re.search(r"^## Summary", summary, flags=re.M), f"{notebook}: no summary"
        exercise = f"(../../autograder/release/{chapter}/{chapter})"
        assert exercise in summary, f"{notebook}: its summary does not link {exercise}"


def test_the_course_map_and_the_exercises_page_link_every_chapter_and_exercise():
    intro, exercises = (ROOT / "intro.md").read_text(), (ROOT / "exercises.md").read_text()
    for chapter in sorted({nb.parts[1] for nb in book.chapter_notebooks(ROOT)}):
        exercise = f"(autograder/release/{chapter}/{chapter})"
        assert f"(chapters/{chapter}/index)" in intro, chapter
        assert exercise in intro and exercise in exercises, chapter
