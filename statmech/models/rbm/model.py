"""Restricted Boltzmann machines trained by CD-k, PCD-k or the exact gradient (``rbm``).

Conventions: ``v in {0,1}^V`` visible, ``h in {0,1}^H`` hidden,
``E(v, h) = -v^T W h - a^T v - b^T h`` (``a`` visible biases, ``b`` hidden biases),
``p(h_j = 1 | v) = sigma(b_j + sum_i v_i W_ij)``, ``p(v_i = 1 | h) = sigma(a_i + sum_j W_ij h_j)``.
Log-likelihoods in nats. The fully visible Boltzmann machine (``method`` 3, inverse Ising) uses
``{0,1}`` spins: ``p(v) ∝ exp(sum_{i<j} J_ij v_i v_j + sum_i a_i v_i)``.

The ``method`` axis is an integer code (axes are numeric): **0 = exact** (gradient ascent on the
exact log-likelihood, model moments by enumeration), **1 = cd** (CD-k), **2 = pcd** (persistent
CD-k with ``chains`` persistent chains), **3 = fvbm** (fully visible machine, exact gradient;
``H``, ``k`` are ignored). Put ``method: [0, 1, 2]`` on an axis to compare methods in one store,
or fix it (``fixed: {method: 1}``).

A unit of work is one seeded training run (plain SGD, no momentum or weight decay):

* initial ``W_ij ~ N(0, 0.01^2)`` (fvbm: ``J_ij`` likewise, symmetric, zero diagonal), ``b = 0``,
  ``a = 0`` (setting ``visible_bias_init: zero``, default) or ``a_i = logit`` of the data mean
  of ``v_i`` clipped to [0.001, 0.999] (``logit``);
* an epoch is ``ceil(n / batch)`` parameter updates, ``n`` = the number of patterns (pattern
  datasets: one shuffled pass) or ``epoch_size`` (law datasets: fresh i.i.d. draws from the data
  law); every method does the same number of updates, so ``lr`` means the same for all;
* update ``theta <- theta + lr * g`` with the gradient of the mean log-likelihood
  ``g_W = <v h^T>_+ - <v h^T>_-``, ``g_a = <v>_+ - <v>_-``, ``g_b = <h>_+ - <h>_-``; the positive
  phase is the minibatch with ``h`` replaced by ``p(h=1|v)`` (exact: the whole data law); the
  negative phase is exact (0), the minibatch after ``k`` block-Gibbs steps started at the data
  (1), or the ``chains`` persistent chains after ``k`` more steps (2), again with ``p(h=1|v)``.

Streams (children of the unit's SeedSequence): 0 initial parameters, 1 minibatch order / data
draws / PCD chain starts, 2 the Gibbs key of training, 3 and 4 the checkpoint measurement (so
measuring never changes the training trajectory).

Stored every ``checkpoint`` epochs (``epoch`` dimension, epoch 0 = the initial parameters):
``ll`` the exact mean log-likelihood ``sum_x p_D(x) ln p(x)`` (``ln Z`` enumerated over the
smaller layer), ``kl = KL(p_D || p) = -H(D) - ll``, ``grad_cos`` the cosine between the method's
gradient estimate and the exact gradient (over all of ``W, a, b`` concatenated), ``recon`` the
mean-field reconstruction error. Final: ``diverged``, ``log_z``, ``updates`` and the parameters
``W`` (``visible x hidden``), ``a`` (``visible``), ``b`` (``hidden``), ``J`` (fvbm,
``visible x visible_j``). The ``hidden`` dimension has the size of the setting ``hidden_size``
(>= every H); a unit stores its ``H`` hidden units first and NaN after (drop NaN columns to
rebuild it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from statmech.models.base import Model, Parameter, Point, Scalar, Variable
from statmech.models.rbm import kernels as K
from statmech.models.rbm.datasets import DATASETS, DataLaw, make_dataset
from statmech.seeding import kernel_key

#: method codes of the ``method`` axis
METHODS: dict[int, str] = {0: "exact", 1: "cd", 2: "pcd", 3: "fvbm"}
METHOD_CODES: dict[str, int] = {v: k for k, v in METHODS.items()}
#: largest layer enumerated for ln Z (2**20 states)
MAX_ENUM = 20
#: standard deviation of the initial weights
INIT_SCALE = 0.01

CONVENTIONS = (
    "v in {0,1}^V visible, h in {0,1}^H hidden; E(v,h) = -v^T W h - a^T v - b^T h (a visible "
    "biases, b hidden biases); p(h_j=1|v) = sigma(b_j + sum_i v_i W_ij), p(v_i=1|h) = "
    "sigma(a_i + sum_j W_ij h_j); log-likelihoods in nats, ll = sum_x p_D(x) ln p(x) (exact, "
    "ln Z by enumeration over the smaller layer); kl = KL(p_D||p) = -H(D) - ll; fvbm: {0,1} "
    "spins, p(v) ∝ exp(sum_{i<j} J_ij v_i v_j + sum_i a_i v_i); method codes 0 exact, 1 cd, "
    "2 pcd, 3 fvbm; init W ~ N(0, 0.01^2), b = 0, a = 0 or logit(data mean); plain SGD "
    "theta += lr * grad(mean ll); epoch = ceil(n/batch) updates; hidden dim padded with NaN "
    "beyond H."
)


class RBMSettings(BaseModel):
    """Dataset and training settings of the ``rbm`` model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: Literal[DATASETS] = Field(  # type: ignore[valid-type]
        "bars-and-stripes-3x3", description="data law (statmech.models.rbm.datasets)")
    visible: int | None = Field(
        None, ge=1, le=24,
        description="V for product-bernoulli, random-patterns, ising-random (bars and stripes: "
        "fixed 9 or 16)")
    patterns: int = Field(8, ge=1, description="random-patterns: number K of distinct patterns")
    probabilities: tuple[float, ...] | None = Field(
        None, description="product-bernoulli: p_i (default: uniform in [0.1, 0.9] from "
        "dataset_seed)")
    coupling_scale: float = Field(0.5, ge=0, description="ising-random: std of J_ij")
    field_scale: float = Field(0.5, ge=0, description="ising-random: std of the fields h_i")
    dataset_seed: int = Field(
        0, ge=0, description="seed of the dataset itself (same data in every unit)")
    epochs: int = Field(100, ge=1, description="training epochs")
    checkpoint: int = Field(10, ge=1, description="epochs between stored checkpoints")
    epoch_size: int = Field(
        256, ge=1, description="law datasets (product, ising): i.i.d. draws per epoch")
    chains: int = Field(
        100, ge=1, description="pcd: persistent chains; also the negative chains of the "
        "checkpoint gradient estimate (grad_cos)")
    divergence_threshold: float = Field(
        0.5, gt=0, description="diverged: final ll below the best checkpoint ll by more than "
        "this (nats), or non-finite")
    visible_bias_init: Literal["zero", "logit"] = Field(
        "zero", description="initial a: zero, or logit of the data means (clipped)")
    hidden_size: int = Field(
        32, ge=1, le=4096, description="size of the stored hidden dimension of W and b; must "
        "be >= every H of the grid (a unit with smaller H is padded with NaN)")

    @model_validator(mode="after")
    def _check(self) -> RBMSettings:
        if self.epochs % self.checkpoint:
            raise ValueError(f"epochs = {self.epochs} must be a multiple of checkpoint = "
                             f"{self.checkpoint}")
        if not self.dataset.startswith("bars-and-stripes") and self.visible is None:
            raise ValueError(f"dataset {self.dataset} needs visible (number of visible units)")
        return self

    def law(self) -> DataLaw:
        """The data law these settings name."""
        return make_dataset(
            self.dataset, visible=self.visible, patterns=self.patterns,
            probabilities=self.probabilities, seed=self.dataset_seed,
            coupling_scale=self.coupling_scale, field_scale=self.field_scale)

    def checkpoints(self) -> np.ndarray:
        """Epochs at which the curves are stored: 0, checkpoint, ..., epochs."""
        return np.arange(0, self.epochs + 1, self.checkpoint)


