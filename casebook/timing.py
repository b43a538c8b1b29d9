"""One timer for every comparison of speeds in the book: the median of interleaved calls.

Each function is called once to warm up (the backend builds its functions then), and the timed
calls take turns, one of each per round, so that a burst of load from elsewhere on a shared
machine slows every function alike instead of the one that happened to be running.
"""

import time

import numpy as np


def median_seconds(functions, *args, repeats):
    """Median wall time of each ``function(*args)`` of a dict ``{name: function}`` over
    ``repeats`` interleaved rounds; returns ``{name: seconds}``."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    for function in functions.values():
        function(*args)
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function(*args)
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(seconds)) for name, seconds in times.items()}


def predict_seconds(models, batch, repeats):
    """Median seconds of ``model.predict_on_batch(batch)`` for each model of ``{name: model}``,
    timed in turns (a benchmark, not a timed test)."""
    calls = {name: model.predict_on_batch for name, model in models.items()}
    return median_seconds(calls, batch, repeats=repeats)
