"""The types every layer shares, and nothing else: a layer below all others.

- ``diagnostics``: ``Diagnostic``, ``Location``, ``Fix``, ``Edit``, ``Related`` (one finding type for the
  static linter and the runtime inspector; its JSON form follows ruff's).
- ``settings``: which codes are enabled where (select/ignore/per-file-ignores).
- ``codes``: the codes that are not rules (BNL900 unreadable file, BNL901 timeout).
- ``runtime_codes``: the runtime inspector's codes, readable without TensorFlow.
- ``gc_pause``: the garbage collector paused while one file is analysed.

Imports nothing from bnlint but its own modules.
"""
