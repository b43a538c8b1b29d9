"""The book's executor: cached executions, run records, page logs and time limits, the
inputs hash, and the staged pages (casebook.book.executor, cache, runs, inputs, site)."""

import json
import os
from pathlib import Path

import pytest

from casebook import book, facts
from casebook.book import cli, executor, runs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_results_folder(monkeypatch):
    """Pages made here must not write into the results of the real executions."""
    monkeypatch.delenv("CASEBOOK_FACTS", raising=False)


def test_the_executor_refuses_unknown_profiles_and_notebooks(capsys):
    assert cli.main(["execute", "--profile", "gpu-ish"]) == 1
    assert "unknown profile 'gpu-ish'" in capsys.readouterr().err
    assert cli.main(["execute", "02_alexnett"]) == 1
    assert "no chapter notebook called 02_alexnett; there are: 01_lenet5" in capsys.readouterr().err
    assert cli.main(["execute", "--profile", "cpu", "02_alexnett"]) == 1  # options first
    assert "no chapter notebook called 02_alexnett" in capsys.readouterr().err


def execution(folder, key, status="done"):
    """The three files of one page's execution, as the executor leaves them."""
    files = {
        "executed.ipynb": folder / "executed" / "page.ipynb",
        "facts.json": folder / "facts" / "page.json",
        "run.json": folder / "runs" / "page.json",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    files["executed.ipynb"].write_text(json.dumps({"cells": [], "metadata": {}}))
    files["facts.json"].write_text(json.dumps({"facts": [], "expected": []}))
    runs.write(files["run.json"], {"inputs_hash": key, "status": status, "seconds": 1.0})
    return files


def test_an_execution_is_reused_only_when_its_run_finished_with_the_same_inputs(tmp_path):
    assert book.cached(execution(tmp_path / "done", "abc"), "abc")
    assert not book.cached(execution(tmp_path / "done", "abc"), "changed inputs")
    assert not book.cached(execution(tmp_path / "cut", "abc", status="running"), "abc")
    assert not book.cached(execution(tmp_path / "bad", "abc", status="failed"), "abc")
    files = execution(tmp_path / "half", "abc")
    files["facts.json"].unlink()  # no facts, no execution
    assert not book.cached(files, "abc")


def test_executions_leave_the_callers_environment_alone(monkeypatch):
    monkeypatch.delenv("CASEBOOK_FACTS", raising=False)
    with book.kernel_environment(CASEBOOK_FACTS="/somewhere"):
        assert os.environ["CASEBOOK_FACTS"] == "/somewhere"
    assert "CASEBOOK_FACTS" not in os.environ


@pytest.mark.parametrize(
    "first_error, tries",
    [
        ("Kernel died before replying to kernel_info", 2),  # several pages starting at once
        ("ZMQError: Address already in use (addr='tcp://127.0.0.1:35217')", 2),
        ("PapermillExecutionError: NameError in cell 3", 1),  # a failing cell is not retried
    ],
)
def test_only_a_kernel_that_never_started_is_tried_again(tmp_path, monkeypatch, first_error, tries):
    calls = []

    def execute_with_papermill(root, notebook, target, profile, seed):
        calls.append(notebook)
        print("a line of the kernel's noise")
        if len(calls) == 1:
            raise RuntimeError(first_error)
        target.write_text(json.dumps({"cells": [], "metadata": {}}))

    monkeypatch.setattr(executor, "execute_with_papermill", execute_with_papermill)
    files = execution(tmp_path, "old")
    notebook = "chapters/01_classic_networks/01_lenet5.ipynb"
    log = tmp_path / "logs" / "page.log"
    if tries == 1:
        with pytest.raises(RuntimeError, match="NameError"):
            book.run_page(tmp_path, notebook, files, "cpu", 0, "abc", log)
        assert runs.read(files["run.json"])["status"] == "failed"
    else:
        book.run_page(tmp_path, notebook, files, "cpu", 0, "abc", log)
        run = runs.read(files["run.json"])
        assert (run["status"], run["inputs_hash"], run["profile"]) == ("done", "abc", "cpu")
        assert (
            run["settings"] == facts.page_entry("cpu", "01_classic_networks/01_lenet5")["settings"]
        )
        assert run["seconds"] >= 0 and run["started"].startswith("20")
    assert len(calls) == tries
    assert "a line of the kernel's noise" in log.read_text()  # in the log, not the terminal


def test_a_page_past_its_time_limit_is_stopped_and_recorded_as_timed_out(tmp_path, monkeypatch):
    import time

    monkeypatch.setattr(executor, "execute_with_papermill", lambda *args: time.sleep(30))
    files = execution(tmp_path, "old")
    notebook = "chapters/01_classic_networks/01_lenet5.ipynb"
    started = time.perf_counter()
    with pytest.raises(book.PageTimeout, match="limit of 1 s"):
        book.run_page(tmp_path, notebook, files, "cpu", 0, "abc", tmp_path / "page.log", timeout=1)
    assert time.perf_counter() - started < 10
    assert runs.read(files["run.json"])["status"] == "timed out"


def test_a_shared_cache_brings_back_only_a_whole_execution_with_the_same_inputs(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("CASEBOOK_EXECUTION_CACHE", str(tmp_path / "cache"))
    book.keep("abc", execution(tmp_path / "run", "abc"))

    fresh = {
        name: tmp_path / "clone" / name for name in ("executed.ipynb", "facts.json", "run.json")
    }
    assert not book.restore("other inputs", fresh)
    assert book.restore("abc", fresh)
    assert book.cached(fresh, "abc")
    (tmp_path / "cache" / "abc" / "facts.json").unlink()  # part of a cache entry is no entry
    again = {name: tmp_path / "again" / name for name in fresh}
    assert not book.restore("abc", again)
    monkeypatch.setenv("CASEBOOK_EXECUTION_CACHE", "off")
    assert book.shared_cache() is None and not book.restore("abc", fresh)


def test_a_chapters_hash_covers_the_modules_it_imports_and_not_the_autograder():
    root = book.repo_root()
    for notebook in book.chapter_notebooks(root):
        files = {
            path.relative_to(book.PACKAGE).as_posix()
            for path in book.chapter_modules(book.code_of(root / notebook))
        }
        assert {"training.py", "facts.py", "models/lenet.py"} <= files, notebook
        # the build and the course tools are not what a chapter computes with
        assert not {f for f in files if f.split("/")[0] in ("book", "course")}, notebook
        assert "grading.py" not in files, notebook
    pretrained = book.chapter_modules("from casebook import data, pretrained, transfer\n")
    assert book.PACKAGE / "pretrained.py" in pretrained and book.PACKAGE / "data.py" in pretrained
    nested = book.chapter_modules("from casebook.models import efficientnets\n")
    assert book.PACKAGE / "models" / "efficientnets.py" in nested


def notebook(*cells):
    return {"cells": list(cells), "metadata": {"kernelspec": {"language": "python"}}}


def code(source, **metadata):
    return {"cell_type": "code", "source": source, "metadata": metadata, "outputs": []}


def prose(source):
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def test_editing_prose_or_alt_text_keeps_the_execution_and_editing_code_does_not(tmp_path):
    page = tmp_path / "page.ipynb"

    def inputs(content):
        page.write_text(json.dumps(content))
        return book.execution_inputs(page)

    first = inputs(notebook(prose("# Title"), code("x = 1", tags=["parameters"]), code("plot()")))
    edited = notebook(
        prose("# A better title"),
        code("x = 1", tags=["parameters"]),
        prose("A new paragraph."),
        code("plot()", mystnb={"image": {"alt": "A curve"}}, tags=["remove-input"]),
    )
    assert inputs(edited) == first
    changed = notebook(prose("# Title"), code("x = 2", tags=["parameters"]), code("plot()"))
    assert inputs(changed) != first
    assert inputs(notebook(prose("# Title"), code("x = 1"), code("plot()"))) != first  # untagged
    assert inputs(notebook(prose("# Title"), code("x = 1", tags=["parameters"]))) != first


def test_the_staged_page_has_the_sources_prose_and_metadata_and_the_runs_outputs():
    source = notebook(
        prose("# Edited after the run"),
        code(["x = ", "1"], tags=["parameters"]),
        code("plot()", mystnb={"image": {"alt": "A curve"}}),
    )
    injected = code("x = 2", tags=["injected-parameters"])
    ran = code("plot()", papermill={"duration": 1.0})
    ran["outputs"] = [{"output_type": "display_data", "data": {"image/png": "AAAA"}}]
    executed = notebook(prose("# Title"), code("x = 1", tags=["parameters"]), injected, ran)

    staged = book.dress(source, executed)
    sources = [c["source"] for c in staged["cells"]]
    assert sources == ["# Edited after the run", ["x = ", "1"], "x = 2", "plot()"]
    assert staged["cells"][3]["outputs"] == ran["outputs"]
    assert staged["cells"][3]["metadata"] == {
        "papermill": {"duration": 1.0},
        "mystnb": {"image": {"alt": "A curve"}},
    }
    stale = notebook(code("x = 1", tags=["parameters"]), code("plot(more=True)"))
    with pytest.raises(ValueError, match="other code"):
        book.dress(stale, executed)


def test_the_import_scan_reads_code_not_text():
    found = book.module_files(
        "%pip install casebook\n"
        "import casebook.training\n"
        "from casebook import (\n    costs,\n    data,\n)\n"
        "from casebook.models import lenet\n"
        "# from casebook import augment\n"
        "text = 'from casebook import transfer'\n"
    )
    names = {path.relative_to(book.PACKAGE).as_posix() for path in found}
    assert {"training.py", "costs.py", "data.py", "models/lenet.py"} <= names
    assert not {"augment.py", "transfer.py"} & names  # a comment and a string import nothing
