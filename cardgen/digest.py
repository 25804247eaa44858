"""SHA-256, as hashlib gives it, without importing hashlib.

hashlib's import loads OpenSSL: about 2 ms before a build can start its workers (1% of
the default deck's build). CPython's own SHA-256 module gives the same digests; hashlib
is the fallback where a Python lacks it.
"""

from __future__ import annotations

__all__ = ["sha256"]

import sys

try:
    if sys.version_info >= (3, 12):
        from _sha2 import sha256
    else:
        from _sha256 import sha256
except ImportError:  # a Python built without them
    from hashlib import sha256
