"""Recording a run of the full profile on a GPU, and what the Verification page makes of it."""

import json

import pytest

from casebook import facts as facts_module
from casebook.book import gpu_runs, runs

VGG, RESNET = "chapters/01_classic_networks/03_vgg.ipynb", "chapters/02_resnets/01_resnet.ipynb"


def run_records(folder, vgg_seconds=79.4):
    """The executor's records of a run: VGG finished, ResNet started and was cut off."""
    vgg = {"notebook": VGG, "settings": {"batch_size": 128, "epochs": 30}}
    resnet = {"notebook": RESNET, "settings": {"depth": 20, "stem_pool": False}}
    for number, (run, status, seconds) in enumerate(
        [(vgg, "done", vgg_seconds), (resnet, "running", None)]
    ):
        run = {**run, "started": f"2026-11-26T12:5{number}:00+00:00"}
        runs.write(folder / f"{number}.json", {**run, "status": status, "seconds": seconds})
    return folder


def fact(page, name, passed, device="NVIDIA H100 80GB HBM3 (jax)"):
    return {
        "page": page,
        "name": name,
        "value": 0.92,
        "expected": "in [0.93, 1.0]",
        "passed": passed,
        "source": "full profile band",
        "profile": "full",
        "seed": 0,
        "device": device,
        "recorded": "2026-11-26T12:56:35+00:00",
    }


def results_folder(tmp_path, device="NVIDIA H100 80GB HBM3 (jax)"):
    folder = tmp_path / "results"
    folder.mkdir(parents=True)
    pages = {
        "01_classic_networks/03_vgg": [fact("01_classic_networks/03_vgg", "a", False, device)],
        "02_resnets/01_resnet": [fact("02_resnets/01_resnet", "b", True, device)],
    }
    for page, facts in pages.items():
        saved = {"page": page, "expected": ["a", "b", "c"][: len(facts) + 1], "facts": facts}
        (folder / f"{page.replace('/', '__')}.json").write_text(json.dumps(saved))
    return folder


def test_a_recorded_run_keeps_the_facts_the_times_and_the_settings(tmp_path):
    log = run_records(tmp_path / "records")
    note = "The pages shared the GPU, 5 at a time."
    folder = gpu_runs.record(results_folder(tmp_path), log, "abc1234", tmp_path / "runs", note)
    assert folder.name == "2026-11-26-1256-nvidia-h100-80gb-hbm3-jax"
    meta = json.loads((folder / "run.json").read_text())
    assert meta["note"] == note
    vgg, resnet = VGG, RESNET
    assert meta["started"] == [vgg, resnet] and meta["seconds"] == {vgg: 79}
    assert meta["settings"][resnet] == {"depth": 20, "stem_pool": False}
    ((saved, facts),) = gpu_runs.runs(tmp_path / "runs")
    assert saved == meta and len(facts) == 4  # two recorded, two expected but not recorded

    now = {"01_classic_networks/03_vgg": {"settings": {"batch_size": 128, "epochs": 30}}}
    vgg_row, resnet_row = gpu_runs.overview(meta, facts, pages=now)
    assert (vgg_row["seconds"], vgg_row["fail"], vgg_row["settings now"]) == (79, 1, "the same")
    assert (resnet_row["seconds"], resnet_row["pass"]) == ("cut off", 1)
    assert resnet_row["settings now"] == "changed since"
    with pytest.raises(FileExistsError):  # a run is recorded once, never overwritten
        gpu_runs.record(results_folder(tmp_path / "again"), log, "abc1234", tmp_path / "runs")

    later = results_folder(tmp_path / "later")  # the same day, hours later: listed first
    for path in later.glob("*.json"):
        path.write_text(path.read_text().replace("T12:56:35", "T16:02:10"))
    gpu_runs.record(later, log, "def5678", tmp_path / "runs")
    assert [meta["commit"] for meta, _ in gpu_runs.runs(tmp_path / "runs")] == [
        "def5678",
        "abc1234",
    ]


def test_each_page_comes_from_the_newest_run_that_reached_it(tmp_path):
    log = run_records(tmp_path / "records")  # VGG finished, ResNet started, recorded one fact
    gpu_runs.record(results_folder(tmp_path / "first"), log, "abc1234", tmp_path / "runs")
    later = results_folder(tmp_path / "later")  # hours later: ResNet again, cut off at once
    for path in later.glob("*.json"):
        saved = json.loads(path.read_text().replace("T12:56:35", "T16:02:10"))
        saved["facts"] = [f for f in saved["facts"] if f["page"] != "02_resnets/01_resnet"]
        path.write_text(json.dumps(saved))
    again = run_records(tmp_path / "records2", vgg_seconds=70)
    gpu_runs.record(later, again, "def5678", tmp_path / "runs")

    chosen = gpu_runs.newest_per_page(gpu_runs.runs(tmp_path / "runs"))
    vgg, resnet = VGG, RESNET
    assert list(chosen) == [vgg, resnet]  # the book's order
    assert chosen[vgg][0]["commit"] == "def5678"  # newer, and it reached the page
    assert chosen[resnet][0]["commit"] == "abc1234"  # the newer run recorded nothing of it
    assert gpu_runs.run_label(*chosen[vgg]).startswith("2026-11-26 16:02 UTC, NVIDIA H100")


def test_the_page_shows_failures_and_folds_each_pages_facts(tmp_path, monkeypatch):
    import IPython.display

    log = run_records(tmp_path / "records")  # VGG's one fact failed, ResNet's passed
    gpu_runs.record(results_folder(tmp_path), log, "abc1234", tmp_path / "runs")
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    gpu_runs.show_in_book(tmp_path / "runs")

    text = [o.to_html() if hasattr(o, "to_html") else o.data for o in shown]
    assert "1 of 2 recorded facts passed. The ones that failed:" in text[2]
    failures = text[3]
    assert "01_classic_networks/03_vgg" in failures and "02_resnets" not in failures
    folds = text[-1]
    assert folds.count('<details class="facts">') == 2  # no "open": closed until a reader asks
    assert "01_classic_networks/03_vgg: 0 of 1 facts passed (2026-11-26 12:56 UTC" in folds
    assert "02_resnets/01_resnet: 1 of 1 facts passed" in folds


def test_a_cpu_run_is_not_recorded_as_a_gpu_run(tmp_path):
    cpu = results_folder(tmp_path, device="CPU, 2 cores, x86_64 (tensorflow)")
    with pytest.raises(ValueError, match="one GPU run.*CPU, 2 cores"):
        gpu_runs.record(cpu, run_records(tmp_path / "records"), "abc1234", runs=tmp_path / "runs")


def test_every_recorded_run_names_a_gpu_and_only_pages_the_book_has():
    pages = set(facts_module.profiles()["full"]["pages"])
    for meta, facts in gpu_runs.runs():
        assert "CPU" not in meta["device"] and set(facts["device"].dropna()) == {meta["device"]}
        assert set(facts["page"]) <= pages
        assert set(meta["seconds"]) <= set(meta["started"])


def test_recording_needs_the_executors_run_records(tmp_path, capsys):
    with pytest.raises(ValueError, match="no run records"):
        gpu_runs.record(results_folder(tmp_path), tmp_path / "nothing", "abc1234", tmp_path / "r")
    facts_folder = results_folder(tmp_path / "cli")
    arguments = ["record", "--facts", str(facts_folder), "--runs", str(tmp_path / "nothing")]
    assert gpu_runs.main([*arguments, "--commit", "abc1234"]) == 1
    assert "holds no run records" in capsys.readouterr().err
