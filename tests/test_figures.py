"""Tests of casebook.figures: each figure builds, carries the expected parts, saves, and rejects
nonsense with a ValueError."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from casebook import figures  # noqa: E402
from casebook.costs import human  # noqa: E402

keras = pytest.importorskip("keras")
L = keras.layers


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def lenet():
    return keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            L.Conv2D(6, 5, activation="tanh"),
            L.AveragePooling2D(2),
            L.Conv2D(16, 5, activation="tanh"),
            L.AveragePooling2D(2),
            L.Flatten(),
            L.Dense(120, activation="tanh"),
            L.Dense(84, activation="tanh"),
            L.Dense(10, activation="softmax"),
        ]
    )


@pytest.fixture(scope="module")
def vgg_like():
    """A small VGG-shaped functional model: 13 convs, 5 pools, flatten, 3 dense, plus
    ReLU / batch norm / dropout layers that keep the shape and must be skipped."""
    x = inputs = keras.Input((32, 32, 3))
    for filters, convs in ((4, 2), (8, 2), (8, 3), (16, 3), (16, 3)):
        for _ in range(convs):
            x = L.Conv2D(filters, 3, padding="same")(x)
            x = L.BatchNormalization()(x)
            x = L.ReLU()(x)
        x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(32, activation="relu")(x)
    x = L.Dropout(0.5)(x)
    x = L.Dense(32, activation="relu")(x)
    x = L.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, x)


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def _boxes(fig):
    return [
        p
        for ax in fig.axes
        for p in ax.patches
        if isinstance(p, Rectangle) and (p.get_gid() or "").startswith("box-")
    ]


def _save(fig, tmp_path, name="fig.png"):
    path = tmp_path / name
    fig.savefig(path, dpi=60)
    assert path.stat().st_size > 1000


# -- helpers ---------------------------------------------------------------------------------


# -- architecture_diagram --------------------------------------------------------------------


def test_lenet_diagram_boxes_and_labels(lenet, tmp_path):
    fig = figures.architecture_diagram(lenet, title="LeNet-5")
    assert isinstance(fig, Figure)
    texts = _texts(fig)
    shapes = ["32x32x1", "28x28x6", "14x14x6", "10x10x16", "5x5x16", "400", "120", "84", "10"]
    ops = ["input", "conv 5x5, 6", "avg-pool 2x2", "conv 5x5, 16", "flatten", "dense 120"]
    for label in shapes + ops + ["LeNet-5"]:
        assert label in texts, label
    assert texts.count("avg-pool 2x2") == 2
    # one box and one shape label per tensor-changing layer, the input included
    assert len(_boxes(fig)) == 9
    shape_texts = [
        t for ax in fig.axes for t in ax.texts if (t.get_gid() or "").startswith("shape-")
    ]
    assert [t.get_text() for t in shape_texts] == shapes
    _save(fig, tmp_path)


def test_diagram_sizes_follow_the_tensor(lenet):
    fig = figures.architecture_diagram(lenet)
    boxes = {b.get_gid(): b for b in _boxes(fig)}
    # spatial size shrinks 28 -> 14: the box gets shorter; channels grow 6 -> 16: wider
    assert boxes["box-2"].get_height() < boxes["box-1"].get_height()
    assert boxes["box-3"].get_width() > boxes["box-2"].get_width()
    # the flat vectors are thin bars
    assert boxes["box-6"].get_width() < boxes["box-1"].get_width()


def test_vgg_like_diagram_skips_shape_keeping_layers_and_wraps(vgg_like, tmp_path):
    fig = figures.architecture_diagram(vgg_like, title="VGG-like")
    texts = _texts(fig)
    # input + 13 conv + 5 pool + flatten + 3 dense
    assert len(_boxes(fig)) == 23
    assert texts.count("max-pool 2x2") == 5
    assert sum(t.startswith("conv 3x3") for t in texts) == 13
    assert not any("batch" in t.lower() or "relu" in t.lower() or "dropout" in t for t in texts)
    width, height = fig.get_size_inches()
    assert width <= 11  # wrapped onto rows instead of one very long strip
    assert height > 3
    _save(fig, tmp_path)


def test_diagram_max_layers_and_special_layers(tmp_path):
    class LRN(L.Layer):  # a custom layer, recognised by its class name
        def call(self, x):
            return x

    model = keras.Sequential(
        [
            keras.Input((64, 64, 3)),
            L.Conv2D(8, 11, strides=4, padding="same"),
            LRN(),
            L.MaxPooling2D(3, strides=2),
            L.SeparableConv2D(16, 3),
            L.DepthwiseConv2D(3),
            L.GlobalAveragePooling2D(),
            L.Dense(5),
        ]
    )
    texts = _texts(figures.architecture_diagram(model))
    for label in ("conv 11x11/4, 8", "LRN", "max-pool 3x3/2", "sep-conv 3x3, 16", "dw-conv 3x3"):
        assert label in texts, label
    assert "global avg-pool" in texts

    fig = figures.architecture_diagram(model, max_layers=3)
    assert len(_boxes(fig)) == 4
    assert any("4 more layers not shown" in t for t in _texts(fig))
    _save(fig, tmp_path)


def test_diagram_rejects_nonsense(lenet):
    with pytest.raises(ValueError, match="Keras model"):
        figures.architecture_diagram("lenet")
    with pytest.raises(ValueError, match="keras.Input"):
        figures.architecture_diagram(keras.Sequential([L.Dense(3)]))
    with pytest.raises(ValueError, match="max_layers"):
        figures.architecture_diagram(lenet, max_layers=0)


# -- cost_bars -------------------------------------------------------------------------------


def test_cost_bars_panels_and_labels(tmp_path):
    names = ["LeNet-5", "AlexNet", "VGG-16"]
    fig = figures.cost_bars(
        names, [61_706, 62.4e6, 138.4e6], [0.42e6, 0.72e9, 15.5e9], title="Cost"
    )
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    params_ax, macs_ax = fig.axes
    assert params_ax.get_xscale() == "log" and macs_ax.get_xscale() == "log"
    assert len(params_ax.patches) == 3 and len(macs_ax.patches) == 3
    labels = [t.get_text() for t in params_ax.texts]
    assert (
        labels == [human(n) for n in (61_706, 62.4e6, 138.4e6)] == ["61.7 K", "62.4 M", "138.4 M"]
    )
    assert [t.get_text() for t in macs_ax.texts] == ["420.0 K", "720.0 M", "15.50 G"]
    assert [t.get_text() for t in params_ax.get_yticklabels()] == names
    _save(fig, tmp_path)


def test_cost_bars_zero_counts_and_linear(tmp_path):
    fig = figures.cost_bars(["conv1", "pool1"], [156, 0], [117_600, 0])
    assert [t.get_text() for t in fig.axes[0].texts] == ["156", "0"]
    _save(fig, tmp_path, "log.png")
    fig = figures.cost_bars(["a", "b"], [1, 2], [3, 4], log=False)
    assert fig.axes[0].get_xscale() == "linear"
    _save(fig, tmp_path, "linear.png")


def test_cost_bars_takes_pandas_columns():
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame({"layer": ["conv1", "dense1"], "params": [156, 48_120], "macs": [1, 2]})
    fig = figures.cost_bars(table["layer"], table["params"], table["macs"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["156", "48.1 K"]


@pytest.mark.parametrize(
    "names, params, macs, match",
    [
        ([], [], [], "names is empty"),
        (["a", "b"], [1], [1, 2], "params has 1 values"),
        (["a"], [1], [-5], "macs must hold finite counts"),
        (["a"], ["x"], [1], "params must hold numbers"),
        ("ab", [1, 2], [1, 2], "names must be a list"),
    ],
)
def test_cost_bars_rejects_nonsense(names, params, macs, match):
    with pytest.raises(ValueError, match=match):
        figures.cost_bars(names, params, macs)


# -- training_curves -------------------------------------------------------------------------


def _history(epochs, offset=0.0):
    loss = list(np.linspace(1.0, 0.2, epochs) + offset)
    acc = list(np.linspace(0.3, 0.95, epochs) - offset)
    return {"loss": loss, "val_loss": [v + 0.1 for v in loss], "accuracy": acc,
            "val_accuracy": [v - 0.05 for v in acc]}  # fmt: skip


def test_training_curves_panels_styles_and_epochs(tmp_path):
    fig = figures.training_curves({"lenet": _history(5), "lenet+bn": _history(5, 0.05)})
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    loss_ax = fig.axes[0]
    assert loss_ax.get_title() == "Loss"
    lines = loss_ax.get_lines()
    assert len(lines) == 4
    styles = [line.get_linestyle() for line in lines]
    assert styles == ["-", "--", "-", "--"]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert list(lines[0].get_xdata()) == [1, 2, 3, 4, 5]
    legend_texts = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert legend_texts == ["lenet", "lenet+bn", "training", "validation"]
    _save(fig, tmp_path)


def test_training_curves_single_metric_and_missing_validation():
    fig = figures.training_curves({"run": {"loss": [0.9, 0.5]}}, metrics="loss")
    assert len(fig.axes) == 1
    assert len(fig.axes[0].get_lines()) == 1


@pytest.mark.parametrize(
    "histories, metrics, match",
    [
        ({}, ("loss",), "histories is empty: pass at least one run"),
        ([1, 2], ("loss",), "histories must be a dict"),
        ({"a": {"loss": [1.0]}}, (), "metrics is empty"),
        ({"a": {"loss": [1.0]}}, 5, "metrics must be a list"),
        ({"a": {"loss": [1.0]}}, ("accuracy",), "'accuracy' is in none of the runs"),
        ({"a": {"loss": []}}, ("loss",), "'loss' is empty"),
        ({"a": {"loss": ["x"]}}, ("loss",), "must hold numbers"),
        ({"a": 3}, ("loss",), "History.history-like dict"),
    ],
)
def test_training_curves_rejects_nonsense(histories, metrics, match):
    with pytest.raises(ValueError, match=match):
        figures.training_curves(histories, metrics)


# -- sample_predictions and image_grid -------------------------------------------------------

CLASSES = ["cat", "dog", "frog"]


def test_sample_predictions_titles_and_colours(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((8, 16, 16, 1))
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    predicted = np.array([0, 1, 1, 0, 1, 2, 2, 1])
    fig = figures.sample_predictions(images, labels, predicted, CLASSES, n=6, cols=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    titles = [ax.title for ax in fig.axes]
    assert titles[0].get_text() == "cat (cat)"
    assert titles[2].get_text() == "dog (frog)"
    right, wrong = figures.PALETTE["right"], figures.PALETTE["wrong"]
    assert titles[0].get_color() == right
    assert titles[2].get_color() == wrong
    _save(fig, tmp_path)


def test_sample_predictions_uint8_rgb_scores_and_small_batches():
    images = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    scores = np.eye(3)[[2, 1, 0]]  # per-class scores are reduced with argmax
    fig = figures.sample_predictions(images, [2, 1, 1], scores, CLASSES)
    assert len(fig.axes) == 3  # n=12 asked, only 3 images
    assert fig.axes[2].title.get_text() == "cat (dog)"


@pytest.mark.parametrize(
    "images, labels, predicted, classes, match",
    [
        (np.zeros((2, 8, 8)), [0, 1], [0, 3], CLASSES, "class index 3"),
        (np.zeros((2, 8, 8)), [0], [0, 1], CLASSES, "labels has 1 entries"),
        (np.zeros((2, 8, 8)) + 5.0, [0, 1], [0, 1], CLASSES, r"floats in \[0, 1\]"),
        (np.zeros((2, 8, 8, 4)), [0, 1], [0, 1], CLASSES, "HxWx3"),
        (np.zeros((0, 8, 8)), [], [], CLASSES, "images is empty"),
        (np.zeros((2, 8, 8)), [0, 1], [0, 1], [], "class_names is empty"),
    ],
)
def test_sample_predictions_rejects_nonsense(images, labels, predicted, classes, match):
    with pytest.raises(ValueError, match=match):
        figures.sample_predictions(images, labels, predicted, classes)


def test_sample_predictions_rejects_bad_n():
    with pytest.raises(ValueError, match="n must be a positive"):
        figures.sample_predictions(np.zeros((2, 8, 8)), [0, 1], [0, 1], CLASSES, n=0)


def test_image_grid_layout_and_titles(tmp_path):
    images = [np.full((10, 10), 0.5), np.zeros((12, 12, 3), dtype=np.uint8), np.ones((6, 6, 1))]
    fig = figures.image_grid(images, titles=["a", "b", "c"], cols=2)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3  # 2 x 2 grid, the unused cell removed
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    _save(fig, tmp_path)
    fig = figures.image_grid(np.zeros((7, 8, 8)))
    assert len(fig.axes) == 7


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"images": []}, "images is empty"),
        ({"images": np.zeros((2, 8, 8)), "titles": ["only one"]}, "titles has 1 entries"),
        ({"images": np.zeros((2, 8, 8)), "cols": 0}, "cols must be a positive"),
        ({"images": np.zeros((2, 8, 8)), "cmap": "no-such-map"}, "colormap"),
        ({"images": np.zeros(5)}, "images has shape"),
        ({"images": [np.full((4, 4), np.nan)]}, "NaN"),
    ],
)
def test_image_grid_rejects_nonsense(kwargs, match):
    with pytest.raises(ValueError, match=match):
        figures.image_grid(**kwargs)


def test_no_function_calls_show(monkeypatch, lenet):
    def _fail(*_args, **_kwargs):
        raise AssertionError("figures must not call plt.show")

    monkeypatch.setattr(plt, "show", _fail)
    figures.architecture_diagram(lenet)
    figures.cost_bars(["a"], [1], [1])
    figures.training_curves({"a": {"loss": [1.0, 0.5]}}, metrics=("loss",))
    figures.image_grid(np.zeros((1, 4, 4)))


def test_sweep_draws_each_series_and_the_baseline():
    fig = figures.sweep(
        [1, 2, 4], {"accuracy": [0.1, 0.7, 0.8]}, baseline=("none", 0.82), xlabel="width"
    )
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["accuracy", "none"]


def test_sweep_rejects_mismatched_or_non_positive_values():
    with pytest.raises(ValueError, match="3 values for 2 x values"):
        figures.sweep([1, 2], {"a": [1, 2, 3]})
    with pytest.raises(ValueError, match="log_x needs positive"):
        figures.sweep([0, 1], {"a": [1, 2]})


def test_grouped_bars_draws_one_bar_per_name_and_series():
    fig = figures.grouped_bars(["a", "b", "c"], {"passed": [1, 2, 3], "inside": [4, 5, 6]})
    ax = fig.axes[0]
    assert len(ax.patches) == 6
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="pass one per name"):
        figures.grouped_bars(["a"], {"x": [1, 2]})


# --- block_diagram -----------------------------------------------------------------------------


def block_boxes(figure):
    """(operation, shape, centre x, centre y) of each box, read back from the figure."""
    ax = figure.axes[0]
    texts = [t.get_text() for t in ax.texts]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    centres = [(b.get_x() + b.get_width() / 2, b.get_y() + b.get_height() / 2) for b in boxes]
    return [(texts[2 * i], texts[2 * i + 1], *centres[i]) for i in range(len(boxes))]


def test_a_residual_block_is_one_straight_column_with_its_shortcut_beside_it():
    from casebook.models import resnet

    inputs = keras.Input((56, 56, 256))
    block = keras.Model(inputs, resnet.identity_block(inputs, 3, (64, 64, 256), name="b"))
    figure = figures.block_diagram(block, title="identity block")
    assert figure.number in plt.get_fignums()  # pyplot's: a notebook shows it without display()
    boxes = block_boxes(figure)
    assert [(op, shape) for op, shape, _, _ in boxes] == [
        ("input", "56x56x256"),
        ("conv 1x1, 64 + BN + ReLU", "56x56x64"),
        ("conv 3x3, 64 + BN + ReLU", "56x56x64"),
        ("conv 1x1, 256 + BN", "56x56x256"),
        ("add + ReLU", "56x56x256"),
    ]  # batch norms and activations fold into the box before them
    assert len({x for _, _, x, _ in boxes}) == 1
    ys = [y for _, _, _, y in boxes]
    assert ys == sorted(ys, reverse=True)  # read from top to bottom


def test_an_inception_module_has_four_columns_and_a_centred_concatenation():
    from casebook import models

    inputs = keras.Input((28, 28, 192))
    module = keras.Model(inputs, models.inception_module(inputs, 64, 96, 128, 16, 32, 32))
    boxes = {op: (x, y) for op, _, x, y in block_boxes(figures.block_diagram(module))}
    branch_tops = ["conv 1x1, 64 + ReLU", "conv 1x1, 96 + ReLU", "conv 1x1, 16 + ReLU"]
    columns = [boxes[op][0] for op in [*branch_tops, "max-pool 3x3/1"]]
    assert columns == sorted(columns) and len(set(columns)) == 4  # the paper's order
    assert boxes["concat"][0] == pytest.approx(np.mean(columns))
    assert boxes["input"][0] == pytest.approx(np.mean(columns))
    assert boxes["conv 3x3, 128 + ReLU"][0] == boxes["conv 1x1, 96 + ReLU"][0]


def test_block_diagram_refuses_what_it_cannot_draw(lenet):
    with pytest.raises(ValueError, match="functional Keras model"):
        figures.block_diagram("resnet")
    from casebook import models

    with pytest.raises(ValueError, match="pass one block"):
        figures.block_diagram(models.resnet50(input_shape=(64, 64, 3), num_classes=10))
