"""Explainers: what in an image a trained network responds to.

Two families, each with one front end (import what you need; importing the
package does nothing else).

Class-score methods explain the score of one class:

- ``cnnlab.explain.class_score``  their front end: checks, the classifier head,
  cached sub-models, the score (logit, softmax or sigmoid), one compiled tape
- ``cnnlab.explain.cam``  class activation maps of global-average-pooling networks
  (Zhou et al. 2016)
- ``cnnlab.explain.gradcam``  Grad-CAM on any convolution layer, from the logit or the
  softmax (Selvaraju et al. 2017; Sakai & Takenaka 2019), and Grad-CAM++
  (Chattopadhay et al. 2018): one channel weighting each
- ``cnnlab.explain.occlusion``  occlusion sensitivity (Zeiler & Fergus 2014, section 4.2)
- ``cnnlab.explain.integrated_gradients``  integrated gradients (Sundararajan et al.
  2017), the front end with the layer set to the input
- ``cnnlab.explain.methods``  all of them by name, with one signature

Projections carry one conv activation down to the pixels:

- ``cnnlab.explain.backward``  one forward record and one backward loop with a
  pluggable ReLU rule
- ``cnnlab.explain.projections``  deconvnet (Zeiler & Fergus 2014), backprop, the
  gradient (Simonyan et al. 2014), guided backprop (Springenberg et al. 2015)

And the checks of both:

- ``cnnlab.explain.sanity``  sanity checks for explainers (Adebayo et al. 2018): cascading
  model-parameter randomization, top layer down, and rank correlation of maps

Explainers only read the model they are given; they never change it.
"""
