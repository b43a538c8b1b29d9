"""ResNets, 1x1 bottlenecks and Inception against the paper, keras.applications, torchvision's
published counts and the notes' arithmetic."""

import keras
import numpy as np
import pytest

from casebook import costs, models, paper_layers
from casebook.facts import reference as ref
from casebook.models import inception, one_by_one

ADVICE, RESNET, INCEPTION = (
    "09_practical_advice/01_practical_advice",
    "02_resnets/01_resnet",
    "04_inception/01_inception",
)
MOBILENET, EFFICIENTNET = "05_mobilenet/01_mobilenet", "06_efficientnet/01_efficientnet"


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def relu_output(shape, seed=0):
    return np.maximum(np.random.default_rng(seed).normal(size=shape), 0).astype("float32")


def test_resnet50_matches_keras_applications_layer_by_layer():
    mine, reference = models.resnet50(), keras.applications.ResNet50(weights=None)
    assert mine.count_params() == reference.count_params() == ref(ADVICE, "resnet50.params")
    assert trainable(mine) == ref(ADVICE, "resnet50.trainable_params")
    shared, differing = costs.layer_differences(mine, reference)
    assert differing == []
    assert len(shared) == len(mine.layers) - 1  # every layer but the input has keras' name
    assert round(costs.model_costs(mine).macs / 1e9, 2) == 3.86


def test_resnet50_v1_5_has_torchvisions_trainable_count_and_cost():
    model = models.resnet50(version="v1.5")
    assert trainable(model) == ref(RESNET, "resnet50_v1_5.trainable_params")
    assert round(costs.model_costs(model).macs / 1e9, 2) == 4.09
    with pytest.raises(ValueError, match="'v1' or 'v1.5'"):
        models.resnet50(version="v2")


def test_identity_block_with_a_zero_last_convolution_is_the_identity():
    inputs = keras.Input((7, 7, 32))
    block = keras.Model(inputs, models.identity_block(inputs, 3, (8, 8, 32), name="b"))
    last = block.get_layer("b_3_conv")
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    x = relu_output((2, 7, 7, 32))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(block(x, training=False)), x)


def test_convolutional_block_projects_the_shortcut():
    inputs = keras.Input((8, 8, 16))
    outputs = models.convolutional_block(inputs, 3, (4, 4, 32), name="c", s=2)
    block = keras.Model(inputs, outputs)
    assert tuple(outputs.shape[1:]) == (4, 4, 32)
    # W_s: 1x1 conv 16 -> 32 with bias, and batch norm's 4 values per channel
    assert block.get_layer("c_0_conv").count_params() == 16 * 32 + 32
    assert block.get_layer("c_0_bn").count_params() == 4 * 32
    assert block.get_layer("c_1_conv").strides == (2, 2)


def test_zero_padding_shortcut_subsamples_and_pads_with_zeros():
    x = relu_output((1, 7, 7, 4))
    out = keras.ops.convert_to_numpy(paper_layers.ZeroPaddingShortcut(8, 2)(x))
    assert out.shape == (1, 4, 4, 8)  # 'same' stride-2 size: ceil(7 / 2)
    np.testing.assert_array_equal(out[..., :4], x[:, ::2, ::2, :])
    assert not out[..., 4:].any()
    with pytest.raises(ValueError, match="projection shortcut"):
        paper_layers.ZeroPaddingShortcut(2, 2)(x)


def test_small_resnets_plain_twins_and_shortcut_options():
    projection, zeros = models.resnet_small(20), models.resnet_small(20, shortcut="zeros")
    plain = models.resnet_small(20, residual=False)
    assert projection.count_params() - zeros.count_params() == 16 * 32 + 32 * 64 + 4 * (32 + 64)
    assert zeros.count_params() == plain.count_params()
    assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)
    assert sum(isinstance(layer, keras.layers.Add) for layer in zeros.layers) == 9
    cifar = models.resnet_small(20, input_shape=(32, 32, 3), shortcut="zeros")
    assert abs(cifar.count_params() - 270_000) / 270_000 < 0.01  # the paper's "0.27M"
    pooled = models.resnet_small(8, stem_pool=True)
    assert pooled(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 10)
    with pytest.raises(ValueError, match="6n \\+ 2|8, 14, 20"):
        models.resnet_small(21)


def test_inception_module_3a_shape_params_and_branch_order():
    inputs = keras.Input((28, 28, 192))
    module = keras.Model(
        inputs, models.inception_module(inputs, *inception.GOOGLENET_MODULES["3a"], name="m")
    )
    assert tuple(module.output.shape[1:]) == (28, 28, 256)
    assert module.count_params() == ref(INCEPTION, "inception_3a.params")
    assert costs.model_costs(module).macs == ref(INCEPTION, "inception_3a.macs")
    x = np.random.default_rng(0).random((1, 28, 28, 192), dtype="float32")
    first = keras.ops.convert_to_numpy(module(x))[..., :64]
    kernel, bias = module.get_layer("m_1x1").get_weights()
    np.testing.assert_allclose(first, np.maximum(x @ kernel[0, 0] + bias, 0), atol=1e-4)


