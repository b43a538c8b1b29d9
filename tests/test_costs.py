"""Tests of casebook.costs: the notes' formulas, Keras models, and the reference numbers."""

from fractions import Fraction

import keras
import numpy as np
import pytest

from casebook.costs import (
    Costs,
    conv_macs,
    conv_output_size,
    conv_params,
    cost_table,
    dense_params,
    depthwise_separable_macs,
    human,
    layer_costs,
    model_costs,
    stage_table,
)

L = keras.layers


def sequential(input_shape, *layers):
    return keras.Sequential([keras.Input(input_shape), *layers])


# ---------------------------------------------------------------- formulas


@pytest.mark.parametrize(
    "args, expected",
    [((28, 5, 2), 28), ((224, 7, 3, 2), 112), ((5, 3), 3), ((6, 3, 0, 2), 2), ((7, 7), 1)],
)
def test_conv_output_size(args, expected):
    assert conv_output_size(*args) == expected


def test_conv_and_dense_params():
    assert conv_params(5, 192, 32) == 5 * 5 * 192 * 32 + 32
    assert conv_params((3, 1), 4, 8, bias=False) == 3 * 4 * 8
    assert conv_params(3, 8, 16, groups=2) == 3 * 3 * 4 * 16 + 16
    assert dense_params(4096, 1000) == 4_097_000
    assert dense_params(10, 3, bias=False) == 30


def test_notes_arithmetic_by_formula():
    assert conv_macs(28, 28, 192, 5, 32) == 120_422_400
    assert conv_macs(28, 28, 192, 1, 16) == 2_408_448
    assert conv_macs(28, 28, 16, 5, 32) == 10_035_200
    assert conv_macs(28, 28, 192, 1, 16) + conv_macs(28, 28, 16, 5, 32) == 12_443_648
    assert conv_macs(10, 10, 8, (3, 1), 4, groups=2) == 10 * 10 * 4 * 3 * 4


def test_depthwise_separable_ratio():
    h, c_in, f, c_out = 14, 32, 3, 64
    ratio = Fraction(
        depthwise_separable_macs(h, h, c_in, f, c_out), conv_macs(h, h, c_in, f, c_out)
    )
    assert ratio == Fraction(1, c_out) + Fraction(1, f * f)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: conv_output_size(3, 5), "larger than the padded input"),
        (lambda: conv_output_size(5, 3, s=0), "s must be"),
        (lambda: conv_output_size(5, 3, p=-1), "p must be"),
        (lambda: conv_output_size(5.5, 3), "n must be an integer"),
        (lambda: conv_params(3, 6, 4, groups=4), "c_in=6 is not divisible by groups=4"),
        (lambda: conv_params((3, 3, 3), 3, 3), "pair"),
        (lambda: conv_params(3, True, 2), "c_in must be"),
        (lambda: conv_macs(0, 28, 192, 5, 32), "h_out must be"),
        (lambda: conv_macs(28, 28, 192, 5, 30, groups=4), "c_out=30 is not divisible"),
        (lambda: dense_params(0, 3), "n_in must be"),
        (lambda: depthwise_separable_macs(7, 7, 8, 0, 16), "f must be"),
    ],
)
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_human():
    assert human(15_470_264_320) == "15.47 G"
    assert human(568_740_352) == "568.7 M"
    assert human(61_706) == "61.7 K"
    assert human(3_857_973_248, "MACs") == "3.86 GMACs"
    assert human(999_960) == "1.0 M"
    assert human(999) == "999"
    assert human(-2_500) == "-2.5 K"


# ---------------------------------------------------------------- Keras layers


