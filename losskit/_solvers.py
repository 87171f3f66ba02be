"""Full-batch solvers of the linear models: L-BFGS and Newton (IRLS), in NumPy over losskit's
loss kernels.

Both minimise the same objective, :class:`Objective`: the weighted mean of the loss over the
training set plus the L2 penalty, optionally with the residual scale estimated jointly (the
concomitant scale of Huber's "Proposal 2", as scikit-learn's ``HuberRegressor``)::

    F(W, b)        = sum_i v_i l(x_i W + b, y_i)                + lam/2 ||W||^2
    F(W, b, sigma) = sum_i v_i sigma (l((x_i W + b - y_i) / sigma) + 1/2) + lam/2 ||W||^2

with ``v`` the sample weights normalised to sum to 1 (and divided by the number of outputs of
a multi-output regression, so the loss is the mean over all elements). The perspective
``sigma l(r / sigma)`` of a convex loss is jointly convex in ``(r, sigma)``, so the joint
problem stays convex; for ``l = huber(delta)`` it is exactly half of ``HuberRegressor``'s
objective with ``epsilon = delta`` (which divides ``alpha ||w||^2`` by nothing, hence
``lam = alpha_sklearn / n_samples``).

The solvers work in standardised coordinates: ``W = W' / s`` and ``b = b' - mu W`` with ``mu``
and ``s`` the weighted column means and standard deviations of ``X``. The change of variables
is exact (the optimum is the same point), but turns raw, badly scaled features (the diabetes
and breast-cancer sets as scikit-learn ships them) into a well-conditioned problem, without a
standardised copy of ``X``: every product is ``X @ W`` and ``X.T @ G`` on the caller's array,
in its own dtype (float32 data stays float32).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Rows per block when the column moments of X are summed in float64 (a float64 copy of a
# block, never of X).
_BLOCK_ROWS = 1024


def moment_sums(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """[sum v x, sum v x^2] over the rows of ``X`` (2, d), summed in float64 block by block
    (a float64 copy of a block, never of X)."""
    sums = np.zeros((2, X.shape[1]))
    for start in range(0, X.shape[0], _BLOCK_ROWS):
        block = np.asarray(X[start:start + _BLOCK_ROWS], dtype=np.float64)
        vb = v[start:start + _BLOCK_ROWS]
        sums[0] += vb @ block
        sums[1] += vb @ (block * block)
    return sums


def moments_from_sums(sums: np.ndarray, total: float, center: bool) -> tuple[np.ndarray, np.ndarray]:
    """Weighted column means (0 when not ``center``) and standard deviations (about that
    mean; 1 where a column is constant) from :func:`moment_sums` and the total weight."""
    mu = sums[0] / total if center else np.zeros(sums.shape[1])
    var = sums[1] / total - (mu * mu if center else 0.0)
    s = np.sqrt(np.maximum(var, 0.0))
    # a constant column (or one whose spread is lost to rounding) keeps its own units
    tiny = np.sqrt(np.finfo(np.float64).eps) * np.maximum(np.abs(mu), 1.0)
    s[s <= tiny] = 1.0
    return mu, s


class Rows:
    """Training rows (all of them, or a block of them) and the buffers of one evaluation.

    Parameters
    ----------
    X : ndarray (n, d), float32 or float64, C-contiguous
    T : ndarray
        Targets in the form the loss takes ((n, k) floats, or (n,) int64 labels).
    loss : Loss
        With reduction "sum" (the weights ``v`` below carry the normalisation).
    v : ndarray (n,)
        Normalised sample weights (the loss is ``sum_i v_i l_i``).
    k : int
        Number of score columns.
    scale : None, float or "auto"
        None: the loss on raw residuals; a float: the loss of ``r / scale`` times ``scale``;
        "auto": the scale is a parameter.
    latent : list of arrays
        The loss's own trainable parameters (their gradients are summed), or empty.
    """

    def __init__(self, X: np.ndarray, T: np.ndarray, loss: Any, v: np.ndarray, k: int,
                 scale: Any, latent: list[np.ndarray] | None = None) -> None:
        self.X, self.T, self.loss, self.k = X, T, loss, k
        self.dtype = X.dtype
        self.v = np.ascontiguousarray(v, dtype=X.dtype)
        if T.ndim == 2:
            # weights of the input's own shape take the kernels' direct path (a per-sample
            # vector would be broadcast by the checked, slower one)
            self.v = np.ascontiguousarray(np.broadcast_to(self.v[:, None], T.shape))
        self.v64 = np.asarray(v, dtype=np.float64)
        self.scale_mode = scale
        self.latent = list(latent or [])
        n, d = X.shape
        self.n, self.d = n, d
        self.n_t = 1 if scale == "auto" else 0
        self.S = np.empty((n, k), dtype=X.dtype)
        self.ones = np.ones(n, dtype=X.dtype)
        self.G = np.empty((n, k), dtype=X.dtype)
        self.Z = np.empty((n, k), dtype=X.dtype) if scale is not None else None
        self.TZ = np.empty_like(T) if scale is not None else None

    def scores(self, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        np.matmul(self.X, W.astype(self.dtype, copy=False), out=self.S)
        if b is not None:
            self.S += b.astype(self.dtype, copy=False)
        return self.S

    def loss_inputs(self, scale: float | None) -> tuple[np.ndarray, Any]:
        """(input, target) of the loss: the scores, or scores and targets over the scale."""
        if scale is None:
            return self.S, self.T
        inv = 1.0 / scale
        np.multiply(self.S, inv, out=self.Z)
        np.multiply(self.T, inv, out=self.TZ)
        return self.Z, self.TZ

    def gradient_sums(self, W: np.ndarray, b: np.ndarray | None,
                      scale: float | None) -> GradientSums:
        """:class:`GradientSums` of these rows at the coefficients in data units."""
        self.scores(W, b)
        inp, tgt = self.loss_inputs(scale)
        value, _ = self.loss.value_and_grad(inp, tgt, sample_weight=self.v, out=self.G)
        gW = np.asarray(self.X.T @ self.G, dtype=np.float64)
        # column sums as a product with ones (a GEMV; np.sum over axis 0 is several times slower)
        gb = np.asarray(self.ones @ self.G, dtype=np.float64)
        zg = 0.0
        if self.n_t:
            np.subtract(inp, tgt, out=self.Z)
            zg = float(np.vdot(self.Z.astype(np.float64, copy=False), self.G))
        latent = [np.asarray(g, dtype=np.float64).ravel().copy() for g in self.loss.param_grads] \
            if self.latent else []
        return GradientSums(float(value), gW, gb, zg, latent)

    def curvature_sums(self, W: np.ndarray, b: np.ndarray | None, scale: float | None,
                       policy: str) -> CurvatureSums:
        """:class:`CurvatureSums` of these rows with the curvature of
        ``loss.grad_hess(hessian=policy)``."""
        self.scores(W, b)
        inp, tgt = self.loss_inputs(scale)
        H = np.empty_like(self.G)
        curvature(self.loss, inp, tgt, self.v, policy, (self.G, H))
        H64 = H.astype(np.float64)
        if self.n_t:
            z = np.asarray(inp - tgt, dtype=np.float64)[:, 0]
            h = H64[:, 0]
            return curvature_sums(self.X, (h / scale)[:, None], -h * z, float(h @ (z * z)))
        if scale is not None:
            H64 /= scale  # d2/ds2 of sigma l(s / sigma)
        return curvature_sums(self.X, H64)


class Coordinates:
    """The parameter vector of a linear model in standardised coordinates: ``theta = [W'
    (d*k, row-major), b' (k, with an intercept), t (log of the scale over its start, with
    scale estimation), the loss's own parameters (flattened)]``, with W = W' / s and
    b = b' - mu W for the weighted column means ``mu`` and deviations ``s`` of X; and the
    objective and its gradient in theta from the rows' sums.

    Parameters
    ----------
    mu, s : ndarray (d,)
        Column means (0 without an intercept) and deviations of X (:func:`moments_from_sums`).
    k : int
    lam : float
        L2 penalty strength on W (``lam/2 ||W||^2``).
    fit_intercept : bool
    scale : None, float or "auto"
    scale0 : float
        The scale's starting value (and its value when fixed).
    latent : list of arrays
        The loss's own parameters, written back by :meth:`unpack`.
    """

    def __init__(self, mu: np.ndarray, s: np.ndarray, k: int, lam: float, fit_intercept: bool,
                 scale: Any, scale0: float, latent: list[np.ndarray] | None) -> None:
        self.k = k
        self.lam = float(lam)
        self.fit_intercept = bool(fit_intercept)
        self.scale_mode = scale
        self.scale0 = float(scale0)
        self.latent = list(latent or [])
        self.d = len(mu)
        self.mu = mu
        # The penalty's curvature in these coordinates is lam / s^2: for a rare feature (a
        # pixel that is almost always 0) it would dwarf the data's (about 1) and make the
        # problem as ill-conditioned as the raw one; sqrt(s^2 + lam) balances the two
        self.s = np.sqrt(s * s + self.lam)
        self.n_w = self.d * k
        self.n_b = k if self.fit_intercept else 0
        self.n_t = 1 if scale == "auto" else 0
        self.size = self.n_w + self.n_b + self.n_t + sum(p.size for p in self.latent)
        self.evaluations = 0

    # -- coordinates ------------------------------------------------------------------------
    def to_theta(self, W: np.ndarray, b: np.ndarray, scale: float | None) -> np.ndarray:
        """theta from coefficients in data units (W (d, k), b (k,))."""
        theta = np.zeros(self.size)
        theta[:self.n_w] = (W * self.s[:, None]).ravel()
        if self.n_b:
            theta[self.n_w:self.n_w + self.n_b] = b + self.mu @ W
        if self.n_t:
            theta[self.n_w + self.n_b] = math.log(scale / self.scale0) if scale else 0.0
        pos = self.n_w + self.n_b + self.n_t
        for p in self.latent:
            theta[pos:pos + p.size] = p.ravel()
            pos += p.size
        return theta

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float | None]:
        """(W (d, k), b (k,), scale) in data units; the latent parameters are written back."""
        W = theta[:self.n_w].reshape(self.d, self.k) / self.s[:, None]
        b = theta[self.n_w:self.n_w + self.n_b] - self.mu @ W if self.n_b else np.zeros(self.k)
        pos = self.n_w + self.n_b
        if self.n_t:
            scale = self.scale0 * math.exp(float(np.clip(theta[pos], -700.0, 700.0)))
            pos += 1
        else:
            scale = self.scale0 if self.scale_mode is not None else None
        for p in self.latent:
            p[...] = theta[pos:pos + p.size].reshape(p.shape)
            pos += p.size
        return W, b, scale

    def finish(self, W: np.ndarray, scale: float | None,
               sums: GradientSums) -> tuple[float, np.ndarray]:
        """The objective and its gradient in theta from the rows' :class:`GradientSums`."""
        value = sums.value
        grad = np.empty(self.size)
        gW, gb = sums.gW, sums.gb
        if scale is not None:
            # d/dS [sigma l(S/sigma)] = l'(S/sigma): G as it is
            f = scale * (value + 0.5)
            if self.n_t:
                # d/d log(sigma) = sigma (l + 1/2 - sum_i g_i z_i), z the scaled residuals
                grad[self.n_w + self.n_b] = scale * (value + 0.5 - sums.zg)
        else:
            f = value
        if self.lam:
            f += 0.5 * self.lam * float(np.vdot(W, W))
            gW = gW + self.lam * W
        self._grad_coef(gW, gb, grad)
        pos = self.n_w + self.n_b + self.n_t
        for g in sums.latent:
            grad[pos:pos + g.size] = g * (scale if scale is not None else 1.0)
            pos += g.size
        return f, grad

    def _grad_coef(self, gW: np.ndarray, gb: np.ndarray, grad: np.ndarray) -> None:
        """Gradients in data units -> in the standardised coordinates (chain rule of
        W = W'/s, b = b' - mu W)."""
        if self.n_b:
            gW = gW - np.outer(self.mu, gb)
            grad[self.n_w:self.n_w + self.n_b] = gb
        grad[:self.n_w] = (gW / self.s[:, None]).ravel()

    def value(self, theta: np.ndarray) -> float:
        return self.value_grad(theta)[0]


