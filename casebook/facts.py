"""Record every number a page claims, check it against its reference, and glue it into prose.

A chapter notebook opens a ``Page`` with its name, profile and seed. ``page.settings`` gives the
profile's settings for that page (asking for one the profile does not define is an error).
``page.record(name, value)`` checks the value against what ``references.yml`` (papers,
keras.applications, torchvision, the notes' arithmetic) or the profile's accuracy bands
expect, stores the fact with the profile, seed and device, and glues the value so the prose
can quote the measured number instead of a typed one. When ``CASEBOOK_FACTS`` names a
folder, the facts are written there as ``<page>.json`` for the tests and the book's
verification page.
"""

import datetime
import json
import math
import os
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).parent


@cache
def references():
    return yaml.safe_load((HERE / "references.yml").read_text())


def reference(page, name):
    """The value references.yml gives a page's fact (the tests read it instead of retyping it)."""
    try:
        return references()[page][name]["value"]
    except KeyError:
        raise KeyError(f"references.yml has no {name!r} for page {page!r}") from None


@cache
def profiles():
    return yaml.safe_load((HERE / "profiles.yml").read_text())


def page_entry(profile, page):
    """A page's entry in one profile: its settings over the profile's defaults, its bands.

    Raises KeyError naming the profiles, or the profile, when either is unknown."""
    if profile not in profiles():
        raise KeyError(f"unknown profile {profile!r}; profiles: {', '.join(profiles())}")
    table = profiles()[profile]
    if page not in table["pages"]:
        raise KeyError(f"page {page!r} has no entry in profile {profile!r} of profiles.yml")
    entry = table["pages"][page]
    defaults = table.get("defaults", {}).get("settings", {})
    return {"settings": {**defaults, **entry.get("settings", {})}, "bands": entry.get("bands", {})}


class Settings(dict):
    """A page's settings for one profile; a missing setting is an error, not a silent default."""

    def __init__(self, values, page, profile):
        super().__init__(values)
        self._where = f"page {page!r} in profile {profile!r}"

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __missing__(self, key):
        raise KeyError(
            f"setting {key!r} is not defined for {self._where}: add it to casebook/profiles.yml"
        )


@dataclass
class Fact:
    page: str
    name: str
    value: object
    expected: str
    passed: bool
    source: str
    profile: str
    seed: int
    device: str
    recorded: str


class Page:
    """The facts one notebook verifies, for one profile and seed."""

    def __init__(self, page, profile="cpu", seed=0):
        entry = page_entry(profile, page)
        self.name, self.profile, self.seed = page, profile, seed
        self.settings = Settings(entry["settings"], page, profile)
        self._use_recipe()
        self.bands = entry["bands"]
        self.references = references().get(page, {})
        self.facts = {}
        folder = os.environ.get("CASEBOOK_FACTS")
        self.path = Path(folder) / f"{page.replace('/', '__')}.json" if folder else None
        self._save()

    def _use_recipe(self):
        """Every fit on the page follows the profile's recipe (``casebook.training.Recipe``)."""
        from casebook import training  # Keras only where a page is run, not to read the facts

        training.use_recipe(
            steps_per_execution=self.settings.steps_per_execution,
            precision=self.settings.precision,
            resident=self.settings.resident,
            batch_scale=self.settings.batch_scale,
            scaled_warmup_epochs=self.settings.scaled_warmup_epochs,
        )

    def record(self, name, value, *, reference=None, source=None, rel_tol=0.0, device=None):
        """Check ``value`` and remember it; returns the value so a line can use it directly.

        ``reference`` adds a reference measured in the same run (say keras.applications'
        count, built next to ours); ``rel_tol`` is its relative tolerance.
        """
        checks = self._checks(name, reference, source, rel_tol)
        if not checks:
            raise KeyError(
                f"{name!r} has no reference in references.yml and no band in profile "
                f"{self.profile!r}: every number the book prints must be checked against one."
            )
        passed = all(check(value) for check, _, _ in checks)
        self.facts[name] = Fact(
            page=self.name,
            name=name,
            value=plain(value),
            expected="; ".join(text for _, text, _ in checks),
            passed=passed,
            source="; ".join(src for _, _, src in checks if src),
            profile=self.profile,
            seed=self.seed,
            device=device or current_device(),
            recorded=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        )
        self._save()
        glue(name, value)
        if not passed:
            print(f"NOT AS EXPECTED: {name} = {value!r}, expected {self.facts[name].expected}")
        return value

    def _checks(self, name, reference, source, rel_tol):
        checks = []
        if name in self.references:
            ref = self.references[name]
            checks.append(equals(ref["value"], ref.get("rel_tol", 0.0), ref["source"]))
        if name in self.bands:
            low, high = self.bands[name]
            checks.append(
                (lambda v: low <= v <= high, f"in [{low}, {high}]", f"{self.profile} profile band")
            )
        if reference is not None:
            checks.append(equals(reference, rel_tol, source or "measured in the same run"))
        return checks

    def expected_names(self):
        """Every fact this page must record: its references and its profile's bands."""
        return set(self.references) | set(self.bands)

    def summary(self):
        """A table of the facts recorded so far, for the end of a chapter."""
        import pandas as pd

        rows = [
            {
                "fact": f.name,
                "measured": f.value,
                "expected": f.expected,
                "check": "pass" if f.passed else "FAIL",
                "source": f.source,
            }
            for f in self.facts.values()
        ]
        missing = sorted(self.expected_names() - set(self.facts))
        rows += [{"fact": m, "measured": None, "check": "NOT RECORDED"} for m in missing]
        return pd.DataFrame(rows)

    def _save(self):
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "page": self.name,
            "profile": self.profile,
            "seed": self.seed,
            "expected": sorted(self.expected_names()),
            "facts": [asdict(f) for f in self.facts.values()],
        }
        self.path.write_text(json.dumps(payload, indent=1))


def equals(expected, rel_tol, source):
    text = number_text(expected) + (f" (within {rel_tol * 100:.2g}%)" if rel_tol else "")

    def check(value):
        if isinstance(expected, int | float) and isinstance(value, int | float):
            return math.isclose(value, expected, rel_tol=rel_tol, abs_tol=0.0 if rel_tol else 1e-12)
        return plain(value) == plain(expected)

    return check, text, source


def number_text(value):
    """61,706 and 1,140,000,000 rather than 61706 and 1.14e9; other values as their repr."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return repr(plain(value))
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def plain(value):
    """numpy scalars and tuples as JSON-friendly Python values."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def glue(name, value, display=False):
    """myst-nb's glue when it is installed (the book build); a no-op elsewhere (Colab, say)."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, plain(value), display=display)


@cache
def current_device():
    from casebook.training import describe_device

    return describe_device()


def load_facts(folder):
    """Every fact recorded in a results folder, one row each, with the facts a page should
    have recorded but did not as rows marked NOT RECORDED."""
    import pandas as pd

    rows = []
    for path in sorted(Path(folder).glob("*.json")):
        saved = json.loads(path.read_text())
        rows += saved["facts"]
        recorded = {fact["name"] for fact in saved["facts"]}
        rows += [
            {"page": saved["page"], "name": name, "passed": False, "expected": "NOT RECORDED"}
            for name in saved["expected"]
            if name not in recorded
        ]
    return pd.DataFrame(rows)