def _pos(name: str) -> Callable[[Scalar], str | None]:
    def check(v: Scalar) -> str | None:
        return None if v > 0 else f"{name} must be > 0 (got {v})"
    return check


def _check_H(v: Scalar) -> str | None:
    return None if 0 <= v <= 4096 else f"H must be in [0, 4096] (got {v})"


def _check_method(v: Scalar) -> str | None:
    return None if int(v) in METHODS and v == int(v) else (
        f"method must be one of {METHODS} (got {v})")


def _variables() -> tuple[Variable, ...]:
    e = ("epoch",)
    return (
        Variable("ll", "exact mean log-likelihood per data vector", "nat", dims=e,
                 description="sum_x p_D(x) ln p(x); ln Z by enumeration over the smaller layer"),
        Variable("kl", "exact KL(data || model)", "nat", dims=e,
                 description="-H(D) - ll >= 0"),
        Variable("grad_cos", "cosine of the method's gradient with the exact gradient", dims=e,
                 description="cd/pcd: positive phase exact (the data law), negative phase from "
                 "`chains` chains after k Gibbs steps (cd: started at data draws; pcd: from the "
                 "persistent chains); 1 for exact and fvbm; NaN if the exact gradient is 0"),
        Variable("recon", "mean-field reconstruction error", dims=e,
                 description="sum_x p_D(x) (1/V) sum_i (x_i - sigma(a_i + W_i.sigma(b + x W)))^2 "
                 "(NaN for fvbm)"),
        Variable("diverged", "training diverged", dtype="bool",
                 description="some parameter or ll non-finite, or final ll < best ll - "
                 "divergence_threshold"),
        Variable("updates", "parameter updates done", dtype="int64",
                 description="epochs x ceil(n / batch), fewer if parameters became non-finite"),
        Variable("log_z", "final ln Z", "nat"),
        Variable("W", "final weights W_ij", dims=("visible", "hidden"),
                 description="NaN beyond the unit's H, and for fvbm"),
        Variable("a", "final visible biases a_i", dims=("visible",)),
        Variable("b", "final hidden biases b_j", dims=("hidden",),
                 description="NaN beyond the unit's H, and for fvbm"),
        Variable("J", "final fvbm couplings J_ij", dims=("visible", "visible_j"),
                 description="symmetric, zero diagonal; NaN unless method = 3 (fvbm)"),
    )