class GradientSums:
    """The sums over rows that the objective and its gradient are made of: the weighted loss,
    ``X^T G`` and the column sums of G (G the loss's gradient in the scores), ``sum g z``
    (with the scale a parameter) and the gradients of the loss's own parameters. Sums of row
    blocks add up to the sums of their rows."""

    def __init__(self, value: float, gW: np.ndarray, gb: np.ndarray, zg: float,
                 latent: list[np.ndarray]) -> None:
        self.value, self.gW, self.gb, self.zg, self.latent = value, gW, gb, zg, latent

    def __add__(self, other: GradientSums) -> GradientSums:
        return GradientSums(self.value + other.value, self.gW + other.gW, self.gb + other.gb,
                            self.zg + other.zg, [a + b for a, b in zip(self.latent, other.latent)])


class Objective(Rows, Coordinates):
    """The training objective of a linear model over all its rows in memory (see
    :class:`Rows` and :class:`Coordinates` for the parameters):

        F(theta) = sum_i v_i l(x_i W + b, y_i) + lam/2 ||W||^2  (or the scaled form above)
    """

    def __init__(self, X: np.ndarray, T: np.ndarray, loss: Any, v: np.ndarray, k: int,
                 lam: float, fit_intercept: bool, scale: Any, scale0: float,
                 latent: list[np.ndarray] | None = None) -> None:
        Rows.__init__(self, X, T, loss, v, k, scale, latent)
        mu, s = moments_from_sums(moment_sums(X, self.v64), float(self.v64.sum()), fit_intercept)
        Coordinates.__init__(self, mu, s, k, lam, fit_intercept, scale, scale0, latent)

    def value_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.evaluations += 1
        W, b, scale = self.unpack(theta)
        return self.finish(W, scale, self.gradient_sums(W, b if self.n_b else None, scale))

    def newton_direction(self, theta: np.ndarray, g: np.ndarray, policy: str) -> np.ndarray:
        """Newton's direction at ``theta`` (gradient ``g``) with the curvature of
        ``loss.grad_hess(hessian=policy)``."""
        W, b, scale = self.unpack(theta)
        sums = self.curvature_sums(W, b if self.n_b else None, scale, policy)
        return direction_from_sums(self, g, sums, scale if self.n_t else None)


