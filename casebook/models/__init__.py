"""One builder per architecture. Chapters show these functions and train what they return."""

from casebook.models.alexnet import alexnet, alexnet_small
from casebook.models.lenet import lenet5, lenet5_1998
from casebook.models.vgg import VGG16_BLOCKS, VGG19_BLOCKS, vgg, vgg16, vgg19, vgg_small

__all__ = [
    "VGG16_BLOCKS",
    "VGG19_BLOCKS",
    "alexnet",
    "alexnet_small",
    "lenet5",
    "lenet5_1998",
    "vgg",
    "vgg16",
    "vgg19",
    "vgg_small",
]
