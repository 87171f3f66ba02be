"""Small data sets for the demo and `losskit fit`: made here (no network, no files)."""

from __future__ import annotations

import numpy as np

DATASETS = ("line", "digits", "glyphs", "blobs")


def outlier_line(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x ~ U(0, 1), y = 0.7 x + 0.15 + N(0, 0.025^2), with 10% of the y pushed to 0.05 or 0.85
    (gross outliers). X has shape (n, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, n)
    y = 0.7 * x + 0.15 + rng.normal(0, 0.025, n)
    out = rng.random(n) < 0.10
    y[out] = rng.choice([0.05, 0.85], int(out.sum()))
    return x[:, None], y


def clean_curve(x: np.ndarray) -> np.ndarray:
    """The clean target of :func:`outlier_curve`, f(x) = sin(2 x) + 0.3 x."""
    return np.sin(2 * x) + 0.3 * x


def outlier_curve(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x ~ U(-3, 3), clean target f(x) = sin(2 x) + 0.3 x, y = f(x) + N(0, 0.1^2), with 10% of
    the y pushed up by U(3, 6) (gross outliers, all on one side). Returns X of shape (n, 1),
    y, and the clean targets f(x)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, n)
    clean = clean_curve(x)
    y = clean + rng.normal(0, 0.1, n)
    out = rng.random(n) < 0.10
    y[out] += rng.uniform(3, 6, int(out.sum()))
    return x[:, None], y, clean


def glyphs(n: int = 1797, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic stand-in for the 8x8 digits: 10 classes, each a random smooth 8x8 glyph
    drawn with a random shift of up to one pixel, stroke noise and pixel noise, pixel values
    in [0, 1]. X has shape (n, 64), y holds labels 0..9."""
    rng = np.random.default_rng(seed)
    protos = rng.random((10, 10, 10))
    kernel = np.array([0.25, 0.5, 0.25])
    for axis in (1, 2):  # smooth the prototypes so a shifted glyph still resembles its class
        protos = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), axis, protos)
    protos = (protos - protos.min(axis=(1, 2), keepdims=True))
    protos /= protos.max(axis=(1, 2), keepdims=True)
    protos = (protos > 0.55).astype(np.float64)
    y = rng.integers(0, 10, n)
    dx, dy = rng.integers(0, 3, n), rng.integers(0, 3, n)
    X = np.empty((n, 64))
    for i in range(n):
        img = protos[y[i], dy[i]:dy[i] + 8, dx[i]:dx[i] + 8]
        img = img * (rng.random((8, 8)) > 0.15)  # broken strokes
        X[i] = np.clip(img.ravel() + rng.normal(0, 0.25, 64), 0, 1)
    return X, y


def digits() -> tuple[np.ndarray, np.ndarray, str]:
    """scikit-learn's bundled 8x8 digits (pixels scaled to [0, 1]) when scikit-learn is
    installed, else :func:`glyphs`. Returns (X, y, description)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        X, y = glyphs()
        return X, y, "synthetic 8x8 glyphs (1797 x 64, 10 classes; install scikit-learn for its digits)"
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y, "scikit-learn digits (1797 x 64, 10 classes)"


def blobs(n: int = 600, d: int = 2, c: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs: c centers ~ N(0, 2^2) in d dimensions, unit-variance clusters."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 2.0, (c, d))
    y = rng.integers(0, c, n)
    return centers[y] + rng.normal(0, 1.0, (n, d)), y


def load(name: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """A built-in data set by name: (X, y, description)."""
    if name == "line":
        X, y = outlier_line(seed=seed)
        return X, y, "line y = 0.7 x + 0.15 with 10% gross outliers (2000 x 1)"
    if name == "digits":
        return digits()
    if name == "glyphs":
        X, y = glyphs(seed=seed)
        return X, y, "synthetic 8x8 glyphs (1797 x 64, 10 classes)"
    if name == "blobs":
        X, y = blobs(seed=seed)
        return X, y, "gaussian blobs (600 x 2, 3 classes)"
    raise ValueError(f"unknown data set {name!r}; built-in data sets: {', '.join(DATASETS)} "
                     f"(or a .npy, .npz or .csv file)")
