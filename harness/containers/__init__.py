"""Per-framework container images: discovery (``images``), locks (``lock``), the wheelhouse, build
contexts (``context``), SDK builds (``build``) and the ``harness containers`` commands (``cli``).

Importing this package imports neither the Docker SDK nor anything that needs a daemon.
"""

from .errors import ContainerError
from .images import Image, discover, get_image, image_for_framework

__all__ = ["ContainerError", "Image", "discover", "get_image", "image_for_framework"]
