"""Shared test set-up: the collection and the emulator package are importable."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (REPO, os.path.join(REPO, "collections")):
    if path not in sys.path:
        sys.path.insert(0, path)
