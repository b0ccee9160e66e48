"""numba kernels of the restricted Boltzmann machine and the fully visible Boltzmann machine.

Conventions (one labelling throughout): visible units ``v in {0,1}^V``, hidden units
``h in {0,1}^H``, energy ``E(v, h) = -v^T W h - a^T v - b^T h`` (``W`` is ``V x H``, ``a`` the
visible biases, ``b`` the hidden biases), ``p(v, h) = exp(-E) / Z``. Conditionals
``p(h_j = 1 | v) = sigma(b_j + sum_i v_i W_ij)``, ``p(v_i = 1 | h) = sigma(a_i + sum_j W_ij h_j)``.
Marginals (free energies):

    ln p~(v) = a.v + sum_j softplus(b_j + v.W_:j),   ln p~(h) = b.h + sum_i softplus(a_i + W_i:.h)

and ``ln Z = logsumexp_v ln p~(v) = logsumexp_h ln p~(h)``, enumerated over the smaller layer
(``2**min(V, H)`` states; state ``s`` has unit ``i`` = bit ``i`` of ``s``). Everything is
float64 with the maximum subtracted before exponentiating (log-sum-exp), and
``softplus(x) = max(x, 0) + log1p(exp(-|x|))``.

Fully visible Boltzmann machine (inverse Ising on ``{0,1}`` spins):
``p(v) ∝ exp(sum_{i<j} J_ij v_i v_j + sum_i h_i v_i)``, ``J`` symmetric with zero diagonal.

Block Gibbs sampling draws every random number from the counter-based SplitMix64 stream of
:mod:`statmech.rng`: step ``t`` of chain ``c`` uses counters ``ctr + (t n + c)(H + V) + u`` for
unit ``u`` (hidden units first), so the result does not depend on how the loops are ordered.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, uint64

from statmech.rng import JIT, uniform


@njit(inline="always", **JIT)
def softplus(x: float) -> float:
    """``ln(1 + e^x)`` without overflow."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@njit(inline="always", **JIT)
