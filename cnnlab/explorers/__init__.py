"""The chapters' explorers: a render function and its controls, per chapter.

Each function returns a :class:`cnnlab.explorers.base.Explorer`; the chapter displays
it, and the reader gets sliders live in a kernel or precomputed on the site.
Computing stays in the computing modules; these modules only draw.
"""

from cnnlab.explorers.convolution import CUSTOM, convolution_explorer, parse_kernel
from cnnlab.explorers.drawing import DrawingPad, drawing_explorer
from cnnlab.explorers.feature_maps import feature_map_explorer
from cnnlab.explorers.heatmaps import cam_explorer, gradcam_explorer, learning_explorer
from cnnlab.explorers.occlusion import occlusion_explorer
from cnnlab.explorers.pooling import pooling_explorer, shift_explorer
from cnnlab.explorers.sliding_window import sliding_window_explorer, small_digits
from cnnlab.explorers.training import epoch_explorer, probability_explorer

__all__ = ["CUSTOM", "DrawingPad", "cam_explorer", "convolution_explorer", "drawing_explorer",
           "epoch_explorer",
           "feature_map_explorer", "gradcam_explorer", "learning_explorer", "occlusion_explorer",
           "parse_kernel", "pooling_explorer", "probability_explorer", "shift_explorer",
           "sliding_window_explorer", "small_digits"]
