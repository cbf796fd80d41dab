"""Configuration of ``parzen tune``: config files and the search-space vocabulary.

A config file (TOML, YAML or JSON) holds the same settings as the flags,
by their long names with ``_`` for ``-`` (``n_trials``, ``dataset``, ...),
and a ``space`` table. Each entry of ``space`` is one hyperparameter of the
model::

    [space]
    lr = { float = [1e-4, 1e-1], log = true }
    n_layers = { int = [1, 4] }
    batch_size = { choices = [32, 64, 128] }
    optimizer = "adam"                          # a constant fixes it

``float`` / ``int`` take ``[low, high]`` and optional ``log`` and ``step``;
``choices`` takes a list whose options may be tables of their own
parameters (a conditional choice, as in the library). Entries replace those
of the model's default space, the others are kept; ``replace_space = true``
uses the file's space alone.

YAML is read with the YAML 1.2 core schema's scalars (:func:`yaml_load`):
``1e-3`` is a float, ``010`` the int 10, and only ``true``/``false`` are
booleans (``yes``, ``no``, ``on``, ``off`` stay strings).
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from cli._errors import CliError, did_you_mean
from tpe_core import Categorical, Float, Int

__all__ = ["SETTINGS", "default_space", "parse_space", "read_config", "yaml_load"]

#: Settings a config file may hold (the flags of ``parzen tune``).
SETTINGS = (
    "dataset", "csv", "target", "task", "model", "sampler", "n_trials", "timeout", "seed", "cv",
    "validation_fraction", "scoring", "pruner", "jobs", "dask_scheduler", "device", "storage", "study",
    "space", "replace_space", "max_epochs",
)
_KINDS = ("float", "int", "choices")
_OPTIONS = {"float": ("log", "step"), "int": ("log", "step"), "choices": ()}


def read_config(path: str) -> dict[str, Any]:
    """The settings in a ``.toml``, ``.yaml``/``.yml`` or ``.json`` file."""
    file = Path(path)
    if not file.is_file():
        raise CliError(f"no config file at {path!r}")
    suffix = file.suffix.lower()
    try:
        if suffix == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                import tomli as tomllib
            config = tomllib.loads(file.read_text())
        elif suffix in (".yaml", ".yml"):
            config = yaml_load(file.read_text()) or {}
        elif suffix == ".json":
            config = json.loads(file.read_text(), object_pairs_hook=_unique_keys)
        else:
            raise CliError(f"config file {path!r}: use .toml, .yaml, .yml or .json")
    except CliError:
        raise
    except Exception as e:
        raise CliError(f"config file {path!r} cannot be read: {e}") from None
    if not isinstance(config, dict):
        raise CliError(f"config file {path!r} must hold a table of settings, got {type(config).__name__}")
    for key in config:
        if key not in SETTINGS:
            raise CliError(f"config file {path!r}: unknown setting {key!r}" + did_you_mean(key, SETTINGS))
    return config


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are each given once (``json`` keeps the last of a repeated key)."""
    table: dict[str, Any] = {}
    for key, value in pairs:
        if key in table:
            raise ValueError(f"the key {key!r} is given twice")
        table[key] = value
    return table


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema's booleans, ints and floats, and mappings whose
    keys are each given once.

    PyYAML follows YAML 1.1: ``yes``/``no``/``on``/``off`` are booleans,
    ``010`` is octal and ``1e-3`` (no dot) is a string; it keeps the last
    of a repeated key. Only this subclass changes; ``yaml.SafeLoader`` is
    left as it is.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # a merge's keys may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)
            with contextlib.suppress(TypeError):  # an unhashable key: the constructor says so
                if key in seen:
                    raise ValueError(f"the key {key!r} is given twice (again at line {key_node.start_mark.line + 1})")
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_YAML_1_1_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("bool", "int", "float", "value")}
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML_1_1_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# The YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution); ints before floats.
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """A YAML 1.2 int: decimal (leading zeros allowed), ``0o`` octal or ``0x`` hexadecimal."""
    value = loader.construct_scalar(node)
    if re.fullmatch(r"[-+]?[0-9]+", value):
        return int(value, 10)
    if re.fullmatch(r"0o[0-7]+|0x[0-9a-fA-F]+", value):
        return int(value[2:], 8 if value[1] == "o" else 16)
    return loader.construct_yaml_int(node)  # an explicit ``!!int`` in YAML 1.1 form


_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def yaml_load(text: str) -> Any:
    r"""A YAML document (or a single scalar) read with YAML 1.2 scalars.

    Examples
    --------
    >>> yaml_load("lr: 1e-3\nepochs: 010\nnesterov: yes\nbatch_norm: true")
    {'lr': 0.001, 'epochs': 10, 'nesterov': 'yes', 'batch_norm': True}
    >>> yaml_load("-1e+2"), yaml_load(".5"), yaml_load("0x10"), yaml_load("off")
    (-100.0, 0.5, 16, 'off')
    """
    return yaml.load(text, Loader=_Yaml12Loader)  # a SafeLoader subclass: safe


def parse_space(entries: Any, where: str = "space") -> dict[str, Any]:
    """A parzen space from the config vocabulary."""
    if not isinstance(entries, dict):
        raise CliError(f"{where} must be a table of hyperparameters, got {entries!r}")
    return {str(name): _parse_entry(value, f"{where}.{name}") for name, value in entries.items()}


def _parse_entry(value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        return value  # a constant
    kinds = [k for k in _KINDS if k in value]
    if len(kinds) != 1:
        raise CliError(
            f"{where}: give exactly one of float, int or choices, got {sorted(value)}; "
            "e.g. { float = [1e-4, 1e-1], log = true }"
        )
    kind = kinds[0]
    unknown = set(value) - {kind, *_OPTIONS[kind]}
    if unknown:
        raise CliError(f"{where}: unknown key(s) {sorted(unknown)} for {kind}; allowed: {[kind, *_OPTIONS[kind]]}")
    try:
        if kind == "choices":
            options = value["choices"]
            if not isinstance(options, list) or not options:
                raise CliError(f"{where}: choices must be a non-empty list, got {options!r}")
            return Categorical(
                [parse_space(o, f"{where}[{i}]") if isinstance(o, dict) else o for i, o in enumerate(options)]
            )
        bounds = value[kind]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise CliError(f"{where}: {kind} takes [low, high], got {bounds!r}")
        options = {k: value[k] for k in _OPTIONS[kind] if k in value}
        return (Float if kind == "float" else Int)(*bounds, **options)
    except ValueError as e:
        raise CliError(f"{where}: {e}") from None


def default_space(model: str, task: str) -> dict[str, Any]:
    """The search space of ``parzen tune`` for a model: the guide's hyperparameters."""
    space: dict[str, Any] = {
        "lr": Float(1e-4, 1e-1, log=True),
        "batch_size": Categorical([32, 64, 128]),
        "max_epochs": Int(5, 30, step=5),
        "n_layers": Int(1, 3),
        "activation": Categorical(["relu", "leaky_relu", "elu", "gelu", "tanh"]),
        "dropout": Float(0.0, 0.5),
        "batch_norm": Categorical([False, True]),
        "weight_decay": Float(1e-6, 1e-2, log=True),
        "optimizer": Categorical(["adam", "adamw", "sgd", "rmsprop"]),
    }
    if model == "mlp":
        space["hidden_units"] = Int(16, 256, log=True)
    else:
        space["channels"] = Int(8, 32, log=True)
    return space
