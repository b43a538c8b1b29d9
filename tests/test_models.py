"""The package's builders against independent references: papers, keras.applications, numpy."""

import ast
from pathlib import Path

import keras
import numpy as np
import pytest

from casebook import costs, models, paper_layers
from casebook.facts import reference

PACKAGE = Path(__file__).resolve().parents[1] / "casebook"


LENET, ALEXNET = "01_classic_networks/01_lenet5", "01_classic_networks/02_alexnet"


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_lenet5_1998_matches_the_paper():
    model = models.lenet5_1998()
    assert trainable(model) == reference(LENET, "lenet5_1998.trainable_params")
    assert model.get_layer("C3").count_params() == reference(LENET, "lenet5_1998.c3_params")
    assert model.count_params() - trainable(model) == 840
    assert model(np.zeros((2, 32, 32, 1), "float32")).shape == (2, 10)


def test_lenet5_modern_variant():
    model = models.lenet5()
    assert model.count_params() == reference(LENET, "lenet5.params")
    assert costs.feature_map_shapes(model) == [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16)]
    assert costs.model_costs(model).macs == 416_520


def test_partially_connected_conv_equals_a_masked_full_convolution():
    table = paper_layers.LENET_C3_TABLE
    partial = paper_layers.PartiallyConnectedConv2D(table, 5)
    x = np.random.default_rng(0).normal(size=(2, 14, 14, 6)).astype("float32")
    got = keras.ops.convert_to_numpy(partial(x))
    kernel = np.zeros((5, 5, 6, 16), "float32")
    for j, sources in enumerate(table):
        kernel[:, :, list(sources), j] = keras.ops.convert_to_numpy(partial.kernels[j])[..., 0]
    full = keras.layers.Conv2D(16, 5, use_bias=False)
    full.build((None, 14, 14, 6))
    full.set_weights([kernel])
    expected = keras.ops.convert_to_numpy(full(x)) + keras.ops.convert_to_numpy(partial.bias)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_partially_connected_conv_rejects_a_table_naming_missing_inputs():
    with pytest.raises(ValueError, match="names input map 5"):
        paper_layers.PartiallyConnectedConv2D(((0, 5),), 3)(np.zeros((1, 8, 8, 3), "float32"))


def test_local_response_normalization_matches_the_papers_formula():
    x = np.random.default_rng(1).normal(size=(2, 3, 3, 7)).astype("float32")
    k, n, alpha, beta = 2.0, 5, 1e-2, 0.75
    got = keras.ops.convert_to_numpy(paper_layers.LocalResponseNormalization(n, k, alpha, beta)(x))
    expected = np.empty_like(x)
    for i in range(7):
        lo, hi = max(0, i - n // 2), min(6, i + n // 2)
        energy = np.sum(x[..., lo : hi + 1] ** 2, axis=-1)
        expected[..., i] = x[..., i] / (k + alpha * energy) ** beta
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_subsampling_is_a_scaled_sum_plus_bias():
    layer = paper_layers.Subsampling2D(2)
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    layer.build(x.shape)
    layer.set_weights([np.array([0.5], "float32"), np.array([1.0], "float32")])
    got = keras.ops.convert_to_numpy(layer(x))[0, :, :, 0]
    np.testing.assert_allclose(
        got,
        [
            [0.5 * (0 + 1 + 4 + 5) + 1, 0.5 * (2 + 3 + 6 + 7) + 1],
            [0.5 * (8 + 9 + 12 + 13) + 1, 0.5 * (10 + 11 + 14 + 15) + 1],
        ],
    )


@pytest.mark.parametrize(
    ("groups", "params", "giga_macs"),
    [
        (1, reference(ALEXNET, "alexnet.params"), 1.14),
        (2, reference(ALEXNET, "alexnet_2groups.params"), 0.72),
    ],
)
def test_alexnet_single_stream_and_two_gpu(groups, params, giga_macs):
    model = models.alexnet(groups=groups)
    assert model.count_params() == params
    assert round(costs.model_costs(model).macs / 1e9, 2) == giga_macs


def test_alexnet_with_torchvisions_filters_has_torchvisions_count():
    assert models.alexnet(filters=(64, 192, 384, 256, 256), lrn=False).count_params() == reference(
        ALEXNET, "alexnet_torchvision.params"
    )


def test_small_alexnet_runs_with_and_without_lrn():
    for lrn in (True, False):
        out = models.alexnet_small(lrn=lrn)(np.zeros((2, 28, 28, 1), "float32"))
        assert out.shape == (2, 10)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(models.vgg16, keras.applications.VGG16), (models.vgg19, keras.applications.VGG19)],
)
def test_vgg_matches_keras_applications_layer_by_layer(ours, theirs):
    mine, reference = ours(), theirs(weights=None)
    assert mine.count_params() == reference.count_params()
    shared, differing = costs.layer_differences(mine, reference)
    assert differing == []
    assert len(shared) >= 21  # every conv, pool and dense layer has the same name


def test_small_vgg_follows_the_halve_and_double_rule():
    model = models.vgg_small()
    pooled = [tuple(model.get_layer(f"block{i}_pool").output.shape[1:]) for i in (1, 2, 3)]
    assert pooled == [(14, 14, 16), (7, 7, 32), (3, 3, 64)]


def test_model_code_is_backend_agnostic():
    """No TensorFlow inside models or layers: the book must run on JAX and PyTorch too."""
    for path in [PACKAGE / "paper_layers.py", *sorted((PACKAGE / "models").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in getattr(node, "names", [])
        }
        imported |= {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not imported & {"tensorflow", "tf", "torch", "jax"}, path


def test_layer_differences_names_the_layers_that_disagree():
    shared, differing = costs.layer_differences(models.vgg_small(num_classes=5), models.vgg_small())
    assert "block1_conv1" in shared and "predictions" in shared
    assert differing == ["predictions"]
