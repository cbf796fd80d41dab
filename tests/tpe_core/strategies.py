"""hypothesis strategies for valid parzen search spaces.

``search_spaces()`` draws a raw space definition (what a user writes), not a
compiled :class:`tpe_core.SearchSpace`: nested dicts, lists and tuples whose
leaves are Floats (plain, log, stepped), Ints (plain, log, stepped),
Categoricals of scalars and of tuples, conditional Categoricals whose options
are sub-spaces (nested to ``max_depth``), and constants.

Every space is valid by construction:

* a stepped Float is built as ``high = low + k * step`` with a small whole
  ``k`` and a "decimal" step (0.1, 0.25, ...), so the step divides the range;
* log bounds are > 0;
* Categorical choices are distinct under parzen's rule (``1``, ``1.0`` and
  ``True`` are different choices; tuples hold only ints);
* labels, when drawn, are unique (``p0``, ``p1``, ...) and cannot collide
  with path names (dict keys are single letters, paths never start with
  ``p`` followed by a digit);
* the number of grid points (with ``GridSampler(n_points=GRID_N_POINTS)``)
  stays at most ``max_grid``, so grid tests stay fast.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tpe_core import Categorical, Float, Int

__all__ = ["GRID_N_POINTS", "search_spaces", "spaces_with_a_float"]

# n_points the grid tests give GridSampler for unstepped Floats.
GRID_N_POINTS = 3

_KEYS = ("a", "b", "c", "d", "e")
_FLOAT_STEPS = (0.1, 0.2, 0.25, 0.5, 1.0, 2.5)
_INT_STEPS = (1, 2, 3)

_scalar_choices = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, -2.25, 1e-3, 0.1]),
    st.booleans(),
    st.text("xyz", max_size=3),
    st.none(),
    st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),  # layer sizes
)

_constants = st.one_of(
    st.integers(-5, 5),
    st.floats(-10, 10, allow_nan=False),
    st.text("uvw", max_size=3),
    st.none(),
    st.booleans(),
)


def holds_distribution(node: Any) -> bool:
    """Whether a space node holds a distribution anywhere below it."""
    if isinstance(node, (Float, Int, Categorical)):
        return True
    if isinstance(node, dict):
        return any(holds_distribution(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(holds_distribution(v) for v in node)
    return False


def _choice_key(choice: Any) -> tuple[type, Any]:
    """Distinctness of scalar choices as parzen defines it: type and value."""
    return (type(choice), choice)


class _Builder:
    """One space being drawn: the hypothesis ``draw`` and the label counter."""

    def __init__(self, draw: Any, max_depth: int, max_int_points: int, labels: bool) -> None:
        self.draw = draw
        self.max_depth = max_depth
        self.max_int_points = max_int_points
        self.labels = labels
        self.n_labels = 0

    # ------------------------------------------------------------ helpers
    def label(self) -> str | None:
        if not self.labels or self.draw(st.integers(0, 4)) != 0:  # a label one time in 5
            return None
        self.n_labels += 1
        return f"p{self.n_labels - 1}"

    def weights(self, n: int) -> list[float] | None:
        if not self.draw(st.booleans()):
            return None
        w = self.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=n, max_size=n))
        return w if sum(w) > 0 else None

    # ------------------------------------------------------------ leaves
    def leaf(self, budget: int) -> tuple[Any, int]:
        """A distribution (or a constant) with at most ``budget`` grid points."""
        kinds = ["constant", "categorical"]
        if budget >= 2:
            kinds += ["int", "float_step"]
        if budget >= GRID_N_POINTS:
            kinds += ["float", "float_log"]
        return getattr(self, "_" + self.draw(st.sampled_from(kinds)))(budget)

    def _constant(self, budget: int) -> tuple[Any, int]:
        return self.draw(_constants), 1

    def _categorical(self, budget: int) -> tuple[Any, int]:
        n = self.draw(st.integers(1, min(4, budget)))
        choices = self.draw(
            st.lists(_scalar_choices, min_size=n, max_size=n, unique_by=_choice_key)
        )
        return Categorical(choices, weights=self.weights(n), label=self.label()), n

    def _int(self, budget: int) -> tuple[Any, int]:
        step = self.draw(st.sampled_from(_INT_STEPS))
        k = self.draw(st.integers(1, min(self.max_int_points, budget) - 1))
        log = self.draw(st.booleans())
        low = self.draw(st.integers(1, 20) if log else st.integers(-10, 10))
        return Int(low, low + k * step, log=log, step=step, label=self.label()), k + 1

    def _float_step(self, budget: int) -> tuple[Any, int]:
        step = self.draw(st.sampled_from(_FLOAT_STEPS))
        k = self.draw(st.integers(1, min(8, budget - 1)))
        log = self.draw(st.booleans())
        if log:
            low = self.draw(st.floats(0.01, 10.0))
        elif self.draw(st.booleans()):
            low = self.draw(st.integers(-20, 20)) * step  # a "round" low: -0.3, 0.5, ...
        else:
            low = self.draw(st.floats(-10.0, 10.0))
        return Float(low, low + k * step, log=log, step=step, label=self.label()), k + 1

    def _float(self, budget: int) -> tuple[Any, int]:
        low = self.draw(st.floats(-100.0, 100.0))
        width = self.draw(st.floats(1e-3, 100.0))
        return Float(low, low + width, label=self.label()), GRID_N_POINTS

    def _float_log(self, budget: int) -> tuple[Any, int]:
        low = self.draw(st.floats(1e-4, 10.0))
        factor = self.draw(st.floats(1.5, 1e4))
        return Float(low, low * factor, log=True, label=self.label()), GRID_N_POINTS

    # ------------------------------------------------------------ structure
    def node(self, depth: int, budget: int) -> tuple[Any, int]:
        """Any element of a space, with at most ``budget`` grid points."""
        kinds = ["leaf"]
        if depth < self.max_depth:
            kinds += ["dict", "list", "tuple", "conditional"]
        kind = self.draw(st.sampled_from(kinds))
        if kind == "leaf":
            return self.leaf(budget)
        if kind == "conditional":
            return self.conditional(depth, budget)
        return self.container(kind, depth, budget)

    def container(self, kind: str, depth: int, budget: int) -> tuple[Any, int]:
        if kind == "dict":
            keys = self.draw(st.lists(st.sampled_from(_KEYS), max_size=3, unique=True))
        else:
            keys = list(range(self.draw(st.integers(0, 3))))
        size = 1
        values = []
        for _ in keys:
            value, n = self.node(depth + 1, budget // size)
            values.append(value)
            size *= n
        if kind == "dict":
            return dict(zip(keys, values)), size
        return (values if kind == "list" else tuple(values)), size

    def option(self, depth: int, budget: int) -> tuple[Any, int]:
        """An option of a conditional Categorical: mostly a dict sub-space."""
        kind = self.draw(st.sampled_from(["dict", "leaf", "node"]))
        if kind == "dict" and depth < self.max_depth:
            return self.container("dict", depth, budget)
        if kind == "leaf":
            return self.leaf(budget)
        return self.node(depth, budget)

    def conditional(self, depth: int, budget: int) -> tuple[Any, int]:
        """A Categorical whose options are sub-spaces; grid size is their sum."""
        n = self.draw(st.integers(1, max(1, min(3, budget))))
        options, sizes, seen = [], [], set()
        for _ in range(n):
            option, size = self.option(depth + 1, max(1, budget // n))
            if repr(option) not in seen:  # distinct options, as Categorical requires
                seen.add(repr(option))
                options.append(option)
                sizes.append(size)
        if not any(holds_distribution(o) for o in options):
            # make it conditional: one option holds a (one-point) parameter
            options[0], sizes[0] = {"k": Categorical(["only"], label=self.label())}, 1
        weights = self.weights(len(options))
        return Categorical(options, weights=weights, label=self.label()), sum(sizes)




@st.composite
def search_spaces(
    draw: Any,
    *,
    max_depth: int = 3,
    max_grid: int = 200,
    max_int_points: int = 5,
    labels: bool = True,
) -> Any:
    """A valid space definition with at most ``max_grid`` grid points.

    The root is a dict most of the time, else any element (a list, a tuple, a
    conditional Categorical, a single distribution or a constant).
    """
    builder = _Builder(draw, max_depth, max_int_points, labels)
    if draw(st.integers(0, 3)) > 0:
        space, _ = builder.container("dict", 0, max_grid)
    else:
        space, _ = builder.node(0, max_grid)
    return space


@st.composite
def spaces_with_a_float(draw: Any, **kwargs: Any) -> dict[str, Any]:
    """A dict space that always holds an active unstepped Float (``"f"``)."""
    return {"f": Float(0.0, 1.0), "rest": draw(search_spaces(**kwargs))}
