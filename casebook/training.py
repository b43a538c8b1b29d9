"""A seeded fit that reports what a reader wants to know about a run.

``train`` compiles, fits and evaluates a model and returns a ``Run``: the history, the test
accuracy, the wall time, the training throughput in images/s and the device it ran on, so a
chapter can print the numbers with the seed and the device next to them.

Every fit follows one recipe, the same code in every profile (``Recipe``; a page's profile sets
it through ``casebook.facts.Page``): compiled steps (``jit_compile`` where the backend compiles,
``steps_per_execution`` steps per call into the compiled loop, so the loop's own work is paid
once per several batches), mixed precision (bfloat16) on an accelerator, and a distortion that
is a Keras layer (``augment.MirrorAndTranslate``) runs inside that compiled step, on the
device. A profile can scale every fit's batch (``batch_scale``): fewer, larger steps for an
accelerator, at a learning rate scaled to the batch and warmed up over the first epochs. On an
accelerator the arrays of a fit stay on it (``ResidentInputs``): each step moves a
batch of indices and labels, not a batch of images.
"""

import math
import os
import platform
import time
from dataclasses import dataclass, field

import keras
import numpy as np

from casebook.augment import AugmentedBatches

PRECISIONS = ("auto", "float32", "mixed_bfloat16")
# "auto" keeps a fit's arrays on the accelerator up to this size; larger ones are fed in batches
# from the host, so a big set does not take the memory the model's activations need.
RESIDENT_LIMIT_BYTES = 4 * 2**30


def check_precision(precision):
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")


def check_batch_scale(batch_scale):
    if not isinstance(batch_scale, int) or batch_scale < 1:
        raise ValueError(f"batch_scale must be a whole number >= 1, not {batch_scale!r}")


@dataclass
class Recipe:
    """How ``train`` runs a fit, unless a call says otherwise.

    ``steps_per_execution``: training steps per call into the compiled loop.
    ``precision``: "float32", "mixed_bfloat16" (bfloat16 arithmetic, float32 weights, float32
    outputs), or "auto": mixed_bfloat16 on an accelerator, float32 on a CPU (whose bfloat16
    arithmetic is emulated and slower).
    ``resident``: True keeps a fit's input arrays (training, held-out and test) on the device
    for the whole fit, so a step moves only indices and labels; False feeds batches from the
    host; "auto": resident on an accelerator when they fit ``RESIDENT_LIMIT_BYTES``, fed on a
    CPU (where host and device are the same memory).
    ``batch_scale``: a fit from arrays trains on batches this many times the batch it asks for,
    at the square root of that times its learning rate, warmed up from 0 over the first
    ``scaled_warmup_epochs`` epochs (or the fit's own warm-up, if longer). The square root is
    Adam's rule: the noise in a batch's gradient falls with the square root of its size, and
    Adam's step is the gradient over its noise. A stream of batches keeps its own batch size.
    """

    steps_per_execution: int = 8
    precision: str = "auto"
    resident: str | bool = "auto"
    batch_scale: int = 1
    scaled_warmup_epochs: float = 0

    def __post_init__(self):
        if not isinstance(self.steps_per_execution, int) or self.steps_per_execution < 1:
            raise ValueError(
                f"steps_per_execution must be a whole number >= 1, not {self.steps_per_execution!r}"
            )
        check_precision(self.precision)
        if not (self.resident == "auto" or isinstance(self.resident, bool)):
            raise ValueError(f"resident must be 'auto', True or False, not {self.resident!r}")
        check_batch_scale(self.batch_scale)
        if not self.scaled_warmup_epochs >= 0:
            raise ValueError(
                f"scaled_warmup_epochs must be a number of epochs >= 0, "
                f"not {self.scaled_warmup_epochs!r}"
            )


_recipe = Recipe()


def use_recipe(**settings):
    """Set the recipe every later ``train`` follows (a page calls it with its profile's)."""
    global _recipe
    _recipe = Recipe(**settings)
    return _recipe


def current_recipe():
    return _recipe


@dataclass
class Run:
    """The outcome of one seeded training run."""

    name: str
    history: dict
    test_accuracy: float
    test_loss: float
    wall_s: float
    images_per_s: float
    epochs: int
    seed: int
    device: str
    params: int = 0
    extra: dict = field(default_factory=dict)

    def summary(self):
        return (
            f"{self.name}: test accuracy {self.test_accuracy:.4f} after {self.epochs} epochs, "
            f"{self.wall_s:.0f} s ({self.images_per_s:,.0f} images/s) on {self.device}, "
            f"seed {self.seed}"
        )


def seed_everything(seed):
    """Python, NumPy and the backend's random generators (keras.utils.set_random_seed)."""
    keras.utils.set_random_seed(seed)


