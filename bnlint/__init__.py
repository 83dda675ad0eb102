"""bnlint: find, fix and prove batch-normalization misuse in TensorFlow code.

Importing this package never imports TensorFlow; only ``bnlint.runtime`` does.
"""

__version__ = "0.1.0"

from bnlint.core.diagnostics import Diagnostic, Edit, Fix, Location  # noqa: E402

__all__ = ["Diagnostic", "Edit", "Fix", "Location", "__version__"]
