"""What a fix is made of, and the checks every fix passes before it is offered.

- ``edits``: building blocks for the rules' fixes (text edits from libcst positions: TF alias to
  write, indentation, wrapping a statement in ``control_dependencies``, inserting a keyword).
- ``text_edits``: applying edits to a module's text (``apply_edits``, ``FixError``).
- ``effect``: what a fix changes in the program (no-op fixes, fixes that change variables).
- ``bn_conditions``: when a BN layer is built relative to the layer feeding it (guards a rewrite).

Applying fixes to whole files (to a fixpoint, re-linted, written atomically) is ``bnlint.run.fixer``.
"""
