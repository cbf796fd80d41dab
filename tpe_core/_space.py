"""Search spaces: nested structures of distributions, compiled once.

A space is a nested structure of dicts, lists and tuples whose leaves are
distributions (:class:`Float`, :class:`Int`, :class:`Categorical`,
:class:`Normal`, or a scipy.stats frozen distribution) or constants. A
:class:`Categorical` whose options hold distributions makes a conditional
space: only the chosen branch's parameters are active.

:class:`SearchSpace` compiles such a structure into

* a flat, ordered list of :class:`Param` records (a parent Categorical always
  comes before the parameters of its branches);
* a template that rebuilds the configuration, in the shape of the space,
  from one encoded row.

Encoding
--------
A configuration is encoded as one float64 row with a column per parameter:
the raw value of a numeric parameter, the option index of a Categorical,
and NaN for a parameter that is inactive in this configuration. Samplers
work on these rows directly; a history of trials is a ``(n_trials,
n_params)`` matrix.

Names
-----
A parameter is named by its path in the space, the components joined by
``/``: dict keys, list and tuple positions, and for a parameter inside a
branch of a conditional Categorical, the index of that branch. In
``{"model": Categorical([{"C": Float(...)}, {"depth": Int(...)}])}`` the
parameters are ``model``, ``model/0/C`` and ``model/1/depth``. A flat dict
space keeps its plain keys. A distribution with a ``label`` is named by its
label instead (as hyperopt's ``hp`` functions do). A space that is a single
distribution without a label names it ``x``. Names must be unique.
"""

from __future__ import annotations

import copy
import difflib
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tpe_core._distributions import Categorical, Distribution, _choice_key, pickled

__all__ = ["Param", "SearchSpace", "SpaceError", "from_sklearn"]

_ROOT_NAME = "x"


class SpaceError(ValueError):
    """A search space is ill-formed, or a configuration does not fit it."""


def format_path(path: tuple[Any, ...]) -> str:
    """``('model', 1, 'C')`` -> ``"space['model'][1]['C']"``."""
    return "space" + "".join(f"[{part!r}]" for part in path)


class _ScipyDistribution(Distribution):
    """A scipy.stats (frozen) distribution used as a leaf, as scikit-learn's
    ``RandomizedSearchCV`` accepts; only prior sampling uses it."""

    def __init__(self, dist: Any, *, label: str | None = None) -> None:
        import scipy.stats

        self.dist = dist
        self.label = label
        self.discrete = isinstance(getattr(dist, "dist", dist), scipy.stats.rv_discrete)

    def _describe(self) -> str:
        name = getattr(getattr(self.dist, "dist", self.dist), "name", "distribution")
        return f"scipy.stats.{name}"

    def __repr__(self) -> str:
        args = [repr(a) for a in getattr(self.dist, "args", ())]
        args += [f"{k}={v!r}" for k, v in getattr(self.dist, "kwds", {}).items()]
        return f"{self._describe()}({', '.join(args)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ScipyDistribution) and (
            other.dist is self.dist or _scipy_key(other.dist) == _scipy_key(self.dist)
        )

    __hash__ = Distribution.__hash__

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.asarray(self.dist.rvs(size=size, random_state=rng), dtype=float)

    def _decode(self, x: float) -> int | float:
        return int(round(x)) if self.discrete else float(x)

    def _encode(self, value: Any) -> float:
        if isinstance(value, (bool, str, bytes)) or not isinstance(
            value, (int, float, np.integer, np.floating)
        ):
            raise self._error(f"expected a number, got {value!r}")
        x = float(value)
        low, high = (float(b) for b in self.dist.support())
        if not low <= x <= high:
            raise self._error(f"{value!r} is outside the support [{low!r}, {high!r}]")
        if self.discrete and not x.is_integer():
            raise self._error(f"expected an integer, got {value!r}")
        return x


