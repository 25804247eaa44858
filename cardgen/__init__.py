"""cardgen: Anki decks for the arithmetic of convolution and pooling layers."""

__version__ = "0.1.0"  # the same as pyproject.toml's (a test checks)
