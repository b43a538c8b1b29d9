"""Transfer learning: reuse a network trained on ImageNet for a new task.

The notes' recipe depends on how much labelled data the new task has:

- little data: freeze the pretrained network and train only a new softmax layer on top
  (``build_transfer_model``);
- more data: also train the last layers of the pretrained network (``unfreeze_top``);
- a lot of data: train every layer, starting from the pretrained weights.

Frozen layers compute a fixed function of the image, so their output can be computed once
and reused for every epoch (``split_at`` cuts a network in two for that). Batch
normalization stays in inference mode in a pretrained network: its moving statistics are
ImageNet's, and a few small batches of new images would overwrite them. In Keras 3 a batch
norm runs in inference mode when it is frozen; ``training=False`` on the call is not enough,
because ``fit`` passes ``training=True`` down to every layer of a functional model and that
overrides it (keras-team/keras#20285). So batch norms stay frozen whatever else is unfrozen.
"""

import keras
from keras import layers


def build_transfer_model(base_model, num_classes, dropout=0.2):
    """A frozen ``base_model`` -> global average pooling -> dropout -> a dense softmax.

    The base is called with ``training=False``, as Keras' transfer-learning guide does; its
    batch norms run in inference mode because they are frozen (see the module's notes). Only
    the new dense layer (and whatever ``unfreeze_top`` unfreezes) learns.
    """
    base_model.trainable = False
    inputs = keras.Input(base_model.input_shape[1:])
    x = base_model(inputs, training=False)
    outputs = classifier_head(x, num_classes, dropout)
    return keras.Model(inputs, outputs, name=f"{base_model.name}_transfer")


def classifier_head(features, num_classes, dropout=0.2):
    """Average each feature map to one number, drop some, classify with a dense softmax.
    Feature maps (N, h, w, c) are pooled; already pooled features (N, c) go straight on."""
    x = features
    if len(x.shape) == 4:
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", name="head")(x)


def unfreeze_top(base_model, n_layers):
    """Make the last ``n_layers`` layers of ``base_model`` trainable, all others frozen.

    Batch normalization layers stay frozen: a frozen batch norm in Keras also runs in
    inference mode, so the statistics the tuned layers were trained with are kept.
    ``n_layers=len(base_model.layers)`` unfreezes every layer but the batch norms.
    Returns the names of the layers with weights that became trainable.
    """
    base_model.trainable = True  # the model's own switch, else its layers stay frozen
    unfrozen = []
    for index, layer in enumerate(base_model.layers):
        top = index >= len(base_model.layers) - n_layers
        layer.trainable = top and not isinstance(layer, layers.BatchNormalization)
        if layer.trainable and layer.weights:
            unfrozen.append(layer.name)
    return unfrozen


def split_at(model, layer_name):
    """``model`` cut after ``layer_name``: (bottom, top), with top(bottom(x)) == model(x).
    Both halves share the model's layers, so training the top trains the model's layers."""
    cut = model.get_layer(layer_name).output
    bottom = keras.Model(model.input, cut, name=f"{model.name}_to_{layer_name}")
    top = keras.Model(cut, model.output, name=f"{model.name}_after_{layer_name}")
    return bottom, top


def grayscale_adapter(input_shape, size, mean, std):
    """A small grayscale image (h, w, 1) in [0, 1] as the network's colour input: resized to
    ``size`` x ``size`` (bilinear), the channel repeated three times, standardised with the
    pretraining's per-channel ``mean`` and ``std``. Part of the model, so the data set stays
    at its own size in memory."""
    inputs = keras.Input(input_shape, name="grayscale")
    x = layers.Resizing(size, size, interpolation="bilinear", name="upsample")(inputs)
    x = layers.Concatenate(name="to_rgb")([x, x, x])
    x = layers.Normalization(mean=list(mean), variance=[s**2 for s in std], name="standardise")(x)
    return keras.Model(inputs, x, name="grayscale_adapter")


def adapted(base_model, adapter):
    """``base_model`` reading what ``adapter`` produces, as one model."""
    inputs = keras.Input(adapter.input_shape[1:])
    return keras.Model(inputs, base_model(adapter(inputs)), name=f"{base_model.name}_adapted")


def without_top(model, last_layer="out_relu"):
    """A classifier cut after its last feature map (``include_top=False`` in
    keras.applications): what the new head is put on."""
    output = model.get_layer(last_layer).output
    return keras.Model(model.input, output, name=f"{model.name}_features")


def trainable_count(model):
    return sum(int(keras.ops.size(w)) for w in model.trainable_weights)
