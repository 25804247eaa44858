"""Errors a user can cause; the CLI turns each into one line on stderr and exit 2."""


class CardgenError(Exception):
    """Bad input: a layer, a shape, a recipe or a deck. The message is one line."""


class LayerSyntaxError(CardgenError):
    """Layer text that is not a literal PyTorch constructor call we allow."""


class ShapeError(CardgenError):
    """A configuration PyTorch refuses (at construction or when run); the reason in words."""
