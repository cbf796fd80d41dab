"""skorch estimators with the guide's hyperparameters as flat, tunable arguments."""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import numbers
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import sklearn.base
import torch
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import LabelEncoder
from skorch import NeuralNet, NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import BatchScoring, Callback, EpochScoring, EpochTimer, PassthroughScoring, PrintLog
from skorch.dataset import Dataset, ValidSplit, get_len
from skorch.utils import to_numpy
from torch import nn

from models._batching import TensorBatches, as_device_tensors
from models._modules import MLP, ConvNet
from tpe_core._validation import check_bool, is_integer

__all__ = [
    "OPTIMIZERS",
    "ConvNetClassifier",
    "MLPClassifier",
    "MLPRegressor",
    "TrainingInterrupted",
    "resolve_device",
]

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
}

# Callback hooks called once per batch; those around the batch's history record.
_BATCH_HOOKS = frozenset({"on_batch_begin", "on_batch_end", "on_grad_computed"})

# Optimizers that take a ``momentum`` argument.
_WITH_MOMENTUM = (torch.optim.SGD, torch.optim.RMSprop)


class TrainingInterrupted(KeyboardInterrupt):
    """The user stopped training, or a ``parzen`` command (Ctrl-C or SIGTERM).

    A KeyboardInterrupt, so that it stops a study, but distinct from the
    KeyboardInterrupt skorch's own early stopping uses to end training
    normally.
    """


@functools.lru_cache(maxsize=1)
def _cuda_available() -> bool:
    return torch.cuda.is_available()