def train(
    model,
    train_data,
    test_data,
    *,
    epochs,
    seed,
    batch_size=128,
    learning_rate=1e-3,
    validation_split=0.1,
    verbose=2,
    name=None,
    loss_weights=None,
    schedule="constant",
    validation_data=None,
    augment=None,
    workers=2,
    warmup_epochs=0,
    steps_per_execution=None,
    precision=None,
    resident=None,
    batch_scale=None,
):
    """Compile with Adam and sparse cross-entropy, fit, evaluate on the test set.

    ``train_data`` is ``(x, y)``, or a stream of batches: a ``keras.utils.PyDataset`` that
    keeps its arrays as ``.x`` and ``.y`` (``augment.AugmentedBatches`` distorts each batch as
    it is drawn); a stream brings its own batch size and needs ``validation_data``.

    ``validation_split`` holds out the last fraction of the (already shuffled) training data,
    so the curves show validation accuracy while the test set stays untouched until the end;
    ``validation_data=(x, y)`` gives a held-out set instead. The time each epoch spent
    training is in ``run.extra["epoch_seconds"]``.
    Call ``seed_everything(seed)`` before building the model so its initial weights are
    seeded too; ``train`` seeds again before fitting so the batch order is.

    A model with several outputs (GoogLeNet's side branches) learns the same labels at each,
    its losses weighted by ``loss_weights``; the first output is the network's answer, so
    the history's "accuracy" and the test accuracy are the first output's.

    ``augment(batch, rng)`` (say ``augment.mirror_and_translate``) distorts every training
    batch of arrays as it is drawn, on ``workers`` threads in parallel to training; the images
    held out for validation and the test set are left as they are. An ``augment`` that is a
    Keras layer (``augment.MirrorAndTranslate(seed=seed)``) goes in front of the model inside
    the compiled training step instead; it distorts only while training, so validation and
    test images pass through it unchanged.

    ``schedule="cosine"`` lowers the learning rate from ``learning_rate`` to 0 along a half
    cosine over the whole run: the last steps are small, so the weights the test sees have
    settled (a network with batch norm otherwise ends wherever the last noisy step left it).
    ``warmup_epochs`` raises the rate linearly from 0 over the first epochs, then follows the
    schedule, so the first steps of a large batch do not throw the weights far off.

    ``steps_per_execution``, ``precision``, ``resident`` and ``batch_scale`` override the current
    ``Recipe`` for this fit (a stream of batches is never resident: it is drawn on the host).
    ``run.extra`` records the batch size and the (peak) learning rate the fit trained at.
    """
    x_test, y_test = test_data
    outputs = len(model.outputs)
    steps_per_execution = executed_steps(steps_per_execution or _recipe.steps_per_execution)
    set_precision(model, precision or _recipe.precision)
    fitted_model = model
    if isinstance(augment, keras.layers.Layer):  # distorted inside the compiled step
        fitted_model, augment = with_augmentation(model, augment), None
    if augment is not None:  # the arrays become a stream of distorted batches
        train_data, validation_data = augmented_stream(
            train_data, validation_data, validation_split, batch_size, seed, augment, workers
        )
    stream = isinstance(train_data, keras.utils.PyDataset)
    on_device = False
    if stream:  # the stream batches and shuffles; Keras refuses a batch size or split for it
        x_train, y_train = train_data, None
        fitted, batch_size = len(train_data.x), train_data.batch_size
        fit_options = {"validation_data": validation_data}
    else:
        x_train, y_train = train_data
        fitted = len(x_train) if validation_data else int(len(x_train) * (1 - validation_split))
        inputs = fit_inputs(x_train, x_test, validation_data)
        on_device = keeps_resident(_recipe.resident if resident is None else resident, inputs)
        if on_device:
            fitted_model, x_train, x_test, validation_data = resident_fit(
                fitted_model, x_train, x_test, validation_data
            )
        held_out = (
            {"validation_data": validation_data}
            if validation_data
            else {"validation_split": validation_split}
        )
        batch_size, learning_rate, warmup_epochs = scaled_batch(
            batch_size, learning_rate, warmup_epochs, batch_scale
        )
        fit_options = {"batch_size": batch_size, **held_out}
    peak_learning_rate = learning_rate
    seed_everything(seed)
    steps_per_epoch = -(-fitted // batch_size)
    learning_rate = learning_rate_schedule(
        learning_rate, schedule, epochs * steps_per_epoch, round(warmup_epochs * steps_per_epoch)
    )
    loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    if outputs > 1:  # the same labels at every output; accuracy of the first only
        if stream:
            raise ValueError(
                "a model with several outputs trains on (x, y) without augment, not on a stream"
            )
        loss, metrics = [loss] * outputs, [metrics] + [[]] * (outputs - 1)
        y_train = tuple([y_train] * outputs)
    fitted_model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss,
        loss_weights=loss_weights,
        metrics=metrics,
        steps_per_execution=steps_per_execution,
    )
    timer = EpochTimes()
    start = time.perf_counter()
    history = fitted_model.fit(
        x_train, y_train, epochs=epochs, verbose=verbose, callbacks=[timer], **fit_options
    )
    wall = time.perf_counter() - start
    if outputs > 1:
        test_accuracy = float(np.mean(predict_classes(fitted_model, x_test) == y_test))
        test_loss = float("nan")
    else:
        test_loss, test_accuracy = fitted_model.evaluate(x_test, y_test, batch_size=512, verbose=0)
    return Run(
        name=name or model.name,
        history=_main_output_history(
            history.history, fitted_model.output_names[0] if outputs > 1 else None
        ),
        test_accuracy=float(test_accuracy),
        test_loss=float(test_loss),
        wall_s=wall,
        images_per_s=fitted * epochs / wall,
        epochs=epochs,
        seed=seed,
        device=describe_device(),
        params=model.count_params(),
        extra={
            "epoch_seconds": timer.seconds,
            "steps_per_execution": steps_per_execution,
            "precision": model.dtype_policy.name,
            "resident": on_device,
            "batch_size": batch_size,
            "learning_rate": peak_learning_rate,
        },
    )