def _scipy_leaf(dist: Any, path: tuple[Any, ...]) -> Distribution:
    """The leaf for a scipy.stats distribution: a discrete one given by its
    values (``rv_discrete(values=(xk, pk))``) is a :class:`Categorical` of
    them, weighted by ``pk``, so that every sampler keeps to them.

    Raises
    ------
    SpaceError
        For another object with an ``rvs`` method (scikit-learn samples
        those; parzen encodes every value as a number or an option, and
        bounds a parameter by its distribution's support).
    """
    import scipy.stats

    if not isinstance(dist, (scipy.stats.distributions.rv_frozen, scipy.stats.rv_continuous, scipy.stats.rv_discrete)):
        raise SpaceError(
            f"{format_path(path)}: {type(dist).__name__} has an rvs() method but is not a scipy.stats "
            "distribution; give the values to search as a list (or a Categorical of them), a scipy.stats "
            "distribution, or a Float / Int"
        )
    xk, pk = getattr(dist, "xk", None), getattr(dist, "pk", None)
    if xk is not None and pk is not None:
        return Categorical(np.asarray(xk).tolist(), weights=np.asarray(pk).tolist())
    return _ScipyDistribution(dist)


def _scipy_key(dist: Any) -> tuple[Any, ...]:
    """What defines a scipy.stats distribution: its family and its arguments
    (a frozen one and its unpickled copy are the same)."""
    return (
        type(getattr(dist, "dist", dist)),
        repr(getattr(dist, "args", ())),
        repr(sorted(getattr(dist, "kwds", {}).items())),
        repr(getattr(dist, "xk", None)),
        repr(getattr(dist, "pk", None)),
    )


def _is_scipy_distribution(obj: Any) -> bool:
    return hasattr(obj, "rvs") and not isinstance(obj, Distribution)


def _constant_at(space: Any, path: tuple[Any, ...]) -> tuple[bool, Any]:
    """``(True, value)`` when ``path`` leads through the dicts of ``space`` to a constant, else ``(False, None)``."""
    node = space
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    if not path or isinstance(node, (Distribution, Mapping)) or _is_scipy_distribution(node):
        return False, None
    return True, node


def _constant_changes(before: Any, now: Any, path: tuple[Any, ...] = ()) -> list[str]:
    """What differs in the constants (the parts that are not distributions)
    of two space definitions, in words."""
    if before is now or all(isinstance(x, Distribution) or _is_scipy_distribution(x) for x in (before, now)):
        return []  # distributions are parameters, compared as such
    if isinstance(before, Mapping) and isinstance(now, Mapping):
        changes = []
        for key in {**before, **now}:
            where = format_path((*path, key))
            if key not in now:
                changes.append(f"the constant {where} is no longer in the space")
            elif key not in before:
                changes.append(f"the constant {where} is new ({now[key]!r})")
            else:
                changes += _constant_changes(before[key], now[key], (*path, key))
        return changes
    if isinstance(before, (list, tuple)) and type(before) is type(now) and len(before) == len(now):
        return [c for i, (b, n) in enumerate(zip(before, now)) for c in _constant_changes(b, n, (*path, i))]
    if _choice_key(before) == _choice_key(now):
        return []
    if type(before) is type(now) and None in (pickled(before), pickled(now)):
        return []  # a lambda made again with the space: nothing to compare it by
    return [f"the constant {format_path(path)} was {before!r}, is {now!r}"]



@dataclass(frozen=True)
class Param:
    """One parameter of a compiled space.

    Attributes
    ----------
    name : str
        The parameter's name (its label, or its path joined by ``/``).
    path : tuple
        Path from the root of the space, for error messages.
    distribution : Distribution
        Its distribution.
    parent : int or None
        Column of the conditional Categorical whose branch holds it, or None
        when it is always active.
    branch : int or None
        Option index of that Categorical under which it is active.
    conditional : bool
        Whether this is a Categorical whose options hold parameters; it is
        then recorded by the index of the chosen branch.
    """

    name: str
    path: tuple[Any, ...]
    distribution: Distribution
    parent: int | None
    branch: int | None
    conditional: bool