VARIABLES = _variables()


def _n_train(law: DataLaw, settings: RBMSettings) -> int:
    return len(law.X) if law.patterns else settings.epoch_size


def updates_per_epoch(law: DataLaw, settings: RBMSettings, batch: int) -> int:
    """``ceil(n / batch)`` with ``n`` the training vectors per epoch."""
    return -(-_n_train(law, settings) // batch)


def _draw(law: DataLaw, gen: np.random.Generator, n: int) -> np.ndarray:
    """``n`` i.i.d. draws from the data law (indices into ``law.X``)."""
    cdf = np.cumsum(law.w)
    idx = np.searchsorted(cdf, gen.random(n) * cdf[-1], side="right")
    return np.minimum(idx, len(law.w) - 1)


def exact_gradient(law: DataLaw, W: np.ndarray, a: np.ndarray, b: np.ndarray
                   ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """``(ln Z, g_W, g_a, g_b)``: the exact gradient of the mean log-likelihood."""
    pv, ph, pvh = K.weighted_moments(law.X, law.w, W, b)
    lz, mv, mh, mvh = K.model_moments(W, a, b, W.shape[0] <= W.shape[1])
    return lz, pvh - mvh, pv - mv, ph - mh


def mean_log_likelihood(law: DataLaw, W: np.ndarray, a: np.ndarray, b: np.ndarray,
                        lz: float | None = None) -> float:
    """``sum_x p_D(x) ln p(x)`` in nats (``ln Z`` enumerated unless given)."""
    if lz is None:
        lz = K.log_z(W, a, b)
    return float(law.w @ K.log_marginal(law.X, W, a, b) - lz)


def _initial_visible_bias(law: DataLaw, how: str) -> np.ndarray:
    if how == "zero":
        return np.zeros(law.V)
    m = np.clip(law.mean(), 1e-3, 1 - 1e-3)
    return np.log(m / (1 - m))


def _cos(x: np.ndarray, y: np.ndarray) -> float:
    nx, ny = float(np.linalg.norm(x)), float(np.linalg.norm(y))
    if nx == 0 or ny == 0 or not (math.isfinite(nx) and math.isfinite(ny)):
        return math.nan
    return float(x @ y) / (nx * ny)


def train_rbm(law: DataLaw, settings: RBMSettings, method: str, H: int, k: int, lr: float,
              batch: int, seed: np.random.SeedSequence,
              init: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
              ) -> dict[str, np.ndarray]:
    """One RBM training run (``method`` exact, cd or pcd); unpadded outputs (see module doc).

    ``init`` = ``(W, a, b)`` replaces the random initial parameters (tests).
    """
    V = law.V
    c = seed.spawn(5)
    g_init = np.random.default_rng(c[0])
    g_data = np.random.default_rng(c[1])
    key = kernel_key(c[2])
    g_meas = np.random.default_rng(c[3])
    key_meas = kernel_key(c[4])
    if init is None:
        W = g_init.normal(0.0, INIT_SCALE, size=(V, H))
        a = _initial_visible_bias(law, settings.visible_bias_init)
        b = np.zeros(H)
    else:
        W, a, b = (np.array(x, dtype=np.float64) for x in init)
    batch = min(batch, _n_train(law, settings))
    n_ckpt = len(settings.checkpoints())
    out = {name: np.full(n_ckpt, np.nan) for name in ("ll", "kl", "grad_cos", "recon")}
    entropy = law.entropy
    chains = law.X[_draw(law, g_data, settings.chains)].copy() if method == "pcd" else None
    ctr = np.uint64(0)
    ctr_meas = np.uint64(0)
    updates = 0
    finite = True

    def measure(slot: int) -> None:
        nonlocal ctr_meas
        lz, gW, ga, gb = exact_gradient(law, W, a, b)
        ll = mean_log_likelihood(law, W, a, b, lz)
        out["ll"][slot] = ll
        out["kl"][slot] = -entropy - ll
        out["recon"][slot] = K.reconstruction_error(law.X, law.w, W, a, b)
        g_exact = np.concatenate([gW.ravel(), ga, gb])
        if method == "exact":
            out["grad_cos"][slot] = 1.0 if np.any(g_exact) else math.nan
            return
        if method == "pcd" and chains is not None:
            start = chains.copy()
        else:
            start = law.X[_draw(law, g_meas, settings.chains)]
        ctr_meas = K.gibbs(start, W, a, b, k, key_meas, ctr_meas)
        nw = np.full(len(start), 1.0 / len(start))
        mv, mh, mvh = K.weighted_moments(start, nw, W, b)
        pv, ph, pvh = K.weighted_moments(law.X, law.w, W, b)
        est = np.concatenate([(pvh - mvh).ravel(), pv - mv, ph - mh])
        out["grad_cos"][slot] = _cos(est, g_exact)

    upe = updates_per_epoch(law, settings, batch)
    n = _n_train(law, settings)
    for epoch in range(settings.epochs + 1):
        if epoch % settings.checkpoint == 0:
            measure(epoch // settings.checkpoint)
        if epoch == settings.epochs:
            break
        idx = g_data.permutation(n) if law.patterns else _draw(law, g_data, n)
        for u in range(upe):
            Xb = law.X[idx[u * batch:(u + 1) * batch]]
            if method == "exact":
                _, gW, ga, gb = exact_gradient(law, W, a, b)
            else:
                wb = np.full(len(Xb), 1.0 / len(Xb))
                pv, ph, pvh = K.weighted_moments(Xb, wb, W, b)
                if method == "cd":
                    neg = Xb.copy()
                else:
                    neg = chains
                ctr = K.gibbs(neg, W, a, b, k, key, ctr)
                wn = np.full(len(neg), 1.0 / len(neg))
                mv, mh, mvh = K.weighted_moments(neg, wn, W, b)
                gW, ga, gb = pvh - mvh, pv - mv, ph - mh
            W += lr * gW
            a += lr * ga
            b += lr * gb
            updates += 1
            if not (np.isfinite(W).all() and np.isfinite(a).all() and np.isfinite(b).all()):
                finite = False
                break
        if not finite:
            break
    diverged = _diverged(out["ll"], finite, settings.divergence_threshold)
    return {**out, "diverged": np.asarray(bool(diverged)), "updates": np.asarray(updates),
            "log_z": np.asarray(K.log_z(W, a, b) if finite else np.nan),
            "W": W, "a": a, "b": b}


def fvbm_gradient(law: DataLaw, J: np.ndarray, h: np.ndarray
                  ) -> tuple[float, np.ndarray, np.ndarray]:
    """``(ln Z, g_J, g_h)`` of the mean log-likelihood of the fully visible machine."""
    Xf = law.X.astype(np.float64)
    dv = law.w @ Xf
    dvv = Xf.T @ (law.w[:, None] * Xf)
    lz, mv, mvv = K.fvbm_moments(J, h)
    gJ = dvv - mvv
    np.fill_diagonal(gJ, 0.0)
    return lz, gJ, dv - mv


def _diverged(ll: np.ndarray, finite: bool, threshold: float) -> bool:
    """Parameters became non-finite, or the final ll is non-finite or below its best - threshold."""
    seen = ll[np.isfinite(ll)]
    return bool(not finite or not np.isfinite(ll[-1])
                or (seen.size > 0 and ll[-1] < seen.max() - threshold))


def train_fvbm(law: DataLaw, settings: RBMSettings, lr: float, batch: int,
               seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
    """Exact gradient ascent of the fully visible machine (``{0,1}`` spins)."""
    V = law.V
    g_init = np.random.default_rng(seed.spawn(1)[0])
    upper = np.triu(g_init.normal(0.0, INIT_SCALE, size=(V, V)), 1)
    J = upper + upper.T
    h = _initial_visible_bias(law, settings.visible_bias_init)
    n_ckpt = len(settings.checkpoints())
    out = {name: np.full(n_ckpt, np.nan) for name in ("ll", "kl", "grad_cos", "recon")}
    upe = updates_per_epoch(law, settings, min(batch, _n_train(law, settings)))
    updates, finite = 0, True
    for epoch in range(settings.epochs + 1):
        lz, gJ, gh = fvbm_gradient(law, J, h)
        if epoch % settings.checkpoint == 0:
            slot = epoch // settings.checkpoint
            ll = float(law.w @ K.fvbm_log_marginal(law.X, J, h) - lz)
            out["ll"][slot] = ll
            out["kl"][slot] = -law.entropy - ll
            out["grad_cos"][slot] = 1.0 if (np.any(gJ) or np.any(gh)) else math.nan
        if epoch == settings.epochs:
            break
        for u in range(upe):
            if u:
                _, gJ, gh = fvbm_gradient(law, J, h)
            J += lr * gJ
            h += lr * gh
            updates += 1
            if not (np.isfinite(J).all() and np.isfinite(h).all()):
                finite = False
                break
        if not finite:
            break
    diverged = _diverged(out["ll"], finite, settings.divergence_threshold)
    lz_final = K.fvbm_moments(J, h)[0] if finite else np.nan
    return {**out, "diverged": np.asarray(bool(diverged)), "updates": np.asarray(updates),
            "log_z": np.asarray(lz_final), "J": J, "a": h}


class RBM(Model[RBMSettings]):
    """Restricted (and fully visible) Boltzmann machines trained on exactly known data laws."""

    name: ClassVar[str] = "rbm"
    summary: ClassVar[str] = ("Restricted Boltzmann machines trained by CD-k, PCD-k or the exact "
                              "gradient; fully visible Boltzmann machine (inverse Ising)")
    conventions: ClassVar[str] = CONVENTIONS
    settings_class = RBMSettings
    presentation: ClassVar[str | None] = "statmech.models.rbm.presentation:PRESENTATION"
    replica_dim: ClassVar[str] = "replica"
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("method", "int", "training method code: 0 exact, 1 cd, 2 pcd, 3 fvbm", "1",
                  default=1, check=_check_method),
        Parameter("H", "int", "number of hidden units (<= settings.hidden_size; ignored by fvbm)",
                  "units", check=_check_H),
        Parameter("k", "int", "Gibbs steps per negative phase (cd, pcd)", "steps", default=1,
                  check=_pos("k")),
        Parameter("lr", "float", "learning rate of plain SGD", "1", check=_pos("lr")),
        Parameter("batch", "int", "minibatch size (capped at the vectors per epoch)", "vectors",
                  default=10, check=_pos("batch")),
    )
    #: seconds per multiply-add of a Gibbs step or an enumeration (one core; batch sizing only)
    s_per_mac: ClassVar[float] = 2e-9

    def variables(self, settings: RBMSettings) -> tuple[Variable, ...]:
        """Curves along ``epoch``; final flags, ``ln Z`` and parameters."""
        return VARIABLES

    def extra_coords(
        self, settings: RBMSettings, axes: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """``epoch`` (checkpoint epochs), ``visible``, ``visible_j``, ``hidden`` (max H)."""
        V = settings.law().V
        return {"epoch": settings.checkpoints(), "visible": np.arange(V),
                "visible_j": np.arange(V), "hidden": np.arange(settings.hidden_size)}

    def check_settings(self, settings: RBMSettings, axes: Mapping[str, np.ndarray]) -> list[str]:
        """The dataset must build; ``max(H) <= hidden_size``."""
        errors = []
        if "H" in axes and int(np.max(axes["H"])) > settings.hidden_size:
            errors.append(f"settings.hidden_size = {settings.hidden_size} < max(H) = "
                          f"{int(np.max(axes['H']))}: raise hidden_size (W and b are stored "
                          "with a hidden dimension of that size)")
        try:
            settings.law()
        except ValueError as exc:
            errors.append(str(exc))
        return errors

    def check_point(self, point: Point, settings: RBMSettings) -> str | None:
        """``H <= hidden_size``; enumeration sizes ``min(V, H) <= 20`` (rbm), ``V <= 16`` (fvbm)."""
        V = settings.law().V
        if int(point["H"]) > settings.hidden_size:
            return f"H = {int(point['H'])} > settings.hidden_size = {settings.hidden_size}"
        method = METHODS[int(point["method"])]
        if method == "fvbm":
            return None if V <= 16 else f"fvbm enumerates 2^V states: V = {V} > 16"
        if min(V, int(point["H"])) > MAX_ENUM:
            return f"ln Z enumerates 2^min(V, H) states: min(V, H) > {MAX_ENUM}"
        return None

    def cost(self, point: Point, settings: RBMSettings) -> float:
        """Seconds: updates x (negative phase or enumeration) + checkpoints x enumeration."""
        law = settings.law()
        V, H, k = law.V, int(point["H"]), int(point["k"])
        method = METHODS[int(point["method"])]
        batch = min(int(point["batch"]), _n_train(law, settings))
        n_up = settings.epochs * updates_per_epoch(law, settings, batch)
        enum = 2.0 ** min(V, max(H, 1)) * (V + 20) * max(H, 1) * 3  # + exp, log1p per term
        if method == "fvbm":
            enum = 2.0**V * V * V
            per_update = enum
        elif method == "exact":
            per_update = enum
        else:
            n = batch if method == "cd" else settings.chains
            per_update = (k + 2) * n * V * H * 2
        ckpt = len(settings.checkpoints()) * (enum + settings.chains * (k + 2) * V * H * 2)
        return (n_up * per_update + ckpt) * self.s_per_mac + n_up * 2e-5 + 0.02

    def warmup(self, settings: RBMSettings) -> None:
        """Compile or load the kernels on a tiny machine."""
        law = make_dataset("bars-and-stripes-3x3")
        tiny = RBMSettings(epochs=1, checkpoint=1, chains=2)
        for m in ("exact", "cd", "pcd"):
            train_rbm(law, tiny, m, 3, 1, 0.1, 4, np.random.SeedSequence(0))
        train_fvbm(law, tiny, 0.1, 4, np.random.SeedSequence(0))

    def run(
        self, point: Point, settings: RBMSettings, seed: np.random.SeedSequence
    ) -> dict[str, np.ndarray]:
        """One training run; outputs padded to the store's ``hidden`` size with NaN."""
        law = settings.law()
        V = law.V
        method = METHODS[int(point["method"])]
        H, k, lr, batch = (int(point["H"]), int(point["k"]), float(point["lr"]),
                           int(point["batch"]))
        Hmax = settings.hidden_size
        if method == "fvbm":
            res = train_fvbm(law, settings, lr, batch, seed)
            res["W"] = np.full((V, Hmax), np.nan)
            res["b"] = np.full(Hmax, np.nan)
            return res
        res = train_rbm(law, settings, method, H, k, lr, batch, seed)
        res["J"] = np.full((V, V), np.nan)
        res["W"] = np.pad(res["W"], ((0, 0), (0, Hmax - H)), constant_values=np.nan)
        res["b"] = np.pad(res["b"], (0, Hmax - H), constant_values=np.nan)
        return res
