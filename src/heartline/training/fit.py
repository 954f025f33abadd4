"""Fit a `Head` with SciPy's L-BFGS: class-weighted cross-entropy plus L2, no torch needed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from heartline.heads import Head, softmax

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitConfig:
    """Training settings of one head."""

    hidden: int = 0
    """Width of the hidden ReLU layer; 0 means softmax regression."""
    l2: float = 1e-3
    """L2 penalty on the weights (not the biases), per example."""
    balance: float = 1.0
    """Class weights ∝ count^-balance: 0 plain, 1 fully class-balanced loss."""
    max_iter: int = 300
    seed: int = 0


def class_weights(y: np.ndarray, n_classes: int, balance: float) -> np.ndarray:
    """Per-class loss weights ∝ count^-balance, normalised to mean 1 over the examples."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    weights = np.where(counts > 0, np.maximum(counts, 1.0) ** -balance, 0.0)
    return weights / (weights[y].mean())


def _shapes(dim: int, hidden: int, n_classes: int) -> list[tuple[int, ...]]:
    if hidden:
        return [(dim, hidden), (hidden,), (hidden, n_classes), (n_classes,)]
    return [(dim, n_classes), (n_classes,)]


def _unpack(theta: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(theta[start : start + size].reshape(shape))
        start += size
    return out


def fit_head(x: np.ndarray, y: np.ndarray, labels: tuple[str, ...], config: FitConfig,
             callback: Callable[[int], None] | None = None) -> Head:
    """Minimise weighted cross-entropy + l2·|W|²/2 over (x, y); y holds label indices."""
    x = np.asarray(x, dtype=np.float64)
    n, dim = x.shape
    k = len(labels)
    sample_w = class_weights(y, k, config.balance)[y] / n
    onehot = np.eye(k)[y]
    shapes = _shapes(dim, config.hidden, k)
    rng = np.random.default_rng(config.seed)
    init = []
    for shape in shapes:
        if len(shape) == 2 and config.hidden:
            init.append(rng.normal(0.0, np.sqrt(2.0 / shape[0]), shape).ravel())
        else:
            init.append(np.zeros(shape).ravel())
    theta0 = np.concatenate(init)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = _unpack(theta, shapes)
        if config.hidden:
            w0, b0, w1, b1 = params
            pre = x @ w0 + b0
            h = np.maximum(pre, 0.0)
            logits = h @ w1 + b1
        else:
            w1, b1 = params
            h, logits = x, x @ params[0] + params[1]
        p = softmax(logits)
        loss = -(sample_w * np.log(np.maximum((p * onehot).sum(axis=1), 1e-300))).sum()
        loss += 0.5 * config.l2 * sum((w ** 2).sum() for w in params[::2])
        d_logits = (p - onehot) * sample_w[:, None]
        grads_w1 = h.T @ d_logits + config.l2 * w1
        grads_b1 = d_logits.sum(axis=0)
        if not config.hidden:
            return loss, np.concatenate([grads_w1.ravel(), grads_b1])
        d_h = (d_logits @ w1.T) * (pre > 0)
        grads = [x.T @ d_h + config.l2 * w0, d_h.sum(axis=0), grads_w1, grads_b1]
        return loss, np.concatenate([g.ravel() for g in grads])

    step = 0

    def on_step(_: np.ndarray) -> None:
        nonlocal step
        step += 1
        if callback:
            callback(step)

    result = minimize(objective, theta0, jac=True, method="L-BFGS-B", callback=on_step,
                      options={"maxiter": config.max_iter})
    log.info("L-BFGS: %d iterations, loss %.4f (%s)", result.nit, result.fun, result.message)
    params = [p.astype(np.float32) for p in _unpack(result.x, shapes)]
    layers = [(params[i], params[i + 1]) for i in range(0, len(params), 2)]
    return Head(labels=tuple(labels), layers=layers)
