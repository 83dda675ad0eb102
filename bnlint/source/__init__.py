"""From a path to decoded text, and which files can matter.

- ``discover``: files and folders to Python files (excludes), module names, the text ``prefilter``,
  ``uses_bn`` on CPython's AST, the imports that pull helper modules in (``importers_of``).
- ``reading``: bytes to text the way the interpreter decodes them (``SourceFile`` remembers encoding,
  BOM and newlines to write back byte for byte); every failure is a ``SourceError`` (BNL900).
- ``notebook``: Jupyter notebooks as one Python module (cells, IPython magics masked, positions).
- ``cstwalk``: fast read-only traversal of libcst trees.

No libcst analysis here yet: this layer never builds a ``ModuleInfo``.
"""
