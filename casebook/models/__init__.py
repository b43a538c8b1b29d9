"""One builder per architecture. Chapters show these functions and train what they return."""

from casebook.models.alexnet import alexnet, alexnet_small
from casebook.models.efficientnets import efficientnet, efficientnet_scaled, efficientnet_small
from casebook.models.inception import googlenet, inception_module, inception_small
from casebook.models.lenet import lenet5, lenet5_1998
from casebook.models.mobilenet import (
    depthwise_separable_block,
    inverted_residual_block,
    mobilenet_v1,
    mobilenet_v1_small,
    mobilenet_v2,
    mobilenet_v2_small,
)
from casebook.models.one_by_one import channel_reducer, reduced_conv, reduced_conv_net
from casebook.models.resnet import (
    convolutional_block,
    identity_block,
    resnet50,
    resnet_small,
)
from casebook.models.vgg import VGG16_BLOCKS, VGG19_BLOCKS, vgg, vgg16, vgg19, vgg_small

__all__ = [
    "VGG16_BLOCKS",
    "VGG19_BLOCKS",
    "alexnet",
    "alexnet_small",
    "reduced_conv",
    "reduced_conv_net",
    "channel_reducer",
    "convolutional_block",
    "depthwise_separable_block",
    "efficientnet",
    "efficientnet_scaled",
    "efficientnet_small",
    "googlenet",
    "identity_block",
    "inception_module",
    "inception_small",
    "inverted_residual_block",
    "lenet5",
    "lenet5_1998",
    "mobilenet_v1",
    "mobilenet_v1_small",
    "mobilenet_v2",
    "mobilenet_v2_small",
    "resnet50",
    "resnet_small",
    "vgg",
    "vgg16",
    "vgg19",
    "vgg_small",
]
