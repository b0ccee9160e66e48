"""The one result type of every analysis: a value with its standard error and provenance.

An :class:`Estimate` is what analysis functions return for a derived number (a crossing
temperature, a fitted exponent, a capacity), what the report shows as a row, and what tests
compare with exact references. ``error`` is one standard error (``nan`` when it cannot be
estimated); ``method`` says how the value was obtained (e.g. "bootstrap over replica errors",
"weighted least squares, chi2/dof = 3.1/4"); ``exact`` is an exact or theoretical reference
(from :mod:`statmech.theory`) with its label, when there is one.

A fit is a :class:`FitResult`: one :class:`Estimate` per fitted parameter (``fit["Tc"]``),
chi^2 and degrees of freedom, the covariance and the model function (to draw the fit and its
one-sigma band). These two types replace the per-module result classes (``Fit``,
``LinearFit``, ``Extrapolation``, ``ComplexityFit``) of earlier versions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Estimate:
    """A derived number: value ± error, how it was obtained, and its reference if known.

    ``key`` is a stable identifier (report row ids, tests); ``quantity`` a human label.
    """

    value: float
    error: float = math.nan
    key: str = ""
    quantity: str = ""
    method: str = ""
    exact: float | None = None
    exact_label: str = ""
    note: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def z(self) -> float | None:
        """Deviation from ``exact`` in standard errors (``None`` without a usable error)."""
        if self.exact is None or not self.error or not math.isfinite(self.error):
            return None
        return (self.value - self.exact) / self.error

    def labelled(self, key: str, quantity: str, **changes: Any) -> Estimate:
        """The same estimate with a key and a label (and any other field changed)."""
        return replace(self, key=key, quantity=quantity, **changes)

    def __str__(self) -> str:
        return f"{self.value:.5g} ± {self.error:.2g}"


@dataclass(frozen=True)
class FitResult:
    """A least-squares fit: one :class:`Estimate` per parameter, chi^2 and degrees of freedom.

    ``params`` holds the fitted parameters in the order of the fit function's arguments, each
    an :class:`Estimate` whose ``key`` is the parameter name and whose ``method`` states the fit
    and its chi^2/dof. ``cov`` is the parameter covariance (the errors are the square roots of
    its diagonal); ``function(x, *values)`` is the fitted model, when known, so that the fit
    can be drawn (:meth:`__call__`) with its one-sigma band (:meth:`band`). ``fixed`` names the
    model parameters held at a given value rather than fitted (e.g. ``{"nu": 1.0}``).
    """

    params: tuple[Estimate, ...]
    chi2: float
    dof: int
    cov: Any = None
    function: Callable[..., Any] | None = None
    fixed: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_arrays(
        cls, names: Sequence[str], values: Sequence[float], cov: Any, chi2: float, dof: int,
        method: str, function: Callable[..., Any] | None = None,
        errors: Sequence[float] | None = None, fixed: Mapping[str, float] | None = None,
    ) -> FitResult:
        """Build the parameter estimates (errors from ``cov`` unless given explicitly)."""
        import numpy as np

        cov = np.asarray(cov, dtype=float)
        errs = np.sqrt(np.diag(cov)) if errors is None else np.asarray(errors, dtype=float)
        held = "".join(f", {k} fixed at {v:g}" for k, v in (fixed or {}).items())
        label = f"{method}{held}, chi2/dof = {chi2:.1f}/{dof}"
        params = tuple(
            Estimate(float(v), float(e), key=n, quantity=n, method=label,
                     details={"chi2": chi2, "dof": dof})
            for n, v, e in zip(names, values, errs, strict=True))
        return cls(params, float(chi2), int(dof), cov, function, dict(fixed or {}))

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in fit order."""
        return tuple(p.key for p in self.params)

    @property
    def values(self) -> tuple[float, ...]:
        """Fitted parameter values, in fit order."""
        return tuple(p.value for p in self.params)

    @property
    def errors(self) -> tuple[float, ...]:
        """Standard errors of the parameters, in fit order."""
        return tuple(p.error for p in self.params)

    def __getitem__(self, name: str) -> Estimate:
        """The estimate of the parameter called ``name`` (``KeyError`` if there is none)."""
        for p in self.params:
            if p.key == name:
                return p
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    @property
    def p_value(self) -> float:
        """Probability of a chi^2 at least this large if the model is right (NaN if dof = 0)."""
        from scipy import stats

        return float(stats.chi2.sf(self.chi2, self.dof)) if self.dof > 0 else math.nan

    def __call__(self, x: Any) -> Any:
        """The fitted model at ``x``."""
        if self.function is None:
            raise TypeError("this fit does not know its model function")
        return self.function(x, *self.values)

    def band(self, x: Any) -> Any:
        """One-sigma error of the fitted model at ``x`` (linear error propagation of ``cov``).

        The gradient with respect to the parameters is a central difference, exact for
        models linear in their parameters.
        """
        import numpy as np

        if self.function is None or self.cov is None:
            raise TypeError("this fit does not know its model function and covariance")
        x = np.asarray(x, dtype=float)
        vals = np.asarray(self.values, dtype=float)
        grads = []
        for i in range(vals.size):
            h = 1e-6 * max(abs(vals[i]), 1.0)
            up, dn = vals.copy(), vals.copy()
            up[i] += h
            dn[i] -= h
            grads.append((self.function(x, *up) - self.function(x, *dn)) / (2 * h))
        g = np.stack(np.broadcast_arrays(*grads))
        return np.sqrt(np.einsum("i...,ij,j...->...", g, np.asarray(self.cov), g))
