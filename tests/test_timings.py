"""The benchmark's report: what `make bench` prints and what the Verification page shows."""

import json
from unittest import mock

import pytest
from IPython.display import Markdown

from casebook import timing, training
from casebook.book import timings

REPORT = {
    "device": "CPU, 2 cores, x86_64 (tensorflow)",
    "recorded": "2026-11-26",
    "profile": "cpu",
    "images": 4096,
    "students": 30,
    "chapter seconds": {"01_classic_networks/01_lenet5": 72.5},
    "training images/s": {"LeNet-5": 6000.0, "small VGG": 900.0},
    "input pipeline images/s": {"in memory": 5000.0, "pipeline": 4000.0},
    "book build s": {"from cached executions": 100.0, "cold (executions + build)": None},
    "autograde submissions/min": {},
    "autograde ratios": {"cluster time over processes, 2 worker(s)": 1.034},
    "small VGG training images/s by backend": {"tensorflow": 900.0, "jax": 1800.0, "torch": None},
}


def test_the_report_names_its_machine_and_gives_ratios_to_the_baseline():
    text = timings.render(REPORT)
    assert text.startswith("# Benchmark on CPU, 2 cores, x86_64 (tensorflow), 2026-11-26")
    assert "## Chapters, cpu profile" in text
    assert "| 01_classic_networks/01_lenet5 | 72.5 |" in text
    assert "| pipeline | 4,000.0 | 0.80 |" in text  # a ratio of in-memory training
    assert "| jax | 1,800.0 | 2.00 |" in text  # a ratio of TensorFlow
    assert "| torch | not available | |" in text
    assert "| cold (executions + build) | not available | |" in text
    assert "## Autograder\n" not in text  # a section with nothing measured is left out
    assert "| cluster time over processes, 2 worker(s) | 1.03 |" in text


def test_the_book_shows_the_saved_benchmark_as_headings_and_tables(tmp_path, capsys):
    (tmp_path / "benchmark.json").write_text(json.dumps(REPORT))
    assert timings.saved(tmp_path) == REPORT
    shown = []
    with mock.patch("IPython.display.display", shown.append):
        timings.show_in_book(tmp_path)
    texts = [item.data for item in shown if isinstance(item, Markdown)]
    assert texts[0].startswith("## Benchmark on CPU, 2 cores, x86_64 (tensorflow), 2026-11-26")
    assert "### Training throughput" in texts
    tables = [item.data for item in shown if not isinstance(item, Markdown)]  # Stylers
    assert len(tables) == len(list(timings.measured(REPORT)))
    pipeline = tables[2]
    assert list(pipeline.columns) == ["", "images/s", "ratio to in memory"]
    assert pipeline.values.tolist()[1] == ["pipeline", "4,000.0", "0.80"]


def test_without_a_saved_benchmark_the_book_says_how_to_make_one(tmp_path):
    assert timings.saved(tmp_path) is None
    shown = []
    with mock.patch("IPython.display.display", shown.append):
        timings.show_in_book(tmp_path)
    (only,) = shown
    assert only.data.startswith("## Benchmark") and "`make bench`" in only.data


def test_throughput_is_images_over_the_median_epoch(monkeypatch):
    import keras

    from casebook import training

    seconds = iter([0.5, 4.0, 1.0])  # one slow epoch among three: the median ignores it
    monkeypatch.setattr(
        training.EpochTimes,
        "on_train_end",
        lambda self, logs=None: setattr(self, "seconds", [next(seconds) for _ in range(3)]),
        raising=False,
    )
    x, y = timings.batches(256)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()])
    model.add(keras.layers.Dense(10, activation="softmax"))
    assert timings.images_per_second(model, x, y, epochs=3, batch_size=64) == 256 / 1.0


def test_the_step_overhead_is_a_fit_step_over_a_bare_step_before_and_after_the_recipe():
    training.use_recipe(steps_per_execution=4)
    try:
        steps, ratios = timings.step_overhead(256, batch_size=64, labels=("LeNet-5",))
    finally:
        training.use_recipe()
    after = training.executed_steps(4)  # PyTorch's trainer runs one step a call
    bare = steps["LeNet-5: a bare step (train_on_batch)"]
    for calls in {1, after}:
        fit = steps[f"LeNet-5: a step inside fit, {calls} per call"]
        assert fit > 0 and bare > 0
        assert ratios[f"LeNet-5: fit step / bare step, {calls} per call"] == pytest.approx(
            fit / bare
        )
    gain = ratios["LeNet-5: images/s, 4 per call over 1"]
    assert gain == pytest.approx(
        steps["LeNet-5: a step inside fit, 1 per call"]
        / steps[f"LeNet-5: a step inside fit, {after} per call"]
    )


def test_larger_batches_time_the_pages_batch_and_the_scaled_one_at_the_recipes_steps():
    training.use_recipe(steps_per_execution=2)
    try:
        rates, gains = timings.larger_batches(256, scale=2, batch_size=32, labels=("LeNet-5",))
    finally:
        training.use_recipe()
    per_call = training.executed_steps(2)
    small, large = (rates[f"LeNet-5: batch {b}, {per_call} per call"] for b in (32, 64))
    assert small > 0 and large > 0 and len(rates) == 2
    assert gains == {"LeNet-5: images/s, batch 64 over 32": pytest.approx(large / small)}


def test_the_pipeline_comparison_times_each_source_in_turns(monkeypatch):
    calls = []
    real = timing.median_seconds

    def spy(functions, *args, repeats):
        calls.append((sorted(functions), repeats))
        return real(functions, *args, repeats=repeats)

    monkeypatch.setattr(timing, "median_seconds", spy)
    rates = timings.pipeline_ratios(256, repeats=1)
    per_call = training.executed_steps(training.current_recipe().steps_per_execution)
    sources = {
        "in memory",
        "pipeline",
        "pipeline + distortions",
        f"in memory, {per_call} per call",
        f"distortions in the step, {per_call} per call",
        f"kept on the device, {per_call} per call",
    }
    assert calls == [(sorted(sources), 1)]
    assert set(rates) == sources
    assert all(rate > 0 for rate in rates.values())