def scaled_batch(batch_size, learning_rate, warmup_epochs, batch_scale=None):
    """The batch size, learning rate and warm-up a fit trains at under ``batch_scale`` (by
    default the recipe's): the batch times the scale, the rate times its square root, the
    warm-up at least the recipe's ``scaled_warmup_epochs``. A scale of 1 changes nothing."""
    scale = _recipe.batch_scale if batch_scale is None else batch_scale
    check_batch_scale(scale)
    if scale == 1:
        return batch_size, learning_rate, warmup_epochs
    return (
        batch_size * scale,
        learning_rate * math.sqrt(scale),
        max(warmup_epochs, _recipe.scaled_warmup_epochs),
    )


def learning_rate_schedule(learning_rate, schedule, steps, warmup_steps=0):
    """The learning rate ``train`` gives Adam: a number, or a schedule over ``steps`` steps.

    "constant" stays at ``learning_rate``; "cosine" falls to 0 along a half cosine. A warm-up
    rises from 0 to ``learning_rate`` over the first ``warmup_steps`` and hands over to the
    schedule (a cosine with ``alpha=1`` stays where the warm-up ends: constant)."""
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', not {schedule!r}")
    if not 0 <= warmup_steps < max(steps, 1):
        raise ValueError(
            f"the warm-up ({warmup_steps} steps) must be shorter than the run ({steps} steps)"
        )
    if schedule == "constant" and not warmup_steps:
        return learning_rate
    if not warmup_steps:
        return keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    return keras.optimizers.schedules.CosineDecay(
        0.0,
        steps - warmup_steps,
        alpha=1.0 if schedule == "constant" else 0.0,
        warmup_target=learning_rate,
        warmup_steps=warmup_steps,
    )


def with_augmentation(model, layer):
    """A model that runs ``layer`` (a distortion that acts only in training) before ``model``,
    sharing its weights: fitting it trains ``model``."""
    inputs = keras.Input(model.inputs[0].shape[1:], name="images")
    return wrapping(model, inputs, layer(inputs))


def wrapping(model, inputs, features):
    """A model of ``inputs`` that runs ``model`` on ``features``, its outputs named as
    ``model``'s, so a fit of it keeps the history's keys of a fit of ``model``."""
    outputs = model(features)
    if len(model.outputs) > 1:
        names = model.output_names
        outputs = [keras.layers.Identity(name=n)(o) for n, o in zip(names, outputs, strict=True)]
    return keras.Model(inputs, outputs, name=model.name)


class ResidentInputs(keras.layers.Layer):
    """A fit's input arrays held on the device as one non-trainable, never-cast variable;
    called with a batch of indices into them, it gives those rows. A model behind it trains
    on batches that are gathered where they are used, so a step moves indices, not images."""

    def __init__(self, arrays, **kwargs):
        super().__init__(**kwargs)
        self.arrays = keras.Variable(arrays, trainable=False, autocast=False, name="arrays")

    def call(self, indices):
        return keras.ops.take(self.arrays, keras.ops.cast(indices, "int32"), axis=0)

    def compute_output_shape(self, indices_shape):
        return tuple(indices_shape) + tuple(self.arrays.shape[1:])


def keeps_resident(resident, arrays):
    """Whether a fit keeps ``arrays`` on the device (``Recipe.resident``)."""
    if resident != "auto":
        return bool(resident)
    return on_accelerator() and sum(a.nbytes for a in arrays) <= RESIDENT_LIMIT_BYTES


