"""One end-to-end training epoch: softmax regression on the 8x8 digits, minibatches of 32.

Each call is one pass over the training set (75% of the 1797 digits, 1347 x 64) with
shuffling, the minibatch gather, the forward product, the loss and its gradient, the
backward products and the optimizer step: losskit's ``LinearClassifier.partial_fit``
against the same model written in NumPy and in PyTorch (minibatch Adam, lr 0.01, L2 penalty
1e-4, as LinearClassifier's defaults) and scikit-learn's ``SGDClassifier.partial_fit``
(one-vs-rest logistic regression by plain SGD, one sample at a time: scikit-learn's own way
to train this model epoch by epoch).

Different algorithms and shuffles give different weights, so the correctness gate is on what
training is for: after :data:`CHECK_EPOCHS` epochs from scratch, each contender's held-out
accuracy must be within :data:`ACCURACY_MARGIN` of the float64 NumPy reference trained the
same way. The timed epochs continue from there. Both estimators compute in float64, so the
workload runs in float64 only. The data set comes from losskit (scikit-learn's digits when
scikit-learn is installed, else losskit's synthetic glyphs of the same shape).
"""

from __future__ import annotations

from importlib import import_module

import numpy as np

from .impls import Impl, require
from .workload import CheckResult, Contender, Reference, Workload

CHECK_EPOCHS = 20
ACCURACY_MARGIN = 0.05
BATCH = 32
LR = 0.01
ALPHA = 1e-4  # L2 penalty: alpha/2 ||W||^2
BETAS = (0.9, 0.999)
EPS = 1e-8
TRAIN_FRACTION = 0.75
DIGITS_SHAPE = (1797, 64)  # scikit-learn's digits and losskit's glyphs alike


class NumpySoftmaxRegression:
    """Softmax regression by minibatch Adam with an L2 penalty on the weights, in NumPy."""

    def __init__(self, n_features: int, n_classes: int, seed: int):
        self.W = np.zeros((n_features, n_classes))
        self.b = np.zeros(n_classes)
        self.params = [self.W, self.b]
        self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in self.params]
        self.steps = 0
        self.rng = np.random.default_rng(seed)

    def partial_fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """One epoch."""
        order = self.rng.permutation(len(X))
        for start in range(0, len(X), BATCH):
            idx = order[start:start + BATCH]
            Xb = X[idx]
            scores = Xb @ self.W + self.b
            scores -= scores.max(axis=1, keepdims=True)
            P = np.exp(scores)
            P /= P.sum(axis=1, keepdims=True)
            P[np.arange(len(idx)), y[idx]] -= 1.0
            P /= len(idx)  # the gradient of the mean loss with respect to the scores
            self._adam([Xb.T @ P + ALPHA * self.W, P.sum(axis=0)])

    def _adam(self, grads: list[np.ndarray]) -> None:
        b1, b2 = BETAS
        self.steps += 1
        for p, g, (m, v) in zip(self.params, grads, self.moments):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= LR / (1 - b1**self.steps) * m / (np.sqrt(v / (1 - b2**self.steps)) + EPS)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.argmax(X @ self.W + self.b, axis=1)