class Result:
    """What a solver returns: the parameters, iterations taken and whether it converged."""

    def __init__(self, theta: np.ndarray, n_iter: int, converged: bool, curve: list[float],
                 message: str = "") -> None:
        self.theta, self.n_iter, self.converged, self.curve = theta, n_iter, converged, curve
        self.message = message


def _converged(f0: float, g: np.ndarray, tol: float) -> bool:
    # the largest gradient entry in standardised coordinates, relative to the objective at the
    # start (both scale alike with y: the test does not depend on the units of y, and unlike
    # the current objective it does not tighten as a separable problem's loss goes to 0)
    return float(np.max(np.abs(g), initial=0.0)) <= tol * max(abs(f0), 1e-300)


def _backtrack(obj: Any, theta: np.ndarray, f: float, g: np.ndarray, p: np.ndarray,
               step: float, max_halvings: int = 40) -> tuple[float, np.ndarray, float, np.ndarray] | None:
    """Armijo backtracking along p from ``step``: (step, theta, f, g) or None."""
    slope = float(g @ p)
    if not slope < 0:
        return None
    c1 = 1e-4
    for _ in range(max_halvings):
        cand = theta + step * p
        fc, gc = obj.value_grad(cand)
        if math.isfinite(fc) and fc <= f + c1 * step * slope:
            return step, cand, fc, gc
        # the minimiser of the quadratic through f, the slope and fc, kept in [0.1, 0.5] step
        if math.isfinite(fc):
            q = -slope * step * step / (2.0 * (fc - f - slope * step))
            step = min(max(q, 0.1 * step), 0.5 * step)
        else:
            step *= 0.1
    return None


