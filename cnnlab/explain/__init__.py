"""Explainers: what in an image a trained network responds to.

Modules (import what you need; importing the package does nothing else):

- ``cnnlab.explain.projections``  project a conv activation to pixel space: deconvnet
  (Zeiler & Fergus 2014), gradient (Simonyan et al. 2014), guided backpropagation
  (Springenberg et al. 2015), one backward pass with a pluggable ReLU rule
- ``cnnlab.explain.occlusion``  occlusion sensitivity (Zeiler & Fergus 2014, section 4.2)
- ``cnnlab.explain.cam``  class activation maps of global-average-pooling networks
  (Zhou et al. 2016)
- ``cnnlab.explain.gradcam``  Grad-CAM on any convolution layer, from the logit or the
  softmax (Selvaraju et al. 2017; Sakai & Takenaka 2019)
- ``cnnlab.explain.sanity``  sanity checks for explainers (Adebayo et al. 2018): cascading
  model-parameter randomization, top layer down, and rank correlation of maps

Explainers only read the model they are given; they never change it.
"""
