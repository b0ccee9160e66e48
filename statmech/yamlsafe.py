"""A bounded YAML reader for sweep files.

PyYAML's ``safe_load`` accepts aliases (a "billion laughs" document of a few hundred bytes
expands to gigabytes), silently keeps the last of duplicate keys, and reads YAML 1.1 numbers
(``1e-3`` is the *string* "1e-3"). :func:`safe_load` refuses aliases and duplicate keys, reads
YAML 1.2 floats, and caps the input's size and nesting depth.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml

from statmech.errors import InputError, truncate

#: largest sweep file accepted (bytes)
MAX_BYTES = 1 << 20
#: deepest nesting accepted (a sweep file needs about 4)
MAX_DEPTH = 32

# YAML 1.2 core schema floats: 1e-3, 1.5, .5, -2E+4, .inf, .nan (YAML 1.1 needs a dot and a sign)
_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)


class YamlInputError(InputError):
    """A sweep file that is not acceptable YAML (syntax, aliases, duplicate keys, size)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader without aliases or duplicate keys, with YAML 1.2 floats and a depth cap."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[Any]]] = {k: list(v)
                               for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            name = truncate(event.anchor, 40, quote=False)
            raise YamlInputError(f"line {event.start_mark.line + 1}: YAML aliases (*{name}) "
                                 "are not allowed in a sweep file; write the values out")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlInputError(f"line {mark.line + 1}: nested deeper than {MAX_DEPTH} "
                                     "levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: PyYAML reports it below
                continue
            if duplicate:
                raise YamlInputError(f"line {key_node.start_mark.line + 1}: duplicate key "
                                     f"{truncate(key, 40)}; each key may appear once")
        return super().construct_mapping(node, deep=deep)


# resolvers are tried in order: the YAML 1.2 float pattern replaces the YAML 1.1 one
for _first in "-+0123456789.":
    _Loader.yaml_implicit_resolvers[_first] = [
        (tag, regexp) for tag, regexp in _Loader.yaml_implicit_resolvers.get(_first, [])
        if tag != "tag:yaml.org,2002:float"]
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def safe_load(text: str) -> Any:
    """Parse one YAML document under the rules above; raise :class:`YamlInputError`."""
    if len(text) > MAX_BYTES:
        raise YamlInputError(f"larger than {MAX_BYTES // 1024} KiB; a sweep file is a short text")
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except YamlInputError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = exc.problem or exc.context or "syntax error"
        raise YamlInputError(f"not valid YAML{where}: {truncate(what, 120, quote=False)}") from None
    except yaml.YAMLError as exc:
        raise YamlInputError(f"not valid YAML: {truncate(str(exc), 120, quote=False)}") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise YamlInputError(f"not valid YAML: {truncate(str(exc), 120, quote=False)}") from None
    except RecursionError:
        raise YamlInputError(f"nested deeper than {MAX_DEPTH} levels") from None
