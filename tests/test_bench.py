"""The benchmark's report: what `make bench` prints and what the Verification page shows."""

import json

from casebook import bench

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
    "small VGG training images/s by backend": {"tensorflow": 900.0, "jax": 1800.0, "torch": None},
}


def test_the_report_names_its_machine_and_gives_ratios_to_the_baseline():
    text = bench.render(REPORT)
    assert text.startswith("# Benchmark on CPU, 2 cores, x86_64 (tensorflow), 2026-11-26")
    assert "## Chapters, cpu profile" in text
    assert "| 01_classic_networks/01_lenet5 | 72.5 |" in text
    assert "| pipeline | 4,000.0 | 0.80 |" in text  # a ratio of in-memory training
    assert "| jax | 1,800.0 | 2.00 |" in text  # a ratio of TensorFlow
    assert "| torch | not available | |" in text
    assert "| cold (executions + build) | not available | |" in text
    assert "Autograder" not in text  # a section with nothing measured is left out


def test_the_book_shows_the_saved_benchmark_one_level_down(tmp_path):
    (tmp_path / "benchmark.json").write_text(json.dumps(REPORT))
    section = bench.book_section(tmp_path, level="##")
    assert section.startswith("## Benchmark on CPU")
    assert "\n### Training throughput\n" in section
    assert "| small VGG | 900.0 |" in section


def test_without_a_saved_benchmark_the_book_says_how_to_make_one(tmp_path):
    section = bench.book_section(tmp_path)
    assert section.startswith("## Benchmark")
    assert "`make bench`" in section
