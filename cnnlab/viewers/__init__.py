"""The chapters' explorers: a render function and its controls, per chapter.

Each function returns a :class:`cnnlab.widgets.Explorer`; the chapter displays
it, and the reader gets sliders live in a kernel or precomputed on the site.
Computing stays in the computing modules; these modules only draw.
"""

from cnnlab.viewers.cam import cam_explorer, gradcam_explorer, learning_explorer
from cnnlab.viewers.convolution import CUSTOM, convolution_explorer, parse_kernel
from cnnlab.viewers.feature_maps import feature_map_explorer
from cnnlab.viewers.occlusion import occlusion_explorer
from cnnlab.viewers.pooling import pooling_explorer, shift_explorer
from cnnlab.viewers.training import epoch_explorer, probability_explorer

__all__ = ["CUSTOM", "cam_explorer", "convolution_explorer", "epoch_explorer",
           "feature_map_explorer", "gradcam_explorer", "learning_explorer", "occlusion_explorer",
           "parse_kernel", "pooling_explorer", "probability_explorer", "shift_explorer"]