def resolve_device(device: str | None) -> str | None:
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; others unchanged.

    Raises
    ------
    ValueError
        For a CUDA device when torch sees no GPU.
    """
    if device == "auto":
        return "cuda" if _cuda_available() else "cpu"
    if device is not None and str(device).startswith("cuda") and not _cuda_available():
        raise ValueError(
            f"device={device!r}, but torch {torch.__version__} sees no CUDA GPU "
            f"({'a CUDA build' if torch.backends.cuda.is_built() else 'a CPU-only build'}); "
            "use device='auto' to fall back to the CPU, or device='cpu'"
        )
    return device


def resolve_optimizer(optimizer: str | type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """The optimizer class for a name of :data:`OPTIMIZERS` or a class."""
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]
    raise ValueError(
        f"optimizer={optimizer!r} is not one of {sorted(OPTIMIZERS)} nor a torch.optim.Optimizer class"
    )


@contextlib.contextmanager
def _user_interrupts() -> Iterator[None]:
    """While training (and while a ``parzen`` command runs trials), SIGINT and
    SIGTERM raise :class:`TrainingInterrupted` (main thread only; elsewhere
    signals keep their handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise TrainingInterrupted(f"training interrupted by {signal.Signals(signum).name}")

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


#: Why features with a missing or infinite value are refused.
_MISSING_FEATURES = "X contains NaN or infinity (or values too large for float32); impute or drop them first"


def _as_features(X: Any) -> Any:
    """Features as a float32 array (from numpy, pandas or lists); datasets,
    as skorch passes them around internally, unchanged."""
    if isinstance(X, torch.utils.data.Dataset):
        return X
    if isinstance(X, torch.Tensor):
        return X.detach().cpu().numpy().astype(np.float32, copy=False)
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise TypeError("X is a sparse matrix, and these networks take dense features: pass X.toarray()")
    if hasattr(X, "isna") and bool(np.asarray(X.isna()).any()):  # pandas: pd.NA does not convert to a float
        raise ValueError(_MISSING_FEATURES)
    X = np.asarray(X)
    if np.iscomplexobj(X):
        raise ValueError("X has complex values, and these networks take real features: split them into two columns")
    X = X.astype(np.float32, copy=False)
    if not np.isfinite(X).all():
        raise ValueError(_MISSING_FEATURES)
    return X


def _batch_len(batch: Any) -> int:
    """Samples in a batch, as skorch counts them (``len`` of a tensor's first
    dimension without skorch's general ``get_len``)."""
    X = batch[0] if isinstance(batch, (tuple, list)) else batch
    return len(X) if isinstance(X, torch.Tensor) else get_len(X)


def _acts_on(callback: Callback, hook: str, training: bool) -> bool:
    """Whether ``callback`` does something at ``hook`` in the training (or
    validation) pass: it overrides the hook, and is not an ``EpochScoring``
    of the other pass (which caches predictions of its own pass only)."""
    method = getattr(type(callback), hook)
    if method is getattr(Callback, hook):
        return False
    return not (method is EpochScoring.on_batch_end and callback.on_train != training)


def _epoch_callbacks(net: Any, scores: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """skorch's default callbacks, with extra ``scores``; PrintLog only when
    something may be printed: with ``verbose``, or when one of its arguments
    is given (a ``callbacks__print_log__sink`` prints at ``verbose=0`` too); it
    formats its table every epoch even with ``verbose=0``."""
    callbacks = [
        ("epoch_timer", EpochTimer()),
        ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ("valid_loss", PassthroughScoring(name="valid_loss")),
        *scores,
    ]
    printing = net.verbose or any(name.startswith("callbacks__print_log__") for name in vars(net))
    return callbacks + [("print_log", PrintLog())] if printing else callbacks


def _accuracy(net: Any, X: Any, y: np.ndarray) -> float:
    """Share of correct predictions (what skorch's "accuracy" scoring computes)."""
    return float(np.mean(net.predict(X) == y))


class _Accuracy(EpochScoring):
    """skorch's ``EpochScoring`` of :func:`_accuracy`, computed from the
    logits it cached in the pass when it has them.

    The share of samples whose largest logit is the encoded target: the
    value of ``predict`` against the labels, without moving the logits to
    numpy, normalising and decoding them (nor sklearn's ``check_scoring``)
    every epoch. With caching off, skorch's way: ``predict`` and
    :func:`_accuracy`.
    """

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        if not self.y_preds_ or len(self.y_trues_) != len(self.y_preds_):
            super().on_epoch_end(net, **kwargs)
            return
        predicted = torch.cat(self.y_preds_).argmax(dim=1)
        correct = (predicted == torch.cat(self.y_trues_).to(predicted.device)).sum().item()
        self._record_score(net.history, correct / len(predicted))


class _TunableNet:
    """What the parzen estimators share (mixed into skorch's nets).

    Subclasses list in ``_module_params`` the constructor arguments that go
    to the module; the input and output sizes are inferred at ``fit``.
    """

    _module_params: tuple[str, ...] = ()
    # the flat constructor arguments that go to the optimizer
    _optimizer_params = ("optimizer", "weight_decay", "momentum")

    def _setup(
        self,
        module: type[nn.Module],
        criterion: type[nn.Module],
        *,
        stratified: bool,
        hyperparameters: dict[str, Any],
        lr: float,
        batch_size: int,
        max_epochs: int,
        optimizer: Any,
        device: str | None,
        verbose: int,
        kwargs: dict[str, Any],
    ) -> None:
        """What every constructor does: skorch's arguments to skorch, the flat
        hyperparameters stored as given."""
        for name, fixed in (("module", module), ("criterion", criterion)):
            if name in kwargs:
                raise TypeError(
                    f"{type(self).__name__} got {name}={kwargs[name]!r}, but it builds its own {name}, "
                    f"{fixed.__name__}; wrap another one in skorch's NeuralNet classes"
                )
        kwargs.setdefault("train_split", _NetSeededSplit(0.2, stratified=stratified))
        super().__init__(  # type: ignore[call-arg]
            module, criterion=criterion, optimizer=optimizer, lr=lr, batch_size=batch_size,
            max_epochs=max_epochs, device=device, verbose=verbose, **kwargs,
        )
        for name, value in hyperparameters.items():
            setattr(self, name, value)

    # ---------------------------------------------------------------- device
    @property
    def device(self) -> str | None:  # type: ignore[override]
        """The torch device: ``"auto"`` resolves to CUDA when available."""
        return resolve_device(self._device)

    @device.setter
    def device(self, value: str | None) -> None:
        self._device = value

    def _get_param_names(self) -> list[str]:
        # module and criterion are fixed by the class; device is reported as given.
        names = super()._get_param_names()  # type: ignore[misc]
        return [n for n in names if n not in ("module", "criterion", "device", "_device")]

    def __getstate__(self) -> dict[str, Any]:
        # skorch's unpickling maps tensors by state["device"]: give it the resolved one, or
        # the CPU where torch sees no GPU (a CUDA net built elsewhere holds no CUDA tensor here).
        state = super().__getstate__()  # type: ignore[misc]
        try:
            state["device"] = self.device
        except ValueError:
            state["device"] = "cpu"
        return state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep=deep)  # type: ignore[misc]
        params["device"] = self._device  # as given ("auto"), not as resolved
        return params

    def set_params(self, **params: Any) -> _TunableNet:
        """skorch's ``set_params``, the flat hyperparameters treated as the
        ``module__*`` and ``optimizer__*`` arguments they stand for: on an
        initialized net, setting one of the network's (``n_layers``,
        ``dropout``, ...) builds a new network and its optimizer, and one of
        the optimizer's (``optimizer``, ``weight_decay``, ``momentum``) a new
        optimizer, so that ``partial_fit`` and ``warm_start`` train with them.
        """
        changed = set(params)
        for name in changed:
            if name.startswith("callbacks__print_log__"):  # so that the default callbacks hold PrintLog
                setattr(self, name, params[name])
        if "optimizer" in params:  # skorch would take it for an optimizer__ argument, and fail on a fitted net
            self.optimizer = params.pop("optimizer")
        super().set_params(**params)  # type: ignore[misc]
        if not getattr(self, "initialized_", False):
            return self
        module = sorted(changed & set(self._module_params))
        optimizer = sorted(changed & set(self._optimizer_params))
        if module:
            self._initialize_module(reason=self._format_reinit_msg("module", module))  # type: ignore[attr-defined]
            self._initialize_criterion(  # type: ignore[attr-defined]
                reason=self._format_reinit_msg("criterion", triggered_directly=False)  # type: ignore[attr-defined]
            )
        if module or optimizer:
            self._initialize_optimizer(  # type: ignore[attr-defined]
                reason=self._format_reinit_msg("optimizer", optimizer, triggered_directly=not module)  # type: ignore[attr-defined]
            )
        return self

    # ---------------------------------------------------------------- building
    def _n_outputs(self) -> int:
        raise NotImplementedError

    def initialize_callbacks(self) -> _TunableNet:
        """skorch's, with the user's scoring callbacks given the targets in the user's own units and labels
        (the network trains on encoded labels and standardized targets; ``predict`` gives the original ones)."""
        super().initialize_callbacks()  # type: ignore[misc]
        for _, callback in self.callbacks_:  # type: ignore[attr-defined]
            if isinstance(callback, (EpochScoring, BatchScoring)) and callback.target_extractor is to_numpy:
                callback.target_extractor = self.decode_targets  # type: ignore[attr-defined]
        return self

    def initialize_module(self) -> _TunableNet:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(
                f"{type(self).__name__}.initialize() builds the network for the X of a fit, and there was none: "
                "fit (or partial_fit) first, then load_params; or pickle the fitted net"
            )
        # fit builds the module on the net's own stream; a direct initialize() or set_params(module__...)
        # gets one here, so that neither reseeds torch's global generator
        fitting = getattr(self, "_on_own_stream", False)
        with contextlib.nullcontext() if fitting else self._own_random_stream(fresh=True):
            if self.random_state is not None:
                torch.manual_seed(int(self.random_state))
            self.module_ = self._build_module(self.n_features_in_, self._n_outputs())
        return self

    def _build_module(self, n_features: int, n_outputs: int) -> nn.Module:
        kwargs = {name: getattr(self, name) for name in self._module_params}
        kwargs.update(self.get_params_for("module"))  # type: ignore[attr-defined]
        return self.module(n_features, n_outputs, **kwargs)  # type: ignore[attr-defined]

    def initialize_optimizer(self, triggered_directly: Any = None) -> _TunableNet:
        self.optimizer_ = self._build_optimizer(self.get_all_learnable_params())  # type: ignore[attr-defined]
        return self

    def _build_optimizer(self, named_parameters: Any) -> torch.optim.Optimizer:
        cls = resolve_optimizer(self.optimizer)  # type: ignore[attr-defined]
        args, kwargs = self.get_params_for_optimizer("optimizer", named_parameters)  # type: ignore[attr-defined]
        if self.weight_decay or "weight_decay" in inspect.signature(cls).parameters:  # LBFGS has none
            kwargs.setdefault("weight_decay", self.weight_decay)
        if issubclass(cls, _WITH_MOMENTUM):
            kwargs.setdefault("momentum", self.momentum)
        return cls(*args, **kwargs)

    def check_params(self, n_features: int, **params: Any) -> None:
        """Refuse hyperparameters that cannot build this network and its optimizer,
        without data or training (a tuner checks its space with it before any trial).

        Parameters
        ----------
        n_features : int
            The width of the input the network will get.
        **params
            Hyperparameters, as for ``set_params``.

        Raises
        ------
        ValueError or TypeError
            As ``fit`` would, naming the parameter.
        """
        net = sklearn.base.clone(self).set_params(**params)
        net._check_training()
        net._build_module(n_features, 2)
        net._build_optimizer([("weight", nn.Parameter(torch.zeros(1)))])

    def get_loss(self, y_pred: torch.Tensor, y_true: Any, X: Any = None, training: bool = False) -> torch.Tensor:
        """The criterion's loss, plus ``l1`` times the sum of absolute weights
        when training."""
        loss = super().get_loss(y_pred, y_true, X=X, training=training)  # type: ignore[misc]
        if training and self.l1:
            weights = [p for name, p in self.module_.named_parameters() if name.endswith("weight")]
            loss = loss + self.l1 * sum(w.abs().sum() for w in weights)
        return loss

    # ---------------------------------------------------------------- batching
    def get_iterator(self, dataset: Any, training: bool = False) -> Any:
        """Batches sliced from tensors on the device when the data fit there
        (see :mod:`models._batching`); skorch's DataLoader otherwise.

        On the device, validation runs as one batch (unless
        ``iterator_valid__batch_size`` is set): without gradients the batch
        size changes no result, only the number of Python round trips.
        Batch normalisation cannot train on a batch of one sample: on the
        device such a last batch joins the one before it; through the
        DataLoader it is dropped (``drop_last``, another sample each epoch),
        unless ``iterator_train__drop_last`` is set. Training batches are
        shuffled on both paths unless ``iterator_train__shuffle=False``.
        """
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)  # type: ignore[attr-defined]
        custom = set(kwargs) - {"batch_size", "shuffle"}
        tensors = None if custom else as_device_tensors(dataset, self.device)
        batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.module_.modules())
        if tensors is None:
            if not training or self.iterator_train is not torch.utils.data.DataLoader:  # type: ignore[attr-defined]
                return super().get_iterator(dataset, training=training)  # type: ignore[misc]
            size = kwargs.get("batch_size", self.batch_size)  # type: ignore[attr-defined]
            size = len(dataset) if size == -1 else size
            loader = {"shuffle": True, **kwargs, "batch_size": size}  # shuffled, as on the device
            if batch_norm and "drop_last" not in kwargs and len(dataset) > 1 and len(dataset) % size == 1:
                loader["drop_last"] = True
            return self.iterator_train(dataset, **loader)  # type: ignore[attr-defined]
        # a seeded fit permutes its batches on a stream of its own, which training further goes on with
        generator = getattr(self, "_batch_generator", None)
        default_size = self.batch_size if training else -1  # type: ignore[attr-defined]
        return TensorBatches(
            *tensors,
            batch_size=kwargs.get("batch_size", default_size),
            shuffle=kwargs.get("shuffle", training),
            generator=generator,
            no_single_last=training and batch_norm,
        )

    # ---------------------------------------------------------------- per-batch overhead
    def run_single_epoch(
        self, iterator: Any, training: bool, prefix: str, step_fn: Callable[..., dict[str, Any]], **fit_params: Any
    ) -> None:
        """skorch's training or validation pass, with its batch records written
        once at the end of the pass when nothing watches the batches.

        The history ends the same as skorch's: one record per batch in
        ``history[-1, "batches"]`` (``{prefix}_loss``, ``{prefix}_batch_size``)
        and ``{prefix}_batch_count``; the losses stay on the device until the
        end of the pass (one transfer instead of one ``loss.item()`` per batch).
        When a callback (or a subclass) has ``on_batch_begin``,
        ``on_grad_computed`` or ``on_batch_end`` hooks for this pass, each batch is recorded before
        they run, as in skorch. A pass interrupted part-way (Ctrl-C) leaves no
        batch records for that pass.
        """
        if iterator is None:
            return
        if self._watches_batches(training):
            super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)  # type: ignore[misc]
            return
        losses: list[torch.Tensor] = []
        sizes: list[int] = []
        for batch in iterator:
            losses.append(step_fn(batch, **fit_params)["loss"].detach())
            sizes.append(_batch_len(batch))
        values = torch.stack(losses).tolist() if losses else []
        self.history[-1]["batches"].extend(  # type: ignore[attr-defined]
            {f"{prefix}_loss": loss, f"{prefix}_batch_size": size} for loss, size in zip(values, sizes)
        )
        self.history.record(f"{prefix}_batch_count", len(sizes))  # type: ignore[attr-defined]

    def _watches_batches(self, training: bool) -> bool:
        """Whether a batch hook of this pass does anything: a callback's or a
        subclass's own ``on_batch_begin``, ``on_grad_computed`` or
        ``on_batch_end`` (each may read or write the batch's record)."""
        own = any(getattr(type(self), hook) is not getattr(NeuralNet, hook) for hook in _BATCH_HOOKS)
        return own or any(self._listeners(hook, training) for hook in _BATCH_HOOKS)

    def notify(self, method_name: str, **cb_kwargs: Any) -> None:
        """skorch's ``notify``, calling per-batch hooks only on the callbacks
        that act on them in this pass (most act on none; skipping them is
        most of the framework's per-batch cost)."""
        if method_name not in _BATCH_HOOKS:
            return super().notify(method_name, **cb_kwargs)  # type: ignore[misc]
        getattr(self, method_name)(self, **cb_kwargs)
        for cb in self._listeners(method_name, cb_kwargs["training"]):
            getattr(cb, method_name)(self, **cb_kwargs)
        return None

    def _listeners(self, method_name: str, training: bool) -> list[Any]:
        """The callbacks whose ``method_name`` hook acts in the training (or
        validation) pass: those that override it, less skorch's scoring
        callbacks of the other pass (they cache their own pass only)."""
        callbacks = self.callbacks_  # type: ignore[attr-defined]
        cache = getattr(self, "_listener_cache_", None)
        if cache is None or cache[0] is not callbacks:
            cache = (callbacks, {
                (hook, phase): [cb for _, cb in callbacks if _acts_on(cb, hook, phase)]
                for hook in _BATCH_HOOKS for phase in (True, False)
            })
            self._listener_cache_ = cache
        return cache[1][method_name, training]

    def _set_training(self, training: bool = True) -> None:
        """Switch train/eval mode only when it changes (skorch does it every batch)."""
        if getattr(self, "module_", None) is None or self.module_.training != training:
            super()._set_training(training)  # type: ignore[misc]

    # ---------------------------------------------------------------- fitting
    def _train(self, X: np.ndarray, y: np.ndarray, routing_method: str, **fit_params: Any) -> _TunableNet:
        """``max_epochs`` epochs of skorch's loop on prepared arrays.

        Unlike skorch, a user's Ctrl-C or SIGTERM is not swallowed: it raises
        :class:`TrainingInterrupted`; skorch's early stopping still ends
        training normally.
        """
        self.notify("on_train_begin", X=X, y=y)  # type: ignore[attr-defined]
        with _user_interrupts():
            try:
                self.fit_loop(X, y, _routing_method=routing_method, **fit_params)  # type: ignore[attr-defined]
            except TrainingInterrupted:
                raise
            except KeyboardInterrupt:  # skorch's EarlyStopping ends training this way
                pass
        self.notify("on_train_end", X=X, y=y)  # type: ignore[attr-defined]
        return self

    def _fit_arrays(
        self, X: np.ndarray, y: np.ndarray, *, fresh: bool, method: str = "fit", **fit_params: Any
    ) -> _TunableNet:
        """Train on prepared arrays: a new network when ``fresh``, else the
        current one further (``partial_fit``, ``warm_start``)."""
        self._check_training()
        if "sample_weight" in fit_params:
            raise TypeError(
                f"{type(self).__name__} does not take sample_weight (its batches are not weighted)"
                + ("; weigh the classes with criterion__weight=torch.tensor([...]), one weight per class"
                   if isinstance(self, NeuralNetClassifier) else "")
            )
        if X.ndim != 2:
            raise ValueError(
                f"X must be 2-d, one row per sample, got shape {X.shape}; a single feature is X.reshape(-1, 1)"
            )
        if 0 in X.shape:
            raise ValueError(f"X has shape {X.shape}, and training needs at least one sample and one feature")
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}; give one target per sample")
        if not fresh and X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but this network was built for {self.n_features_in_}"
            )
        with self._own_random_stream(fresh):
            if fresh:
                self.n_features_in_ = X.shape[1]
                self.initialize()  # type: ignore[attr-defined]
            return self._train(X, y, method, **fit_params)

    @contextlib.contextmanager
    def _own_random_stream(self, fresh: bool) -> Iterator[None]:
        """With a ``random_state``, train on a random stream of the net's own:
        torch's global generators are as they were after ``fit``, and a fit
        that trains further (``partial_fit``, ``warm_start``) goes on with the
        stream where the previous one left it, as it would have without
        ``fit`` in between. The batches sliced on the device are permuted by a
        generator of their own, seeded by ``random_state`` at a fresh fit and
        likewise continued. Without one, torch's global generators."""
        if self.random_state is None:
            yield
            return
        device = torch.device(self.device or "cpu")
        cuda = [torch.cuda.current_device() if device.index is None else device.index] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            state = None if fresh else getattr(self, "_random_stream_", None)
            self._batch_generator = torch.Generator().manual_seed(int(self.random_state))
            if state is not None:
                torch.set_rng_state(state[0])
                for index, cuda_state in zip(cuda, state[1]):
                    torch.cuda.set_rng_state(cuda_state, index)
                self._batch_generator.set_state(state[2])
            self._on_own_stream = True
            try:
                yield
            finally:
                self._on_own_stream = False
                batches = self.__dict__.pop("_batch_generator")  # a torch.Generator does not pickle; its state does
                self._random_stream_ = (
                    torch.get_rng_state(), [torch.cuda.get_rng_state(i) for i in cuda], batches.get_state()
                )

    def _continues(self, warm: bool) -> bool:
        """Whether this fit goes on training the current network."""
        return warm and bool(getattr(self, "initialized_", False)) and hasattr(self, "n_features_in_")

    def _features(self, X: Any, *, reset: bool) -> Any:
        """``X`` as float32 features (:func:`_as_features`), its DataFrame column names recorded as
        ``feature_names_in_`` when ``reset`` (a fresh fit), else checked against them, as in scikit-learn:
        columns in another order would be read as other features."""
        columns = getattr(X, "columns", None)
        names = np.asarray(columns, dtype=object) if columns is not None and all(
            isinstance(c, str) for c in columns) else None
        if reset:
            self.__dict__.pop("feature_names_in_", None)
            if names is not None:
                self.feature_names_in_ = names
        elif names is not None and hasattr(self, "feature_names_in_") and not np.array_equal(
                names, self.feature_names_in_):
            raise ValueError(f"X has the columns {names.tolist()}, and this network was fitted on "
                             f"{self.feature_names_in_.tolist()}: give those, in that order")
        return _as_features(X)

    def _fitted_features(self, X: Any, what: str = "X") -> Any:
        """Features for the fitted network (:meth:`_features`), refused unless 2-d and as wide as its input."""
        X = self._features(X, reset=False)
        if isinstance(X, np.ndarray):  # else a dataset, as skorch passes them internally
            if X.ndim != 2:
                raise ValueError(f"{what} must be 2-d, one row per sample, got shape {X.shape}; one sample is "
                                 "X.reshape(1, -1)")
            if X.shape[1] != self.n_features_in_:
                one = "; one sample is X.reshape(1, -1)" if X.size == self.n_features_in_ else ""
                raise ValueError(
                    f"{what} has shape {X.shape}, but this network takes {self.n_features_in_} features{one}"
                )
        return X

    def predict_proba(self, X: Any) -> np.ndarray:
        """The network's outputs (class probabilities for a classifier) for
        float32 features checked against the fitted network; none for no rows."""
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        X = self._fitted_features(X)
        if isinstance(X, np.ndarray) and not len(X):
            return np.empty((0, self._n_outputs()), dtype=np.float32)
        return super().predict_proba(X)  # type: ignore[misc]

    def get_split_datasets(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """skorch's split, the default hold-out seeded by ``random_state`` as it is now. A validation
        set of the user's own (``predefined_split(Dataset(X_valid, y_valid))``) is converted as the
        training data is: float32 features, encoded labels, standardized targets."""
        if not isinstance(self.train_split, _NetSeededSplit):  # type: ignore[attr-defined]
            train, valid = super().get_split_datasets(X, y, **fit_params)  # type: ignore[misc]
            if type(valid) is Dataset and valid.y is not None and not isinstance(valid.X, torch.utils.data.Dataset):
                valid = Dataset(self._fitted_features(valid.X, "the validation set's X"),
                                self._training_targets(valid.y))
            return train, valid
        split = self.train_split.seeded(self.random_state)  # type: ignore[attr-defined]
        dataset = self.get_dataset(X, y)  # type: ignore[attr-defined]
        return split(dataset, **fit_params) if y is None else split(dataset, y, **fit_params)

    def _check_training(self) -> None:
        """Refuse training settings the loop would misread (a zero batch, no epoch, a negative penalty)."""
        batch_size, max_epochs, l1 = self.batch_size, self.max_epochs, self.l1  # type: ignore[attr-defined]
        if not is_integer(batch_size) or (batch_size < 1 and batch_size != -1):
            raise ValueError(
                f"batch_size must be -1 (the whole training set) or an integer >= 1, got batch_size={batch_size!r}"
            )
        if not is_integer(max_epochs) or max_epochs < 1:
            raise ValueError(f"max_epochs must be an integer >= 1, got max_epochs={max_epochs!r}")
        random_state = self.random_state  # type: ignore[attr-defined]
        if random_state is not None and (not is_integer(random_state) or not 0 <= random_state < 2**32):
            raise ValueError(f"random_state must be None or an integer from 0 to 2**32 - 1, got "
                             f"random_state={random_state!r}")
        if getattr(self, "batch_norm", False) is True and batch_size == 1:
            raise ValueError("batch_norm=True normalizes over each batch, so it needs batches of 2 or more samples; "
                             "got batch_size=1")
        if isinstance(l1, bool) or not isinstance(l1, numbers.Real) or not l1 >= 0:
            raise ValueError(f"l1 must be a number >= 0, got l1={l1!r}")
        for name in ("lr", "weight_decay", "momentum", "l1"):  # torch takes an infinite one, and trains to nan
            value = getattr(self, name, None)
            if isinstance(value, numbers.Real) and not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {name}={value!r}")


class _NetSeededSplit(ValidSplit):
    """The estimators' default hold-out: skorch's ``ValidSplit`` seeded, at each
    fit, by the net's ``random_state`` as it is then (so that
    ``set_params(random_state=...)`` re-seeds it)."""

    def __init__(self, cv: float = 0.2, stratified: bool = False) -> None:
        super().__init__(cv, stratified=stratified)

    def seeded(self, random_state: int | None) -> ValidSplit:
        return ValidSplit(self.cv, stratified=self.stratified, random_state=random_state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cv={self.cv!r}, stratified={self.stratified!r})"


class _TunableClassifier(_TunableNet, NeuralNetClassifier):
    """Classification: labels of any type, encoded for training."""

    def _n_outputs(self) -> int:
        return len(self.label_encoder_.classes_)

    @property
    def classes_(self) -> np.ndarray:
        return self.label_encoder_.classes_

    @property
    def _default_callbacks(self) -> list[tuple[str, Any]]:
        # valid_acc from the logits cached during validation (see _Accuracy); without
        # caching, predictions (original labels) against the decoded targets, by a plain
        # mean: scikit-learn's scorer validates its inputs at every epoch.
        accuracy = _Accuracy(
            _accuracy, name="valid_acc", lower_is_better=False, target_extractor=self.decode_targets
        )
        return _epoch_callbacks(self, [("valid_acc", accuracy)])

    def decode_targets(self, y: Any) -> np.ndarray:
        """Encoded training targets back to the original labels."""
        return self.label_encoder_.classes_[to_numpy(y).astype(np.int64)]

    def fit(self, X: Any, y: Any, **fit_params: Any) -> _TunableClassifier:
        """Encode the labels, infer the sizes, train (see skorch's ``fit``;
        with ``warm_start``, a fitted network trains further on labels it knows).
        The network is built for the constructor's ``classes`` when given (a
        label of ``y`` outside them is refused), else for the labels of ``y``."""
        continues = self._continues(self.warm_start)  # type: ignore[attr-defined]
        labels = _labels(y)
        if not continues:
            self._fit_labels(labels)
        return self._fit_arrays(self._features(X, reset=not continues), self._encode(labels), fresh=not continues,
                                **fit_params)

    def partial_fit(self, X: Any, y: Any, classes: Any = None, **fit_params: Any) -> _TunableClassifier:
        """Train for ``max_epochs`` more epochs (the first call builds the
        network, for ``classes`` when given, else for the constructor's
        ``classes``, else for the labels of ``y``)."""
        fresh = not self._continues(True)
        labels = _labels(y)
        if fresh:
            self._fit_labels(labels, classes)
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes).ravel()), self.classes_):
            raise ValueError(
                f"classes={np.unique(np.asarray(classes).ravel()).tolist()} differs from the classes this network "
                f"was built for, {self.classes_.tolist()}; pass the same classes, or none, to a later partial_fit"
            )
        return self._fit_arrays(self._features(X, reset=fresh), self._encode(labels), fresh=fresh,
                                method="partial_fit", **fit_params)

    def _fit_labels(self, labels: np.ndarray, classes: Any = None) -> None:
        """The classes the network is built for, two or more: ``classes`` (``partial_fit``'s), else the
        constructor's ``classes``, else the labels of ``y``."""
        classes = self.classes if classes is None else classes  # type: ignore[attr-defined]
        encoder = LabelEncoder().fit(labels if classes is None else np.asarray(classes).ravel())
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"a classifier needs 2 or more classes, got {len(encoder.classes_)}: "
                f"{encoder.classes_.tolist()}"
            )
        self.label_encoder_ = encoder

    def _training_targets(self, y: Any) -> np.ndarray:
        """Labels as the network trains on them: class indices."""
        return self._encode(_labels(y))

    def _encode(self, y: np.ndarray) -> np.ndarray:
        """Checked labels (:func:`_labels`) as the network's class indices."""
        unknown = np.setdiff1d(y, self.label_encoder_.classes_)
        if len(unknown):
            raise ValueError(
                f"y has labels {unknown.tolist()} that this network was not built for "
                f"(its classes: {self.label_encoder_.classes_.tolist()}); "
                + ("give classes= that hold them" if self.classes is not None  # type: ignore[attr-defined]
                   else "fit it anew (warm_start=False)")
            )
        return self.label_encoder_.transform(y).astype(np.int64)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, as an original label."""
        best = self.predict_proba(X).argmax(axis=1)
        return self.label_encoder_.classes_[best]


def _labels(y: Any) -> np.ndarray:
    """Class labels as a 1-d array (a single column too, as scikit-learn takes it).

    Raises
    ------
    ValueError
        For no ``y``, several columns (multilabel or multi-output targets,
        which these networks do not train for) or more dimensions, missing
        labels (NaN), and numbers that are not labels (continuous values,
        infinities).
    """
    if y is None:
        raise ValueError("a classifier needs y, one label per sample, got y=None")
    y = np.asarray(y)
    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise ValueError(
            f"y must be one label per sample (1-d, or one column), got shape {y.shape}: multilabel and "
            "multi-output classification are not supported"
        )
    y = y.ravel()
    if _missing(y).any():
        raise ValueError("y has missing labels (NaN, None or pandas' NA); drop those rows or give them a label")
    if y.dtype.kind in "fc" and not (np.isfinite(y).all() and np.all(y == np.round(y))):
        raise ValueError(
            "y holds continuous values (numbers that are not whole, or infinite), not class labels; "
            "use MLPRegressor to regress them"
        )
    return y


def _missing(y: np.ndarray) -> np.ndarray:
    """Which labels are missing: NaN, or in an object array None, NaN or pandas' NA."""
    if y.dtype.kind in "fc":
        return np.isnan(y)
    if y.dtype.kind == "O":
        return np.fromiter((_is_missing(label) for label in y), dtype=bool, count=len(y))
    return np.zeros(len(y), dtype=bool)


