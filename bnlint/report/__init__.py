"""Rendering: findings for people and tools, and rule pages.

- ``output``: text (flake8/ruff style), JSON (ruff's shape), grouped, GitHub annotations, SARIF 2.1.0.
- ``docs``: rule pages (``bnlint rule CODE``), docs/rules.md and the README rule table, generated
  from the rule classes (``python -m bnlint.report.docs --write``; ``--check`` in the tests).
"""