def test_googlenet_against_the_paper_and_torchvision():
    paper = models.googlenet(aux=False)
    assert abs(paper.count_params() - 6.8e6) / 6.8e6 < 0.03
    assert abs(costs.model_costs(paper).macs - 1.55e9) / 1.55e9 < 0.03
    torch_like = models.googlenet(aux=False, variant="torchvision")
    assert trainable(torch_like) == ref(INCEPTION, "googlenet_torchvision.trainable_params")
    assert round(costs.model_costs(torch_like).macs / 1e9, 2) == 1.50
    with_aux = models.googlenet(aux=True)
    assert [tuple(o.shape[1:]) for o in with_aux.outputs] == [(1000,)] * 3
    assert with_aux.count_params() - paper.count_params() == ref(INCEPTION, "googlenet.aux_params")


def test_reduced_conv_net_costs_follow_the_notes_formula():
    assert costs.model_costs(models.reduced_conv_net(None)).macs == (
        28 * 28 * 32 * 9 + 14 * 14 * 32 * 25 * 32 + 7 * 7 * 32 * 25 * 32 + 32 * 10
    )
    assert costs.model_costs(models.reduced_conv_net(16)).macs == (
        28 * 28 * 32 * 9
        + 14 * 14 * 16 * 32
        + 14 * 14 * 32 * 25 * 16
        + 7 * 7 * 16 * 32
        + 7 * 7 * 32 * 25 * 16
        + 32 * 10
    )
    inputs = keras.Input((28, 28, 192))
    thin = keras.Model(inputs, one_by_one.reduced_conv(inputs, 16, 5, 32, "b"))
    assert costs.model_costs(thin).macs == ref(INCEPTION, "inception_3a.5x5_branch_macs")


def test_small_inception_trains_with_side_branches():
    from casebook import training

    x = np.random.default_rng(0).random((64, 28, 28, 1), dtype="float32")
    y = np.arange(64) % 10
    model = models.inception_small(aux=True)
    assert len(model.outputs) == 3
    run = training.train(
        model,
        (x, y),
        (x[:16], y[:16]),
        epochs=1,
        seed=0,
        batch_size=32,
        verbose=0,
        loss_weights=[1.0, 0.3, 0.3],
        schedule="cosine",
    )
    assert {"loss", "accuracy", "total_loss", "val_accuracy"} <= set(run.history)
    assert 0.0 <= run.test_accuracy <= 1.0
    with pytest.raises(ValueError, match="'constant' or 'cosine'"):
        training.train(model, (x, y), (x, y), epochs=1, seed=0, schedule="step")


@pytest.mark.parametrize(
    ("ours", "theirs", "params", "mega_macs"),
    [
        (
            models.mobilenet_v1,
            keras.applications.MobileNet,
            ref(MOBILENET, "mobilenet_v1.params"),
            568.7,
        ),
        (
            models.mobilenet_v2,
            keras.applications.MobileNetV2,
            ref(ADVICE, "mobilenet_v2.params"),
            300.8,
        ),
    ],
)
def test_mobilenets_match_keras_applications_layer_by_layer(ours, theirs, params, mega_macs):
    mine, reference = ours(), theirs(weights=None)
    assert mine.count_params() == reference.count_params() == params
    shared, differing = costs.layer_differences(mine, reference)
    assert differing == [] and len(shared) >= 80
    assert round(costs.model_costs(mine).macs / 1e6, 1) == mega_macs


@pytest.mark.parametrize(
    ("alpha", "size", "paper_mega_macs"),
    [(0.75, 224, 325), (0.5, 224, 149), (0.25, 224, 41), (1.0, 192, 418), (1.0, 128, 186)],
)
def test_mobilenet_v1_multipliers_give_the_papers_costs(alpha, size, paper_mega_macs):
    model = models.mobilenet_v1((size, size, 3), alpha=alpha)
    assert abs(costs.model_costs(model).macs / 1e6 - paper_mega_macs) / paper_mega_macs < 0.005


def test_inverted_residual_block_is_linear_with_a_residual_only_when_shapes_match():
    inputs = keras.Input((8, 8, 16))
    same = keras.Model(inputs, models.inverted_residual_block(inputs, 6, 16, 1, name="s_"))
    assert any(isinstance(layer, keras.layers.Add) for layer in same.layers)
    last = same.get_layer("s_project")
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 16)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(same(x, training=False)), x, atol=1e-6)
    down = keras.Model(inputs, models.inverted_residual_block(inputs, 6, 24, 2, name="d_"))
    assert not any(isinstance(layer, keras.layers.Add) for layer in down.layers)
    out = keras.ops.convert_to_numpy(down(x, training=False))
    assert out.shape == (2, 4, 4, 24) and out.min() < 0  # no ReLU after the projection
    thin = keras.Model(inputs, models.inverted_residual_block(inputs, 1, 16, 1, name="t_"))
    # no expansion: depthwise 3x3 (144) + BN (64) + project 16x16 (256) + BN (64)
    assert thin.count_params() == 144 + 64 + 256 + 64


