"""The book's benchmark: where the time goes, printed as one table and saved for the book.

    casebook bench [--quick] [--students N] [--profile P] [--out _build/bench]

It measures, on this machine and in one run:

- the time of each chapter in the profile (``CASEBOOK_PROFILE``, cpu unless set; from the
  executions papermill recorded);
- training throughput (images/s) of each small architecture on Fashion-MNIST-sized batches;
- the training recipe (``casebook.training.Recipe``): a step inside ``fit`` with one step per
  call into the compiled loop and with the recipe's steps per call, against a bare step;
- the input pipeline (``casebook.augment.AugmentedBatches``, with and without distortions on
  worker threads, with the distortion inside the compiled step, and with the images kept on the
  device) as a ratio of training from arrays in memory;
- building the book from cached executions against the time a cold build adds (the chapters'
  execution times summed);
- the autograder: submissions graded per minute with one worker and all cores, in local
  processes and on an embedded Dask cluster, and the ratios between them;
- the same model's training throughput on each Keras backend that is installed, side by side
  (each in a fresh interpreter, since the backend is chosen at import).

It is a measurement, not a test: it prints ratios and never fails on a speed. The book's
Verification page shows the last saved benchmark (``show_in_book``).
"""

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from casebook.book import runs
from casebook.book.pages import build_dir

BACKENDS = ("tensorflow", "jax", "torch")
ARCHITECTURES = {
    "LeNet-5": ("lenet5", {"input_shape": (28, 28, 1)}),
    "small VGG": ("vgg_small", {}),
    "small ResNet-8": ("resnet_small", {"depth": 8}),
    "small Inception": ("inception_small", {}),
    "small MobileNet v2": ("mobilenet_v2_small", {}),
    "small EfficientNet": ("efficientnet_small", {}),
}


def chapter_times(root, profile="cpu"):
    """{page: seconds} of the finished runs the executor recorded (``casebook.book.runs``)."""
    records = runs.read_all(build_dir(root, "runs", profile))
    return {run["page"]: run["seconds"] for run in records if run["status"] == "done"}


def batches(count, seed=0):
    """Fashion-MNIST-shaped random images and labels (throughput does not depend on content)."""
    rng = np.random.default_rng(seed)
    return rng.random((count, 28, 28, 1), dtype="float32"), rng.integers(0, 10, count)


def images_per_second(model, x, y, epochs=3, batch_size=128, steps_per_execution=1):
    """Training images/s of the median epoch, after a warm-up fit (tracing and compilation):
    the median, so that one epoch slowed by something else on the machine does not decide."""
    from casebook.training import EpochTimes, executed_steps

    model.compile(
        "adam",
        "sparse_categorical_crossentropy",
        steps_per_execution=executed_steps(steps_per_execution),
    )
    model.fit(x[: batch_size * 2], y[: batch_size * 2], batch_size=batch_size, verbose=0)
    timer = EpochTimes()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[timer])
    return len(x) / float(np.median(timer.seconds))


def architecture_throughput(count):
    from casebook import models, training

    x, y = batches(count)
    rows = {}
    for label, (builder, kwargs) in ARCHITECTURES.items():
        training.seed_everything(0)
        rows[label] = images_per_second(getattr(models, builder)(**kwargs), x, y)
    return rows


