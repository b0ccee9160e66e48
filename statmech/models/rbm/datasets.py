"""Datasets of the ``rbm`` model, made by the package (no downloads), each with its exact law.

Every dataset is a *data law* ``p_D`` on ``{0,1}^V`` given as a weighted support: distinct
binary vectors ``X`` (``uint8``, shape ``(S, V)``) with probabilities ``w`` (``float64``, sum 1).
Because the law is known exactly, the exact mean log-likelihood ``sum_x p_D(x) ln p(x)``, the
data entropy ``H(D) = -sum_x p_D(x) ln p_D(x)`` and ``KL(D || model) = -H(D) - LL`` are computable.

* ``bars-and-stripes-3x3`` / ``bars-and-stripes-4x4``: n x n images (pixel ``(r, c)`` is visible
  unit ``i = n r + c``, 1 = on) in which every row is constant (stripes: any subset of rows on)
  or every column is constant (bars). The all-off and all-on images are both, so there are
  ``2 * 2**n - 2`` distinct patterns (14 for n = 3, 30 for n = 4), uniform.
* ``product-bernoulli``: independent pixels, ``P(v_i = 1) = p_i``; the ``p_i`` are given
  (setting ``probabilities``) or drawn uniform in [0.1, 0.9] from the dataset seed. Support: all
  ``2**V`` vectors (V <= 16).
* ``random-patterns``: ``K`` distinct random patterns (fair bits), uniform; drawn from the
  dataset seed, so every unit of a sweep sees the same data.
* ``ising-random``: the Boltzmann law of a random Ising model on ``{0,1}`` spins,
  ``p(v) ∝ exp(sum_{i<j} J_ij v_i v_j + sum_i h_i v_i)``, ``J_ij ~ N(0, coupling_scale^2)``,
  ``h_i ~ N(0, field_scale^2)`` (dataset seed); support all ``2**V`` vectors (V <= 16). The true
  ``J`` and ``h`` are kept (what the fully visible Boltzmann machine must recover).

Training sets: a pattern dataset (bars and stripes, random patterns) is trained on its ``K``
patterns, one shuffled pass per epoch; a law with full support (product, Ising) is trained on
``epoch_size`` fresh i.i.d. draws from ``p_D`` per epoch (from the unit's stream).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: names accepted by the ``dataset`` setting
DATASETS = ("bars-and-stripes-3x3", "bars-and-stripes-4x4", "product-bernoulli",
            "random-patterns", "ising-random")
#: largest V whose full support (2**V states) is enumerated
MAX_FULL_SUPPORT_V = 16


@dataclass(frozen=True)
class DataLaw:
    """An exactly known law on ``{0,1}^V``: support ``X`` (S x V, uint8) and weights ``w``."""

    name: str
    X: np.ndarray
    w: np.ndarray
    #: True: train on the support itself (uniform patterns); False: sample from the law
    patterns: bool
    #: exact parameters of a generating model (``ising-random``: ``J`` (V x V, symmetric, zero
    #: diagonal) and ``h``; ``product-bernoulli``: ``p``)
    truth: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def V(self) -> int:
        """Number of visible units."""
        return int(self.X.shape[1])

    @property
    def entropy(self) -> float:
        """``H(D) = -sum p ln p`` in nats (``ln K`` for K uniform patterns)."""
        w = self.w[self.w > 0]
        return float(-(w * np.log(w)).sum())

    def mean(self) -> np.ndarray:
        """``E_D[v]``, shape ``(V,)``."""
        return self.w @ self.X.astype(np.float64)


def all_states(V: int) -> np.ndarray:
    """All ``2**V`` vectors of ``{0,1}^V``; row ``s`` has ``v_i = bit i of s``."""
    s = np.arange(2**V, dtype=np.int64)
    return ((s[:, None] >> np.arange(V)) & 1).astype(np.uint8)


def bars_and_stripes(n: int) -> np.ndarray:
    """The ``2 * 2**n - 2`` distinct n x n bars-and-stripes images, shape ``(K, n*n)``, sorted."""
    out = set()
    for mask in range(2**n):
        on = np.array([(mask >> r) & 1 for r in range(n)], dtype=np.uint8)
        stripes = np.repeat(on[:, None], n, axis=1)  # row r constant = on[r]
        out.add(stripes.ravel().tobytes())
        out.add(stripes.T.ravel().tobytes())  # column c constant
    pats = np.array([np.frombuffer(b, dtype=np.uint8) for b in sorted(out)])
    return pats


def random_patterns(V: int, K: int, seed: int) -> np.ndarray:
    """``K`` distinct random patterns of ``V`` fair bits (``K <= 2**V``), from ``seed``."""
    if K > 2**V:
        raise ValueError(f"K = {K} distinct patterns do not exist in {{0,1}}^{V}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    seen: dict[bytes, None] = {}
    while len(seen) < K:
        x = rng.integers(0, 2, size=V, dtype=np.uint8)
        seen.setdefault(x.tobytes(), None)
    return np.array([np.frombuffer(b, dtype=np.uint8) for b in seen])


def product_probabilities(V: int, seed: int) -> np.ndarray:
    """``p_i`` uniform in [0.1, 0.9] from ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    return rng.uniform(0.1, 0.9, size=V)


