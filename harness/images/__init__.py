"""Per-framework container images (the Dockerfiles live in the top-level containers/ folder): discovery
(``specs``), locks (``lock``), the wheelhouse, build contexts (``context``), SDK builds (``build``) and the
``harness containers`` commands (``cli``).

Importing this package imports neither the Docker SDK nor anything that needs a daemon.
"""

from ..errors import ContainerError
from .specs import Image, discover, get_image, image_for_framework

__all__ = ["ContainerError", "Image", "discover", "get_image", "image_for_framework"]
