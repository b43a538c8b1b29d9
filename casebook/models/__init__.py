"""One builder per architecture. Chapters show these functions and train what they return."""

from casebook.models.alexnet import alexnet, alexnet_small
from casebook.models.bottleneck import bottleneck_conv, bottleneck_net, channel_reducer
from casebook.models.inception import googlenet, inception_module, inception_small
from casebook.models.lenet import lenet5, lenet5_1998
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
    "bottleneck_conv",
    "bottleneck_net",
    "channel_reducer",
    "convolutional_block",
    "googlenet",
    "identity_block",
    "inception_module",
    "inception_small",
    "lenet5",
    "lenet5_1998",
    "resnet50",
    "resnet_small",
    "vgg",
    "vgg16",
    "vgg19",
    "vgg_small",
]