def test_notes_arithmetic_by_layer_costs():
    direct = sequential((28, 28, 192), L.Conv2D(32, 5, padding="same"))
    bottleneck = sequential(
        (28, 28, 192), L.Conv2D(16, 1), L.Conv2D(32, 5, padding="same", activation="relu")
    )
    assert [c.macs for c in layer_costs(direct)] == [120_422_400]
    assert [c.macs for c in layer_costs(bottleneck)] == [2_408_448, 10_035_200]
    assert model_costs(bottleneck).macs == 12_443_648
    assert layer_costs(direct)[0].params == conv_params(5, 192, 32)
    assert layer_costs(direct)[0].output_shape == (28, 28, 32)


@pytest.mark.parametrize(
    "input_shape, layer, expected",
    [
        ((32, 32, 3), L.Conv2D(8, 3, strides=2, padding="same"), conv_macs(16, 16, 3, 3, 8)),
        ((32, 32, 3), L.Conv2D(8, 3, dilation_rate=2), conv_macs(28, 28, 3, 3, 8)),
        ((32, 32, 3), L.DepthwiseConv2D(3, depth_multiplier=2), 30 * 30 * 3 * 2 * 9),
        (
            (32, 32, 3),
            L.SeparableConv2D(16, 3, padding="same"),
            depthwise_separable_macs(32, 32, 3, 3, 16),
        ),
        ((50, 4), L.Conv1D(6, 5), 46 * 6 * 5 * 4),
        ((8, 8, 8, 2), L.Conv3D(3, 3), 6**3 * 3 * 27 * 2),
        ((16, 16, 4), L.Conv2DTranspose(2, 3, strides=2, padding="same"), 16 * 16 * 4 * 9 * 2),
        ((10, 8), L.Dense(4), 10 * 8 * 4),
        ((32, 32, 3), L.BatchNormalization(), 0),
        ((32, 32, 3), L.MaxPooling2D(), 0),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, L.Layer) else None,
)
def test_layer_macs(input_shape, layer, expected):
    model = sequential(input_shape, layer)
    (cost,) = layer_costs(model)
    assert cost.kind == type(layer).__name__
    assert cost.macs == expected
    assert cost.params == model.count_params()


def test_grouped_conv_is_counted_without_running_it():
    plain = layer_costs(sequential((16, 16, 8), L.Conv2D(16, 3)))[0]
    grouped = layer_costs(sequential((16, 16, 8), L.Conv2D(16, 3, groups=2)))[0]
    assert grouped.macs * 2 == plain.macs
    assert grouped.params == conv_params(3, 8, 16, groups=2) == (plain.params - 16) // 2 + 16


def test_custom_layer_count_macs_is_used():
    class Scale(L.Layer):
        def call(self, x):
            return x * 2.0

        def count_macs(self, input_shape, output_shape):
            return int(np.prod(input_shape))

    assert model_costs(sequential((5, 7), Scale())).macs == 35


def test_shared_layer_counts_macs_per_call_and_params_once():
    dense = L.Dense(5)
    x = keras.Input((3,))
    model = keras.Model(x, L.Concatenate()([dense(x), dense(x)]))
    costs = model_costs(model)
    assert costs.macs == 2 * 3 * 5
    assert costs.params == model.count_params() == 20


def _block(x):
    x = L.Conv2D(4, 3, padding="same")(x)
    x = L.BatchNormalization()(x)
    return L.ReLU()(x)


def _head(x):
    return L.Dense(2)(L.GlobalAveragePooling2D()(x))


def test_nested_model_gives_the_same_totals_as_the_flat_one():
    x = keras.Input((8, 8, 3))
    flat = keras.Model(x, _head(_block(x)))
    inner_input = keras.Input((8, 8, 3))
    inner = keras.Model(inner_input, _block(inner_input), name="inner")
    y = keras.Input((8, 8, 3))
    nested = keras.Model(y, _head(inner(y)))
    assert model_costs(nested) == model_costs(flat)
    assert model_costs(nested).params == nested.count_params() == flat.count_params()
    assert [c.name for c in layer_costs(nested)][1:5] == [f"inner/{la.name}" for la in inner.layers]

    inner.trainable = False
    frozen = model_costs(nested)
    assert frozen.params == nested.count_params()
    assert frozen.trainable == sum(int(np.prod(w.shape)) for w in nested.trainable_weights)


