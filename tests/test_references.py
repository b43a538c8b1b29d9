"""references.yml: what every recorded number is checked against, and where that comes from."""

import re
from pathlib import Path

from casebook import facts

PACKAGE = Path(facts.__file__).resolve().parent
# 61,706 or 0.417 or 1,550: a count or a decimal, not the "1" of "B1"
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+\.\d+")


def cited_table_numbers():
    """(page, fact, number) for every reference that quotes the REFERENCE_COSTS table."""
    for page, page_references in facts.references().items():
        for fact, reference in page_references.items():
            source = str(reference.get("source", ""))
            if "REFERENCE_COSTS:" in source:
                quoted = source.split("REFERENCE_COSTS:", 1)[1]
                yield page, fact, NUMBER.findall(quoted)[0]


def test_the_reference_table_that_references_cite_is_in_the_package():
    table = (PACKAGE / "REFERENCE_COSTS.md").read_text()
    cited = list(cited_table_numbers())
    assert len(cited) >= 30  # every architecture page cites it
    missing = [(page, fact, n) for page, fact, n in cited if n not in table]
    assert not missing, f"cited as REFERENCE_COSTS, not in casebook/REFERENCE_COSTS.md: {missing}"