def sigmoid(x: float) -> float:
    """``1 / (1 + e^-x)`` without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(**JIT)
def _logsumexp(x):
    m = -np.inf
    for s in range(x.shape[0]):
        if x[s] > m:
            m = x[s]
    if not np.isfinite(m):
        return m
    acc = 0.0
    for s in range(x.shape[0]):
        acc += math.exp(x[s] - m)
    return m + math.log(acc)


@njit(**JIT)
def _log_marginals_visible(W, a, b):
    """``ln p~(v)`` for every ``v`` of the 2**V states."""
    V, H = W.shape
    n = 1 << V
    out = np.empty(n)
    field = np.empty(H)
    for s in range(n):
        e = 0.0
        for j in range(H):
            field[j] = b[j]
        for i in range(V):
            if (s >> i) & 1:
                e += a[i]
                for j in range(H):
                    field[j] += W[i, j]
        for j in range(H):
            e += softplus(field[j])
        out[s] = e
    return out


@njit(**JIT)
def _log_marginals_hidden(W, a, b):
    """``ln p~(h)`` for every ``h`` of the 2**H states.

    The visible enumeration of the transposed machine: the same operations in the same order.
    """
    return _log_marginals_visible(np.ascontiguousarray(W.T), b, a)


@njit(**JIT)
def log_z_visible(W, a, b):
    """``ln Z`` by enumeration of the ``2**V`` visible states."""
    return _logsumexp(_log_marginals_visible(W, a, b))


@njit(**JIT)
def log_z_hidden(W, a, b):
    """``ln Z`` by enumeration of the ``2**H`` hidden states."""
    return _logsumexp(_log_marginals_hidden(W, a, b))


def log_z(W: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """``ln Z``, enumerated over the smaller layer."""
    V, H = W.shape
    return float(log_z_visible(W, a, b) if V <= H else log_z_hidden(W, a, b))


@njit(**JIT)
def _moments_enumerate(W, a, b):
    """``(ln Z, <v>, <h>, <v h^T>)`` enumerating the first layer (``W`` is V x H, ``v`` summed).

    One pass with a running maximum (streaming log-sum-exp): the accumulators are rescaled by
    ``exp(m_old - m_new)`` whenever the largest ``ln p~(v)`` so far increases. Per state one
    ``exp`` and one ``log1p`` per hidden unit give both ``softplus`` and ``sigmoid``.
    """
    V, H = W.shape
    Ev = np.zeros(V)
    Eh = np.zeros(H)
    Evh = np.zeros((V, H))
    field = np.empty(H)
    sig = np.empty(H)
    m = -np.inf
    S = 0.0
    for s in range(1 << V):
        field[:] = b
        lw = 0.0
        for i in range(V):
            if (s >> i) & 1:
                lw += a[i]
                field += W[i]
        for j in range(H):
            x = field[j]
            e = math.exp(-abs(x))
            lw += max(x, 0.0) + math.log1p(e)
            sig[j] = 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
        if lw > m:
            scale = math.exp(m - lw) if S > 0 else 0.0
            S *= scale
            Ev *= scale
            Eh *= scale
            Evh *= scale
            m = lw
        p = math.exp(lw - m)
        S += p
        Eh += p * sig
        for i in range(V):
            if (s >> i) & 1:
                Ev[i] += p
                Evh[i] += p * sig
    return m + math.log(S), Ev / S, Eh / S, Evh / S


@njit(**JIT)
def model_moments(W, a, b, over_visible):
    """``(ln Z, <v>, <h>, <v h^T>)`` of the model by exact enumeration.

    ``over_visible``: enumerate the visible layer (hidden expectations as sigmoids), else the
    hidden layer (the same function on ``W^T`` with the layers' roles swapped). Both give the
    same numbers up to rounding.
    """
    if over_visible:
        return _moments_enumerate(W, a, b)
    lz, Eh, Ev, Ehv = _moments_enumerate(np.ascontiguousarray(W.T), b, a)
    return lz, Ev, Eh, np.ascontiguousarray(Ehv.T)


@njit(**JIT)
def log_marginal(X, W, a, b):
    """``ln p~(x) = a.x + sum_j softplus(b_j + x.W_:j)`` for every row of ``X`` (uint8)."""
    n, V = X.shape
    H = W.shape[1]
    out = np.empty(n)
    field = np.empty(H)
    for r in range(n):
        e = 0.0
        for j in range(H):
            field[j] = b[j]
        for i in range(V):
            if X[r, i]:
                e += a[i]
                for j in range(H):
                    field[j] += W[i, j]
        for j in range(H):
            e += softplus(field[j])
        out[r] = e
    return out


@njit(**JIT)
def weighted_moments(X, w, W, b):
    """``(<v>, <h>, <v h^T>)`` over rows of ``X`` with weights ``w``, ``h`` as ``p(h=1|v)``.

    The positive phase (``X`` the data, ``w`` its law) and the CD negative phase (``X`` the
    chain states, ``w = 1/n``).
    """
    n, V = X.shape
    H = W.shape[1]
    Ev = np.zeros(V)
    Eh = np.zeros(H)
    Evh = np.zeros((V, H))
    hp = np.empty(H)
    for r in range(n):
        p = w[r]
        for j in range(H):
            hp[j] = b[j]
        for i in range(V):
            if X[r, i]:
                for j in range(H):
                    hp[j] += W[i, j]
        for j in range(H):
            hp[j] = sigmoid(hp[j])
            Eh[j] += p * hp[j]
        for i in range(V):
            if X[r, i]:
                Ev[i] += p
                for j in range(H):
                    Evh[i, j] += p * hp[j]
    return Ev, Eh, Evh


@njit(**JIT)
def gibbs(Vs, W, a, b, k, key, ctr):
    """``k`` block-Gibbs steps ``h ~ p(h|v)``, ``v ~ p(v|h)`` on every chain (row) of ``Vs``.

    ``Vs`` (uint8, ``n x V``) is updated in place; returns the next free counter. A unit is set
    to 1 iff ``u < sigma(x)``, i.e. ``u (1 + e^-x) < 1``, with ``u`` uniform in [0, 1). Fields
    are accumulated from the rows of ``W`` (active visible units) and of ``W^T`` (active hidden
    units), contiguous vector adds.
    """
    n, V = Vs.shape
    H = W.shape[1]
    WT = np.ascontiguousarray(W.T)
    per = uint64(H + V)
    on = np.empty(max(H, V), dtype=np.int64)
    fh = np.empty(H)
    fv = np.empty(V)
    for t in range(k):
        for c in range(n):
            base = ctr + (uint64(t) * uint64(n) + uint64(c)) * per
            fh[:] = b
            for i in range(V):
                if Vs[c, i]:
                    fh += W[i]
            m = 0
            for j in range(H):
                u = uniform(key, base + uint64(j))
                if u * (1.0 + math.exp(-fh[j])) < 1.0:
                    on[m] = j
                    m += 1
            fv[:] = a
            for q in range(m):
                fv += WT[on[q]]
            for i in range(V):
                u = uniform(key, base + uint64(H + i))
                Vs[c, i] = 1 if u * (1.0 + math.exp(-fv[i])) < 1.0 else 0
    return ctr + uint64(k) * uint64(n) * per


@njit(**JIT)
def reconstruction_error(X, w, W, a, b):
    """Mean-field reconstruction error, weighted over the rows of ``X``.

    ``sum_x w(x) (1/V) sum_i (x_i - sigma(a_i + W_i.hbar))^2`` with
    ``hbar_j = sigma(b_j + x.W_:j)`` (deterministic: no sampling).
    """
    n, V = X.shape
    H = W.shape[1]
    hp = np.empty(H)
    tot = 0.0
    for r in range(n):
        for j in range(H):
            hp[j] = b[j]
        for i in range(V):
            if X[r, i]:
                for j in range(H):
                    hp[j] += W[i, j]
        for j in range(H):
            hp[j] = sigmoid(hp[j])
        err = 0.0
        for i in range(V):
            x = a[i]
            for j in range(H):
                x += W[i, j] * hp[j]
            d = X[r, i] - sigmoid(x)
            err += d * d
        tot += w[r] * err / V
    return tot


@njit(**JIT)
def fvbm_moments(J, h):
    """``(ln Z, <v>, <v v^T>)`` of the fully visible machine by enumeration of ``2**V`` states.

    ``p(v) ∝ exp(sum_{i<j} J_ij v_i v_j + h.v)``; ``<v v^T>`` has ``<v_i>`` on its diagonal.
    """
    V = h.shape[0]
    n = 1 << V
    lw = np.empty(n)
    for s in range(n):
        e = 0.0
        for i in range(V):
            if (s >> i) & 1:
                e += h[i]
                for j in range(i):
                    if (s >> j) & 1:
                        e += J[i, j]
        lw[s] = e
    lz = _logsumexp(lw)
    Ev = np.zeros(V)
    Evv = np.zeros((V, V))
    for s in range(n):
        p = math.exp(lw[s] - lz)
        for i in range(V):
            if (s >> i) & 1:
                Ev[i] += p
                for j in range(V):
                    if (s >> j) & 1:
                        Evv[i, j] += p
    return lz, Ev, Evv


@njit(**JIT)
def fvbm_log_marginal(X, J, h):
    """Unnormalised ``ln p~(x) = sum_{i<j} J_ij x_i x_j + h.x`` for every row of ``X``."""
    n, V = X.shape
    out = np.empty(n)
    for r in range(n):
        e = 0.0
        for i in range(V):
            if X[r, i]:
                e += h[i]
                for j in range(i):
                    if X[r, j]:
                        e += J[i, j]
        out[r] = e
    return out
