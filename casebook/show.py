"""Showing the package's own code in a chapter, so the page and the library never disagree."""

import inspect


def source(*objects, helpers=()):
    """The source of functions or classes, highlighted, as the notebook's output.

    ``helpers`` names functions of the first object's module to show after it (the small
    block functions a builder calls).
    """
    from IPython.display import Code

    module = inspect.getmodule(objects[0])
    shown = [*objects, *(getattr(module, name) for name in helpers)]
    return Code("\n\n".join(inspect.getsource(obj) for obj in shown), language="python")


def table(frame, index=False):
    """A DataFrame as the page shows it: thousands separated, the index only when it names rows."""
    integers = [c for c in frame.columns if frame[c].dtype.kind in "iu"]
    styled = frame.style.format("{:,}", subset=integers, na_rep="")
    return styled if index else styled.hide(axis="index")


def rows(records, number="stage"):
    """A table of NamedTuples (a network's stages or blocks) as a page table, one row each,
    its columns the tuple's field names, numbered from 1 in the column ``number``."""
    import pandas as pd

    frame = pd.DataFrame([row._asdict() for row in records])
    frame.insert(0, number, range(1, len(frame) + 1))
    return table(frame)
