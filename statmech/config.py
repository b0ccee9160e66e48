"""Sweep files: the YAML a user writes, validated completely before any compute.

A sweep file names a model, the axes of the grid, fixed parameters, model settings, the number
of replicas (or disorder samples), a seed, the store path and how to run::

    model: ising2d
    axes:
      L: [8, 16, 32]
      T: {start: 1.5, stop: 3.5, num: 21}
    fixed: {B: 0.0}
    settings: {algorithm: metropolis, thermalization: 2000, measurements: 20000}
    replicas: 2
    seed: 2026
    store: results/quickstart.zarr

Every problem is reported at once, by field path (``axes.L[1]: ...``), in a :class:`ConfigError`.
Axis values are canonicalised (integers for integer parameters, floats rounded to 12 significant
digits) so that ``T: 1`` and ``T: 1.0`` name the same point and seed the same random stream.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from statmech.errors import InputError, truncate
from statmech.limits import Estimate, Limits, check_limits, estimate, n_points_of
from statmech.models import get_model, model_names
from statmech.models.base import Model, Parameter, Scalar
from statmech.seeding import canonical_float, omitted_defaults
from statmech.yamlsafe import MAX_BYTES, YamlInputError, safe_load

#: settings that choose where a unit runs, never what it computes (left out of the physics hash)
NOT_PHYSICS = frozenset({"backend"})
#: at most this many problems are listed (the count says how many there are)
MAX_SHOWN = 20


class ConfigError(InputError):
    """A sweep file with one or more problems; ``errors`` holds ``(field path, message)``."""

    def __init__(self, errors: list[tuple[str, str]], source: str | None = None):
        self.errors = errors
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" in {self.source}" if self.source else ""
        n = len(self.errors)
        lines = [f"{n} problem{'s' if n != 1 else ''}{where}:"]
        lines += [f"  {path}: {msg}" for path, msg in self.errors[:MAX_SHOWN]]
        if n > MAX_SHOWN:
            lines.append(f"  ... and {n - MAX_SHOWN} more")
        return "\n".join(lines)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class BatchConfig(_Strict):
    """How units are grouped into Dask tasks (*groups*; see :mod:`statmech.grid`).

    ``target_seconds``: the most estimated compute (from the model's cost model) one task
    carries; groups are cut finer for load balance (about four per worker thread, the first
    and last wave staggered) but not so fine that the scheduler must start more than
    :data:`statmech.grid.DASK_TASKS_PER_SECOND` tasks per second. A killed worker loses its
    groups in flight. ``size`` fixes the number of units per task instead. Prefect sees a
    bounded number of blocks of groups, not the groups.
    """

    target_seconds: float = Field(10.0, gt=0)
    size: int | None = Field(None, ge=1)


class JobqueueConfig(_Strict):
    """An HPC batch-system cluster started through dask-jobqueue."""

    system: Literal["slurm", "pbs", "sge", "lsf", "htcondor"] = Field(
        description="batch system of the cluster")
    jobs: int = Field(1, ge=1, description="number of batch jobs to submit")
    cores: int = Field(1, ge=1, description="cores per job")
    memory: str = Field("4GiB", description="memory per job")
    processes: int | None = Field(None, ge=1, description="worker processes per job")
    queue: str | None = None
    account: str | None = None
    walltime: str | None = None
    job_extra_directives: tuple[str, ...] = ()
    job_script_prologue: tuple[str, ...] = ()
    local_directory: str | None = None


class ClusterConfig(_Strict):
    """Where the sweep runs: a local cluster, an existing scheduler, or an HPC batch system."""

    workers: int | None = Field(None, ge=1, description="local worker processes (default: cores)")
    threads_per_worker: int = Field(1, ge=1)
    address: str | None = Field(None, description="tcp:// or tls://host:port of a running "
                                                  "Dask scheduler")
    tls_dir: str | None = Field(None, description="folder of `statmech certs` certificates: "
                                                  "every connection uses TLS")
    jobqueue: JobqueueConfig | None = None


class _SweepFile(_Strict):
    """Top-level keys of a sweep file (model-specific parts are checked separately)."""

    name: str | None = None
    description: str | None = None
    model: str
    axes: dict[str, Any]
    fixed: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    replicas: int = Field(1, ge=1)
    seed: int = Field(ge=0, lt=2**63)
    store: str = Field(min_length=1)
    batch: BatchConfig = BatchConfig()
    cluster: ClusterConfig = ClusterConfig()
    retries: int = Field(2, ge=0, le=20, description="Prefect retries of a block with failed units")
    limits: Limits = Limits()


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: everything needed to build the grid, the store and the seeds."""

    model: Model
    settings: BaseModel
    axes: dict[str, np.ndarray]
    fixed: dict[str, Scalar]
    replicas: int
    seed: int
    store: str
    batch: BatchConfig
    cluster: ClusterConfig
    retries: int
    text: str
    name: str
    description: str | None = None
    limits: Limits = field(default_factory=Limits)
    estimate: Estimate | None = None

    def physics(self) -> dict[str, Any]:
        """What the numbers depend on, apart from the axis values (JSON-able, canonical).

        Settings in :data:`NOT_PHYSICS` are left out: they choose where a unit runs, never what
        it computes, so a store can be extended with any of their values. So are additions that
        sit at their old-behaviour default: settings fields marked
        :data:`statmech.models.base.ADDED_SETTING` and fixed parameters marked
        ``seed_omits_default`` (the same rule as the seed), so stores made before a model
        gained them keep their hash.
        """
        settings = self.settings.model_dump(mode="json")
        for name, info in type(self.settings).model_fields.items():
            extra = info.json_schema_extra
            if (isinstance(extra, dict) and extra.get("physics_omits_default")
                    and settings.get(name) == _json(info.default)):
                del settings[name]
        omitted = omitted_defaults(self.model.parameters)
        fixed = {k: self.fixed[k] for k in sorted(self.fixed)
                 if not (k in omitted and canonical_float(float(self.fixed[k])) == omitted[k])}
        return {
            "model": self.model.name,
            "fixed": fixed,
            "settings": {k: v for k, v in settings.items() if k not in NOT_PHYSICS},
            "replicas": self.replicas,
            "seed": self.seed,
            "axis_names": list(self.axes),
        }

    @property
    def physics_hash(self) -> str:
        """Hash of :meth:`physics`: stores are only extended by sweeps with the same hash."""
        return _hash(self.physics())

    @property
    def config_hash(self) -> str:
        """Hash of the physics and the axis values: identifies the complete grid."""
        axes = {k: v.tolist() for k, v in self.axes.items()}
        return _hash({**self.physics(), "axes": axes})

    def with_overrides(self, **changes: Any) -> Sweep:
        """A copy with some fields replaced (used for CLI overrides such as ``--store``)."""
        from dataclasses import replace

        return replace(self, **changes)


def _json(value: Any) -> Any:
    """``value`` as ``model_dump(mode="json")`` writes it (for comparing with defaults)."""
    return json.loads(json.dumps(value, default=str))


def _hash(obj: Any) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def _coerce(p: Parameter, v: Any) -> tuple[Scalar | None, str | None]:
    """Canonical value of ``v`` for parameter ``p``, or an error message."""
    if not _is_number(v):
        return None, f"must be a number, got {truncate(v)} ({type(v).__name__})"
    if not math.isfinite(float(v)):
        return None, f"must be finite, got {truncate(v)}"
    if p.kind == "int":
        if float(v) != round(float(v)):
            return None, f"{p.name} must be an integer, got {truncate(v)}"
        value: Scalar = round(float(v))
    else:
        value = canonical_float(float(v))
    if p.check is not None and (msg := p.check(value)):
        return None, msg
    return value, None


def _expand_range(path: str, spec: Mapping[str, Any], errors: list[tuple[str, str]],
                  max_num: int) -> list[Any]:
    known = {"start", "stop", "num", "log"}
    for key in spec:
        if key not in known:
            errors.append((f"{path}.{truncate(key, 40, quote=False)}",
                           "unknown key; a range has start, stop, num, log"))
    ok = True
    for key in ("start", "stop", "num"):
        if key not in spec:
            errors.append((f"{path}.{key}", "missing; a range needs start, stop and num"))
            ok = False
        elif not _is_number(spec[key]):
            errors.append((f"{path}.{key}", f"must be a number, got {truncate(spec[key])}"))
            ok = False
    log = spec.get("log", False)
    if not isinstance(log, bool):
        errors.append((f"{path}.log", f"must be true or false, got {truncate(log)}"))
        ok = False
    if not ok:
        return []
    num = spec["num"]
    if not math.isfinite(float(num)) or float(num) != int(num) or int(num) < 1:
        errors.append((f"{path}.num", f"must be a positive integer, got {truncate(num)}"))
        return []
    if int(num) > max_num:  # refused before allocating anything
        errors.append((f"{path}.num", f"{int(num)} values is more than limits.max_units = "
                                      f"{max_num}; raise limits.max_units if you mean it"))
        return []
    start, stop = float(spec["start"]), float(spec["stop"])
    if log:
        if start <= 0 or stop <= 0:
            errors.append((path, "a log-spaced range needs start > 0 and stop > 0"))
            return []
        return list(np.geomspace(start, stop, int(num)))
    return list(np.linspace(start, stop, int(num)))


def _resolve_axis(
    model: Model, name: str, spec: Any, errors: list[tuple[str, str]], max_num: int
) -> np.ndarray | None:
    path = f"axes.{truncate(name, 40, quote=False)}"
    try:
        p = model.parameter(name)
    except KeyError:
        allowed = ", ".join(q.name for q in model.parameters)
        errors.append((path, f"unknown parameter for model {model.name}; allowed: {allowed}"))
        return None
    if isinstance(spec, Mapping):
        raw = _expand_range(path, spec, errors, max_num)
        if not raw:
            if not any(e[0].startswith(path) for e in errors):
                errors.append((path, "empty axis"))
            return None
        if p.kind == "int":
            raw = [round(v) for v in raw]
        labels = [path] * len(raw)
    elif isinstance(spec, list | tuple):
        if len(spec) == 0:
            errors.append((path, "empty axis: give at least one value"))
            return None
        raw = list(spec)
        labels = [f"{path}[{i}]" for i in range(len(raw))]
    elif _is_number(spec):
        errors.append((path, f"an axis is a list or a range {{start, stop, num}}; "
                             f"put a single value under 'fixed' (got {truncate(spec)})"))
        return None
    else:
        errors.append((path, "an axis is a list or a range {start, stop, num}, "
                             f"got {truncate(spec)}"))
        return None
    values: list[Scalar] = []
    bad = False
    for label, v in zip(labels, raw, strict=True):
        value, msg = _coerce(p, v)
        if msg:
            errors.append((label, msg))
            bad = True
        else:
            assert value is not None
            values.append(value)
    if bad:
        return None
    if len(set(values)) != len(values):
        dup = sorted({v for v in values if values.count(v) > 1})
        errors.append((path, f"duplicate values {truncate(dup)}"))
        return None
    return np.asarray(values, dtype=np.int64 if p.kind == "int" else np.float64)


def parse_config(text: str, source: str | None = None) -> Sweep:
    """Validate a sweep file's text; raise :class:`ConfigError` listing every problem."""
    errors: list[tuple[str, str]] = []
    try:
        raw = safe_load(text)
    except YamlInputError as exc:
        raise ConfigError([("<yaml>", str(exc))], source) from None
    if not isinstance(raw, dict):
        raise ConfigError([("<root>", "a sweep file is a mapping with keys model, axes, ...")],
                          source)

    top: _SweepFile | None = None
    try:
        top = _SweepFile.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            errors.append((_loc(err["loc"]), _msg(err)))

    model: Model | None = None
    name = raw.get("model")
    if isinstance(name, str):
        try:
            model = get_model(name)
        except KeyError:
            available = ", ".join(model_names())
            errors.append(("model", f"unknown model {truncate(name, 40)}; "
                                    f"available: {available}"))
        except InputError as exc:  # a plug-in that cannot be imported or built
            errors.append(("model", str(exc)))

    axes: dict[str, np.ndarray] = {}
    fixed: dict[str, Scalar] = {}
    settings: BaseModel | None = None
    limits = top.limits if top is not None else Limits()
    if model is not None:
        raw_axes = raw.get("axes")
        if isinstance(raw_axes, dict):
            if not raw_axes:
                errors.append(("axes", "no axes: give at least one swept parameter"))
            for axis, spec in raw_axes.items():
                arr = _resolve_axis(model, str(axis), spec, errors, limits.max_units)
                if arr is not None:
                    axes[str(axis)] = arr
        raw_fixed = raw.get("fixed") or {}
        if isinstance(raw_fixed, dict):
            for pname, v in raw_fixed.items():
                path = f"fixed.{truncate(pname, 40, quote=False)}"
                try:
                    p = model.parameter(str(pname))
                except KeyError:
                    allowed = ", ".join(q.name for q in model.parameters)
                    errors.append((path, f"unknown parameter for model {model.name}; "
                                         f"allowed: {allowed}"))
                    continue
                if isinstance(raw_axes, dict) and pname in raw_axes:
                    errors.append((path, f"{pname} is both an axis and fixed; keep one"))
                    continue
                value, msg = _coerce(p, v)
                if msg:
                    errors.append((path, msg))
                else:
                    assert value is not None
                    fixed[str(pname)] = value
        for p in model.parameters:
            given = (isinstance(raw_axes, dict) and p.name in raw_axes) or (
                isinstance(raw_fixed, dict) and p.name in raw_fixed
            )
            if not given:
                if p.default is None:
                    errors.append(("axes", f"parameter {p.name} ({p.doc}) is required: "
                                           "put it on an axis or under 'fixed'"))
                else:
                    fixed[p.name] = p.default
        raw_settings = raw.get("settings") or {}
        if isinstance(raw_settings, dict):
            try:
                settings = model.settings_class.model_validate(raw_settings)
            except ValidationError as exc:
                for err in exc.errors():
                    errors.append((_loc(("settings", *err["loc"])), _msg(err)))
        est: Estimate | None = None
        if settings is not None and not errors and top is not None:
            # sizes first: the per-point checks below must never run over a huge grid
            errors.extend(check_limits(limits, n_points_of(axes), top.replicas))
        if settings is not None and not errors:
            for msg in model.check_settings(settings, {**axes}):
                errors.append(("settings", msg))
            errors.extend(_check_points(model, settings, axes, fixed))
        if settings is not None and not errors and top is not None:
            # cost and memory estimates only of valid points (an invalid one can cost anything)
            try:
                est = estimate(model, settings, axes, fixed, top.replicas)
            except InputError as exc:  # the model's cost is not a number of seconds
                errors.append(("model", str(exc)))
            else:
                errors.extend(check_limits(limits, n_points_of(axes), top.replicas, est))

    if errors or top is None or model is None or settings is None:
        raise ConfigError(errors or [("<root>", "invalid sweep file")], source)
    return Sweep(
        model=model,
        settings=settings,
        axes=axes,
        fixed=fixed,
        replicas=top.replicas,
        seed=top.seed,
        store=top.store,
        batch=top.batch,
        cluster=top.cluster,
        retries=top.retries,
        text=text,
        name=top.name or (Path(source).stem if source else model.name),
        description=top.description,
        limits=limits,
        estimate=est,
    )


def _check_points(
    model: Model, settings: BaseModel, axes: dict[str, np.ndarray], fixed: dict[str, Scalar]
) -> list[tuple[str, str]]:
    """Run the model's cross-parameter check on every grid point (first few failures only)."""
    import itertools

    errors: list[tuple[str, str]] = []
    if type(model).check_point is Model.check_point:  # nothing to check point by point
        return errors
    names = list(axes)
    for combo in itertools.product(*(axes[n].tolist() for n in names)):
        point = {**fixed, **dict(zip(names, combo, strict=True))}
        msg = model.check_point(point, settings)
        if msg:
            where = ", ".join(f"{n}={v}" for n, v in zip(names, combo, strict=True))
            errors.append((f"axes ({where})", msg))
            if len(errors) >= 5:
                errors.append(("axes", "... (further points with the same problem not shown)"))
                break
    return errors


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<root>"


def _msg(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing (required)"
    msg = str(err["msg"])
    if "input" in err and kind not in ("missing",):
        msg += f" (got {truncate(err['input'])})"
    return msg


def load_config(path: str | Path) -> Sweep:
    """Read and validate a sweep file (UTF-8 text of at most ``MAX_BYTES`` bytes)."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConfigError([("<file>", f"cannot read {p}: {why}")], str(p)) from None
    if len(data) > MAX_BYTES:
        raise ConfigError([("<file>", f"larger than {MAX_BYTES // 1024} KiB; a sweep file is a "
                                      "short YAML text (use {start, stop, num} ranges)")], str(p))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([("<file>", f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                                      f"{exc.start}); save the file as UTF-8")], str(p)) from None
    return parse_config(text, source=str(p))
