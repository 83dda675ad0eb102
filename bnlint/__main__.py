"""``python -m bnlint``: the same command as the ``bnlint`` console script."""

import sys

from bnlint.commands.cli import main

if __name__ == "__main__":
    sys.exit(main())
