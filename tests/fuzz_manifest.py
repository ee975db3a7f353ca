"""The long fuzz run of the manifest loader (outside the default test suite).

Runs the properties of tests/unit/test_manifest_properties.py with many more
cases: random text and YAML, mutated valid manifests, edited YAML text. Each
case runs `ollama-provision validate FILE` and must exit 0 or 2, without a
traceback, with one line per problem and never a header value in the output.

    python tests/fuzz_manifest.py                  # 10,000 cases (about a minute)
    python tests/fuzz_manifest.py --cases 50000    # split over the three properties
    python tests/fuzz_manifest.py --seed 1234      # reproduce a run

Run it from the repository root. It prints how many cases ran; on a failure,
hypothesis prints the smallest input it found (and how to reproduce it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description="Fuzz the manifest loader through `validate`.")
    parser.add_argument("--cases", type=int, default=10_000, help="total cases (default 10000)")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed, to reproduce")
    args = parser.parse_args()
    # Read by the properties module when it is imported: cases per property.
    os.environ["MANIFEST_PROPERTY_CASES"] = str(-(-args.cases // 3))

    from hypothesis import seed

    from tests.unit import test_manifest_properties as props

    start = time.perf_counter()
    props.test_base_manifest_is_valid()
    for prop in (
        props.test_random_input_never_crashes,
        props.test_mutated_manifests_exit_0_or_2,
        props.test_edited_yaml_text_exit_0_or_2,
    ):
        before = props.counter["cases"]
        (seed(args.seed)(prop) if args.seed is not None else prop)()
        print(f"{prop.__name__}: {props.counter['cases'] - before} cases", flush=True)
    elapsed = time.perf_counter() - start
    print(f"total: {props.counter['cases']} cases in {elapsed:.0f} s, no failure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
