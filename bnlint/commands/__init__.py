"""What a user runs: the ``bnlint`` CLI and its commands.

- ``cli``: argument parsing and dispatch (lint, ``rule``, ``inspect``, ``verify``, ``server``); exit codes.
- ``lint``: the default command: lint paths, print findings, ``--fix``, ``--diff``, ``--add-noqa``.
- ``noqa``: ``--add-noqa``.  ``verify``: fix a script, run both copies, compare.
- ``server``: the language server (``lsp`` extra).  ``demo``: ``make demo``.

The other entry points stay at the top: ``bnlint/__main__.py`` (``python -m bnlint``) and
``bnlint/flake8_plugin.py`` (flake8's ``BNL`` entry point).
"""
