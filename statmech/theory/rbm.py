"""Exact references of restricted and fully visible Boltzmann machines (model ``rbm``).

Conventions as in :mod:`statmech.models.rbm`: ``v in {0,1}^V``, ``h in {0,1}^H``,
``E(v, h) = -v^T W h - a^T v - b^T h``; log-likelihoods in nats.

* **Likelihood bound.** For any model ``p`` and data law ``p_D``,
  ``LL = sum_x p_D(x) ln p(x) = -H(D) - KL(p_D || p) <= -H(D)`` (Gibbs' inequality), with
  equality iff ``p = p_D``. For ``K`` equally likely patterns ``H(D) = ln K``: bars and stripes
  n x n has ``K = 2 * 2^n - 2`` patterns (all-on and all-off are both a bar and a stripe image),
  so the best 3 x 3 LL is ``-ln 14 = -2.639057...`` and the best 4 x 4 LL ``-ln 30 = -3.401197...``.
  An RBM with ``H >= K + 1`` hidden units can approach any law on K points arbitrarily well
  (Le Roux & Bengio, Neural Comput. 20, 1631 (2008)): the bound is approachable, not reached at
  finite weights (the law has zeros).
* **Product data.** For ``p_D(v) = prod_i p_i^{v_i} (1 - p_i)^{1 - v_i}``, ``W = 0`` and
  ``a_i = logit p_i`` (any ``b``) gives ``p = p_D``; the exact gradient vanishes there:
  ``<v h^T>_D = p sigma(b)^T = <v h^T>_model``, ``<v>_D = p = <v>_model``,
  ``<h>_D = sigma(b) = <h>_model``.
* **Free energies.** Summing ``h`` (or ``v``) out gives ``ln p~(v) = a.v + sum_j
  softplus(b_j + v.W_:j)`` and ``ln p~(h) = b.h + sum_i softplus(a_i + W_i:.h)``, so
  ``ln Z = logsumexp_v ln p~(v) = logsumexp_h ln p~(h)``. :func:`log_z_joint` sums the joint
  ``exp(-E(v, h))`` over all ``2^{V+H}`` states directly (an independent numpy reference).
* **Block Gibbs.** The chain ``v -> h ~ p(h|v) -> v' ~ p(v'|h)`` has the kernel
  ``T(v, v') = sum_h p(h|v) p(v'|h)``; detailed balance ``p(v) T(v, v') = sum_h p(v, h)
  p(v'|h) = p(v') T(v', v)`` makes the model marginal ``p(v)`` stationary
  (:func:`gibbs_kernel`).
* **Exact gradient.** ``d LL / d W = <v h^T>_D - <v h^T>_model`` (``h`` as ``p(h=1|v)`` in the data
  term), ``d/da = <v>_D - <v>_model``, ``d/db = <h>_D - <h>_model``.
* **Fully visible machine.** The mean log-likelihood of ``p(v) ∝ exp(sum_{i<j} J_ij v_i v_j +
  h.v)`` is concave in ``(J, h)`` (an exponential family) and its gradient is the moment mismatch,
  so exact gradient ascent on the exact moments of a random Ising law recovers its ``J`` and ``h``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from statmech.models.rbm import kernels as K
from statmech.models.rbm.datasets import DataLaw, all_states
from statmech.models.rbm.model import (
    RBMSettings,
    exact_gradient,
    fvbm_gradient,
    mean_log_likelihood,
)

__all__ = ["exact_gradient", "fvbm_gradient", "mean_log_likelihood"]

#: -ln 14: the best mean log-likelihood of bars and stripes 3 x 3 (nats)
BEST_LL_BAS3 = -math.log(14.0)
#: -ln 30: the best mean log-likelihood of bars and stripes 4 x 4 (nats)
BEST_LL_BAS4 = -math.log(30.0)


def bars_and_stripes_count(n: int) -> int:
    """Distinct n x n bars-and-stripes images: ``2 * 2^n - 2``."""
    return 2 * 2**n - 2


def best_log_likelihood(law: DataLaw) -> float:
    """``-H(D)``: the supremum of the mean log-likelihood over all models (nats)."""
    return -law.entropy


def law_from_settings(settings: Mapping[str, Any] | str) -> DataLaw:
    """The data law of a store's ``settings`` attribute (JSON text or a mapping)."""
    if isinstance(settings, str):
        settings = json.loads(settings)
    return RBMSettings(**settings).law()


def log_z_joint(W: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """``ln Z`` from the joint sum over all ``2^(V+H)`` states (numpy, small machines only)."""
    V, H = W.shape
    v = all_states(V).astype(np.float64)
    h = all_states(H).astype(np.float64)
    neg_e = (v @ W) @ h.T + (v @ a)[:, None] + (h @ b)[None, :]
    m = neg_e.max()
    return float(m + np.log(np.exp(neg_e - m).sum()))


def marginal_visible(W: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``p(v)`` over :func:`all_states` ``(V)`` (numpy)."""
    v = all_states(W.shape[0]).astype(np.float64)
    lw = v @ a + np.logaddexp(0.0, v @ W + b).sum(axis=1)
    lw -= lw.max()
    p = np.exp(lw)
    return p / p.sum()


def gibbs_kernel(W: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``T[v, v'] = sum_h p(h|v) p(v'|h)`` of one block-Gibbs step (numpy, 2^V x 2^V)."""
    V, H = W.shape
    v = all_states(V).astype(np.float64)
    h = all_states(H).astype(np.float64)

    def bern(x: np.ndarray, logits: np.ndarray) -> np.ndarray:  # prod_i p(x_i | logits_i)
        return np.exp((x * logits - np.logaddexp(0.0, logits)).sum(axis=-1))

    ph_v = bern(h[None, :, :], (v @ W + b)[:, None, :])          # [v, h]
    pv_h = bern(v[None, :, :], (h @ W.T + a)[:, None, :])        # [h, v']
    return ph_v @ pv_h


def product_optimum(p: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W, a, b) = (0, logit p, 0)``: the maximum-likelihood RBM of product data."""
    p = np.asarray(p, dtype=np.float64)
    return np.zeros((len(p), H)), np.log(p / (1 - p)), np.zeros(H)


def fvbm_log_likelihood(law: DataLaw, J: np.ndarray, h: np.ndarray) -> float:
    """Exact mean log-likelihood of the fully visible machine (nats)."""
    lz = K.fvbm_moments(J, h)[0]
    return float(law.w @ K.fvbm_log_marginal(law.X, J, h) - lz)
