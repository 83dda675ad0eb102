"""Codes that are not rules of their own but still belong to bnlint (BNL900, BNL901)."""

from __future__ import annotations


# Codes that are not rules of their own but still belong to bnlint.
PARSE_ERROR = "BNL900"
TIMEOUT = "BNL901"
SPECIAL_CODES = {PARSE_ERROR: "file could not be parsed or read", TIMEOUT: "file analysis timed out"}
