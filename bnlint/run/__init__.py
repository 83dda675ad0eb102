"""Orchestration on top of the pipeline: nothing below imports this package.

- ``paths``: ``lint_paths(paths, settings) -> LintResult``: discover, the tree run, noqa.
- ``tree``: linting a whole tree: which files to parse, the two analysis phases, the result cache.
- ``parallel``: worker processes and the two phases they run (per-module summaries, then checks).
- ``cache``: ``.bnlint_cache/`` (per file and per run results, keyed on content and settings).
- ``single_file``: one file's text on its own with the facts of its local imports (flake8, editors).
- ``fixer``: applying fixes to files: to a fixpoint, re-linted, checked, written atomically.
- ``config``: ``[tool.bnlint]`` in pyproject.toml to ``Settings``.
"""
