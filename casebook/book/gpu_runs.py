"""The full profile's runs on a GPU, kept with the book.

A GPU runner executes the chapters in the ``full`` profile (``make gpu-check``): each page
writes the facts it checked to ``_build/facts/full`` and the executor writes each page's run
record (inputs hash, settings, seconds, status) to ``_build/runs/full``. ``record`` keeps a copy
of those facts (``facts/``) and the runs' times and settings (``run.json``) in
``casebook/book/recorded_gpu_runs/<date>-<HHMM>-<device>/``, so that every build of the book,
the ``cpu`` builds of CI too, shows on its Verification page what the full profile gave on a
GPU, with the GPU named: each page from the newest run that reached it, so a later run of a few
pages adds to the earlier ones. Nothing in a recorded run is typed: the facts are the pages' own
files and the times and settings are the executor's run records.

    casebook gpu-runs record [--facts _build/facts/full] [--runs _build/runs/full] --commit SHA
                             [--note TEXT]

``--note`` says how the run was made where that bears on its numbers (pages that shared the
GPU, say, which slows each of them and skews their timings); the page shows it with the run.
"""

import argparse
import html
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

from casebook import book, show
from casebook.book import runs as run_records
from casebook.facts import load_facts, number_text, page_entry

RUNS = Path(__file__).resolve().parent / "recorded_gpu_runs"


def record(facts_folder, runs_folder, commit, runs=RUNS, note=""):
    """Copy a facts folder, and the times and settings of the executor's run records, into a
    new run folder named after the time of the run's first fact and its device."""
    files = sorted(Path(facts_folder).glob("*.json"))
    facts = [fact for path in files for fact in json.loads(path.read_text())["facts"]]
    devices = {fact["device"] for fact in facts}
    if not facts or len(devices) != 1 or "CPU" in next(iter(devices)):
        raise ValueError(
            f"{facts_folder} should hold the facts of one GPU run; its devices are "
            f"{sorted(devices) or 'none'}. Record the facts folder of a full-profile run."
        )
    started, seconds, settings = read_runs(run_records.read_all(runs_folder))
    if not started:
        raise ValueError(f"{runs_folder} holds no run records: record the run's _build/runs/full")
    device = devices.pop()
    first = min(fact["recorded"] for fact in facts)  # 2026-11-26T12:55:33+00:00
    when = f"{first[:10]}-{first[11:13]}{first[14:16]}"
    folder = Path(runs) / f"{when}-{re.sub(r'[^a-z0-9]+', '-', device.lower()).strip('-')}"
    (folder / "facts").mkdir(parents=True, exist_ok=False)
    for path in files:
        shutil.copy(path, folder / "facts" / path.name)
    meta = {"device": device, "commit": commit, "started": started, "seconds": seconds}
    meta["settings"] = settings
    if note:
        meta["note"] = note
    (folder / "run.json").write_text(json.dumps(meta, indent=1) + "\n")
    return folder


def read_runs(records):
    """From the executor's run records: the pages started (in the order they started), the
    seconds of those that finished, and the settings each ran with."""
    started = [run["notebook"] for run in records]
    seconds = {run["notebook"]: round(run["seconds"]) for run in records if run["status"] == "done"}
    settings = {run["notebook"]: run["settings"] for run in records}
    return started, seconds, settings


def runs(folder=RUNS):
    """Every recorded run, newest first (the folder names begin with the date and time):
    (its run.json, its facts as load_facts gives them)."""
    found = sorted(Path(folder).glob("*/run.json"), reverse=True)
    return [(json.loads(path.read_text()), load_facts(path.parent / "facts")) for path in found]


def overview(meta, facts, pages=None):
    """One row per page the run started: its time, its facts, and whether the full profile's
    settings for it are still the ones it ran with."""
    rows = []
    for notebook in meta["started"]:
        page = book.page_name(Path(notebook))
        ran = facts[(facts["page"] == page) & (facts["expected"] != "NOT RECORDED")]
        now = pages.get(page, {}).get("settings") if pages else full_settings(page)
        same = meta["settings"].get(notebook) == now
        rows.append(
            {
                "page": page,
                "seconds": meta["seconds"].get(notebook, "cut off"),
                "facts recorded": len(ran),
                "pass": int(ran["passed"].astype(bool).sum()),
                "fail": int((~ran["passed"].astype(bool)).sum()),
                "settings now": "the same" if same else "changed since",
            }
        )
    return rows


def full_settings(page):
    """The full profile's settings for a page today (None for a page it no longer has)."""
    try:
        return page_entry("full", page)["settings"]
    except KeyError:
        return None


