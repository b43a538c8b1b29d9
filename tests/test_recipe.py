"""The training recipe (casebook.training.Recipe): the on-device distortion against the NumPy
one it stands in for, the learning-rate warm-up against its definition, mixed precision, and
steps per execution changing the speed of a fit but not what it computes. Runs on every backend
(make test-backends)."""

import itertools

import keras
import numpy as np
import pytest

from casebook import augment, facts, training


def images(count=6, height=5, width=7, channels=2, seed=0):
    return np.random.default_rng(seed).random((count, height, width, channels), dtype=np.float32)


def tiny_model(shape=(6, 6, 1), classes=3):
    model = keras.Sequential(
        [keras.Input(shape), keras.layers.Conv2D(4, 3), keras.layers.Flatten()]
    )
    model.add(keras.layers.Dense(classes, activation="softmax"))
    return model


@pytest.fixture(autouse=True)
def default_recipe():
    training.use_recipe()
    yield
    training.use_recipe()


# --- the distortion inside the step ------------------------------------------------------------


@pytest.mark.parametrize("pad", [0, 1, 2, 3])
def test_the_ops_distortion_gives_the_numpy_one_for_the_same_draws(pad):
    x = images()
    expected = augment.mirror_and_translate(x, np.random.default_rng(3), pad=pad)
    draws = np.random.default_rng(3)  # the draws mirror_and_translate makes, in its order
    flipped = draws.random(len(x)) < 0.5
    tops, lefts = (draws.integers(0, 2 * pad + 1, size=len(x)) for _ in range(2))
    got = augment.mirror_and_translate_ops(
        x,
        keras.ops.convert_to_tensor(flipped),
        keras.ops.convert_to_tensor(tops.astype("int32")),
        keras.ops.convert_to_tensor(lefts.astype("int32")),
        pad,
    )
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), expected)


def candidates(image, pad):
    """Every image that mirror_and_translate can make of one image."""
    height, width = image.shape[:2]
    for source in (image, image[:, ::-1]):
        padded = np.pad(source, ((pad, pad), (pad, pad), (0, 0)))
        for top, left in itertools.product(range(2 * pad + 1), repeat=2):
            yield padded[top : top + height, left : left + width]


def test_the_layer_distorts_only_in_training_each_image_into_one_of_its_distortions():
    x = images(count=200, height=6, width=6, channels=1, seed=1)
    layer = augment.MirrorAndTranslate(pad=1, seed=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)
    out = keras.ops.convert_to_numpy(layer(x, training=True))
    kinds = []
    for image, distorted in zip(x, out, strict=True):
        matches = [np.array_equal(distorted, c) for c in candidates(image, 1)]
        assert any(matches), "a distorted image is not a mirror or shift of its original"
        kinds.append(matches.index(True))
    # both sides of the mirror and all nine shifts occur; about half the images are mirrored
    assert len(set(kinds)) == 18
    assert 0.38 < np.mean(np.array(kinds) >= 9) < 0.62


def test_the_layer_repeats_with_its_seed_and_draws_anew_each_batch():
    x = images(count=32, height=6, width=6, channels=1)
    first = augment.MirrorAndTranslate(seed=5)
    again = augment.MirrorAndTranslate(seed=5)
    a = keras.ops.convert_to_numpy(first(x, training=True))
    np.testing.assert_array_equal(a, keras.ops.convert_to_numpy(again(x, training=True)))
    assert not np.array_equal(a, keras.ops.convert_to_numpy(first(x, training=True)))
    with pytest.raises(ValueError, match="pad must be a whole number"):
        augment.MirrorAndTranslate(pad=-1)


