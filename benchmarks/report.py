"""Print a benchmark's result and write it to benchmarks/results/NAME.json."""

import json
from pathlib import Path


def report(name, result):
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:>{width}}: {value}")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