def _torch_trainer(X: np.ndarray, y: np.ndarray, n_classes: int, seed: int):
    """The same model in PyTorch: (one epoch, predict)."""
    torch = require("torch")
    F = torch.nn.functional
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    W = torch.zeros(X.shape[1], n_classes, dtype=Xt.dtype, requires_grad=True)
    b = torch.zeros(n_classes, dtype=Xt.dtype, requires_grad=True)
    # Adam's weight_decay adds alpha W to the gradient: the L2 penalty, on W only
    opt = torch.optim.Adam([{"params": [W], "weight_decay": ALPHA}, {"params": [b]}], lr=LR)
    gen = torch.Generator().manual_seed(seed)

    def epoch() -> None:
        order = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(Xt), BATCH):
            idx = order[start:start + BATCH]
            loss = F.cross_entropy(Xt[idx] @ W + b, yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def predict(Xq: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return (torch.from_numpy(Xq) @ W + b).argmax(dim=1).numpy()

    return epoch, predict


class EpochWorkload(Workload):
    name = "epoch"
    suite = "epoch"
    description = "one training epoch of softmax regression on the digits (minibatches of 32)"
    dtypes = ("float64",)
    check_calls = CHECK_EPOCHS
    contenders = {
        "losskit": Contender("losskit", False, "LinearClassifier(loss='cross_entropy', optimizer='adam').partial_fit"),
        "numpy": Contender("numpy", False, "the same model in NumPy (X[idx], @, softmax, Adam)"),
        "torch": Contender("torch", False, "the same model in PyTorch (X[idx] @ W + b, F.cross_entropy, "
                                           "backward(), torch.optim.Adam)"),
        "sklearn": Contender("sklearn", False, "SGDClassifier(loss='log_loss').partial_fit "
                                               "(one-vs-rest, plain SGD, one sample at a time)"),
    }

    def shapes(self, sizes, shapes, quick):
        return [(int(TRAIN_FRACTION * DIGITS_SHAPE[0]), DIGITS_SHAPE[1])]

    def overhead_shape(self):
        return None

    def isa_shape(self, quick):
        return None

    def label(self, shape):
        return f"{shape[0]}x{shape[1]}"

    def make_inputs(self, shape, dtype, seed):
        require("losskit")
        X, y, _ = import_module("losskit._datasets").digits()
        if X.shape != DIGITS_SHAPE:
            raise ValueError(f"the digits have shape {X.shape}, expected {DIGITS_SHAPE}")
        order = np.random.default_rng(seed).permutation(len(X))
        train, test = order[: shape[0]], order[shape[0]:]
        X = X.astype(dtype)
        y = y.astype(np.int64)
        return {"X_train": X[train], "y_train": y[train], "X_test": X[test], "y_test": y[test]}

    def reference(self, inputs):
        model = NumpySoftmaxRegression(inputs["X_train"].shape[1], 10, seed=0)
        for _ in range(CHECK_EPOCHS):
            model.partial_fit(inputs["X_train"].astype(np.float64), inputs["y_train"])
        return Reference(value=float(np.mean(model.predict(inputs["X_test"]) == inputs["y_test"])))

    def check(self, result, ref, dtype):
        accuracy = result[0]
        shortfall = ref.value - accuracy
        if shortfall > ACCURACY_MARGIN:
            return CheckResult(False, shortfall, message=f"held-out accuracy {accuracy:.3f} after {CHECK_EPOCHS} "
                               f"epochs, reference {ref.value:.3f}")
        return CheckResult(True, shortfall)

    def build(self, name, inputs, threads):
        X, y = inputs["X_train"], inputs["y_train"]
        X_test, y_test = inputs["X_test"], inputs["y_test"]
        classes = np.arange(10)

        def accuracy(predict):
            return lambda: (float(np.mean(predict(X_test) == y_test)), None)

        if name == "losskit":
            est = require("losskit").LinearClassifier(loss="cross_entropy", optimizer="adam", lr=LR, alpha=ALPHA,
                                                      batch_size=BATCH, random_state=0)
            return Impl(lambda: est.partial_fit(X, y, classes=classes), result=accuracy(est.predict))
        if name == "numpy":
            model = NumpySoftmaxRegression(X.shape[1], len(classes), seed=0)
            return Impl(lambda: model.partial_fit(X, y), result=accuracy(model.predict))
        if name == "torch":
            epoch, predict = _torch_trainer(X, y, len(classes), seed=0)
            return Impl(epoch, result=accuracy(predict))
        if name == "sklearn":
            est = require("sklearn.linear_model").SGDClassifier(loss="log_loss", alpha=ALPHA, random_state=0)
            return Impl(lambda: est.partial_fit(X, y, classes=classes), result=accuracy(est.predict))
        raise ValueError(f"unknown contender {name!r}")


WORKLOADS = [EpochWorkload()]
