"""One training epoch on digits-sized data: losskit.LinearClassifier against scikit-learn's
SGDClassifier, both by ``partial_fit`` (one pass over the training set per call), interleaved,
with the accuracy each reaches after the same number of epochs.

    python -m losskit.bench.estimators [--epochs 20] [--rounds 15] [--threads 2]

Needs scikit-learn (the peer and the digits data).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m losskit.bench.estimators", description=__doc__)
    parser.add_argument("--epochs", type=int, default=20, help="epochs before measuring accuracy")
    parser.add_argument("--rounds", type=int, default=15, help="timed epochs per implementation")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        from sklearn.datasets import load_digits
        from sklearn.linear_model import SGDClassifier
        from sklearn.model_selection import train_test_split
    except ImportError:
        print("scikit-learn is not installed: pip install scikit-learn", file=sys.stderr)
        return 1
    import numpy as np

    import losskit

    losskit.set_num_threads(args.threads)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    classes = np.unique(y)

    ours = losskit.LinearClassifier(loss="cross_entropy", optimizer="adam", random_state=0)
    theirs = SGDClassifier(random_state=0)
    contenders = {
        "losskit LinearClassifier (softmax, adam, batch 32)": lambda: ours.partial_fit(Xtr, ytr, classes=classes),
        "sklearn SGDClassifier (hinge OvR, sgd, batch 1)": lambda: theirs.partial_fit(Xtr, ytr, classes=classes),
    }
    for fit in contenders.values():  # warm up, then train both to the same epoch count
        for _ in range(args.epochs):
            fit()
    accuracy = {name: est.score(Xte, yte) for name, est in zip(contenders, (ours, theirs))}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):  # interleaved rounds
        for name, fit in contenders.items():
            start = time.perf_counter()
            fit()
            times[name].append(time.perf_counter() - start)
    best = min(statistics.median(t) for t in times.values())
    print(f"one epoch over {len(Xtr)} x {X.shape[1]} digits, {args.threads} thread(s); accuracy after "
          f"{args.epochs} epochs on {len(Xte)} held-out samples")
    for name, t in times.items():
        med = statistics.median(t)
        print(f"  {name:<52} median {med * 1e3:7.3f} ms  x {med / best:5.2f}  accuracy {accuracy[name]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