def _is_missing(label: Any) -> bool:
    if label is None:
        return True
    try:
        return bool(label != label)  # NaN
    except TypeError:  # pandas' NA, which is neither equal nor unequal to itself
        return True


class MLPClassifier(_TunableClassifier):
    """A multi-layer perceptron classifier (skorch ``NeuralNetClassifier``).

    Parameters
    ----------
    n_layers, hidden_units, activation, dropout, batch_norm
        The network, see :class:`models.MLP`.
    lr : float, default=1e-3
        Learning rate.
    batch_size : int, default=64
        Samples per optimisation step (-1: the whole training set).
    max_epochs : int, default=20
        Training epochs.
    optimizer : {"adam", "sgd", "adamw", "rmsprop"} or torch optimizer class, default="adam"
    momentum : float, default=0.9
        Momentum of SGD and RMSprop (ignored by the others).
    weight_decay : float, default=0.0
        L2 penalty, passed to the optimizer.
    l1 : float, default=0.0
        L1 penalty on the weights, added to the training loss.
    device : str, default="auto"
        ``"auto"`` trains on CUDA when available, else on the CPU.
    random_state : int, optional
        Seeds the initial weights, the validation split, the shuffling and
        dropout, on a random stream of the net's own: torch's global
        generators are left as they were, and ``partial_fit`` goes on with
        the net's stream.
    **kwargs
        skorch's own arguments (``train_split``, ``callbacks``,
        ``verbose``, ``module__*``, ``optimizer__*``, ...).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _module_params = ("n_layers", "hidden_units", "activation", "dropout", "batch_norm")

    def __init__(
        self,
        n_layers: int = 2,
        hidden_units: int | Sequence[int] = 128,
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        *,
        lr: float = 1e-3,
        batch_size: int = 64,
        max_epochs: int = 20,
        optimizer: str | type[torch.optim.Optimizer] = "adam",
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        device: str | None = "auto",
        random_state: int | None = None,
        verbose: int = 0,
        **kwargs: Any,
    ) -> None:
        self._setup(
            MLP, nn.CrossEntropyLoss, stratified=True, lr=lr, batch_size=batch_size, max_epochs=max_epochs,
            optimizer=optimizer, device=device, verbose=verbose, kwargs=kwargs,
            hyperparameters=dict(
                n_layers=n_layers, hidden_units=hidden_units, activation=activation, dropout=dropout,
                batch_norm=batch_norm, momentum=momentum, weight_decay=weight_decay, l1=l1,
                random_state=random_state,
            ),
        )


class ConvNetClassifier(_TunableClassifier):
    """A convolutional classifier for square single-channel images (as the 8x8
    digits), see :class:`models.ConvNet`; training arguments as
    :class:`MLPClassifier`."""

    _module_params = ("n_layers", "channels", "kernel_size", "activation", "dropout", "batch_norm")

    def __init__(
        self,
        n_layers: int = 2,
        channels: int | Sequence[int] = 16,
        kernel_size: int = 3,
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        *,
        lr: float = 1e-3,
        batch_size: int = 64,
        max_epochs: int = 20,
        optimizer: str | type[torch.optim.Optimizer] = "adam",
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        device: str | None = "auto",
        random_state: int | None = None,
        verbose: int = 0,
        **kwargs: Any,
    ) -> None:
        self._setup(
            ConvNet, nn.CrossEntropyLoss, stratified=True, lr=lr, batch_size=batch_size, max_epochs=max_epochs,
            optimizer=optimizer, device=device, verbose=verbose, kwargs=kwargs,
            hyperparameters=dict(
                n_layers=n_layers, channels=channels, kernel_size=kernel_size, activation=activation,
                dropout=dropout, batch_norm=batch_norm, momentum=momentum, weight_decay=weight_decay, l1=l1,
                random_state=random_state,
            ),
        )

    def _fit_arrays(self, X: np.ndarray, y: np.ndarray, **fit_params: Any) -> _TunableNet:
        return super()._fit_arrays(_flat_images(X), y, **fit_params)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of images given as in ``fit``: flat, (n, side, side) or (n, 1, side, side)."""
        return super().predict_proba(_flat_images(self._features(X, reset=False)))


