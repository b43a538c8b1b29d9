"""casebook.facts and profiles.yml: every page defined in every profile, with the same settings;
facts checked against a reference or a band."""

import json
from pathlib import Path

import pytest

from casebook import book, facts

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_results_folder(monkeypatch):
    """Pages made here must not write into the results of the real executions."""
    monkeypatch.delenv("CASEBOOK_FACTS", raising=False)


def chapter_pages():
    return [
        nb.with_suffix("").relative_to("chapters").as_posix() for nb in book.chapter_notebooks(ROOT)
    ]


def test_every_chapter_has_an_entry_in_every_profile():
    for profile, table in facts.profiles().items():
        assert set(chapter_pages()) <= set(table["pages"]), profile


def test_profiles_define_the_same_settings_and_the_full_profile_checks_everything_cpu_does():
    for page in chapter_pages():
        cpu, full = facts.page_entry("cpu", page), facts.page_entry("full", page)
        assert set(cpu["settings"]) == set(full["settings"]), page
        # full may check more (a page that sweeps training-set sizes records one fact a size)
        assert set(cpu["bands"]) <= set(full["bands"]), page


def test_a_scaled_batchs_warm_up_is_shorter_than_every_run_on_its_page():
    # train() refuses a warm-up as long as the run; this finds it before a GPU run does
    for profile in facts.profiles():
        for page in chapter_pages():
            settings = facts.page_entry(profile, page)["settings"]
            if settings["batch_scale"] == 1:
                continue
            runs = {
                key: value
                for key, value in settings.items()
                if key.endswith("epochs") and key != "scaled_warmup_epochs"
            }
            for key, epochs in runs.items():
                assert epochs > settings["scaled_warmup_epochs"], (profile, page, key)


def test_a_page_starts_from_its_profiles_defaults_and_overrides_them():
    for profile, table in facts.profiles().items():
        defaults = table["defaults"]["settings"]
        for page, entry in table["pages"].items():
            settings = facts.page_entry(profile, page)["settings"]
            own = entry.get("settings", {})
            assert settings == {**defaults, **own}, (profile, page)
            # a page repeats no default: it lists only what it changes
            assert not {k for k, v in own.items() if defaults.get(k) == v}, (profile, page)
    with pytest.raises(KeyError, match="unknown profile 'gpu-ish'"):
        facts.page_entry("gpu-ish", "01_classic_networks/01_lenet5")
    with pytest.raises(KeyError, match="no entry in profile 'cpu'"):
        facts.page_entry("cpu", "10_chapter/01_missing")


def test_reading_an_undefined_setting_is_an_error():
    page = facts.Page(chapter_pages()[0], profile="cpu")
    with pytest.raises(KeyError, match="not defined"):
        page.settings.epochs_that_do_not_exist  # noqa: B018


def test_recording_a_number_without_reference_or_band_is_an_error():
    page = facts.Page(chapter_pages()[0], profile="cpu")
    with pytest.raises(KeyError, match="no reference"):
        page.record("a.number.nobody.checks", 42)


def test_a_fact_outside_its_reference_fails(monkeypatch, tmp_path):
    monkeypatch.setenv("CASEBOOK_FACTS", str(tmp_path))
    page = facts.Page("01_classic_networks/01_lenet5", profile="cpu")
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
    for page, page_references in facts.references().items():
        for name, reference in page_references.items():
            assert not isinstance(reference["value"], str), f"{page}: {name}"
            assert reference.get("source"), f"{page}: {name} needs a source"