def test_train_with_the_layer_trains_the_model_itself_and_tests_on_plain_images():
    x = images(count=64, height=6, width=6, channels=1, seed=2)
    y = np.arange(64) % 3
    training.seed_everything(0)
    model = tiny_model()
    before = [w.copy() for w in model.get_weights()]
    run = training.train(
        model,
        (x, y),
        (x, y),
        epochs=2,
        seed=0,
        batch_size=16,
        augment=augment.MirrorAndTranslate(seed=0),
        verbose=0,
    )
    assert any(not np.array_equal(b, w) for b, w in zip(before, model.get_weights(), strict=True))
    assert run.params == model.count_params()
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, plain_accuracy = model.evaluate(x, y, verbose=0)  # the model alone, on plain images
    assert run.test_accuracy == pytest.approx(plain_accuracy)


# --- the learning rate ---------------------------------------------------------------------


def rates(schedule, steps):
    return np.array([float(schedule(step)) for step in steps])


def test_a_warm_up_rises_linearly_then_hands_over_to_the_schedule():
    cosine = training.learning_rate_schedule(0.01, "cosine", steps=100, warmup_steps=10)
    np.testing.assert_allclose(rates(cosine, [0, 5, 10]), [0.0, 0.005, 0.01], atol=1e-7)
    after = rates(cosine, range(10, 101, 10))
    assert np.all(np.diff(after) < 0) and after[-1] == pytest.approx(0.0, abs=1e-7)
    constant = training.learning_rate_schedule(0.01, "constant", steps=100, warmup_steps=10)
    np.testing.assert_allclose(rates(constant, [5, 10, 50, 100]), [0.005] + [0.01] * 3, atol=1e-7)
    assert training.learning_rate_schedule(0.01, "constant", steps=100) == 0.01
    plain = training.learning_rate_schedule(0.01, "cosine", steps=100)
    np.testing.assert_allclose(rates(plain, [0, 50, 100]), [0.01, 0.005, 0.0], atol=1e-7)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: training.learning_rate_schedule(0.1, "step", 10), "'constant' or 'cosine'"),
        (lambda: training.learning_rate_schedule(0.1, "cosine", 10, 10), "shorter than the run"),
        (lambda: training.use_recipe(steps_per_execution=0), "whole number >= 1"),
        (lambda: training.use_recipe(precision="float16"), "auto, float32, mixed_bfloat16"),
        (lambda: training.use_recipe(resident="yes"), "'auto', True or False"),
        (lambda: training.use_recipe(batch_scale=0), "batch_scale must be a whole number"),
        (lambda: training.use_recipe(batch_scale=2.5), "batch_scale must be a whole number"),
        (lambda: training.scaled_batch(64, 0.1, 0, batch_scale=-2), "not -2"),
        (lambda: training.use_recipe(scaled_warmup_epochs=-1), "number of epochs >= 0"),
        (
            lambda: training.set_precision(keras.Sequential([keras.layers.Dense(2)]), "auto"),
            "not built",
        ),
    ],
)
def test_bad_recipes_say_what_was_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- precision and steps per execution -----------------------------------------------------------


def test_mixed_precision_computes_in_bfloat16_and_answers_in_float32():
    model = tiny_model()
    training.set_precision(model, "mixed_bfloat16")
    conv, _, dense = model.layers
    assert conv.compute_dtype == "bfloat16" and conv.variable_dtype == "float32"
    assert dense.compute_dtype == "float32"
    inside = keras.Model(model.inputs[0], conv.output)
    x = images(count=4, height=6, width=6, channels=1)
    assert keras.backend.standardize_dtype(inside(x).dtype) == "bfloat16"
    assert keras.backend.standardize_dtype(model(x).dtype) == "float32"
    training.set_precision(model, "auto")  # this machine's CPU: float32
    assert conv.compute_dtype == "float32"


