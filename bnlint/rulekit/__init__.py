"""What a rule is made of (Fixit-style): everything ``rules/`` builds on.

- ``rule``: the ``Rule`` base class (code, message, docs page, VALID/INVALID examples that are also
  tests) and ``RuleContext`` (``report(node, message, fix=...)``; each fix is checked on the spot).
- ``root_causes``: one bug, one finding (findings repeated inside called helpers fold into the call's).

The rules themselves are ``rules/bnlNNN_*.py``, installed as ``bnlint.rules``.
"""
