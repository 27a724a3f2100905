"""One folder per technique: ``algorithm.py`` (no framework import), ``backend.py`` (the ABC) and one
``<framework>_backend.py`` per framework, imported lazily."""