def random_ising(V: int, seed: int, coupling_scale: float, field_scale: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``J`` (symmetric, zero diagonal, ``J_ij ~ N(0, coupling_scale^2)``) and ``h``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    upper = np.triu(rng.normal(0.0, coupling_scale, size=(V, V)), 1)
    J = upper + upper.T
    h = rng.normal(0.0, field_scale, size=V)
    return J, h


def ising_law(J: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Boltzmann weights over :func:`all_states` of ``exp(sum_{i<j} J_ij v_i v_j + h.v)``."""
    X = all_states(len(h)).astype(np.float64)
    logw = 0.5 * np.einsum("si,ij,sj->s", X, J, X) + X @ h
    logw -= logw.max()
    w = np.exp(logw)
    return w / w.sum()


def make_dataset(name: str, *, visible: int | None = None, patterns: int = 8,
                 probabilities: tuple[float, ...] | None = None, seed: int = 0,
                 coupling_scale: float = 0.5, field_scale: float = 0.5) -> DataLaw:
    """The data law called ``name`` (see the module docstring for the parameters)."""
    if name.startswith("bars-and-stripes-"):
        n = {"bars-and-stripes-3x3": 3, "bars-and-stripes-4x4": 4}[name]
        X = bars_and_stripes(n)
        return DataLaw(name, X, np.full(len(X), 1.0 / len(X)), True)
    if visible is None:
        raise ValueError(f"dataset {name} needs the number of visible units (setting visible)")
    V = int(visible)
    if name == "random-patterns":
        X = random_patterns(V, patterns, seed)
        return DataLaw(name, X, np.full(len(X), 1.0 / len(X)), True)
    if V > MAX_FULL_SUPPORT_V:
        raise ValueError(f"dataset {name} enumerates 2^V states: V = {V} > "
                         f"{MAX_FULL_SUPPORT_V}")
    X = all_states(V)
    if name == "product-bernoulli":
        p = (np.asarray(probabilities, dtype=np.float64) if probabilities is not None
             else product_probabilities(V, seed))
        if p.shape != (V,) or np.any((p <= 0) | (p >= 1)):
            raise ValueError(f"probabilities must be {V} numbers in (0, 1)")
        Xf = X.astype(np.float64)
        w = np.prod(np.where(Xf == 1, p, 1 - p), axis=1)
        return DataLaw(name, X, w / w.sum(), False, {"p": p})
    if name == "ising-random":
        J, h = random_ising(V, seed, coupling_scale, field_scale)
        return DataLaw(name, X, ising_law(J, h), False, {"J": J, "h": h})
    raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")
