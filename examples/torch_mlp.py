"""
A small MLP trained in PyTorch with losskit's cross-entropy
===========================================================

``losskit.torch.CrossEntropyLoss`` is a :class:`torch.nn.Module` with the arguments of
:class:`losskit.CrossEntropyLoss` (PyTorch's: ``weight``, ``ignore_index``,
``label_smoothing``, ``reduction``). Its forward pass computes the loss and its gradient in
the logits in one fused pass of losskit's kernel and keeps the gradient for the backward pass,
so it drops into an ordinary training loop. Here a two-layer perceptron learns the 8x8 digits
(scikit-learn's copy when it is installed, otherwise losskit's synthetic 8x8 glyphs), with
``torch.optim.Adam`` and label smoothing, and prints its held-out accuracy.
"""

import numpy as np
import torch

import losskit.torch as lt
from losskit._datasets import digits


def load_data(seed: int = 0):
    """Standardised features and integer labels, split 75% / 25%."""
    X, y, _ = digits()
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-6)
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order].astype(np.float32), y[order].astype(np.int64)
    cut = 3 * len(y) // 4
    return (torch.from_numpy(X[:cut]), torch.from_numpy(y[:cut]),
            torch.from_numpy(X[cut:]), torch.from_numpy(y[cut:]))


def train(epochs: int = 10, batch_size: int = 128, seed: int = 0) -> float:
    """Train the MLP; return its held-out accuracy."""
    torch.manual_seed(seed)
    X_train, y_train, X_test, y_test = load_data(seed)
    classes = int(y_train.max()) + 1
    model = torch.nn.Sequential(torch.nn.Linear(X_train.shape[1], 64), torch.nn.ReLU(),
                                torch.nn.Linear(64, classes))
    criterion = lt.CrossEntropyLoss(label_smoothing=0.05)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for epoch in range(epochs):
        order = torch.randperm(len(y_train))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = criterion(model(X_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        accuracy = (model(X_test).argmax(dim=1) == y_test).float().mean().item()
    print(f"last batch loss {loss.item():.4f}, held-out accuracy {accuracy:.3f}")
    return accuracy


accuracy = train()
