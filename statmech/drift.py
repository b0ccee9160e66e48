"""Drift reports: whether a rerun of a sweep gives the same numbers as the previous run.

Two stores of the same sweep are compared point by point, over every unit done in both:

* **identical** -- every stored value is bitwise equal (what an unchanged rerun must give:
  seeds depend only on the sweep file and the point);
* **consistent** -- some values differ, but every difference is within its errors: for each
  variable ``x`` with an error ``x_err`` the z-score
  ``(new - old) / sqrt(err_new^2 + err_old^2)`` is below the threshold and the chi-square of all
  z-scores is plausible (p >= 1e-3). Expected when a code change alters the random stream but
  not the physics;
* **drift** -- a value finite in the previous run is NaN or infinite in this one (always a
  failure, whatever the other values), or some z-score exceeds the threshold (or the
  chi-square test fails): the physics shifted beyond the error bars. The worst points are listed.

The threshold is ``max(5, sqrt(2 ln n) + 2)`` for ``n`` compared values, so that the largest of
``n`` honest z-scores stays below it with overwhelming probability.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sps

from statmech.store import open_dataset

SKIP = ("done", "failed", "elapsed")


@dataclass
class DriftReport:
    """Outcome of comparing a run (``new``) with a previous run (``old``)."""

    old: str
    new: str
    verdict: str  # identical | consistent | drift | incomparable
    compared_units: int = 0
    differing_values: int = 0
    variables_compared: list[str] = field(default_factory=list)
    max_abs_z: float = 0.0
    threshold: float = 0.0
    chi2: float = 0.0
    dof: int = 0
    p_value: float = 1.0
    worst: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    non_finite: int = 0  # values finite in the previous run, NaN or infinite in this one

    @property
    def passed(self) -> bool:
        """Identical or consistent within errors."""
        return self.verdict in ("identical", "consistent")

    def to_json(self) -> str:
        """The report as JSON."""
        return json.dumps(asdict(self), indent=1)

    def to_markdown(self) -> str:
        """The report as a short markdown page (also published as a Prefect artifact)."""
        icon = {"identical": "identical", "consistent": "consistent within errors",
                "drift": "DRIFT", "incomparable": "incomparable"}[self.verdict]
        lines = [
            f"# Drift report: {icon}",
            "",
            f"- previous run: `{self.old}`",
            f"- this run: `{self.new}`",
            f"- units compared: {self.compared_units}; values differing: {self.differing_values}",
        ]
        if self.note:
            lines.append(f"- note: {self.note}")
        if self.verdict in ("consistent", "drift") and not self.non_finite:
            lines += [
                f"- largest |z|: {self.max_abs_z:.2f} (threshold {self.threshold:.2f})",
                f"- chi-square {self.chi2:.1f} for {self.dof} values, p = {self.p_value:.3g}",
                "",
                "| variable | point | old | new | z |",
                "|---|---|---|---|---|",
            ]
            for w in self.worst:
                lines.append(f"| {w['variable']} | {w['point']} | {w['old']:.6g} | "
                             f"{w['new']:.6g} | {w['z']:+.2f} |")
        lines.append("")
        lines.append(f"Verdict: **{'PASS' if self.passed else 'FAIL'}** ({self.verdict})")
        return "\n".join(lines) + "\n"


def compare(old: str | Path, new: str | Path, n_worst: int = 10) -> DriftReport:
    """Compare two stores of the same sweep (see the module docstring)."""
    a, b = open_dataset(old), open_dataset(new)
    report = DriftReport(str(old), str(new), "incomparable")
    if a.attrs.get("physics_hash") != b.attrs.get("physics_hash"):
        report.note = "the stores come from different sweeps (physics hashes differ)"
        return report
    rep = a.attrs.get("replica_dim", "replica")
    axes = [d for d in a["done"].dims if d != rep]
    common = {d: np.intersect1d(a[d].values, b[d].values) for d in axes}
    a = a.sel(common).load()
    b = b.sel(common).load()
    both = a["done"].values & b["done"].values
    report.compared_units = int(both.sum())
    if report.compared_units == 0:
        report.note = "no unit is done in both stores"
        return report
    names = [v for v in a.data_vars if v not in SKIP and v in b.data_vars]
    report.variables_compared = names
    differing = non_finite = 0
    nonfinite_where: list[tuple[str, str]] = []
    zs: list[np.ndarray] = []
    details: list[tuple[float, str, tuple[int, ...], float, float, float]] = []
    for name in names:
        va, vb = a[name].values, b[name].values
        mask = both.reshape(both.shape + (1,) * (va.ndim - both.ndim))
        mask = np.broadcast_to(mask, va.shape)
        same = (va == vb) | (_isnan(va) & _isnan(vb))
        differing += int((~same & mask).sum())
        lost = mask & _finite(va) & ~_finite(vb)  # a value that became NaN or infinite
        if lost.any():
            non_finite += int(lost.sum())
            for idx in np.argwhere(lost)[:n_worst]:
                nonfinite_where.append((name, _point(a, axes, rep, tuple(int(i) for i in idx))))
        err_name = f"{name}_err"
        if name.endswith("_err") or err_name not in a.data_vars:
            continue
        ea, eb = a[err_name].values, b[err_name].values
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (va - vb) / np.sqrt(ea**2 + eb**2)
        z = np.where(mask & ~same & np.isfinite(z), z, 0.0)
        zs.append(z[mask].ravel())
        for idx in np.argwhere(np.abs(z) > 0):
            t = tuple(int(i) for i in idx)
            details.append((abs(float(z[t])), name, t, float(va[t]), float(vb[t]),
                            float(-z[t])))
    report.differing_values = differing
    report.non_finite = non_finite
    if non_finite:
        report.verdict = "drift"
        shown = "; ".join(f"{n} at {pt}" for n, pt in nonfinite_where[:n_worst])
        report.note = (f"{non_finite} value(s) finite in the previous run are NaN or infinite "
                       f"in this run: {shown}")
        return report
    if differing == 0:
        report.verdict = "identical"
        return report
    allz = np.concatenate(zs) if zs else np.zeros(0)
    n = max(allz.size, 1)
    report.threshold = max(5.0, math.sqrt(2 * math.log(n)) + 2.0)
    report.max_abs_z = float(np.abs(allz).max()) if allz.size else 0.0
    report.chi2 = float((allz**2).sum())
    report.dof = int(allz.size)
    report.p_value = float(sps.chi2.sf(report.chi2, max(report.dof, 1)))
    details.sort(reverse=True)
    for _, name, idx, old_v, new_v, z_new in details[:n_worst]:
        point = _point(a, axes, rep, idx)
        report.worst.append({"variable": name, "point": point, "old": old_v, "new": new_v,
                             "z": z_new})
    drift = report.max_abs_z > report.threshold or report.p_value < 1e-3
    if not zs or not allz.size:
        report.note = "values differ but no error bars are stored to judge them"
        drift = True
    report.verdict = "drift" if drift else "consistent"
    return report


def _point(ds: Any, axes: list[str], rep: str, idx: tuple[int, ...]) -> str:
    point = ", ".join(f"{d}={ds[d].values[i]:g}" for d, i in zip(axes, idx, strict=False))
    return point + (f", {rep}={idx[len(axes)]}" if len(idx) > len(axes) else "")


def _finite(x: np.ndarray) -> np.ndarray:
    return np.isfinite(x) if x.dtype.kind in "fc" else np.ones(x.shape, dtype=bool)


def _isnan(x: np.ndarray) -> np.ndarray:
    return np.isnan(x) if x.dtype.kind == "f" else np.zeros(x.shape, dtype=bool)
