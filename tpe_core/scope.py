"""hyperopt's ``scope.int``, for spaces written with ``hyperopt.pyll.scope``.

Port ``from hyperopt.pyll import scope`` as ``from tpe_core import scope``.
``scope.int(hp.quniform(label, low, high, q))`` with a whole ``q`` (the
usual way to ask hyperopt for an integer) is the :class:`Int` of that grid,
so the configuration holds ints, as in hyperopt. Other ``scope`` functions
and arithmetic on ``hp`` nodes are not supported: parzen's spaces hold
distributions and constants, not expressions.

Examples
--------
>>> from tpe_core import hp, scope
>>> scope.int(hp.quniform("max_depth", 1, 10, 1))
Int(low=1, high=10, log=False, step=1, label='max_depth')
"""

from __future__ import annotations

import builtins

from tpe_core._distributions import Distribution, Float, Int

__all__ = ["int"]


def int(node: Distribution) -> Int:  # noqa: A001 - hyperopt's name
    """The integer version of ``node``: an :class:`Int` as is, a stepped
    :class:`Float` on a whole grid (``hp.quniform`` or ``hp.qloguniform``
    with a whole ``q``) as the :class:`Int` of the same grid.

    Raises
    ------
    ValueError
        For any other node, naming the integer distributions to use.
    """
    if isinstance(node, Int):
        return node
    if isinstance(node, Float) and node.step is not None and all(
        float(x).is_integer() for x in (node.low, node.high, node.step)
    ):
        return Int(builtins.int(node.low), builtins.int(node.high), log=node.log, step=builtins.int(node.step),
                   label=node.label)
    raise ValueError(
        f"scope.int takes an integer grid: hp.quniform or hp.qloguniform with whole bounds and a whole q, "
        f"or hp.uniformint / hp.randint; got {node!r}"
    )
