r"""Crosstalk theory of the dense associative memory (``dense-hopfield``).

Conventions as in :mod:`statmech.models.dense_hopfield`: ``E = -sum_mu F(M^mu)``, integer overlaps
``M^mu = sum_i xi_i^mu s_i``, ``F(x) = x^n`` or ``e^x``, spin i follows the sign of
``D_i = sum_mu xi_i^mu g(a^mu)`` with ``a^mu = M^mu - xi_i^mu s_i`` and ``g(a) = F(a+1) - F(a-1)``.

**One-step error at a stored pattern** (:func:`p_error_exact`). Put the network in pattern 1,
``s = xi^1``. For mu = 1, ``a^1 = N - 1`` and ``s_i xi_i^1 g(a^1) = g(N - 1)`` (the signal). For
every other pattern nu write ``t_j = xi_j^nu xi_j^1`` (i.i.d. fair +-1 given xi^1); then
``a^nu = sum_{j != i} t_j = 2B - (N - 1)``, ``B ~ Binomial(N - 1, 1/2)``, and its contribution
to ``s_i D_i`` is ``X_nu = t_i g(a^nu)`` with ``t_i`` independent of ``a^nu``. The X_nu of the
K - 1 other patterns are i.i.d. (independent patterns), each symmetric with law
``P(X = +-g(a)) = P(a) / 2``. Bit i is unstable iff ``g(N - 1) + S < 0``, ``S = sum_nu X_nu``
(a tie ``D_i = 0`` keeps the spin, so it is not an error)::

    P_err(N, n, K) = P(S < -g(N - 1)).

For the power energy X lives on the lattice ``d Z`` (d = gcd of the g(a)), and the law of S is
the (K-1)-fold convolution, computed exactly up to float64 rounding by FFT on a periodic lattice
longer than the support of S (no aliasing). At n = 2, ``g(a) = 4a`` and this is Hopfield's
binomial ``P(X < -(N-1))`` with ``X = 2 Bin((K-1)(N-1), 1/2) - (K-1)(N-1)``
(:func:`statmech.theory.hopfield.p_error_exact`).

**Gaussian approximation** (:func:`p_error_gaussian`). ``g(a) = 2 n a^(n-1) + O(a^(n-3))`` and
``a ~ sqrt(N) z`` with z a unit Gaussian, so to leading order in N::

    Var X = E[g(a)^2] = 4 n^2 E[a^(2n-2)] = 4 n^2 (2n-3)!! N^(n-1),   signal g(N-1) = 2 n N^(n-1),

(the even Gaussian moment ``E[z^(2n-2)] = (2n-3)!!``), and the signal-to-noise ratio
``g(N-1)^2 / (K Var X) = N^(n-1) / ((2n-3)!! K)`` gives::

    P_err ~ (1/2) erfc( sqrt( N^(n-1) / (2 (2n-3)!! K) ) ),

which at n = 2 is Hopfield's ``(1/2) erfc(sqrt(N / 2p))``. :func:`crosstalk_variance` gives the
exact ``E[g(a)^2]`` (the check of the constant (2n-3)!!: the ratio to the leading order tends
to 1 as N grows).

**Capacity** (:func:`k_max`). All N bits of a pattern stay stable w.h.p. when ``N P_err -> 0``;
with ``erfc(x) ~ e^(-x^2) / (x sqrt(pi))`` this is ``x^2 = N^(n-1) / (2 (2n-3)!! K) > ln N`` to
leading order::

    K_max ~ N^(n-1) / (2 (2n-3)!! ln N).

The retrieval threshold used by the sweeps (final overlap m > 0.9, tolerating a few wrong bits)
is the analogue of Hopfield's alpha_c, not of perfect recall; its Gaussian analogue is
``K_c ~ alpha_c^AGS N^(n-1) / (2n-3)!!`` (:func:`k_c_gaussian`, heuristic: AGS with the crosstalk
variance rescaled). Both grow as N^(n-1) up to the logarithm, so the log-log slope of K_c(N)
approaches n - 1.

**Exponential energy.** ``g(a) = 2 sinh(1) e^a``. (i) Gaussian signal-to-noise:
``e^(2(N-1)) / (K E[e^(2a)]) = (e^2 / cosh 2)^(N-1) / K``; with ``K = e^(alpha N)`` the bit
error vanishes for ``alpha < 2 - ln cosh 2 = 0.67500`` (:data:`EXP_ALPHA_GAUSSIAN`), but this
variance is carried by overlaps a ~ tanh(2) N that exist only once alpha > I(tanh 2) = 0.6030
(the binary-entropy rate I(x) of an overlap xN). (ii) The dangerous rare event: another
pattern equal to the probe except at bit i has ``a = N - 1`` and cancels the signal; one pair
of patterns at Hamming distance 1 occurs with probability ~ K^2 N 2^-N, so *all* stored
patterns are fixed points w.h.p. iff ``alpha < ln 2 / 2 = 0.34657`` (Demircigil, Heusel,
Lowe, Upgang and Vermet 2017; :data:`EXP_ALPHA_ALL`); a single tested pattern is hit with
probability ~ K N 2^-N, which vanishes for alpha < ln 2. :func:`exp_twin_probability` gives the
exact probability that a given pattern has another one within Hamming distance 1.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft, special, stats

from statmech.models.dense_hopfield.kernels import double_factorial_odd

#: ln 2 / 2: below it every stored pattern of the exp model is a fixed point w.h.p.
EXP_ALPHA_ALL = math.log(2.0) / 2.0
#: 2 - ln cosh 2: the Gaussian (variance) one-step threshold of the exp model
EXP_ALPHA_GAUSSIAN = 2.0 - math.log(math.cosh(2.0))
#: largest FFT length :func:`p_error_exact` accepts (memory ~ 24 bytes per point)
MAX_FFT = 2**25


def g_power(a: int, n: int) -> int:
    """``g(a) = (a + 1)^n - (a - 1)^n`` (exact integer)."""
    return (a + 1) ** n - (a - 1) ** n


def overlap_law(N: int) -> tuple[np.ndarray, np.ndarray]:
    """Values ``a = -(N-1), -(N-3), ..., N-1`` of the overlap without one spin and their law."""
    a = np.arange(-(N - 1), N, 2, dtype=np.int64)
    return a, stats.binom.pmf((a + N - 1) // 2, N - 1, 0.5)


def crosstalk_law(N: int, n: int) -> tuple[int, np.ndarray]:
    """``(d, pmf)``: the per-pattern crosstalk ``X = t g(a)`` on the lattice ``d Z``.

    ``pmf[j + G]`` is ``P(X = d j)`` for ``j = -G ... G`` (``G = max |g| / d``).
    """
    a, pa = overlap_law(N)
    g = [g_power(int(x), n) for x in a]
    d = 0
    for v in g:
        d = math.gcd(d, abs(v))
    d = max(d, 1)
    G = max(abs(v) for v in g) // d
    pmf = np.zeros(2 * G + 1)
    for v, p in zip(g, pa, strict=True):
        pmf[v // d + G] += 0.5 * p
        pmf[-v // d + G] += 0.5 * p
    return d, pmf


def fft_length(N: int, n: int, K: int) -> int:
    """FFT length :func:`p_error_exact` needs (the support of S on its lattice, padded)."""
    _, pmf = crosstalk_law(N, n)
    G = (len(pmf) - 1) // 2
    return int(fft.next_fast_len(2 * (K - 1) * G + 1, real=True))


def p_error_exact(N: int, n: int, K: int) -> float:
    """Exact probability that a bit of a stored pattern is unstable (``s_i D_i < 0``), power F.

    See the module docstring; the law of S is the (K-1)-fold convolution of
    :func:`crosstalk_law`, by FFT (absolute error ~1e-12). Raises ``ValueError`` when the
    lattice needs more than :data:`MAX_FFT` points.
    """
    if K <= 1:
        return 0.0
    d, pmf = crosstalk_law(N, n)
    G = (len(pmf) - 1) // 2
    m = K - 1
    L = int(fft.next_fast_len(2 * m * G + 1, real=True))
    if L > MAX_FFT:
        raise ValueError(f"exact crosstalk law at N = {N}, n = {n}, K = {K} needs an FFT of "
                         f"{L} > {MAX_FFT} points")
    buf = np.zeros(L)
    idx = np.arange(-G, G + 1) % L
    buf[idx] = pmf
    phi = fft.rfft(buf)
    dist = fft.irfft(phi**m, L)  # dist[j mod L] = P(S = d j), j = -mG ... mG
    g0 = g_power(N - 1, n)
    j_max = -((g0 + d) // d)  # largest j with d j < -g0: j <= ceil(-g0/d) - 1
    if j_max < -m * G:
        return 0.0
    js = np.arange(-m * G, j_max + 1) % L
    return float(min(max(dist[js].sum(), 0.0), 1.0))


def p_error_gaussian(N: float | np.ndarray, n: int, K: float | np.ndarray) -> np.ndarray:
    """Gaussian one-step error ``(1/2) erfc(sqrt(N^(n-1) / (2 (2n-3)!! K)))``."""
    N = np.asarray(N, dtype=float)
    K = np.asarray(K, dtype=float)
    return 0.5 * special.erfc(np.sqrt(N ** (n - 1) / (2.0 * double_factorial_odd(n) * K)))


def crosstalk_variance(N: int, n: int) -> tuple[float, float]:
    """``(E[g(a)^2], 4 n^2 (2n-3)!! N^(n-1))``: exact crosstalk variance and its leading order."""
    a, pa = overlap_law(N)
    g = np.array([float(g_power(int(x), n)) for x in a])
    return float(pa @ g**2), 4.0 * n * n * double_factorial_odd(n) * float(N) ** (n - 1)


def k_max(N: float | np.ndarray, n: int) -> np.ndarray:
    """Perfect-recall capacity ``N^(n-1) / (2 (2n-3)!! ln N)`` (leading order)."""
    N = np.asarray(N, dtype=float)
    return N ** (n - 1) / (2.0 * double_factorial_odd(n) * np.log(N))


def k_c_gaussian(N: float | np.ndarray, n: int) -> np.ndarray:
    """Heuristic retrieval capacity ``alpha_c^AGS N^(n-1) / (2n-3)!!`` (see module docstring)."""
    from statmech.theory.hopfield import ags_critical

    N = np.asarray(N, dtype=float)
    return ags_critical().alpha_c * N ** (n - 1) / double_factorial_odd(n)


def exp_twin_probability(N: int, K: int) -> float:
    """Probability that some other of the K patterns is within Hamming distance 1 of a given one.

    ``1 - (1 - (N + 1) 2^-N)^(K - 1)`` (exact for independent uniform patterns).
    """
    q = (N + 1) * 2.0 ** (-N)
    return float(-np.expm1((K - 1) * np.log1p(-q)))


def exp_p_error_twin(N: int, K: int) -> float:
    """Leading-order one-step error of the exp energy: a twin at bit i, then a fair sign.

    Another pattern equal to the probe except at bit i (probability ``2^-N`` each) cancels the
    signal ``e^(N-1)`` exactly; the remaining crosstalk is symmetric, so the bit is then unstable
    with probability ~1/2: ``P_err ~ (1 - (1 - 2^-N)^(K-1)) / 2``. An approximation (no exact
    finite-N law is computed for exp), good while the other patterns' crosstalk
    ``~ sqrt(K cosh(2)^(N-1)) e^-(N-1)`` stays well below 1 (alpha well below 0.6).
    """
    return float(-0.5 * np.expm1((K - 1) * np.log1p(-(2.0 ** -N))))
