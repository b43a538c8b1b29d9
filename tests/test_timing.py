"""casebook.timing: the one timer of every speed comparison in the book."""

import numpy as np
import pytest

from casebook import models, timing


def test_median_seconds_times_every_function_in_turns():
    calls = []
    timed = timing.median_seconds(
        {"a": lambda x: calls.append(("a", x)), "b": lambda x: calls.append(("b", x))},
        7,
        repeats=3,
    )
    assert set(timed) == {"a", "b"} and all(t >= 0 for t in timed.values())
    assert calls == [("a", 7), ("b", 7)] * 4  # one warm-up round, then three in turns


def test_the_median_is_robust_to_one_slow_call():
    import time

    durations = iter([0.0, 0.0, 0.2, 0.0, 0.0])  # warm-up, then a burst in the second round

    def sometimes_slow():
        time.sleep(next(durations))

    (seconds,) = timing.median_seconds({"f": sometimes_slow}, repeats=4).values()
    assert seconds < 0.1


def test_predict_seconds_times_models_on_the_same_batch():
    batch = np.zeros((2, 28, 28, 1), "float32")
    pair = {"thin": models.reduced_conv_net(4), "direct": models.reduced_conv_net(None)}
    seconds = timing.predict_seconds(pair, batch, 3)
    assert set(seconds) == {"thin", "direct"} and all(0 < s < 10 for s in seconds.values())


def test_at_least_one_round_is_timed():
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        timing.median_seconds({"f": lambda: None}, repeats=0)
