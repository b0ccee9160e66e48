"""The one result type of every analysis: a value with its standard error and provenance.

An :class:`Estimate` is what analysis functions return for a derived number (a crossing
temperature, a fitted exponent, a capacity), what the report shows as a row, and what tests
compare with exact references. ``error`` is one standard error (``nan`` when it cannot be
estimated); ``method`` says how the value was obtained (e.g. "bootstrap over replica errors",
"weighted least squares, chi2/dof = 3.1/4"); ``exact`` is an exact or theoretical reference
(from :mod:`statmech.theory`) with its label, when there is one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
