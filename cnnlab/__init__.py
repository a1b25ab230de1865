"""cnnlab: the helper package of the textbook "how a convolutional network sees".

Modules (import what you need; importing the package does nothing else):

- ``cnnlab.data``       MNIST, verified and cached, offline-capable
- ``cnnlab.reference``  numpy teaching versions: conv2d (loop and im2col), output sizes
- ``cnnlab.repro``      seeds and deterministic TensorFlow
- ``cnnlab.runtime``    TensorFlow started without its log lines in the page
- ``cnnlab.bench``      time and peak memory: one call, each chapter, each explainer
- ``cnnlab.plotting``   images and grids
- ``cnnlab.widgets``    explorers: live ipywidgets in a kernel, precomputed on the site
- ``cnnlab.viewers``    the chapters' explorers
"""

__version__ = "0.1.0"