def step_overhead(count, batch_size=128, labels=("LeNet-5", "small VGG")):
    """The training recipe's loop against the arithmetic, before and after.

    Milliseconds of one training step inside ``fit`` with one step per call into the compiled
    loop (before the recipe) and with the recipe's ``steps_per_execution`` (after), against one
    bare compiled step (``train_on_batch`` on a batch already in memory); the ratios of each to
    the bare step (what the loop costs over the arithmetic: batching, callbacks, metrics), and
    the images/s of the recipe over before."""
    from casebook import models, timing, training

    per_call = training.current_recipe().steps_per_execution
    x, y = batches(count)
    steps, ratios = {}, {}
    for label in labels:
        builder, kwargs = ARCHITECTURES[label]
        in_fit, compiled = {}, {}
        for calls in dict.fromkeys((1, training.executed_steps(per_call))):
            training.seed_everything(0)
            compiled[calls] = model = getattr(models, builder)(**kwargs)
            rate = images_per_second(model, x, y, batch_size=batch_size, steps_per_execution=calls)
            in_fit[calls] = batch_size / rate
        # the bare step of the model compiled for one step a call: with several, Keras's
        # train_on_batch goes through the multi-step function and is no longer bare
        bare = timing.median_seconds(
            {"step": compiled[1].train_on_batch}, x[:batch_size], y[:batch_size], repeats=20
        )["step"]
        for calls, seconds in in_fit.items():
            steps[f"{label}: a step inside fit, {calls} per call"] = 1000 * seconds
            ratios[f"{label}: fit step / bare step, {calls} per call"] = seconds / bare
        steps[f"{label}: a bare step (train_on_batch)"] = 1000 * bare
        after = in_fit[training.executed_steps(per_call)]
        ratios[f"{label}: images/s, {per_call} per call over 1"] = in_fit[1] / after
    return steps, ratios


def larger_batches(count, scale=None, batch_size=128, labels=("LeNet-5", "small VGG")):
    """What the full profile's larger batches buy on this machine: training images/s at
    ``batch_size`` and at ``scale`` times it (by default the full profile's ``batch_scale``),
    both at the recipe's steps per call, and the second over the first. A CPU is busy at either
    batch; a GPU that a small network's small batch leaves idle gains most of the factor."""
    from casebook import facts, models, training

    scale = scale or facts.profiles()["full"]["defaults"]["settings"]["batch_scale"]
    per_call = training.executed_steps(training.current_recipe().steps_per_execution)
    x, y = batches(count)
    rates, gains = {}, {}
    for label in labels:
        builder, kwargs = ARCHITECTURES[label]
        at = {}
        for batch in (batch_size, scale * batch_size):
            training.seed_everything(0)
            model = getattr(models, builder)(**kwargs)
            at[batch] = images_per_second(
                model, x, y, batch_size=batch, steps_per_execution=per_call
            )
            rates[f"{label}: batch {batch}, {per_call} per call"] = at[batch]
        gains[f"{label}: images/s, batch {scale * batch_size} over {batch_size}"] = (
            at[scale * batch_size] / at[batch_size]
        )
    return rates, gains


def pipeline_ratios(count, repeats=3):
    """Training images/s through the threaded pipeline, plain and distorting, with the
    distortion inside the compiled step (``augment.MirrorAndTranslate``) and with the images
    kept on the device (``training.resident_fit``), both at the recipe's steps per call, over
    in-memory: one epoch of LeNet-5 each, timed in turns by the book's one timer."""
    import keras

    from casebook import augment, models, timing, training

    per_call = training.executed_steps(training.current_recipe().steps_per_execution)
    x, y = batches(count)
    threaded = {
        "pipeline": augment.AugmentedBatches(x, y, 128, seed=0),
        "pipeline + distortions": augment.AugmentedBatches(
            x, y, 128, seed=0, augment=augment.mirror_and_translate
        ),
    }

    def epoch_of(source=None, in_step=False, calls=1, resident=False):
        training.seed_everything(0)
        model = models.lenet5(input_shape=(28, 28, 1), activation="relu", pooling="max")
        if in_step:
            model = training.with_augmentation(model, augment.MirrorAndTranslate(seed=0))
        inputs = x
        if resident:  # the images kept on the device, each step fed their indices
            model, inputs, _, _ = training.resident_fit(model, x, x[:0])
        model.compile(
            keras.optimizers.Adam(), "sparse_categorical_crossentropy", steps_per_execution=calls
        )
        if source is None:
            return lambda: model.fit(inputs, y, batch_size=128, verbose=0)
        return lambda: model.fit(source, verbose=0)

    epochs = {"in memory": epoch_of()}
    epochs |= {name: epoch_of(source) for name, source in threaded.items()}
    epochs[f"in memory, {per_call} per call"] = epoch_of(calls=per_call)
    epochs[f"distortions in the step, {per_call} per call"] = epoch_of(in_step=True, calls=per_call)
    epochs[f"kept on the device, {per_call} per call"] = epoch_of(calls=per_call, resident=True)
    seconds = timing.median_seconds(epochs, repeats=repeats)
    return {name: count / s for name, s in seconds.items()}


