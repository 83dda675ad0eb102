"""The default command: lint paths, print findings, optionally fix."""

from __future__ import annotations

import os
import sys

from bnlint.output import FORMATTERS, statistics
from bnlint.settings import Settings

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def settings_from_args(args) -> Settings:
    """Configuration file first (when present), command-line flags on top."""
    settings = Settings()
    try:
        from bnlint.config import load_settings
    except ImportError:
        load_settings = None
    if load_settings is not None and not getattr(args, "isolated", False):
        settings = load_settings(args.paths, args.config)
    if args.select is not None:
        settings.select = args.select
    if args.extend_select:
        settings.extend_select = list(settings.extend_select) + args.extend_select
    if args.ignore:
        settings.ignore = list(settings.ignore) + args.ignore
    if args.unsafe_fixes is not None:
        settings.unsafe_fixes = args.unsafe_fixes
    return settings


def _use_color(args) -> bool:
    if args.color == "always":
        return True
    if args.color == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def run(args) -> int:
    from bnlint.engine import lint_paths

    try:
        settings = settings_from_args(args)
    except ValueError as exc:  # broken configuration
        print(f"bnlint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    result = lint_paths(args.paths, settings)
    diags = result.diagnostics
    errors = result.errors
    fmt = args.format or "text"
    formatter = FORMATTERS.get(fmt)
    if formatter is None:
        print(f"bnlint: error: output format {fmt!r} is not available", file=sys.stderr)
        return EXIT_ERROR
    shown = sorted(errors + diags, key=lambda d: d.sort_key())
    out = formatter(shown, color=_use_color(args))
    sys.stdout.write(out)
    if args.statistics:
        sys.stdout.write(statistics(shown))
    counted = [d for d in diags if d.severity != "info"]
    if fmt == "text" and not args.quiet:
        n = len(diags)
        fixable = sum(1 for d in diags if d.fix is not None)
        summary = f"Found {n} finding{'s' if n != 1 else ''} in {result.files_seen} file{'s' if result.files_seen != 1 else ''}"
        if fixable:
            summary += f" ({fixable} fixable with --fix)"
        print(summary + "." if n else f"All checks passed ({result.files_seen} files).", file=sys.stderr)
    if errors:
        for e in errors:
            print(f"bnlint: error: {e.filename}: {e.message}", file=sys.stderr)
    if args.exit_zero:
        return EXIT_CLEAN
    if counted or errors:
        return EXIT_FINDINGS
    return EXIT_CLEAN