def fit_inputs(x_train, x_test, validation_data=None):
    """The input arrays a fit reads: training, test and, when given, held-out."""
    return [x_train, x_test, *([validation_data[0]] if validation_data else [])]


def resident_fit(model, x_train, x_test, validation_data=None):
    """``model`` behind ``ResidentInputs`` holding the training, test and held-out inputs
    together, and the indices that stand for each of them in its fit, evaluation and
    validation (the labels stay arrays: a batch of them is as small as its indices)."""
    parts = fit_inputs(x_train, x_test, validation_data)
    starts = np.cumsum([0] + [len(part) for part in parts])
    indices = [np.arange(a, b, dtype="int32") for a, b in zip(starts[:-1], starts[1:], strict=True)]
    rows = ResidentInputs(np.concatenate(parts), name="resident_inputs")
    batch = keras.Input((), dtype="int32", name="indices")
    wrapped = wrapping(model, batch, rows(batch))
    if validation_data:
        validation_data = (indices[2], validation_data[1])
    return wrapped, indices[0], indices[1], validation_data


def executed_steps(steps_per_execution):
    """Steps per call into the compiled loop: Keras's PyTorch trainer runs one at a time."""
    return 1 if keras.backend.backend() == "torch" else steps_per_execution


def compute_policy(precision):
    """The Keras dtype policy a precision means on this machine ("auto": by the device)."""
    check_precision(precision)
    if precision == "auto":
        return "mixed_bfloat16" if on_accelerator() else "float32"
    return precision


def set_precision(model, precision):
    """Compute in the precision's dtype everywhere but in the layers that give the model's
    outputs, which stay float32 so the softmax and the loss are exact. The weights stay float32
    under either policy, so this can be done to a model already built."""
    policy = compute_policy(precision)
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built: give it an input shape first")
    output_layers = {id(tensor._keras_history.operation) for tensor in model.outputs}
    model.dtype_policy = policy
    for layer in model._flatten_layers(include_self=False):
        layer.dtype_policy = "float32" if id(layer) in output_layers else policy


def augmented_stream(
    train_data, validation_data, validation_split, batch_size, seed, augment, workers
):
    """``AugmentedBatches`` of the training arrays, and the held-out images, left plain: the
    ``validation_data`` given, or else the last ``validation_split`` of the arrays."""
    if isinstance(train_data, keras.utils.PyDataset):
        raise ValueError(
            "augment distorts training arrays (x, y); a stream of batches brings its own "
            "distortions (AugmentedBatches(..., augment=...))."
        )
    x, y = train_data
    if not validation_data:
        kept = int(len(x) * (1 - validation_split))
        x, y, validation_data = x[:kept], y[:kept], (x[kept:], y[kept:])
    return AugmentedBatches(x, y, batch_size, seed, augment, workers), validation_data


class EpochTimes(keras.callbacks.Callback):
    """How long each epoch spent training, from its start to the end of its last batch (the
    validation pass after it is left out), to compare the throughput of two pipelines."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._last = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(self._last - self._start)


def _main_output_history(history, main):
    """Per-epoch values as floats; for a model with several outputs, the first output's
    accuracy and loss also under the plain names (the total loss stays "total_loss")."""
    values = {key: [float(v) for v in series] for key, series in history.items()}
    if main is None:
        return values
    for prefix in ("", "val_"):
        values[f"{prefix}total_loss"] = values.pop(f"{prefix}loss", [])
        for metric in ("loss", "accuracy"):
            key = f"{prefix}{main}_{metric}"
            if key in values:
                values[f"{prefix}{metric}"] = values[key]
    return values


def predict_classes(model, images, batch_size=512):
    """The predicted class of each image (of the first output, for a model with several)."""
    predictions = model.predict(images, batch_size=batch_size, verbose=0)
    if isinstance(predictions, (list, tuple)):
        predictions = predictions[0]
    return np.argmax(predictions, axis=-1)


def describe_device():
    """'NVIDIA H100 80GB HBM3 (jax)' or 'CPU, 2 cores, x86_64 (tensorflow)'."""
    backend = keras.backend.backend()
    accelerator = accelerator_name(backend)
    if accelerator:
        return f"{accelerator} ({backend})"
    return f"CPU, {os.cpu_count()} cores, {platform.machine()} ({backend})"


def on_accelerator():
    """Whether the Keras backend computes on a GPU or another accelerator, not the CPU."""
    return accelerator_name(keras.backend.backend()) is not None


def accelerator_name(backend):
    try:
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            return None if device.platform == "cpu" else device.device_kind
        if backend == "torch":
            import torch

            return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return details.get("device_name", "GPU")
    except Exception:  # a device query must never break a chapter
        return None
    return None