def book_build_seconds(root, profile):
    """Seconds to build the HTML from scratch from the cached executions: nothing is executed,
    and Sphinx's own cache (the site folder, which the build makes again) is removed first."""
    from casebook import book

    shutil.rmtree(book.build_dir(root, "site", profile), ignore_errors=True)
    start = time.perf_counter()
    command = [sys.executable, "-m", "casebook.book", "build", "--profile", profile]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        return None
    return time.perf_counter() - start


def grading_rates(students):
    """Submissions graded per minute with one worker and all cores, in local processes and on
    an embedded Dask cluster (``casebook.course.throughput``), and the ratios between them."""
    from casebook.course.throughput import ratios, submissions_per_minute

    most = os.cpu_count() or 1
    rates = submissions_per_minute(students, (1, most), via=("processes", "cluster"))
    shown = {f"{students} submissions, {way}, {n} worker(s)": r for (way, n), r in rates.items()}
    return shown, ratios(rates)


BACKEND_PROBE = """
import json
import keras
from casebook import models
from casebook.book.timings import batches, images_per_second
keras.utils.set_random_seed(0)
x, y = batches({count})
print(json.dumps(images_per_second(models.vgg_small(), x, y)))
"""


def backend_throughput(count):
    """The small VGG's training images/s on each installed backend, one interpreter each."""
    rows = {}
    for backend in BACKENDS:
        module = "tensorflow" if backend == "tensorflow" else backend
        if importlib.util.find_spec(module) is None:
            rows[backend] = None
            continue
        code = BACKEND_PROBE.format(count=count)
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
            capture_output=True,
            text=True,
        )
        rows[backend] = float(done.stdout.split()[-1]) if done.returncode == 0 else None
    return rows


SECTIONS = (  # (title, report key, unit, the row the others are a ratio of)
    ("Chapters, {profile} profile", "chapter seconds", "s", None),
    ("Training throughput", "training images/s", "images/s", None),
    ("Training step, batch of 128", "training step ms", "ms", None),
    ("Loop overhead per step, and the recipe's gain", "fit step over bare step", "x", None),
    ("Larger batches (the full profile's batch_scale)", "larger batch images/s", "images/s", None),
    ("Larger batches: the gain", "larger batch gain", "x", None),
    ("Input pipeline", "input pipeline images/s", "images/s", "in memory"),
    ("Book build", "book build s", "s", "from cached executions"),
    ("Autograder", "autograde submissions/min", "submissions/min", None),
    ("Autograder: cluster against processes", "autograde ratios", "x", None),
    (
        "Same model, each backend",
        "small VGG training images/s by backend",
        "images/s",
        "tensorflow",
    ),
)


def measured(report):
    """(title, rows, unit, baseline) of each section that has something measured."""
    for title, key, unit, baseline in SECTIONS:
        if report.get(key):
            yield title.format(profile=report["profile"]), report[key], unit, baseline


def cells(rows, baseline=None):
    """Each row as [name, value, ratio to the baseline] in text, for a table."""
    reference = rows.get(baseline) if baseline else None
    for name, value in rows.items():
        if value is None:
            yield [name, "not available", ""]
        else:
            shown = f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"  # ratios: 1.03, not 1.0
            yield [name, shown, f"{value / reference:.2f}" if reference else ""]