def _flat_images(X: Any) -> Any:
    """Images one row each (the network makes them square again); datasets unchanged.

    Raises
    ------
    ValueError
        For images that are not square ``(n, side, side)`` or one-channel ``(n, 1, side, side)``: they
        would be read as other square images of the same number of pixels.
    """
    if isinstance(X, torch.utils.data.Dataset) or X.ndim < 3:  # a 1-d X is refused as such, not made a column
        return X
    image = X.shape[1:]
    if len(image) > 3 or (len(image) == 3 and image[0] != 1) or image[-1] != image[-2]:
        raise ValueError(
            f"ConvNetClassifier takes square one-channel images, (n, side, side) or (n, 1, side, side), or "
            f"flat rows of side * side pixels; got X of shape {X.shape}"
        )
    return X.reshape(len(X), int(np.prod(image)))


class MLPRegressor(_TunableNet, NeuralNetRegressor):
    """A multi-layer perceptron regressor (skorch ``NeuralNetRegressor``), with
    the arguments of :class:`MLPClassifier`. Targets may be 1-d or 2-d; a 1-d
    target gives 1-d predictions.

    Parameters
    ----------
    standardize_target : bool, default=True
        Train the network on the target centred and scaled to unit variance
        (each column, by the statistics of the first ``fit``), and map its
        outputs back in ``predict``: the learning rates that train a
        network then do not depend on the target's units (a target in the
        hundreds makes SGD diverge at most of them). The training and
        validation losses in ``history`` are then in standardized units;
        ``predict``, ``score`` and the scorers see the original ones. The
        statistics are kept as ``target_mean_`` and ``target_scale_``.
    **others
        As :class:`MLPClassifier`.
    """

    _module_params = ("n_layers", "hidden_units", "activation", "dropout", "batch_norm")

    def __init__(
        self,
        n_layers: int = 2,
        hidden_units: int | Sequence[int] = 128,
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        *,
        lr: float = 1e-3,
        batch_size: int = 64,
        max_epochs: int = 20,
        optimizer: str | type[torch.optim.Optimizer] = "adam",
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        device: str | None = "auto",
        random_state: int | None = None,
        standardize_target: bool = True,
        verbose: int = 0,
        **kwargs: Any,
    ) -> None:
        self._setup(
            MLP, nn.MSELoss, stratified=False, lr=lr, batch_size=batch_size, max_epochs=max_epochs,
            optimizer=optimizer, device=device, verbose=verbose, kwargs=kwargs,
            hyperparameters=dict(
                n_layers=n_layers, hidden_units=hidden_units, activation=activation, dropout=dropout,
                batch_norm=batch_norm, momentum=momentum, weight_decay=weight_decay, l1=l1,
                random_state=random_state, standardize_target=standardize_target,
            ),
        )

    def _n_outputs(self) -> int:
        return self.n_outputs_

    def _training_targets(self, y: Any) -> np.ndarray:
        """Targets as the network trains on them: 2-d float32, standardized as the training targets were."""
        y = np.asarray(y, dtype=np.float32)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if y.ndim != 2 or y.shape[1] != self.n_outputs_:
            raise ValueError(f"the validation targets have shape {y.shape}, and this network has {self.n_outputs_} "
                             "outputs")
        return (y - self.target_mean_) / self.target_scale_

    def _check_training(self) -> None:
        super()._check_training()
        check_bool("standardize_target", self.standardize_target)

    @property
    def _default_callbacks(self) -> list[tuple[str, Any]]:
        return _epoch_callbacks(self, [])

    def fit(self, X: Any, y: Any, **fit_params: Any) -> MLPRegressor:
        """Train on float32 features and a 2-d float32 target (a 1-d float64
        target would make skorch broadcast the loss wrongly)."""
        return self._fit_target(X, y, fresh=not self._continues(self.warm_start), **fit_params)

    def partial_fit(self, X: Any, y: Any, **fit_params: Any) -> MLPRegressor:
        """Train for ``max_epochs`` more epochs (the first call builds the network)."""
        return self._fit_target(X, y, fresh=not self._continues(True), method="partial_fit", **fit_params)

    def _fit_target(self, X: Any, y: Any, *, fresh: bool, method: str = "fit", **fit_params: Any) -> MLPRegressor:
        if y is None:
            raise ValueError("a regressor needs y, the targets, got y=None")
        y = np.asarray(y, dtype=np.float32)
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or infinity (or values too large for float32)")
        if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] == 0):
            raise ValueError(f"y must be 1-d or 2-d (one column per output, at least one), got shape {y.shape}")
        ndim, y = y.ndim, (y.reshape(-1, 1) if y.ndim == 1 else y)
        if fresh:
            self._check_training()
            self.target_ndim_, self.n_outputs_ = ndim, y.shape[1]
            self.target_mean_, self.target_scale_ = _target_statistics(y, self.standardize_target)
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs, but this network was built for {self.n_outputs_}")
        y = (y - self.target_mean_) / self.target_scale_
        return self._fit_arrays(self._features(X, reset=fresh), y, fresh=fresh, method=method, **fit_params)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions in the target's units and shape (the network's outputs,
        mapped back when the target is standardized)."""
        return self._original(super().predict_proba(X))

    @property
    def predict_proba(self) -> Any:
        """A regressor has none, as in scikit-learn (``hasattr`` is False): skorch's
        would give the network's outputs, in standardized units; ``forward(X)`` gives those."""
        raise AttributeError(
            "MLPRegressor has no predict_proba: a regressor predicts values (predict); forward(X) (float32 X) "
            "gives the network's outputs, in the standardized units it trains in"
        )

    def decode_targets(self, y: Any) -> np.ndarray:
        """Training targets (2-d float32, standardized) back to the units and
        shape they were given in."""
        return self._original(to_numpy(y))

    def _original(self, y: np.ndarray) -> np.ndarray:
        y = y * self.target_scale_ + self.target_mean_
        return y.ravel() if self.target_ndim_ == 1 else y


def _target_statistics(y: np.ndarray, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation (1 for a constant column),
    or the identity (0 and 1) when not standardizing; float32, as the target."""
    if not standardize or not len(y):
        return np.zeros(y.shape[1], dtype=np.float32), np.ones(y.shape[1], dtype=np.float32)
    scale = y.std(axis=0, dtype=np.float64)
    scale[scale == 0] = 1.0
    return y.mean(axis=0, dtype=np.float64).astype(np.float32), scale.astype(np.float32)
