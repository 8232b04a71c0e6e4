"""senri: streaming multimodal analytics over camera, audio and image streams."""

__version__ = "0.1.0"