def table(title, rows, unit, baseline=None, level="##"):
    """One section as a Markdown table (a ratio column when there is a baseline)."""
    lines = [f"\n{level} {title}\n", f"| | {unit} |" + (" ratio |" if baseline else "")]
    lines.append("|---|---|" + ("---|" if baseline else ""))
    for name, value, ratio in cells(rows, baseline):
        row = f"| {name} | {value} |"
        if baseline:
            row += f" {ratio} |" if ratio else " |"
        lines.append(row)
    return "\n".join(lines)


def heading(report):
    return f"Benchmark on {report['device']}, {report['recorded']}"


def scope(report):
    return (
        f"{report['images']:,} images per throughput measurement, "
        f"{report['students']} submissions for the autograder."
    )


def render(report, level="#"):
    """The report as Markdown: a heading with the device and date, then one table a section."""
    text = [f"{level} {heading(report)}", f"\n{scope(report)}"]
    text += [table(*section, level=level + "#") for section in measured(report)]
    return "\n".join(text) + "\n"


def saved(folder):
    """The report ``make bench`` last saved in ``folder`` (``benchmark.json``), or None."""
    path = Path(folder) / "benchmark.json"
    return json.loads(path.read_text()) if path.exists() else None


def show_in_book(folder):
    """The Verification page's Benchmark section: headings as Markdown, tables as tables
    (the book renders Markdown outputs as CommonMark, which has no tables)."""
    import pandas as pd
    from IPython.display import Markdown, display

    from casebook import show

    report = saved(folder)
    if report is None:
        display(Markdown(f"## Benchmark\n\n{NOT_SAVED}"))
        return
    display(Markdown(f"## {heading(report)}\n\n{scope(report)}"))
    for title, rows, unit, baseline in measured(report):
        columns = ["", unit, f"ratio to {baseline}" if baseline else ""]
        frame = pd.DataFrame(list(cells(rows, baseline)), columns=columns)
        display(Markdown(f"### {title}"))
        display(show.table(frame if baseline else frame.iloc[:, :2]))


NOT_SAVED = (
    "No benchmark was saved before this build. `make bench` measures one on the machine it "
    "runs on and saves it for the next build."
)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="casebook bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer images, a shorter run")
    parser.add_argument(
        "--students", type=int, help="submissions to grade (100; 12 if --quick; 0: none)"
    )
    parser.add_argument("--profile", default=os.environ.get("CASEBOOK_PROFILE", "cpu"))
    parser.add_argument("--out", type=Path, default=Path("_build/bench"))
    parser.add_argument("--skip-build", action="store_true", help="leave out the book build")
    args = parser.parse_args(argv)
    from casebook import book, training

    root = book.repo_root()
    count = 1024 if args.quick else 4096
    students = args.students if args.students is not None else 12 if args.quick else 100
    report = {
        "device": training.describe_device(),
        "recorded": time.strftime("%Y-%m-%d", time.gmtime()),
        "profile": args.profile,
        "images": count,
        "students": students,
    }
    report["chapter seconds"] = chapter_times(root, args.profile)
    report["training images/s"] = architecture_throughput(count)
    report["training step ms"], report["fit step over bare step"] = step_overhead(count)
    report["larger batch images/s"], report["larger batch gain"] = larger_batches(count)
    report["input pipeline images/s"] = pipeline_ratios(count)
    cached = None if args.skip_build else book_build_seconds(root, args.profile)
    cold = sum(report["chapter seconds"].values())
    report["book build s"] = {
        "from cached executions": cached,
        "cold (executions + build)": cold + cached if cached else None,
    }
    report["autograde submissions/min"], report["autograde ratios"] = (
        grading_rates(students) if students else ({}, {})
    )
    report["small VGG training images/s by backend"] = backend_throughput(count)

    output = render(report)
    print(output)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmark.md").write_text(output)
    (args.out / "benchmark.json").write_text(json.dumps(report, indent=1))
    print(f"saved {args.out / 'benchmark.md'} and benchmark.json; the next book build shows it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