def _holds_distribution(node: Any) -> bool:
    if isinstance(node, Distribution) or _is_scipy_distribution(node):
        return True
    if isinstance(node, Mapping):
        return any(_holds_distribution(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_holds_distribution(v) for v in node)
    return False


def _fresh(value: Any) -> Any:
    """A copy of a mutable container, so that objectives cannot change the space."""
    return copy.deepcopy(value) if isinstance(value, (list, dict, set, tuple)) else value


# Template nodes: rebuild the configuration from an encoded row.
class _Const:
    def __init__(self, value: Any) -> None:
        self.value = value

    def fill(self, row: np.ndarray, params: Sequence[Param]) -> Any:
        return _fresh(self.value)


class _Leaf:
    def __init__(self, column: int) -> None:
        self.column = column

    def fill(self, row: np.ndarray, params: Sequence[Param]) -> Any:
        return _fresh(params[self.column].distribution._decode(row[self.column]))


class _Branch:
    def __init__(self, column: int, options: list[Any]) -> None:
        self.column = column
        self.options = options

    def fill(self, row: np.ndarray, params: Sequence[Param]) -> Any:
        return self.options[int(row[self.column])].fill(row, params)


class _Container:
    def __init__(self, kind: type, keys: list[Any], children: list[Any]) -> None:
        self.kind = kind
        self.keys = keys
        self.children = children

    def fill(self, row: np.ndarray, params: Sequence[Param]) -> Any:
        values = [child.fill(row, params) for child in self.children]
        if self.kind is dict:
            return dict(zip(self.keys, values))
        if hasattr(self.kind, "_fields"):  # a namedtuple
            return self.kind(*values)
        return self.kind(values)


class SearchSpace:
    """A search space compiled for sampling, encoding and decoding.

    Parameters
    ----------
    space : dict, list, tuple, Distribution or SearchSpace
        The space definition (see the module docstring for the language).

    Attributes
    ----------
    space : object
        The definition, as given.
    params : tuple of Param
        The parameters, parents before the parameters of their branches.
    names : tuple of str
        The parameter names, in column order.

    Raises
    ------
    SpaceError
        When names collide or an element cannot be part of a space; the
        message names the offending path, e.g. ``space['model'][1]['C']``.

    Examples
    --------
    >>> from tpe_core import Categorical, Float, Int
    >>> space = SearchSpace({
    ...     "lr": Float(1e-4, 1e-1, log=True),
    ...     "model": Categorical([{"depth": Int(1, 4)}, {"width": Int(8, 64)}]),
    ... })
    >>> space.names
    ('lr', 'model', 'model/0/depth', 'model/1/width')
    """

    def __init__(self, space: Any) -> None:
        if isinstance(space, SearchSpace):  # compiled already: the same definition again
            space = space.space
        self.space = space
        params: list[Param] = []
        self._template = self._compile(space, (), None, None, params)
        self.params = tuple(params)
        self.names = tuple(p.name for p in params)
        self._check_unique_names()
        self._columns = {name: j for j, name in enumerate(self.names)}

    @classmethod
    def coerce(cls, space: Any) -> SearchSpace:
        """Return ``space`` itself when already compiled, else compile it."""
        return space if isinstance(space, SearchSpace) else cls(space)

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        return f"SearchSpace({self.space!r})"

    # ------------------------------------------------------------ compiling
    def _compile(
        self,
        node: Any,
        path: tuple[Any, ...],
        parent: int | None,
        branch: int | None,
        params: list[Param],
    ) -> Any:
        if _is_scipy_distribution(node):
            node = _scipy_leaf(node, path)
        if isinstance(node, Distribution):
            return self._compile_leaf(node, path, parent, branch, params)
        if isinstance(node, Mapping):
            keys = list(node)
            for key in keys:
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    raise SpaceError(
                        f"{format_path(path)}: keys must be strings or integers, got {key!r} "
                        f"({type(key).__name__})"
                    )
            children = [self._compile(node[k], path + (k,), parent, branch, params) for k in keys]
            return _Container(dict, keys, children)
        if isinstance(node, (list, tuple)):
            children = [
                self._compile(v, path + (i,), parent, branch, params) for i, v in enumerate(node)
            ]
            return _Container(type(node) if isinstance(node, tuple) else list, [], children)
        if isinstance(node, (set, frozenset)) and any(_holds_distribution(v) for v in node):
            raise SpaceError(
                f"{format_path(path)}: a set is a constant, but this one holds a distribution; a set has no "
                "order to name its members by: give a list or a tuple"
            )
        return _Const(node)

    def _compile_leaf(
        self,
        dist: Distribution,
        path: tuple[Any, ...],
        parent: int | None,
        branch: int | None,
        params: list[Param],
    ) -> Any:
        name = dist.label if dist.label is not None else "/".join(map(str, path)) or _ROOT_NAME
        if not isinstance(name, str) or not name:
            raise SpaceError(f"{format_path(path)}: label must be a non-empty string, got {name!r}")
        conditional = isinstance(dist, Categorical) and any(
            _holds_distribution(option) for option in dist.choices
        )
        param = Param(name, path, dist, parent, branch, conditional)
        column = len(params)
        params.append(param)
        if not isinstance(dist, Categorical) or not conditional:
            return _Leaf(column)
        options = [
            self._compile(option, path + (b,), column, b, params)
            for b, option in enumerate(dist.choices)
        ]
        return _Branch(column, options)

    def _check_unique_names(self) -> None:
        seen: dict[str, Param] = {}
        for p in self.params:
            if p.name in seen:
                raise SpaceError(
                    f"{format_path(p.path)}: parameter name {p.name!r} is already used at "
                    f"{format_path(seen[p.name].path)}; labels must be unique"
                )
            seen[p.name] = p

    # ------------------------------------------------------------ activity
    def changes_from(self, before: SearchSpace) -> list[str]:
        """What differs in the parameters and the constants of this space from
        those of ``before``, in words (empty when they are the same)."""
        if before.params == self.params:
            return _constant_changes(before.space, self.space)
        old = {p.name: p for p in before.params}
        new = {p.name: p for p in self.params}
        changes = []
        for n in (n for n in old if n not in new):  # a parameter gone, or now a constant
            constant, value = _constant_at(self.space, old[n].path)
            changes.append(f"{n!r} was {old[n].distribution!r}, is the constant {value!r}" if constant
                           else f"{n!r} is no longer in the space")
        for n in (n for n in new if n not in old):  # a parameter new, or a constant before
            constant, value = _constant_at(before.space, new[n].path)
            changes.append(f"{n!r} was the constant {value!r}, is {new[n].distribution!r}" if constant
                           else f"{n!r} is new")
        changes += [
            f"{n!r} was {old[n].distribution!r}, is {new[n].distribution!r}"
            for n in new
            if n in old and old[n].distribution != new[n].distribution
        ]
        changes += [
            f"{n!r} was {before._place_of(old[n])}, is {self._place_of(new[n])}"
            for n in new
            if n in old and old[n].distribution == new[n].distribution
            and before._place_of(old[n]) != self._place_of(new[n])
        ]
        return changes or [f"the parameters are in another order: {list(old)} before, {list(new)} now"]

    def _place_of(self, param: Param) -> str:
        """Where ``param`` sits, whatever the order of the parameters: its path, and the branch it is under."""
        where = "at " + "/".join(map(str, param.path)) if param.path else "at the root"
        if param.parent is None:
            return f"{where}, always active"
        return f"{where}, active under option {param.branch} of {self.params[param.parent].name!r}"

    def active_mask(self, rows: np.ndarray) -> np.ndarray:
        """Which parameters each row activates, from its Categorical choices.

        Parameters
        ----------
        rows : ndarray of shape (n_rows, n_params)
            Encoded values; those of inactive parameters are ignored.

        Returns
        -------
        ndarray of bool, shape (n_rows, n_params)
        """
        active = np.ones(rows.shape, dtype=bool)
        for j, p in enumerate(self.params):
            if p.parent is not None:
                active[:, j] = active[:, p.parent] & (rows[:, p.parent] == p.branch)
        return active

    # ------------------------------------------------------------ decoding
    def decode_config(self, row: np.ndarray) -> Any:
        """The configuration, in the shape of the space, for one encoded row."""
        return self._template.fill(row, self.params)

    def decode_params(self, row: np.ndarray, *, index_categoricals: bool = False) -> dict[str, Any]:
        """The active parameters of one encoded row, flat, by name.

        A conditional Categorical gives the index of its chosen branch; any
        other Categorical gives its chosen option, or its index when
        ``index_categoricals`` is true (hyperopt's convention).
        """
        out: dict[str, Any] = {}
        for x, p in zip(row.tolist(), self.params):
            if math.isnan(x):
                continue
            if isinstance(p.distribution, Categorical) and (p.conditional or index_categoricals):
                out[p.name] = int(x)
            else:
                out[p.name] = p.distribution._decode(x)
        return out

    # ------------------------------------------------------------ encoding
    def encode_params(
        self,
        params: Mapping[str, Any],
        *,
        index_categoricals: bool = False,
        ignore_inactive: bool = False,
    ) -> np.ndarray:
        """Encode flat parameters (as :meth:`decode_params` gives) into a row.

        Every active parameter must be given; unknown names are errors, and
        so are parameters of branches that are not chosen unless
        ``ignore_inactive`` is true.
        """
        unknown = [name for name in params if name not in self._columns]
        if unknown:
            raise SpaceError(self._unknown_message(unknown[0]))
        row = np.full(len(self.params), np.nan)
        for j, p in enumerate(self.params):
            active = p.parent is None or row[p.parent] == p.branch
            if not active:
                if p.name in params and not ignore_inactive:
                    raise SpaceError(
                        f"parameter {p.name!r} is not active: it belongs to branch {p.branch} "
                        f"of {self.params[p.parent].name!r}"  # type: ignore[index]
                    )
                continue
            if p.name not in params:
                raise SpaceError(f"parameter {p.name!r} is missing")
            row[j] = self._encode_one(p, params[p.name], index_categoricals)
        return row

    def encode_partial(self, params: Mapping[str, Any]) -> np.ndarray:
        """Encode some parameters (flat, by name): NaN for those not given.

        A parameter inside a branch chooses that branch for its parent (and
        the parent's ancestors) when they are not given; a parent given with
        another branch is an error, and so are unknown names and values out
        of their distribution.
        """
        if not isinstance(params, Mapping):
            raise TypeError(f"parameters are a dict of values by name, as trial.params shows them; got {params!r}")
        row = np.full(len(self.params), np.nan)
        if not params:
            return row
        unknown = [name for name in params if name not in self._columns]
        if unknown:
            raise SpaceError(self._unknown_message(unknown[0]))
        for name, value in params.items():
            j = self._columns[name]
            row[j] = self._encode_one(self.params[j], value, False)
        for j in reversed(range(len(self.params))):  # children come after their parents
            p = self.params[j]
            if np.isnan(row[j]) or p.parent is None:
                continue
            if np.isnan(row[p.parent]):
                row[p.parent] = p.branch
            elif row[p.parent] != p.branch:
                raise SpaceError(
                    f"parameter {p.name!r} belongs to branch {p.branch} of {self.params[p.parent].name!r}, "
                    f"which is given as branch {int(row[p.parent])}"
                )
        return row

    def complete(self, given: np.ndarray, proposal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``given`` (from :meth:`encode_partial`) filled in from ``proposal``.

        Where the given choices activate a branch that the proposal left
        inactive, its parameters are drawn from their prior; parameters the
        final choices leave inactive become NaN.
        """
        row = np.where(np.isnan(given), proposal, given)
        for j, p in enumerate(self.params):  # parents come before their children
            active = p.parent is None or row[p.parent] == p.branch
            if not active:
                row[j] = np.nan
            elif np.isnan(row[j]):
                row[j] = p.distribution._draw(rng, 1)[0]
        return row

    def _encode_one(self, p: Param, value: Any, index_categoricals: bool) -> float:
        dist = p.distribution
        try:
            if isinstance(dist, Categorical) and (p.conditional or index_categoricals):
                return dist._encode_index(value)
            return dist._encode(value)
        except ValueError as e:
            raise SpaceError(f"{format_path(p.path)}: {e}") from e

    def _unknown_message(self, name: str) -> str:
        constant, value = _constant_at(self.space, tuple(name.split("/")))
        if constant:
            return (f"{name!r} is a constant of the space ({value!r}), not a parameter; make it a distribution "
                    "to vary it")
        close = difflib.get_close_matches(name, self.names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {list(self.names)!r}"
        return f"unknown parameter {name!r}{hint}"


def from_sklearn(param_distributions: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Any:
    """Turn scikit-learn style ``param_distributions`` into a parzen space.

    As ``RandomizedSearchCV`` and ``GridSearchCV`` read them: a list of
    values is a :class:`Categorical`, a scipy.stats distribution is kept (and
    sampled by random search), a parzen distribution is kept, and a list of
    such dicts is a choice between them (a conditional space).

    Parameters
    ----------
    param_distributions : dict or list of dict
        Parameter names (``"C"``, ``"net__lr"``) to lists or distributions.

    Returns
    -------
    dict or Categorical
        A space for :class:`Study` or :class:`SearchSpace`.

    Examples
    --------
    >>> from tpe_core import Float
    >>> from_sklearn({"kernel": ["linear", "rbf"], "C": Float(1e-3, 1e3, log=True)})
    {'kernel': Categorical(choices=('linear', 'rbf'), weights=None, label=None), \
'C': Float(low=0.001, high=1000.0, log=True, step=None, label=None)}
    """
    if isinstance(param_distributions, Mapping):
        return _grid_dict(param_distributions, ())
    if isinstance(param_distributions, Sequence) and not isinstance(param_distributions, str):
        if not param_distributions:
            raise SpaceError("param_distributions: an empty list has no parameters")
        return Categorical([_grid_dict(d, (i,)) for i, d in enumerate(param_distributions)])
    raise SpaceError(
        "param_distributions must be a dict or a list of dicts, got "
        f"{type(param_distributions).__name__}"
    )


def _distinct(values: Sequence[Any], where: str) -> list[Any]:
    """The values, each once (first occurrences kept), as GridSearchCV would
    otherwise fit a repeated value twice; a warning names what was dropped."""
    keys = [_choice_key(v) for v in values]
    kept = [v for i, v in enumerate(values) if keys.index(keys[i]) == i]
    if len(kept) < len(values):
        dropped = [v for i, v in enumerate(values) if keys.index(keys[i]) != i]
        warnings.warn(f"{where}: repeated values {dropped!r} are searched once", UserWarning, stacklevel=4)
    return kept


def _grid_dict(grid: Any, path: tuple[Any, ...]) -> dict[str, Any]:
    if not isinstance(grid, Mapping):
        raise SpaceError(f"{format_path(path)}: expected a dict of parameters, got {grid!r}")
    out = {}
    for name, values in grid.items():
        if isinstance(values, Distribution) or _is_scipy_distribution(values):
            out[name] = values
        elif isinstance(values, np.ndarray) and values.ndim != 1:
            raise SpaceError(
                f"{format_path(path + (name,))}: expected a 1-d array of values, got shape "
                f"{values.shape}"
            )
        elif isinstance(values, (Sequence, np.ndarray)) and not isinstance(values, str):
            try:
                out[name] = Categorical(_distinct(values.tolist() if isinstance(values, np.ndarray) else values,
                                                  format_path(path + (name,))))
            except ValueError as e:
                raise SpaceError(f"{format_path(path + (name,))}: {e}") from e
        else:
            raise SpaceError(
                f"{format_path(path + (name,))}: expected a list of values or a distribution, "
                f"got {values!r}"
            )
    return out