def run_time(facts):
    """When a run began: the time of its first fact, "YYYY-MM-DD HH:MM UTC"."""
    first = min(facts.loc[facts["expected"] != "NOT RECORDED", "recorded"])
    return f"{first[:10]} {first[11:16]} UTC"


def run_label(meta, facts):
    """A run as the page lists it: when it began and its device."""
    return f"{run_time(facts)}, {meta['device']}"


def newest_per_page(recorded):
    """For each page a recorded run started, the newest run that recorded a fact of it (else
    the newest that started it): {notebook: (meta, facts)}, in the book's order.

    A later run of a few pages then adds to the earlier runs instead of hiding them.
    """
    chosen = {}
    for meta, facts in recorded:  # newest first
        ran = facts[facts["expected"] != "NOT RECORDED"]
        for notebook in meta["started"]:
            reached = bool((ran["page"] == book.page_name(Path(notebook))).any())
            if notebook not in chosen or (reached and not chosen[notebook][2]):
                chosen[notebook] = (meta, facts, reached)
    return {nb: chosen[nb][:2] for nb in sorted(chosen)}  # numbered chapters: the book's order


def show_in_book(folder=RUNS):
    """The Verification page's account of the recorded runs: each page from its newest run."""
    from IPython.display import HTML, Markdown, display

    heading = "## The full profile on a GPU\n\n"
    recorded = runs(folder)
    if not recorded:
        display(Markdown(heading + "No run of the full profile on a GPU is recorded yet."))
        return
    per_page = newest_per_page(recorded)
    used = [
        (meta, facts) for meta, facts in recorded if any(m is meta for m, _ in per_page.values())
    ]
    lines = []
    for meta, facts in used:
        ran = facts[facts["expected"] != "NOT RECORDED"]
        seeds = ", ".join(sorted({str(int(s)) for s in ran["seed"]}))
        line = (
            f"- **{run_label(meta, facts)}**: seed {seeds}, commit `{meta['commit']}`, "
            f"{len(meta['started'])} pages started."
        )
        lines.append(line + (f" How it ran: {meta['note']}" if meta.get("note") else ""))
    display(
        Markdown(
            f"{heading}Each page below comes from the newest recorded run of the `full` profile "
            "that reached it; the tables name a run by the time it began. The runs:\n\n"
            + "\n".join(lines)
            + "\n\nA page cut off before its end recorded only the facts it reached; a page "
            "whose settings changed since trains differently now."
        )
    )
    rows, tables = [], []
    for notebook, (meta, facts) in per_page.items():
        label = run_time(facts)  # the device is in the list of runs: a narrow column
        row = next(r for r in overview(meta, facts) if r["page"] == book.page_name(Path(notebook)))
        rows.append({**row, "run": label})
        page_facts = facts[(facts["page"] == row["page"]) & (facts["expected"] != "NOT RECORDED")]
        tables.append(page_facts.assign(run=label))
    display(show.table(pd.DataFrame(rows)))
    ran = pd.concat(tables, ignore_index=True)
    table = ran[["page", "name", "value", "expected", "passed", "run"]].assign(
        value=[number_text(v) for v in ran["value"]],
        passed=["pass" if p else "FAIL" for p in ran["passed"]],
    )
    table = table.rename(columns={"name": "fact", "passed": "check"})
    failed = table[table["check"] == "FAIL"]
    display(
        Markdown(
            f"{int(ran['passed'].astype(bool).sum())} of {len(ran)} recorded facts passed. "
            + ("The ones that failed:" if len(failed) else "None failed.")
        )
    )
    if len(failed):
        display(show.table(failed))
    # Every fact of every page, folded page by page: two hundred rows would make this page
    # longer than the rest of the book, and the failures are shown above.
    display(HTML("".join(folded(page, facts) for page, facts in table.groupby("page", sort=False))))


def folded(page, facts):
    """One page's facts as an HTML table inside a closed <details>, its summary the counts."""
    passed = int((facts["check"] == "pass").sum())
    summary = f"{page}: {passed} of {len(facts)} facts passed ({facts['run'].iloc[0]})"
    table = show.table(facts.drop(columns=["page", "run"])).to_html()
    return f'<details class="facts"><summary>{html.escape(summary)}</summary>{table}</details>'


def main(argv=None):
    parser = argparse.ArgumentParser(prog="casebook gpu-runs", description=__doc__)
    parser.add_argument("command", choices=["record"])
    parser.add_argument("--facts", type=Path, default=Path("_build/facts/full"))
    parser.add_argument("--runs", type=Path, default=Path("_build/runs/full"))
    parser.add_argument("--commit", required=True, help="the commit the run executed")
    parser.add_argument("--note", default="", help="how the run was made, shown with it")
    args = parser.parse_args(argv)
    try:
        print(record(args.facts, args.runs, args.commit, note=args.note))
    except (ValueError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