class _Rescaled:
    """``obj`` seen through theta = D phi and divided by ``unit``: with D = ``unit`` on the
    coefficients (and 1 on the log scale and the loss's own parameters), y times k gives the
    same problem in phi, so L-BFGS (not invariant to rescaling its variables) takes the same
    steps: the fit is scale-equivariant to rounding."""

    def __init__(self, obj: Objective, D: np.ndarray, unit: float) -> None:
        self.obj, self.D, self.unit = obj, D, unit
        self.dtype = obj.dtype

    def value_grad(self, phi: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = self.obj.value_grad(self.D * phi)
        return f / self.unit, self.D * g / self.unit


def lbfgs(obj: Objective, theta: np.ndarray, max_iter: int, tol: float, memory: int = 10,
          callback: Any = None, f_scale: float | None = None, unit: float = 1.0) -> Result:
    """Limited-memory BFGS (two-loop recursion, Armijo backtracking; an update whose
    curvature s.y is not positive is skipped). ``unit``: the units of y (the scale the loss
    is fitted in), see :class:`_Rescaled`."""
    D = np.ones(obj.size)
    D[:obj.n_w + obj.n_b] = unit
    res = _lbfgs(_Rescaled(obj, D, unit), theta / D, max_iter, tol, memory, callback,
                 None if f_scale is None else f_scale / unit)
    res.theta = res.theta * D
    res.curve = [f * unit for f in res.curve]
    return res


class _Pairs:
    """The L-BFGS pairs (s, y), oldest first, with what the compact form needs kept up to date
    as pairs come and go: Y Y^T, the diagonal D of S Y^T and the inverse of R, the upper
    triangle of S Y^T (one matrix-vector product per new pair; no matrix product, inverse or
    triangle per step)."""

    def __init__(self, memory: int, size: int) -> None:
        self.memory, self.count = memory, 0
        self.S = np.empty((memory, size))
        self.Y = np.empty((memory, size))
        self.Rinv = np.zeros((memory, memory))  # upper triangular: R^-1, R[i, j] = s_i . y_j
        self.D = np.zeros(memory)
        self.YY = np.zeros((memory, memory))

    def clear(self) -> None:
        self.count = 0

    def add(self, s_vec: np.ndarray, y_vec: np.ndarray) -> None:
        m = self.count
        if m == self.memory:  # drop the oldest pair
            for a in (self.S, self.Y, self.D):
                a[:-1] = a[1:]
            # R without its first row and column is R's trailing block, and the inverse of a
            # triangular matrix's trailing block is the inverse's trailing block
            for a in (self.Rinv, self.YY):
                a[:-1, :-1] = a[1:, 1:]
            m -= 1
        self.S[m], self.Y[m] = s_vec, y_vec
        d = float(s_vec @ y_vec)
        # [[R, r], [0, d]]^-1 = [[R^-1, -R^-1 r / d], [0, 1 / d]], r_i = s_i . y_new
        self.Rinv[:m, m] = -(self.Rinv[:m, :m] @ (self.S[:m] @ y_vec)) / d
        self.Rinv[m, :m] = 0.0
        self.Rinv[m, m] = 1.0 / d
        self.D[m] = d
        self.YY[:m + 1, m] = self.YY[m, :m + 1] = self.Y[:m + 1] @ y_vec
        self.count = m + 1

    def inverse_hessian_times(self, g: np.ndarray) -> np.ndarray:
        """H g for the L-BFGS inverse Hessian of the pairs, in the compact form of Byrd,
        Nocedal and Schnabel (1994): with R the upper triangle of S Y^T, D its diagonal and
        gamma = s.y / y.y of the newest pair,
        H g = gamma g + S^T R^-T ((D + gamma Y Y^T) p - gamma Y g) - gamma Y^T p, p = R^-1 S g.
        The same vector as the two-loop recursion, in a dozen array operations instead of
        four per pair."""
        m = self.count
        S, Y, Rinv, D, YY = self.S[:m], self.Y[:m], self.Rinv[:m, :m], self.D[:m], self.YY[:m, :m]
        gamma = D[-1] / YY[-1, -1]
        p = Rinv @ (S @ g)
        u = Rinv.T @ (D * p + gamma * (YY @ p - Y @ g))
        return gamma * g + S.T @ u - gamma * (Y.T @ p)


def _lbfgs(obj: Any, theta: np.ndarray, max_iter: int, tol: float, memory: int,
           callback: Any, f_scale: float | None) -> Result:
    f, g = obj.value_grad(theta)
    f0 = f if f_scale is None else f_scale
    curve = [f]
    pairs = _Pairs(memory, theta.size)
    if _converged(f0, g, tol):
        return Result(theta, 0, True, curve)
    for it in range(1, max_iter + 1):
        if pairs.count:
            q = pairs.inverse_hessian_times(g)
            step = 1.0
        else:
            q = g
            # the first step moves the largest coordinate by about one standardised unit
            step = 1.0 / max(float(np.max(np.abs(g))), 1e-300)
        p = -q
        found = _backtrack(obj, theta, f, g, p, step)
        if found is None and pairs.count:  # a stale curvature model: restart from steepest descent
            pairs.clear()
            p = -g
            found = _backtrack(obj, theta, f, g, p, 1.0 / max(float(np.max(np.abs(g))), 1e-300))
        if found is None:
            # no decrease is representable along the gradient: as converged as the arithmetic
            # of the data's dtype allows
            return Result(theta, it - 1, True, curve, "line search found no decrease")
        _, new_theta, new_f, new_g = found
        s_vec, y_vec = new_theta - theta, new_g - g
        sy = float(s_vec @ y_vec)
        if sy > 1e-10 * float(y_vec @ y_vec) and sy > 0:
            pairs.add(s_vec, y_vec)
        theta, f, g = new_theta, new_f, new_g
        curve.append(f)
        if callback is not None:
            callback(it, f * getattr(obj, "unit", 1.0))
        if _converged(f0, g, tol):
            return Result(theta, it, True, curve)
        if abs(curve[-2] - f) <= 4 * np.finfo(obj.dtype).eps * abs(f) and \
                abs(curve[max(len(curve) - 4, 0)] - f) <= 4 * np.finfo(obj.dtype).eps * abs(f):
            return Result(theta, it, True, curve, "objective stationary to rounding")
    return Result(theta, max_iter, False, curve)


# ---- Newton ---------------------------------------------------------------------------------
def curvature(loss: Any, inp: np.ndarray, tgt: Any, v: np.ndarray, policy: str,
              out: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and diagonal curvature of ``sum_i v_i l_i`` in the scores, from the loss's
    fused ``grad_hess``."""
    return loss.grad_hess(inp, tgt, sample_weight=v, out=out, hessian=policy)


class CurvatureSums:
    """The sums over rows that a Newton system is made of, per score column j with the
    curvature h_j: ``A_j = X^T diag(h_j) X``, ``c_j = X^T h_j``, ``h0_j = sum h_j``; with the
    scale a parameter also ``cu = X^T u``, ``su = sum u`` and ``hzz = sum h z^2`` (see
    :func:`_newton_direction`). Sums of row blocks add up to the sums of their rows."""

    def __init__(self, A: np.ndarray, c: np.ndarray, h0: np.ndarray, cu: np.ndarray | None = None,
                 su: float = 0.0, hzz: float = 0.0) -> None:
        self.A, self.c, self.h0, self.cu, self.su, self.hzz = A, c, h0, cu, su, hzz

    def __add__(self, other: CurvatureSums) -> CurvatureSums:
        cu = None if self.cu is None else self.cu + other.cu
        return CurvatureSums(self.A + other.A, self.c + other.c, self.h0 + other.h0, cu,
                             self.su + other.su, self.hzz + other.hzz)


def curvature_sums(X: np.ndarray, H: np.ndarray, u: np.ndarray | None = None,
                   hzz: float = 0.0) -> CurvatureSums:
    """:class:`CurvatureSums` of the rows of ``X`` (any float dtype) with the float64
    curvatures ``H`` (n, k), summed block by block: no (n, d) float64 temporary."""
    n, d = X.shape
    k = H.shape[1]
    A = np.zeros((k, d, d))
    c = np.zeros((k, d))
    for start in range(0, n, _BLOCK_ROWS):
        Xb = np.asarray(X[start:start + _BLOCK_ROWS], dtype=np.float64)
        for j in range(k):
            Xh = Xb * H[start:start + _BLOCK_ROWS, j, None]
            A[j] += Xb.T @ Xh
            c[j] += Xh.sum(axis=0)
    h0 = H.sum(axis=0, dtype=np.float64)
    if u is None:
        return CurvatureSums(A, c, h0)
    cu = np.asarray(X.T @ u.astype(X.dtype), dtype=np.float64)
    return CurvatureSums(A, c, h0, cu, float(u.sum()), hzz)


def _standardised_block(obj: Any, sums: CurvatureSums, j: int) -> np.ndarray:
    """Column j's Hessian of sum_i h_ij (x_i w_j + b_j)^2 / 2 in the standardised
    coordinates (w'_j, b'_j): J^T [[X^T D X, X^T h], [h^T X, sum h]] J."""
    mu, s, d = obj.mu, obj.s, obj.d
    A, c, h0 = sums.A[j], sums.c[j], float(sums.h0[j])
    if obj.n_b:
        # rows/columns in the coordinates (W', b'): W = W'/s, b = b' - mu W
        Ac = A - np.outer(mu, c) - np.outer(c, mu) + h0 * np.outer(mu, mu)
        cc = c - h0 * mu
        B = np.empty((d + 1, d + 1))
        B[:d, :d] = Ac / np.outer(s, s)
        B[:d, d] = B[d, :d] = cc / s
        B[d, d] = h0
    else:
        B = A / np.outer(s, s)
    if obj.lam:
        B[np.arange(d), np.arange(d)] += obj.lam / (s * s)
    return B


def _solve_psd(B: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The minimum-norm solution of B x = g for a symmetric positive semi-definite B, from its
    eigendecomposition: directions with eigenvalues below 1e-10 of the largest (a singular
    problem: more features than samples, collinear features, no penalty) get no step, so
    rounding-level differences in B (weights against repeated rows) cannot move the answer
    along them."""
    vals, vecs = np.linalg.eigh(B)
    top = float(vals[-1]) if len(vals) else 0.0
    keep = vals > 1e-10 * max(top, 1e-300)
    coef = (vecs.T @ g)[keep] / vals[keep]
    return vecs[:, keep] @ coef


def _newton_direction(obj: Any, g: np.ndarray, H: np.ndarray,
                      joint: tuple[np.ndarray, float] | None = None) -> np.ndarray:
    """-(Hessian)^-1 g for the curvature ``H`` (n, k) of the objective's rows. ``joint``:
    (z, scale) when the scale is a parameter (see :func:`direction_from_sums`)."""
    if joint is None:
        return direction_from_sums(obj, g, curvature_sums(obj.X, H))
    z, scale = joint
    h = H[:, 0]
    sums = curvature_sums(obj.X, (h / scale)[:, None], -h * z, float(h @ (z * z)))
    return direction_from_sums(obj, g, sums, scale)


def direction_from_sums(obj: Any, g: np.ndarray, sums: CurvatureSums,
                        scale: float | None = None) -> np.ndarray:
    """-(Hessian)^-1 g, block by block, from the rows' :class:`CurvatureSums`. ``scale``
    given: the scale is a parameter, and the one score column's (w', b', log scale) system is
    coupled; from the derivatives of F = sigma sum_i v_i (l(z_i) + 1/2), z = (s - y) / sigma,
    with h_i = v_i l''(z_i): d2F/ds2 = h / sigma (the sums' curvature), d2F/ds dt = -h z (u),
    d2F/dt2 = sigma sum h z^2 + dF/dt (the last term dropped where negative, away from the
    optimum, to keep the system positive)."""
    p = np.zeros(obj.size)
    d, k = obj.d, obj.k
    if scale is not None:
        B = _standardised_block(obj, sums, 0)
        cross = (sums.cu - obj.mu * sums.su) / obj.s if obj.n_b else sums.cu / obj.s
        if obj.n_b:
            cross = np.append(cross, sums.su)
        it = obj.n_w + obj.n_b
        htt = scale * sums.hzz + max(float(g[it]), 0.0)
        m = len(B)
        J = np.empty((m + 1, m + 1))
        J[:m, :m] = B
        J[:m, m] = J[m, :m] = cross
        J[m, m] = htt
        rhs = np.append(g[:obj.n_w], g[obj.n_w:it + 1]) if obj.n_b else np.append(g[:obj.n_w], g[it])
        x = _solve_psd(J, rhs)
        p[:obj.n_w] = -x[:d]
        if obj.n_b:
            p[obj.n_w] = -x[d]
        p[it] = -x[m]
        return p
    gW = g[:obj.n_w].reshape(d, k)
    pW = p[:obj.n_w].reshape(d, k)
    for j in range(k):
        B = _standardised_block(obj, sums, j)
        rhs = gW[:, j] if not obj.n_b else np.append(gW[:, j], g[obj.n_w + j])
        x = _solve_psd(B, rhs)
        pW[:, j] = -x[:d]
        if obj.n_b:
            p[obj.n_w + j] = -x[d]
    return p


def newton(obj: Objective, theta: np.ndarray, max_iter: int, tol: float, policy: str,
           callback: Any = None, f_scale: float | None = None) -> Result:
    """Newton's method with the curvature of ``loss.grad_hess(hessian=policy)`` (one block per
    score column: exact for elementwise losses; for softmax the block-diagonal part of the
    Hessian, p(1 - p), with the line search making up for the coupling left out) and Armijo
    backtracking from the full step."""
    f, g = obj.value_grad(theta)
    f0 = f if f_scale is None else f_scale
    curve = [f]
    if _converged(f0, g, tol):
        return Result(theta, 0, True, curve)
    for it in range(1, max_iter + 1):
        p = obj.newton_direction(theta, g, policy)
        found = _backtrack(obj, theta, f, g, p, 1.0)
        if found is None:
            found = _backtrack(obj, theta, f, g, -g, 1.0 / max(float(np.max(np.abs(g))), 1e-300))
        if found is None:
            return Result(theta, it - 1, True, curve, "line search found no decrease")
        _, theta, f, g = found
        curve.append(f)
        if callback is not None:
            callback(it, f)
        if _converged(f0, g, tol):
            return Result(theta, it, True, curve)
        if abs(curve[-2] - f) <= 4 * np.finfo(obj.dtype).eps * abs(f):
            return Result(theta, it, True, curve, "objective stationary to rounding")
    return Result(theta, max_iter, False, curve)


# ---- kinked losses: L1 and the pinball loss -------------------------------------------------
def kinked_irls(obj: Objective, theta: np.ndarray, max_iter: int, tol: float,
                mean_slope: float, callback: Any = None) -> Result:
    """Least absolute deviations / quantile regression by iteratively reweighted least
    squares on a vanishing smoothing, finished exactly.

    With slopes -a (left) and c (right) of the loss at its kink, ``|r| (a + c) / 2`` is
    majorised at r0 by ``r^2 (a + c) / (4 max(|r0|, eps)) + const`` (the rest of the loss is
    linear), so a Newton step with the curvature ``v (a + c) / (2 max(|r0|, eps))`` and the
    loss's gradient is a majorise-minimise step of the eps-smoothed objective: it never goes
    up. eps starts at the median absolute residual and shrinks tenfold each time the steps
    settle. (These weights are formed here rather than taken from ``grad_hess(hessian="irls")``:
    its weight psi(r) / r is the slope of the side r lies on over |r|, which majorises the
    pinball loss only at q = 1/2, and it has no smoothing to shrink.)

    Without a penalty the problem is a linear programme (scikit-learn's ``QuantileRegressor``
    solves it as one) whose solution is a vertex: p = d (+1 with an intercept) residuals are
    exactly 0. Each time the steps settle, the p samples of smallest residual are tried as
    that vertex (one linear solve) and the vertex is certified optimal by the optimality
    conditions: the other samples' gradient must be balanced by subgradients of the p
    samples within the loss's slopes at its kink. A certified vertex ends the run: the
    solution is exact, not approximate.
    """
    f, g = obj.value_grad(theta)
    curve = [f]
    R = (obj.S - obj.T).astype(np.float64)
    eps = float(np.median(np.abs(R))) or 1.0
    eps_floor = eps * 1e-12
    slopes = _kink_slopes(obj)
    best_theta, best_f = theta, f
    stage = 0
    for it in range(1, max_iter + 1):
        R = (obj.S - obj.T).astype(np.float64)
        Hw = obj.v64[:, None] * (mean_slope / np.maximum(np.abs(R), eps))
        p = _newton_direction(obj, g, Hw)
        cand = theta + p
        fc, gc = obj.value_grad(cand)
        if not math.isfinite(fc):
            break
        theta, f, g = cand, fc, gc
        curve.append(f)
        if f <= best_f:
            best_theta, best_f = theta, f
        if callback is not None:
            callback(it, f)
        stage += 1
        size = max(float(np.max(np.abs(theta[:obj.n_w + obj.n_b]), initial=0.0)), 1e-300)
        if float(np.max(np.abs(p), initial=0.0)) <= 1e-6 * size or stage >= 8:
            stage = 0
            if not obj.lam and obj.k == 1:
                vertex = _certified_vertex(obj, best_theta, slopes)
                if vertex is not None:
                    obj.value_grad(vertex)  # leaves the objective's buffers at the answer
                    return Result(vertex, it, True, curve + [obj.value(vertex)])
            if eps <= eps_floor:
                return Result(best_theta, it, True, curve)
            eps *= 0.1
    return Result(best_theta, max_iter, False, curve)


def _kink_slopes(obj: Objective) -> tuple[float, float]:
    """The loss's derivative just left and right of its kink (e.g. -q and 1 - q)."""
    probe_in = np.array([[-1.0], [1.0]], dtype=obj.dtype)
    probe_t = np.zeros((2, 1), dtype=obj.dtype)
    _, grad = obj.loss.value_and_grad(probe_in, probe_t, sample_weight=np.ones(2, dtype=obj.dtype))
    return float(grad[0, 0]), float(grad[1, 0])


def _certified_vertex(obj: Objective, theta: np.ndarray,
                      slopes: tuple[float, float], max_pivots: int = 200) -> np.ndarray | None:
    """The exact solution of the unpenalised problem, from the vertex through the p samples
    of smallest residual at theta, or None.

    A vertex is optimal when the other samples' gradient is balanced by subgradients of the
    p basis samples within the loss's slopes [lo, hi] at the kink. Where a basis sample's
    subgradient falls outside, moving that sample's residual off 0 (the others held at 0)
    descends: the exact minimum along that edge of the piecewise-linear objective is where
    enough other residuals have crossed 0 (a simplex pivot: that sample enters the basis).
    """
    W, b, _ = obj.unpack(theta)
    obj.scores(W, b)
    y = np.asarray(obj.T[:, 0], dtype=np.float64)
    v = obj.v64
    R = np.abs(np.asarray(obj.S[:, 0], dtype=np.float64) - y)
    R[v <= 0] = np.inf
    p = obj.d + (1 if obj.n_b else 0)
    if p > np.count_nonzero(np.isfinite(R)):
        return None
    lo, hi = slopes
    X = obj.X

    def rows_of(idx: np.ndarray) -> np.ndarray:  # rows of [X, 1] in float64
        A = np.asarray(X[idx], dtype=np.float64)
        return np.hstack([A, np.ones((len(idx), 1))]) if obj.n_b else A

    def times(vec: np.ndarray) -> np.ndarray:  # [X, 1] @ vec
        out = np.asarray(X @ vec[:obj.d].astype(X.dtype), dtype=np.float64)
        return out + vec[obj.d] if obj.n_b else out

    def transposed_times(vec: np.ndarray) -> np.ndarray:  # [X, 1]^T @ vec
        out = np.asarray(X.T @ vec.astype(X.dtype), dtype=np.float64)
        return np.append(out, vec.sum()) if obj.n_b else out

    basis = np.argsort(R, kind="stable")[:p]
    for _ in range(max_pivots):
        A = rows_of(basis)
        try:
            beta = np.linalg.solve(A, y[basis])
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(beta)):
            return None
        r = times(beta) - y
        r[basis] = 0.0
        # the loss's gradient from the other samples (weights v): slope hi above 0, lo below
        g = np.where(r > 0, hi, np.where(r < 0, lo, 0.0)) * v
        g[basis] = 0.0
        try:
            z = np.linalg.solve(A.T, -transposed_times(g))
        except np.linalg.LinAlgError:
            return None
        u = z / np.maximum(v[basis], 1e-300)
        slack = 1e-9 * max(abs(lo), abs(hi))
        # directional derivatives of moving basis row j up (hi - u) or down (u - lo), times v
        up, down = v[basis] * (hi - u), v[basis] * (u - lo)
        worst_up, worst_down = int(np.argmin(up)), int(np.argmin(down))
        if up[worst_up] >= -slack * v[basis][worst_up] and down[worst_down] >= -slack * v[basis][worst_down]:
            Wv = beta[:obj.d].reshape(obj.d, 1)
            bv = beta[obj.d:] if obj.n_b else np.zeros(1)
            return obj.to_theta(Wv, bv, None)
        if up[worst_up] <= down[worst_down]:
            j, sign, slope = worst_up, 1.0, float(up[worst_up])
        else:
            j, sign, slope = worst_down, -1.0, float(down[worst_down])
        e = np.zeros(p)
        e[j] = sign
        try:
            delta = np.linalg.solve(A, e)
        except np.linalg.LinAlgError:
            return None
        a = times(delta)
        a[basis] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -r / a
        cross = np.flatnonzero((a != 0) & (t >= 0) & (v > 0))
        if cross.size == 0:
            return None  # unbounded edge: cannot happen for a loss growing both ways
        order = cross[np.argsort(t[cross], kind="stable")]
        slope_after = slope + np.cumsum(v[order] * (hi - lo) * np.abs(a[order]))
        stop = int(np.searchsorted(slope_after >= 0, True))
        if stop >= order.size:
            return None
        basis = basis.copy()
        basis[j] = order[stop]
    return None
