"""``make demo``: the whole story on the bundled multi-GPU example of the original bug report.

1. lint every example trainer (buggy and healthy ones);
2. lint the multi-GPU trainer that gathers UPDATE_OPS before building its towers;
3. show the fix as a diff (the file is not written);
4. verify the fix by execution: original and fixed program each train on 4 CPU devices (one tower
   per device) under the runtime inspector, then the before/after table of BN statistics/losses;
5. TF2: inspect the 4-replica MirroredStrategy Keras trainer (per-replica batch 4, plain BN).
"""

from __future__ import annotations

import os
import sys
from typing import Optional, Sequence

from bnlint.commands import cli

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO_ROOT, "examples")
BUNDLED = "multi_tower_early_update_ops.py"
TF2_EXAMPLE = "tf2_mirrored_small_replica_batch.py"
SCRIPT_ARGS = ["--steps", "300", "--towers", "4"]


def _step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def _show(argv) -> int:
    print("$ bnlint " + " ".join(argv), flush=True)
    code = cli.main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    steps = argv[argv.index("--steps") + 1] if "--steps" in argv else SCRIPT_ARGS[1]
    example = os.path.join(EXAMPLES, BUNDLED)
    if not os.path.isfile(example):
        print(f"bnlint demo: error: {example} not found (run the demo from a bnlint checkout)", file=sys.stderr)
        return 2
    os.chdir(REPO_ROOT)
    rel_dir, rel = os.path.relpath(EXAMPLES), os.path.relpath(example)
    _step("1. Lint every example trainer (the healthy_* ones must be clean)")
    _show([rel_dir])
    _step(f"2. The bundled multi-GPU trainer: {rel}")
    if _show([rel]) != 1:
        print("bnlint demo: error: expected findings in the bundled example", file=sys.stderr)
        return 1
    _step("3. The fix, as a diff (nothing is written)")
    _show(["--diff", rel])
    _step("4. Verify the fix by execution: original vs fixed, 4 towers on 4 devices")
    code = _show(["verify", "--devices", "4", rel, "--", "--steps", steps, "--towers", "4"])
    print("\n" + ("The fixed program trains its BN statistics: moving means/variances now track the "
                  "batch statistics and the inference loss matches the train loss."
                  if code == 0 else "bnlint demo: the fixed program did not verify as healthy"), flush=True)
    _step("5. TF2: a Keras trainer under MirroredStrategy, 4 replicas of 4 samples, plain BN")
    tf2 = os.path.join(rel_dir, TF2_EXAMPLE)
    if _show(["inspect", "--devices", "4", "--", tf2]) != 1:
        print("bnlint demo: error: expected runtime findings in the TF2 example", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