def test_steps_per_execution_changes_how_a_fit_runs_not_what_it_computes():
    x = images(count=96, height=6, width=6, channels=1, seed=3)
    y = np.arange(96) % 3

    def fit(steps):
        training.seed_everything(0)
        model = tiny_model()
        run = training.train(
            model, (x, y), (x, y), epochs=2, seed=0, batch_size=16, verbose=0,
            steps_per_execution=steps,
        )  # fmt: skip
        return run, model.get_weights()

    (one, one_weights), (eight, eight_weights) = fit(1), fit(8)
    expected = 1 if keras.backend.backend() == "torch" else 8  # PyTorch's trainer: one a call
    assert eight.extra["steps_per_execution"] == expected
    np.testing.assert_allclose(one.history["loss"], eight.history["loss"], rtol=1e-4)
    for a, b in zip(one_weights, eight_weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_page_sets_its_profiles_recipe_for_every_fit_on_it():
    for profile in ("cpu", "full"):
        page = facts.Page("01_classic_networks/01_lenet5", profile=profile)
        recipe = training.current_recipe()
        assert recipe.steps_per_execution == page.settings.steps_per_execution
        assert recipe.precision == page.settings.precision
        assert recipe.resident == page.settings.resident
        assert recipe.batch_scale == page.settings.batch_scale
        assert recipe.scaled_warmup_epochs == page.settings.scaled_warmup_epochs


# --- the data kept on the device -----------------------------------------------------------------


def two_output_model(shape=(6, 6, 1), classes=3):
    """A main output and a side branch, as GoogLeNet's, to train with two losses."""
    inputs = keras.Input(shape)
    features = keras.layers.Flatten()(keras.layers.Conv2D(4, 3)(inputs))
    main = keras.layers.Dense(classes, activation="softmax", name="main")(features)
    side = keras.layers.Dense(classes, activation="softmax", name="side")(features)
    return keras.Model(inputs, [main, side])


def seeded_fit(resident, build=tiny_model, distort=False, **options):
    """One seeded fit of a fresh model, fed from the host or kept on the device: the run and
    the trained weights. ``distort``: a fresh seeded distortion layer inside the step."""
    x = images(count=80, height=6, width=6, channels=1, seed=4)
    y = np.arange(80) % 3
    training.seed_everything(0)
    model = build()
    run = training.train(
        model, (x, y), (x[:24], y[:24]), epochs=2, seed=0, batch_size=16, verbose=0,
        resident=resident, augment=augment.MirrorAndTranslate(seed=0) if distort else None,
        **options,
    )  # fmt: skip
    return run, model.get_weights()


HELD_OUT = (images(count=16, height=6, width=6, channels=1, seed=5), np.arange(16) % 3)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"validation_data": HELD_OUT},
        {"distort": True, "steps_per_execution": 4},
        {"build": two_output_model, "loss_weights": [1.0, 0.3]},
    ],
    ids=["validation split", "validation data", "distorted in the step", "two outputs"],
)
def test_data_kept_on_the_device_trains_exactly_as_data_fed_from_the_host(options):
    (fed, fed_weights), (kept, kept_weights) = (seeded_fit(r, **options) for r in (False, True))
    assert (fed.extra["resident"], kept.extra["resident"]) == (False, True)
    assert fed.history.keys() == kept.history.keys()
    for key in fed.history:
        np.testing.assert_allclose(fed.history[key], kept.history[key], rtol=1e-5, atol=1e-7)
    assert kept.test_accuracy == pytest.approx(fed.test_accuracy)
    np.testing.assert_allclose(kept.test_loss, fed.test_loss, rtol=1e-5)  # nan for two outputs
    assert kept.params == fed.params  # the kept arrays are not the model's parameters
    for a, b in zip(fed_weights, kept_weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_the_kept_arrays_are_gathered_by_index_never_trained_and_never_cast():
    arrays = images(count=10, height=3, width=3, channels=2)
    rows = training.ResidentInputs(arrays)
    rows.dtype_policy = "mixed_bfloat16"  # the model's precision does not reach the data
    got = keras.ops.convert_to_numpy(rows(keras.ops.convert_to_tensor([7, 0, 7], "int32")))
    np.testing.assert_array_equal(got, arrays[[7, 0, 7]])
    assert rows.trainable_weights == [] and len(rows.non_trainable_weights) == 1
    assert keras.backend.standardize_dtype(rows.arrays.dtype) == "float32"


def test_auto_keeps_the_data_on_an_accelerator_only_and_a_stream_never():
    small = [np.zeros((4, 2), "float32")]
    assert training.keeps_resident("auto", small) == training.on_accelerator()
    assert training.keeps_resident(True, small) and not training.keeps_resident(False, small)
    huge = [np.broadcast_to(np.float32(0), (training.RESIDENT_LIMIT_BYTES // 4 + 1,))]
    assert not training.keeps_resident("auto", huge)  # too big: fed from the host
    x = images(count=32, height=6, width=6, channels=1)
    stream = augment.AugmentedBatches(x[:24], np.arange(24) % 3, 8, seed=0, workers=1)
    training.seed_everything(0)
    run = training.train(
        tiny_model(), stream, (x, np.arange(32) % 3), epochs=1, seed=0, verbose=0,
        validation_data=(x[24:], np.arange(8) % 3), resident=True,
    )  # fmt: skip
    assert run.extra["resident"] is False


# --- larger batches ------------------------------------------------------------------------------


def scaled_fit(recipe_scale, epochs=3, **options):
    """A seeded fit of 86 training images (96 less the tenth held out) at batch 8 and rate
    0.01 under a recipe that scales batches by ``recipe_scale`` and warms them up for 1 epoch."""
    x = images(count=96, height=6, width=6, channels=1, seed=3)
    y = np.arange(96) % 3
    training.use_recipe(batch_scale=recipe_scale, scaled_warmup_epochs=1)
    training.seed_everything(0)
    model = tiny_model()
    run = training.train(
        model, (x, y), (x, y), epochs=epochs, seed=0, batch_size=8, learning_rate=0.01,
        verbose=0, **options,
    )  # fmt: skip
    return run, model


def test_a_scaled_batch_trains_fewer_larger_steps_at_a_square_root_rate_warmed_up():
    run, model = scaled_fit(4)
    assert run.extra["batch_size"] == 32
    assert run.extra["learning_rate"] == pytest.approx(0.02)  # 0.01 x sqrt(4)
    assert int(model.optimizer.iterations) == 3 * 3  # ceil(86 / 32) steps an epoch
    # the optimizer's schedule: from 0, up over the first epoch's 3 steps, then the full rate
    schedule = model.optimizer._learning_rate
    np.testing.assert_allclose(rates(schedule, [0, 1, 3, 9]), [0.0, 0.02 / 3, 0.02, 0.02])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.02)


def test_a_scale_of_one_leaves_the_fit_as_it_asks_and_a_fit_can_override_the_recipe():
    for run, model in (scaled_fit(1), scaled_fit(4, batch_scale=1)):
        assert (run.extra["batch_size"], run.extra["learning_rate"]) == (8, 0.01)
        assert int(model.optimizer.iterations) == 3 * 11  # ceil(86 / 8)
        assert float(model.optimizer.learning_rate) == pytest.approx(0.01)  # no warm-up


def test_a_stream_keeps_its_own_batch_and_rate_under_a_scaled_recipe():
    x = images(count=32, height=6, width=6, channels=1)
    stream = augment.AugmentedBatches(x[:24], np.arange(24) % 3, 8, seed=0, workers=1)
    training.use_recipe(batch_scale=4, scaled_warmup_epochs=1)
    training.seed_everything(0)
    run = training.train(
        tiny_model(), stream, (x, np.arange(32) % 3), epochs=2, seed=0, verbose=0,
        learning_rate=0.01, validation_data=(x[24:], np.arange(8) % 3),
    )  # fmt: skip
    assert (run.extra["batch_size"], run.extra["learning_rate"]) == (8, 0.01)
