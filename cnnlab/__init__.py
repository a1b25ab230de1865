"""cnnlab: the helper package of the textbook "how a convolutional network sees".

Modules (import what you need; importing the package does nothing else):

- ``cnnlab.data``            MNIST, verified and cached, offline-capable
- ``cnnlab.checks``          input checks: one wording for one mistake
- ``cnnlab.runtime``         seeds and deterministic TensorFlow; TensorFlow started quietly
- ``cnnlab.reference``       numpy teaching versions: conv2d (loop and im2col), one output
  pixel's window and products, pooling and the max pool's gradient, sizes
- ``cnnlab.models``          the book's architectures, named after their source; the Keras
  example's variants (depth, kernel size, channels, dropout); multiply-adds per layer
- ``cnnlab.training``        training with a per-epoch record and weight snapshots (how
  far each kernel has come); F1, confusion, linear probes (closed-form ridge)
- ``cnnlab.zoo``             recorded runs: recipes, stored weights and records, checks
- ``cnnlab.features``        feature maps, kernels, the images that excite a map most,
  shifted inputs, orientation tuning and how much of an edge detector a filter is
- ``cnnlab.receptive``       receptive fields: the input box a unit sees
- ``cnnlab.transforms``      rotation and scaling about the centre, resizing (bilinear)
- ``cnnlab.invariance``      how features and the output change under shifts, rotations
  and scaling (Zeiler & Fergus's invariance curves)
- ``cnnlab.explain``         explainers, one front end per family:

  - ``class_score``          the front end of class-score methods: checks, the
    classifier head, cached sub-models, the score, one compiled tape
  - ``cam``, ``gradcam``, ``occlusion``  CAM, Grad-CAM and Grad-CAM++, occlusion
  - ``integrated_gradients``  a pixel-space method on the same front end
  - ``methods``              every class-score heatmap method by name, one signature
  - ``backward``, ``projections``  one backward loop with ReLU rules: deconvnet,
    backprop (the gradient), guided backprop
  - ``sanity``               cascading randomization, rank correlation of maps,
    shuffled labels, two digits side by side and the share of a map on each

- ``cnnlab.learning_process``  chapter 7's recorded learning process: the Grad-CAM
  monitor, its saturation monitor (logits and map peaks), empty maps
- ``cnnlab.biased_mnist``    chapter 6's biased MNIST: a background gray level per class,
  or a small mark whose place gives the class away
- ``cnnlab.overlap``         chapter 8's two digits in one picture (which one the network
  names, where its map lies)
- ``cnnlab.other_data``      two small real sets other than MNIST (scikit-learn's 8x8
  digits, animal silhouettes), from wheels on the package index, verified
- ``cnnlab.transfer``        feature transfer with few examples per class (Zeiler & Fergus
  5.2): draws of examples, a new linear classifier on fixed features
- ``cnnlab.own_digit``       a reader's own digit, prepared as MNIST's were; prepared
  examples (off-centre, thick, thin, rotated) for the static site
- ``cnnlab.drawing``         a digit drawn with a pen: strokes painted with a round pen,
  replayed part by part, and pre-drawn digits for the static site
- ``cnnlab.prose``           numbers for the chapters' text: myst-nb's glue, also without myst-nb
- ``cnnlab.plotting``        images, grids, receptive-field boxes, heatmap overlays, curves
  (several seeds per setting, a setting's spread)
- ``cnnlab.explorers``       the chapters' explorers; ``explorers.base`` is their
  machinery: live ipywidgets in a kernel, precomputed frames on the site (the same
  pictures); ``explorers.sheet`` draws them, a figure laid out once and redrawn by
  swapping what changes; ``explorers.latency`` times a control's answer
- ``cnnlab.bench``           time and peak memory: one call, each chapter, each explainer,
  each explorer's answer
"""

__version__ = "0.1.0"
