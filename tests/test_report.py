"""``casebook course report`` on a generated class: graded once, reported, and checked.

Two students share an exploratory cell (one with its names changed and its comments rewritten),
a third wrote a different one, one has a wrong function, one handed in the release untouched,
one a broken file, and one the model answer. Only the pair is near-identical: the code the
release hands out and the model answer are not evidence of copying.
"""

import csv
import functools
import os
import re
from pathlib import Path

import nbformat
import pytest
from test_autograder import (
    RELEASE,
    TIMEOUT,
    WRONG_CONV,
    add_cell,
    course,
    handed_in,
    notebook,
    with_code,
)

from casebook.course.report import Graded, similar

CHROMIUM = os.environ.get("CASEBOOK_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "_build" / "screenshots"

EXPLORE = """\
# the multiplications of every 5x5 convolution in a small network, with and without a 1x1
layers = [(28, 28, 192, 32), (14, 14, 256, 64), (7, 7, 512, 128)]
for height, width, channels, filters in layers:
    direct = conv_multiplications(height, width, channels, 5, filters)
    reduced = bottleneck_multiplications(height, width, channels, 16, 5, filters)
    saving = direct / reduced
    print(f"{height}x{width}x{channels} -> {filters}: {direct:,} vs {reduced:,} ({saving:.1f}x)")
"""
COPIED = """\
# costs of the 5x5 layers, direct and through a bottleneck
shapes = [(28, 28, 192, 32), (14, 14, 256, 64), (7, 7, 512, 128)]
for h, w, c, k in shapes:
    plain = conv_multiplications(h, w, c, 5, k)
    cheap = bottleneck_multiplications(h, w, c, 16, 5, k)
    ratio = plain / cheap
    print(f"{h}x{w}x{c} -> {k}: {plain:,} vs {cheap:,} ({ratio:.1f}x)")
"""
OWN = """\
import math

sizes = {"stem": 3, "middle": 5, "wide": 7}
costs = {}
for label, size in sizes.items():
    costs[label] = math.prod([28, 28, 64, size, size, 32])
best = min(costs, key=costs.get)
assert best == "stem", costs
"""


def generated_class(folder):
    hand_in = functools.partial(handed_in, folder)

    hand_in("model", notebook())
    hand_in("ana", add_cell(notebook(), EXPLORE, after="bottleneck-multiplications"))
    hand_in("ben", add_cell(notebook(), COPIED, after="bottleneck-multiplications"))
    hand_in("cleo", add_cell(notebook(), OWN))
    hand_in("dan", with_code(notebook(), "conv-multiplications", WRONG_CONV))
    hand_in("eve", nbformat.read(RELEASE, as_version=4))
    hand_in("finn", text="not a notebook")


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    generated_class(tmp / "submissions")
    common = ["--course-dir", tmp / "course"]
    graded = course(
        "grade", tmp / "submissions", *common, "--out", tmp / "out", "--timeout", TIMEOUT,
        "--jobs", "2", timeout=900,
    )  # fmt: skip
    assert graded.returncode == 0, graded.stdout + graded.stderr
    done = course("report", *common, "--out", tmp / "report.html")
    assert done.returncode == 0, done.stdout + done.stderr
    with open(tmp / "out" / "grades.csv", newline="") as f:
        grades = {r["student"]: r for r in csv.DictReader(f)}
    scores = {s: r["score"] for s, r in grades.items()}
    assert scores == {  # what the report below is computed from
        **{s: "10" for s in ("model", "ana", "ben", "cleo")},
        **{"dan": "4", "eve": "0", "finn": "0"},
    }, grades
    html = (tmp / "report.html").read_text()
    return {"tmp": tmp, "html": html, "stdout": done.stdout, "grades": grades}


def test_the_report_finds_the_copied_pair_only(reported):
    assert "6 graded submissions, 1 near-identical pairs" in reported["stdout"]
    pairs = re.findall(r'<div class="pair"><p>(\w+) and (\w+): (\d+)% shared', reported["html"])
    assert [(a, b) for a, b, _ in pairs] == [("ana", "ben")]
    assert int(pairs[0][2]) >= 80
    shared = reported["html"].split('<div class="pair">')[1].split("</pre>")[0]
    assert "saving = direct / reduced" in shared  # the lines shown are ana's
    assert "bottleneck_multiplications(height, width, channels, 16, 5, filters)" in shared
    assert "SOLUTION" not in shared and "def channel_reducer" not in shared  # handed out


def test_the_report_counts_scores_and_failures_from_the_gradebook(reported):
    text = reported["html"]
    assert "6 graded (mean " in text and "1 with no graded submission: finn" in text
    mean = sum(float(r["score"]) for s, r in reported["grades"].items() if s != "finn") / 6
    assert f"6 graded (mean {mean:.1f})" in text
    # dan fails two tests (the bottleneck uses his conv), eve all three: 2 of 6 and 1 of 6
    assert "<td>conv-multiplications-tests</td><td>33%</td>" in text
    assert "<td>bottleneck-multiplications-tests</td><td>33%</td>" in text
    assert "<td>channel-reducer-tests</td><td>17%</td>" in text


def test_the_most_common_failure_messages_are_quoted(reported):
    text = reported["html"]
    row = re.search(r"<td>conv-multiplications-tests</td><td><code>([^<]*)</code></td><td>1<", text)
    assert row and "should be 120,422,400" in row.group(1)
    assert "NotImplementedError" in text


def test_the_figures_are_inline_images_with_words(reported):
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)">',
                        reported["html"])  # fmt: skip
    assert len(images) == 2
    assert all(len(data) > 2000 for data, _ in images)
    assert images[0][1].startswith("histogram of the 6 scores of 03_one_by_one")


def test_the_model_answer_is_no_evidence_of_copying():
    code = "def f(a, b):\n    total = 0\n    for i in range(a):\n        total += i * b\n"
    twins = [Graded("a", 1, 1, code=code), Graded("b", 1, 1, code=code)]
    assert [(p.first, p.second) for p in similar(twins, "", 0.8)] == [("a", "b")]
    assert similar(twins, code, 0.8) == []


def test_an_assignment_the_gradebook_lacks_is_a_clear_error(reported):
    done = course("report", "nope", "--course-dir", reported["tmp"] / "course")
    assert done.returncode == 1
    assert "error: the gradebook has no assignment nope: it knows 03_one_by_one" in done.stderr


def test_a_course_with_no_gradebook_is_a_clear_error(tmp_path):
    done = course("report", "--course-dir", tmp_path / "course")
    assert done.returncode == 1
    assert f"error: there is no gradebook at {tmp_path / 'course' / 'gradebook.db'}" in done.stderr
    assert not (tmp_path / "course").exists()


@pytest.mark.skipif(os.environ.get("CASEBOOK_BROWSER") == "off", reason="CASEBOOK_BROWSER=off")
def test_the_report_reads_in_a_browser(reported):
    """Chromium opens the one file offline: no console error, every figure has pixels."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `sudo apt-get install chromium` (Debian)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route(re.compile(r"^(?!file:|data:)"), lambda route: errors.append(route.request.url))
        page.goto((reported["tmp"] / "report.html").as_uri(), wait_until="load")
        widths = page.evaluate("[...document.images].map((img) => img.naturalWidth)")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "grading_report.jpg", full_page=True, type="jpeg")
        browser.close()
    assert errors == []
    assert len(widths) == 2 and min(widths) > 200
