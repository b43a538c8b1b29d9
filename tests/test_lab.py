"""An exercise as a student meets it: Jupyter Lab on loopback, in Debian's headless Chromium.

Jupyter Lab runs with the course kernel and nbgrader's extension in a scratch folder holding
two copies of a generated student notebook (autograder/release/): one as released and one with
the solutions written in. The browser opens each in the Lab UI, runs all its cells and presses
nbgrader's Validate button; the untouched notebook must fail on its NotImplementedError and the
solved one must pass. Screenshots go to _build/screenshots/lab/. CASEBOOK_BROWSER=off skips it.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_browser import CHROMIUM, ROOT

from casebook import book

ASSIGNMENT = "03_one_by_one"  # a short one: three functions, no training
SHOTS = ROOT / "_build" / "screenshots" / "lab"

pytestmark = [
    pytest.mark.notebooks,
    pytest.mark.skipif(os.environ.get("CASEBOOK_BROWSER") == "off", reason="CASEBOOK_BROWSER=off"),
]


def student_notebooks(folder):
    """The released notebook as is, and with each solution cell's code from solutions/."""
    release = ROOT / "autograder" / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    source = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    notebook = json.loads(release.read_text())
    notebook["metadata"]["kernelspec"] = {  # the course kernel, as `make` installs it
        "name": book.kernel_name(),
        "display_name": "Python (casebook)",
        "language": "python",
    }
    (folder / "untouched.ipynb").write_text(json.dumps(notebook, indent=1))
    answers = {
        cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
        for cell in json.loads(source.read_text())["cells"]
        if cell["metadata"].get("nbgrader", {}).get("solution")
    }
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            marker = r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|$)"
            cell["source"] = re.sub(marker, "", answers[grade_id], flags=re.M).rstrip()
    (folder / "solved.ipynb").write_text(json.dumps(notebook, indent=1))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Jupyter Lab serving a scratch folder on loopback; yields its URL and token."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `sudo apt-get install chromium` (Debian)")
    folder = tmp_path_factory.mktemp("student")
    student_notebooks(folder)
    port, token = free_port(), "casebook-lab-test"
    home = tmp_path_factory.mktemp("jupyter")
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    # No "Would you like to get notified about official Jupyter news?" over the notebook.
    news = home / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    log = open(home / "lab.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "jupyter-lab"),
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={folder}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("jupyter lab did not start:\n" + (home / "lab.log").read_text())
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def student(lab):
    """Open both notebooks in Lab, run their cells, press Validate; returns what Lab showed."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    base, token = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    seen = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.route(re.compile(r"^(?!" + re.escape(base) + ")"), lambda route: route.abort())
        page = context.new_page()
        for name in ("untouched", "solved"):
            start = time.perf_counter()
            page.goto(f"{base}/lab/tree/{name}.ipynb?token={token}")
            page.wait_for_function(
                """(name) => {
                  const widget = window.jupyterapp && jupyterapp.shell.currentWidget;
                  const kernel = widget && widget.sessionContext?.session?.kernel;
                  return widget && widget.context.path === name + ".ipynb"
                    && kernel && kernel.status === "idle";
                }""",
                arg=name,
                timeout=120_000,
            )
            panel = page.evaluate("() => jupyterapp.shell.currentWidget.id")
            page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(  # run all stops at the first cell that fails
                """() => {
                  const widget = jupyterapp.shell.currentWidget;
                  const prompts = [...widget.node.querySelectorAll(".jp-InputPrompt")];
                  return widget.sessionContext.session.kernel.status === "idle"
                    && prompts.some((p) => /\\[\\d+\\]/.test(p.textContent))
                    && prompts.every((p) => !p.textContent.includes("*"));
                }""",
                timeout=180_000,
            )
            errors = page.locator(
                f"[id='{panel}'] .jp-OutputArea-output[data-mime-type="
                "'application/vnd.jupyter.stderr']"
            ).all_inner_texts()
            page.screenshot(path=SHOTS / f"{name}_ran.png")
            toolbar = page.locator(f"[id='{panel}'] .jp-Toolbar")
            toolbar.get_by_text("Validate", exact=True).click()
            dialog = page.locator(".jp-Dialog-content")
            dialog.wait_for(timeout=180_000)
            page.wait_for_function(
                "() => !/Validating/i.test(document.querySelector('.jp-Dialog-content')"
                "?.innerText || 'Validating')",
                timeout=180_000,
            )
            message = dialog.inner_text()
            page.screenshot(path=SHOTS / f"{name}_validated.png")
            page.keyboard.press("Escape")
            seen[name] = {
                "errors": errors,
                "validate": message,
                "seconds": time.perf_counter() - start,
            }
        browser.close()
    return seen


def test_the_released_notebook_runs_up_to_the_first_function_to_write(student):
    errors = "\n".join(student["untouched"]["errors"])
    assert "NotImplementedError" in errors, errors


def test_validate_fails_the_released_notebook(student):
    message = student["untouched"]["validate"]
    assert "NotImplementedError" in message or "failed" in message.lower(), message
    assert "Success" not in message, message


def test_the_solved_notebook_runs_without_an_error(student):
    assert not student["solved"]["errors"], student["solved"]["errors"]


def test_validate_passes_the_solved_notebook(student):
    message = student["solved"]["validate"]
    assert "Success! Your notebook passes all the tests." in message, message
    print({name: round(seen["seconds"], 1) for name, seen in student.items()})


def test_screenshots_of_lab(student):
    assert len(list(SHOTS.glob("*.png"))) == 4
