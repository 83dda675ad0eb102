"""Overhead of the TF2 runtime inspector: the script's own wall time inspected vs plain.

Both runs go through ``bnlint.runtime.tf2_script`` (a child process with N logical CPUs); the clock
starts after TensorFlow and Keras are imported and stops when the script ends, so the ratio is the
cost of the BN observer alone (target <= 1.5x). Prints one line per script and the ratio.

    .venv/bin/python benchmarks/tf2_overhead.py [--repeat 2] [SCRIPT ...]
"""

import argparse
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bnlint.runtime.tf2_script import run_tf2_script  # noqa: E402

DEFAULT = [("examples/healthy_tf2_custom_loop.py", 2), ("examples/healthy_tf2_mirrored_sync_bn.py", 4),
           ("examples/tf2_mirrored_small_replica_batch.py", 4)]


def timed(script, devices, plain):
    report = run_tf2_script(os.path.join(ROOT, script), devices=devices, plain=plain)
    if report.error:
        raise SystemExit(f"{script}: {report.error}")
    return report.run_seconds


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("scripts", nargs="*")
    args = p.parse_args()
    pairs = [(s, 4) for s in args.scripts] or DEFAULT
    ratios = []
    for script, devices in pairs:
        plain = min(timed(script, devices, True) for _ in range(args.repeat))
        inspected = min(timed(script, devices, False) for _ in range(args.repeat))
        ratios.append(inspected / plain)
        print(f"{script} ({devices} devices): plain {plain:.2f} s, inspected {inspected:.2f} s, "
              f"ratio {inspected / plain:.2f}x", flush=True)
    print(f"median ratio {statistics.median(ratios):.2f}x (target <= 1.5x)")
    return 0 if statistics.median(ratios) <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