def test_depthwise_separable_block_is_capped_at_six():
    inputs = keras.Input((6, 6, 3))
    block = keras.Model(inputs, models.depthwise_separable_block(inputs, 5, name="conv_dw_1"))
    out = keras.ops.convert_to_numpy(block(100 * np.ones((1, 6, 6, 3), "float32")))
    assert out.shape == (1, 6, 6, 5) and 0 <= out.min() and out.max() <= 6


def test_make_divisible_rounds_like_keras():
    from casebook.models.mobilenet import make_divisible

    assert [make_divisible(v) for v in (24, 11.2, 1280 * 1.4, 32 * 0.75)] == [24, 16, 1792, 24]


def test_small_mobilenets_cost_less_than_the_small_vgg():
    vgg = costs.model_costs(models.vgg_small()).macs
    for build in (models.mobilenet_v1_small, models.mobilenet_v2_small):
        model = build()
        assert costs.model_costs(model).macs < 0.6 * vgg
        assert model(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 10)


def conv_filters(model):
    """{layer name: filters} of every convolution that has filters (not the depthwise ones)."""
    return {
        layer.name: layer.filters
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D) and layer.filters is not None
    }


def test_a_wider_small_inception_doubles_every_branch_and_keeps_its_stem():
    one, two = conv_filters(models.inception_small()), conv_filters(models.inception_small(width=2))
    assert one.keys() == two.keys()
    assert two.pop("stem") == one.pop("stem") == 32
    assert one and all(two[name] == 2 * filters for name, filters in one.items())


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_the_width_multiplier_scales_the_small_mobilenets_and_the_vgg_they_are_compared_with(
    alpha,
):
    for build, option in (
        (models.mobilenet_v1_small, "alpha"),
        (models.mobilenet_v2_small, "alpha"),
        (models.vgg_small, "width"),
    ):
        one, scaled = conv_filters(build()), conv_filters(build(**{option: alpha}))
        assert one.keys() == scaled.keys()
        if build is models.mobilenet_v2_small and alpha < 1:
            # rounded to multiples of 8, as keras.applications' v2 rounds, so 24 x 0.5 is 16;
            # the last 1x1 convolution widens with an alpha above 1 only
            assert scaled.pop("Conv_1") == one.pop("Conv_1") == 256
            assert all(f % 8 == 0 and f <= one[name] for name, f in scaled.items())
            assert sum(scaled.values()) < 0.7 * sum(one.values())
            continue
        for name, filters in one.items():
            assert scaled[name] == alpha * filters, (build.__name__, name)
    # the dense layers after the VGG's convolutions stay as they are
    assert models.vgg_small(width=alpha).get_layer("fc1").units == 128


def test_efficientnet_b0_matches_keras_applications_layer_by_layer():
    mine, reference = models.efficientnet("b0"), keras.applications.EfficientNetB0(weights=None)
    assert mine.count_params() == reference.count_params() == ref(ADVICE, "efficientnet_b0.params")
    assert trainable(mine) == ref(ADVICE, "efficientnet_b0.trainable_params")
    shared, differing = costs.layer_differences(mine, reference)
    assert differing == [] and len(shared) >= 230
    assert round(costs.model_costs(mine).macs / 1e9, 3) == 0.386


def test_efficientnet_scaling_rules():
    from casebook.models import efficientnets

    depth, width, resolution = efficientnets.compound_multipliers(1)
    assert (depth, width, resolution) == (1.2, 1.1, 1.15)
    assert abs(depth * width**2 * resolution**2 - 1.92) < 0.01
    # keras.applications' B7 (width 2.0, depth 3.1): stem 64, top 2560, 4 repeats -> 13
    assert efficientnets.round_filters(32, 2.0) == 64
    assert efficientnets.round_filters(1280, 2.0) == 2560
    assert efficientnets.round_filters(16, 1.1) == 16  # 17.6 rounds to 16, within 90%
    assert efficientnets.round_repeats(4, 3.1) == 13
    assert models.efficientnet("b3").count_params() == ref(EFFICIENTNET, "efficientnet_b3.params")


def test_efficientnet_small_scales_one_dimension_at_a_time():
    def blocks(model):
        return sum(layer.name.endswith("project_conv") for layer in model.layers)

    def stem(model):
        return model.get_layer("stem_conv")

    base = models.efficientnet_small()
    assert blocks(base) == 5 and stem(base).filters == 16
    assert blocks(models.efficientnet_small(depth=2)) == 10
    assert blocks(models.efficientnet_small(depth=1.2)) == 2 + 3 + 3  # repeats round up
    assert stem(models.efficientnet_small(width=2)).filters == 32
    high = models.efficientnet_small(resolution=56)
    assert high.get_layer("resolution").output.shape[1:3] == (56, 56)
    assert stem(high).output.shape[1:3] == (28, 28)
    costs_of = {layer.name: layer for layer in costs.layer_costs(high)}
    base_costs = {layer.name: layer for layer in costs.layer_costs(base)}
    assert costs_of["stem_conv"].macs == 4 * base_costs["stem_conv"].macs
    assert high.count_params() == base.count_params()  # resolution adds no weights
    assert base.predict(np.zeros((2, 28, 28, 1), "float32"), verbose=0).shape == (2, 10)
