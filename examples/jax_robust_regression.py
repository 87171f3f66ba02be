"""
Robust regression in JAX with Optax
===================================

A linear model fitted with :mod:`losskit.jax` losses inside a jitted Optax training step.

The data have 15% gross outliers in the target. Three fits share one training step (Adam from
Optax, full batch, ``jax.jit``), and differ only in the loss: mean squared error (dragged by the
outliers), Huber, and Barron's general loss with its shape ``alpha`` annealed from 2 (a
quadratic bowl) to -2 (Geman-McClure, which ignores far outliers): graduated non-convexity.
``alpha`` is an argument of the jitted step (a JAX array, so the step compiles once and
``alpha`` could be learned like a weight). Each loss call is one fused losskit kernel: its
forward pass returns the gradients with the value, and ``jax.value_and_grad`` only scales them.
Run it with::

    python examples/jax_robust_regression.py [--steps 400] [--seed 0]

Needs jax and optax (``pip install 'losskit[jax]' optax``).
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

from losskit import jax as LJ


def make_data(seed: int, n: int = 2000, d: int = 5):
    """X ~ N(0, 1), y = X w + 0.5 + N(0, 0.1^2), and 15% of the targets replaced by y + 8 .. 20."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.uniform(-2, 2, d).astype(np.float32)
    y = X @ w + 0.5 + rng.normal(0, 0.1, n).astype(np.float32)
    bad = rng.random(n) < 0.15
    y[bad] += rng.uniform(8, 20, bad.sum()).astype(np.float32)
    return jnp.asarray(X), jnp.asarray(y), w


def objective(kind: str):
    """The training objective of a loss, over the parameters (weights and bias)."""
    def loss(params, X, y, alpha):
        prediction = X @ params["w"] + params["b"]
        if kind == "mse":
            return LJ.mse_loss(prediction, y)
        if kind == "huber":
            return LJ.huber_loss(prediction, y, delta=0.5)
        return LJ.barron(prediction, y, alpha=alpha, scale=jnp.asarray(0.3))
    return loss


def fit(kind: str, X, y, steps: int, learning_rate: float = 0.05):
    params = {"w": jnp.zeros(X.shape[1]), "b": jnp.zeros(())}
    optimizer = optax.adam(learning_rate)
    state = optimizer.init(params)
    loss = objective(kind)

    @jax.jit
    def step(params, state, alpha):
        value, grads = jax.value_and_grad(loss)(params, X, y, alpha)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    # alpha from 2 down to -2 over the first half of the steps, then held
    alphas = np.clip(2.0 - 8.0 * np.arange(steps) / steps, -2.0, 2.0).astype(np.float32)
    for alpha in alphas:
        params, state, value = step(params, state, jnp.asarray(alpha))
    return params, float(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Robust regression in JAX with losskit.jax")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    X, y, w_true = make_data(args.seed)
    print(f"true weights {np.round(w_true, 3)}, bias 0.5")
    for kind in ("mse", "huber", "barron"):
        params, value = fit(kind, X, y, args.steps)
        error = float(np.max(np.abs(np.asarray(params["w"]) - w_true)))
        line = (f"{kind:>6}: max |w - w_true| = {error:.3f}, bias {float(params['b']):.3f}, "
                f"final loss {value:.4f}")
        print(line)


if __name__ == "__main__":
    main()
