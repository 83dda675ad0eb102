"""Finding the rules and running them on parsed modules (the layer right above ``rules/``).

- ``registry``: every ``Rule`` subclass in ``bnlint.rules``, by code.
- ``check``: ``run_rules`` (one ``Project`` over the modules given, every enabled rule on each,
  root causes folded), ``check_module``, ``noqa_filter``, and ``lint_source`` for one text.
"""
