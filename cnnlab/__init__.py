"""cnnlab: the helper package of the textbook "how a convolutional network sees".

Modules (import what you need; importing the package does nothing else):

- ``cnnlab.data``        MNIST, verified and cached, offline-capable
- ``cnnlab.checks``      input checks: one wording for one mistake
- ``cnnlab.reference``   numpy teaching versions: conv2d (loop and im2col), pooling, sizes
- ``cnnlab.models``      the book's architectures, named after their source
- ``cnnlab.training``    training with a per-epoch record; F1, confusion, linear probes
- ``cnnlab.zoo``         recorded runs: recipes, stored weights and records, checks
- ``cnnlab.features``    feature maps, kernels, shifted inputs, orientation tuning
- ``cnnlab.receptive``   receptive fields and the images that excite a feature map most
- ``cnnlab.explain``     explainers: deconvnet, gradient, guided backprop, occlusion,
  CAM, Grad-CAM, sanity checks
- ``cnnlab.learning_process``    chapter 7's learning process: the Grad-CAM monitor, empty maps
- ``cnnlab.biased_mnist``   chapter 6's biased-background training set
- ``cnnlab.own_digit``    a reader's own digit, prepared as MNIST's were
- ``cnnlab.plotting``    images, grids, heatmap overlays, curves
- ``cnnlab.explorers.base``     explorers: live ipywidgets in a kernel, precomputed on the site
- ``cnnlab.explorers``     the chapters' explorers
- ``cnnlab.runtime``       seeds and deterministic TensorFlow
- ``cnnlab.runtime``     TensorFlow started without its log lines in the page
- ``cnnlab.bench``       time and peak memory: one call, each chapter, each explainer
"""

__version__ = "0.1.0"