def test_nested_model_called_twice_and_on_an_undefined_input_shape():
    inner = keras.Sequential([keras.Input((None, None, 3)), L.Conv2D(4, 3)], name="inner")
    x = keras.Input((16, 16, 3))
    model = keras.Model(x, L.Add()([inner(x), inner(x)]))
    rows = {c.name: c for c in layer_costs(model)}
    assert rows["inner/" + inner.layers[0].name].macs == 2 * conv_macs(14, 14, 3, 3, 4)
    assert rows["inner/" + inner.layers[0].name].output_shape == (14, 14, 4)
    assert model_costs(model).params == model.count_params()


def test_unbuilt_sequential_raises_a_helpful_error():
    with pytest.raises(ValueError, match="call the model on an input or give it an Input layer"):
        layer_costs(keras.Sequential([L.Dense(3)]))
    built = keras.Sequential([L.Dense(3)])
    built(np.zeros((2, 7), "float32"))
    assert model_costs(built) == Costs(params=24, trainable=24, non_trainable=0, macs=21)


def test_undefined_spatial_size_raises():
    with pytest.raises(ValueError, match="concrete shape"):
        layer_costs(sequential((None, None, 3), L.Conv2D(4, 3)))


def test_tables():
    model = sequential(
        (32, 32, 3),
        L.Conv2D(8, 3, padding="same"),
        L.MaxPooling2D(),
        L.Conv2D(16, 3, padding="same"),
        L.Conv2D(16, 3, strides=2, padding="same"),
        L.GlobalAveragePooling2D(),
        L.Dense(10),
    )
    costs = model_costs(model)
    table = cost_table(model)
    assert list(table.columns) == ["layer", "kind", "output shape", "params", "MACs"]
    assert table.iloc[-1]["layer"] == "total"
    assert table.iloc[-1]["params"] == costs.params == model.count_params()
    assert table.iloc[-1]["MACs"] == costs.macs == table["MACs"].iloc[:-1].sum()
    assert len(cost_table(model, total=False)) == len(model.layers)

    stages = stage_table(model)
    assert list(stages.columns) == ["stage", "output shape", "params", "MACs"]
    assert list(stages["output shape"]) == [(16, 16, 8), (8, 8, 16), (10,)]
    assert stages["params"].sum() == costs.params
    assert stages["MACs"].sum() == costs.macs


# ---------------------------------------------------------------- keras.applications

# name: (total params, trainable params, MACs as REFERENCE_COSTS.md rounds them)
REFERENCE = {
    "VGG16": (138_357_544, 138_357_544, 1e9, 2, 15.47),
    "MobileNet": (4_253_864, 4_231_976, 1e6, 1, 568.7),
    "MobileNetV2": (3_538_984, 3_504_872, 1e6, 1, 300.8),
    "ResNet50": (25_636_712, 25_583_592, 1e9, 2, 3.86),
    "EfficientNetB0": (5_330_571, 5_288_548, 1e9, 3, 0.386),
}


@pytest.fixture(scope="module", params=list(REFERENCE))
def app(request):
    model = getattr(keras.applications, request.param)(weights=None, include_top=True)
    yield request.param, model
    del model
    keras.backend.clear_session()


def test_keras_applications_match_the_reference(app):
    name, model = app
    total, trainable, scale, digits, macs = REFERENCE[name]
    costs = model_costs(model)
    assert costs.params == total == model.count_params()
    assert costs.trainable == trainable
    assert costs.non_trainable == total - trainable
    assert round(costs.macs / scale, digits) == macs


def test_keras_applications_stages(app):
    _, model = app
    costs = model_costs(model)
    stages = stage_table(model)
    assert [s[0] for s in stages["output shape"]] == [112, 56, 28, 14, 7, 1000]
    assert stages["params"].sum() == costs.params
    assert stages["MACs"].sum() == costs.macs
