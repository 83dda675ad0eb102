"""What the code does: one module's walk and the project-wide facts built from all modules.

- ``parse``: a ``SourceFile`` to the ``ModuleInfo`` every rule reads.
- ``module_info``: the walk: TF aliases, bodies, every call in execution order with its contexts.
- ``tfnames``: TensorFlow's names in canonical form (``tf.layers.batch_normalization``), BN creators.
- ``bn_sites``: the arguments a BN layer really gets (kwargs dicts, partials, arg_scopes).
- ``project``: cross-function and cross-module BN summaries (``Project``), asked by the rules.
- ``summary``: the same facts as picklable data, and the fixpoint over them (worker processes).
- ``module_roles``: what a module does with the model it builds (trains, evaluates, defines layers).
- ``local_imports``: the local modules one file imports, found on demand (flake8, editors).
- ``reparse``: re-parsing an edited buffer statement by statement (the language server).

Facts here are about code, not about rules; the questions several rules share live in ``bnlint.facts``.
"""
