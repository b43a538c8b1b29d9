"""The profile table: every page defined in every profile, with the same settings."""

import json
import os
from pathlib import Path

import pytest

from casebook import book, results
from casebook.book import cli, executor

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_results_folder(monkeypatch):
    """Pages made here must not write into the results of the real executions."""
    monkeypatch.delenv("CASEBOOK_RESULTS", raising=False)


def chapter_pages():
    return [
        nb.with_suffix("").relative_to("chapters").as_posix() for nb in book.chapter_notebooks(ROOT)
    ]


def test_every_chapter_has_an_entry_in_every_profile():
    for profile, table in results.profiles().items():
        assert set(chapter_pages()) <= set(table["pages"]), profile


def test_profiles_define_the_same_settings_and_the_full_profile_checks_everything_cpu_does():
    profiles = results.profiles()
    for page in chapter_pages():
        cpu, full = profiles["cpu"]["pages"][page], profiles["full"]["pages"][page]
        assert set(cpu.get("settings", {})) == set(full.get("settings", {})), page
        # full may check more (a page that sweeps training-set sizes records one fact a size)
        assert set(cpu.get("bands", {})) <= set(full.get("bands", {})), page


def test_reading_an_undefined_setting_is_an_error():
    page = results.Page(chapter_pages()[0], profile="cpu")
    with pytest.raises(KeyError, match="not defined"):
        page.settings.epochs_that_do_not_exist  # noqa: B018


def test_recording_a_number_without_reference_or_band_is_an_error():
    page = results.Page(chapter_pages()[0], profile="cpu")
    with pytest.raises(KeyError, match="no reference"):
        page.record("a.number.nobody.checks", 42)


def test_a_fact_outside_its_reference_fails(monkeypatch, tmp_path):
    monkeypatch.setenv("CASEBOOK_RESULTS", str(tmp_path))
    page = results.Page("01_classic_networks/01_lenet5", profile="cpu")
    page.record("lenet5.params", 61_707)
    saved = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert saved["facts"][0]["passed"] is False


@pytest.mark.parametrize("notebook", book.chapter_notebooks(ROOT), ids=str)
def test_source_notebooks_are_committed_clean_and_parameterised(notebook):
    cells = json.loads((ROOT / notebook).read_text())["cells"]
    assert not any(
        c.get("outputs") or c.get("execution_count") for c in cells if c["cell_type"] == "code"
    )
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "one cell tagged 'parameters' for papermill"
    assert "profile" in "".join(tagged[0]["source"]) and "seed" in "".join(tagged[0]["source"])


def test_references_are_values_not_strings():
    """YAML reads 1.14e9 as a string (its floats need a signed exponent): catch such typos."""
    for page, facts in results.references().items():
        for name, reference in facts.items():
            assert not isinstance(reference["value"], str), f"{page}: {name}"
            assert reference.get("source"), f"{page}: {name} needs a source"


def test_the_executor_refuses_unknown_profiles_and_notebooks(capsys):
    assert cli.main(["execute", "--profile", "gpu-ish"]) == 1
    assert "unknown profile 'gpu-ish'" in capsys.readouterr().err
    assert cli.main(["execute", "02_alexnett"]) == 1
    assert "no chapter notebook called 02_alexnett; there are: 01_lenet5" in capsys.readouterr().err
    assert cli.main(["execute", "--profile", "cpu", "02_alexnett"]) == 1  # options first
    assert "no chapter notebook called 02_alexnett" in capsys.readouterr().err


def test_an_execution_is_reused_only_with_its_own_facts(tmp_path):
    target, facts = tmp_path / "page.ipynb", tmp_path / "page.json"
    target.write_text(json.dumps({"cells": [], "metadata": {"casebook": {"inputs_hash": "abc"}}}))
    facts.write_text(json.dumps({"facts": []}))
    assert not book.cached(target, "abc", facts)  # facts not written by that run
    book.stamp(facts, "abc")
    assert book.cached(target, "abc", facts)
    assert not book.cached(target, "changed inputs", facts)


def test_executions_leave_the_callers_environment_alone(monkeypatch):
    monkeypatch.delenv("CASEBOOK_RESULTS", raising=False)
    with book.kernel_environment(CASEBOOK_RESULTS="/somewhere"):
        assert os.environ["CASEBOOK_RESULTS"] == "/somewhere"
    assert "CASEBOOK_RESULTS" not in os.environ


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
        if len(calls) == 1:
            raise RuntimeError(first_error)
        target.write_text(json.dumps({"cells": [], "metadata": {}}))

    monkeypatch.setattr(executor, "execute_with_papermill", execute_with_papermill)
    target = tmp_path / "executed" / "page.ipynb"
    if tries == 1:
        with pytest.raises(RuntimeError, match="NameError"):
            book.run_papermill(tmp_path, "page.ipynb", target, "cpu", 0, "abc")
    else:
        book.run_papermill(tmp_path, "page.ipynb", target, "cpu", 0, "abc")
        assert json.loads(target.read_text())["metadata"]["casebook"]["inputs_hash"] == "abc"
    assert len(calls) == tries


def test_a_shared_cache_brings_back_only_a_whole_execution_with_the_same_inputs(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("CASEBOOK_EXECUTION_CACHE", str(tmp_path / "cache"))
    target, facts = tmp_path / "run" / "page.ipynb", tmp_path / "run" / "page.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"cells": [], "metadata": {"casebook": {"inputs_hash": "abc"}}}))
    facts.write_text(json.dumps({"facts": []}))
    book.stamp(facts, "abc")
    book.keep("abc", target, facts)

    clone = tmp_path / "clone"
    fresh_target, fresh_facts = clone / "page.ipynb", clone / "page.json"
    assert not book.restore("other inputs", fresh_target, fresh_facts)
    assert book.restore("abc", fresh_target, fresh_facts)
    assert book.cached(fresh_target, "abc", fresh_facts)
    (tmp_path / "cache" / "abc" / "facts.json").unlink()  # half a cache entry is no entry
    assert not book.restore("abc", clone / "again.ipynb", clone / "again.json")
    monkeypatch.setenv("CASEBOOK_EXECUTION_CACHE", "off")
    assert book.shared_cache() is None and not book.restore("abc", fresh_target, fresh_facts)


def test_a_chapters_hash_covers_the_modules_it_imports_and_not_the_autograder():
    root = book.repo_root()
    for notebook in book.chapter_notebooks(root):
        files = {
            path.relative_to(book.PACKAGE).as_posix()
            for path in book.chapter_modules(book.code_of(root / notebook))
        }
        assert {"training.py", "results.py", "models/lenet.py"} <= files, notebook
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
