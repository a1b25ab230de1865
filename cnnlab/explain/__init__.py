"""Explainers: what in an image a trained network responds to.

Modules (import what you need; importing the package does nothing else):

- ``cnnlab.explain.deconvnet``  project a conv activation to pixel space: deconvnet
  (Zeiler & Fergus 2014), gradient (Simonyan et al. 2014), guided backpropagation
  (Springenberg et al. 2015), one backward pass with a pluggable ReLU rule

Explainers only read the model they are given; they never change it.
"""
