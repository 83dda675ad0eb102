"""The shared questions rules ask, one module per topic, so a rule imports only the facts it uses.

- ``names``: training-flag names, evaluation functions/scripts/data, unit tests.
- ``training``: where training happens (steps, tapes, graph mode, BN in a module or project).
- ``events``: looking up calls and assignments.
- ``keras_models``: Keras models that contain BN (applications, classes, Sequential), calls of them.
- ``keras_training``: models a step trains, ``training=`` of a model call, ``trainable`` settings.
- ``feeds``: ``feed_dict``s and ``session.run``: boolean placeholders, train vs eval runs.
- ``producers``: the layer feeding a BN layer.
- ``literals``: literal numbers and flag defaults.  ``edits``: node text and the edit replacing it.
- ``updates``: UPDATE_OPS collections, optimizer steps and their dependencies, variable reuse.
- ``arg_scope``: whether an arg_scope elsewhere may set BN's training flag.
- ``project_bn``: project-wide BN facts (BN always training, never in inference mode, updates run).
- ``train_mode_graph``: tensors an evaluation fetches that come from training-mode BN.

Every answer is conservative: an unknown answers False/None so rules stay silent on code they
cannot read.
"""
