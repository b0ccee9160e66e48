"""Run the benchmarks and print a markdown table: ``python -m benchmarks [NAME ...] [--quick]``."""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

#: benchmark name -> module under benchmarks/ with a ``run(quick: bool) -> list[dict]``, or
#: ``module:function`` naming another function of that signature
SUITES = {
    "ising": "benchmarks.ising",
    "flow": "benchmarks.flow",
    "refine": "benchmarks.refine",
    "dynamics": "benchmarks.dynamics",
    "hopfield": "benchmarks.hopfield",
    "dense-hopfield": "benchmarks.dense_hopfield",
    "sk": "benchmarks.sk",
    "rbm": "benchmarks.rbm",
    "curie-weiss": "benchmarks.curie_weiss",
    "peers": "benchmarks.peers",
    "scale": "benchmarks.scale",
    "prefect-api": "benchmarks.scale:run_prefect",  # the Prefect API case of scale, alone
}


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    whole = [n for n, m in SUITES.items() if ":" not in m]  # prefect-api is a part of scale
    parser.add_argument("names", nargs="*", help=f"suites to run (default: all of {whole})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    parser.add_argument("--json", type=Path, default=Path("results/benchmarks.json"))
    args = parser.parse_args()
    names = args.names or whole
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {unknown}; available: {list(SUITES)}")
    import os

    header = (f"{datetime.now(UTC):%Y-%m-%d} | {_cpu()} | {os.cpu_count()} cores | "
              f"python {platform.python_version()}")
    print(f"# statmech benchmarks ({header})\n")
    print("| benchmark | case | value | unit | ratio | physics check |")
    print("|---|---|---|---|---|---|")
    rows = []
    ok = True
    for name in names:
        t0 = time.perf_counter()
        module, _, function = SUITES[name].partition(":")
        for row in getattr(importlib.import_module(module), function or "run")(args.quick):
            rows.append(row)
            ok &= bool(row.get("ok", True))
            ratio = row.get("ratio")
            print(f"| {row['benchmark']} | {row['case']} | {row['value']:.4g} | {row['unit']} | "
                  f"{'' if ratio is None else f'{ratio:.3g}'} | {row.get('check', '')} |",
                  flush=True)
        print(f"<!-- {name}: {time.perf_counter() - t0:.0f} s -->", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": header, "rows": rows}, indent=1))
    if not ok:
        print("\nA PHYSICS CHECK FAILED: the figures above are not valid.", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
