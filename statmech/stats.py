"""Error analysis of Monte Carlo time series: binning, autocorrelation times, jackknife.

Conventions. ``tau_int = 1/2 + sum_{t>=1} rho(t)`` in units of the series' spacing, so that the
variance of the mean of ``n`` correlated samples is ``2 tau_int sigma^2 / n`` (``tau_int = 1/2``
for independent samples).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: number of blocks for binning errors and the block jackknife
N_BLOCKS = 32


@dataclass(frozen=True)
class Binning:
    """Result of a logarithmic binning analysis of one series."""

    mean: float
    error: float
    naive_error: float
    level_errors: np.ndarray

    @property
    def tau(self) -> float:
        """Integrated autocorrelation time implied by the binned error."""
        if self.naive_error == 0:
            return 0.5
        return 0.5 * (self.error / self.naive_error) ** 2


def binning(x: np.ndarray, min_bins: int = N_BLOCKS) -> Binning:
    """Error of the mean from repeated pairwise blocking (Flyvbjerg-Petersen).

    The reported error is the one at the coarsest level that still has at least ``min_bins``
    bins: a conservative plateau estimate, valid when the bins are longer than a few
    autocorrelation times (check ``tau`` against ``len(x) / min_bins``).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 2:
        return Binning(float(x.mean()) if n else np.nan, np.nan, np.nan, np.empty(0))
    mean = float(x.mean())
    errs = []
    y = x
    while y.size >= min_bins:
        errs.append(float(np.std(y, ddof=1) / np.sqrt(y.size)))
        m = y.size // 2
        y = 0.5 * (y[: 2 * m : 2] + y[1 : 2 * m : 2])
    if not errs:
        errs = [float(np.std(x, ddof=1) / np.sqrt(n))]
    return Binning(mean, errs[-1], errs[0], np.asarray(errs))


def autocorrelation(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation function rho(t) by FFT (rho(0) = 1)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    y = x - x.mean()
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(y, size)
    acf = np.fft.irfft(f * np.conjugate(f), size)[:n]
    if acf[0] == 0:
        out = np.zeros(n)
        out[0] = 1.0
        return out
    return acf / acf[0]


def tau_int(x: np.ndarray, c: float = 6.0) -> float:
    """Integrated autocorrelation time with Sokal's automatic window (``W >= c tau(W)``).

    Returns 0.5 for a constant series (no fluctuations: nothing is correlated).
    """
    return tau_int_error(x, c)[0]


def tau_int_error(x: np.ndarray, c: float = 6.0) -> tuple[float, float]:
    """:func:`tau_int` and its statistical error ``tau sqrt(2 (2W + 1) / n)`` (Madras-Sokal)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size < 4 or np.all(x == x[0]):
        return 0.5, 0.0
    rho = autocorrelation(x)
    taus = 0.5 + np.cumsum(rho[1:])
    windows = np.arange(1, x.size)
    ok = windows >= c * taus
    w = int(np.argmax(ok)) if ok.any() else x.size - 2
    tau = float(max(taus[w], 0.5))
    return tau, tau * float(np.sqrt(2 * (2 * (w + 1) + 1) / x.size))


def block_means(x: np.ndarray, n_blocks: int = N_BLOCKS) -> np.ndarray:
    """Means of ``n_blocks`` consecutive equal blocks (the tail that does not fit is dropped)."""
    x = np.asarray(x, dtype=np.float64)
    size = x.size // n_blocks
    if size == 0:
        raise ValueError(f"need at least {n_blocks} samples, got {x.size}")
    return x[: size * n_blocks].reshape(n_blocks, size).mean(axis=1)


def jackknife(
    f: Callable[..., float], series: Sequence[np.ndarray], n_blocks: int = N_BLOCKS
) -> tuple[float, float]:
    """Block-jackknife estimate and error of ``f(<x1>, <x2>, ...)``.

    ``series`` are equally long time series of the primary quantities; ``f`` takes their means.
    Returns ``(f of the full-sample means, jackknife standard error)``.
    """
    blocks = np.stack([block_means(s, n_blocks) for s in series])  # (k, n_blocks)
    full = np.array([np.asarray(s, dtype=np.float64).mean() for s in series])
    total = blocks.sum(axis=1, keepdims=True)
    loo = (total - blocks) / (n_blocks - 1)  # leave-one-block-out means
    vals = np.array([f(*loo[:, i]) for i in range(n_blocks)])
    err = float(np.sqrt((n_blocks - 1) / n_blocks * np.sum((vals - vals.mean()) ** 2)))
    return float(f(*full)), err
