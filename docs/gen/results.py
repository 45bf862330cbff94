"""Results pages rendered from the committed JSON under bench/results (docs/hooks.py)."""

from __future__ import annotations

GENERATORS: dict = {}
