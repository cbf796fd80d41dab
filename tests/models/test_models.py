"""models: modules, skorch estimators, batching, trial reporting, objectives."""

from __future__ import annotations

import copy
import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback, EarlyStopping, EpochScoring
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from torch import nn
from torch.utils.data import DataLoader

from models import (
    ACTIVATIONS,
    MLP,
    ConvNet,
    ConvNetClassifier,
    MLPClassifier,
    MLPRegressor,
    ReportToTrial,
    estimator_params,
    make_objective,
)
from models._batching import TensorBatches
from tpe_core import BasePruner, Categorical, Float, Int, RandomSampler, Study, TrialState


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split((X / 16).astype(np.float64), y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def count(module: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in module.modules())


# ---------------------------------------------------------------- modules
def test_mlp_layers_follow_the_hyperparameters() -> None:
    assert count(MLP(4, 3, n_layers=3, hidden_units=8), nn.Linear) == 4
    assert count(MLP(4, 3, n_layers=0), nn.Linear) == 1
    assert count(MLP(4, 3, n_layers=2, batch_norm=True), nn.BatchNorm1d) == 2
    assert count(MLP(4, 3, n_layers=2, dropout=0.3), nn.Dropout) == 2
    assert count(MLP(4, 3, n_layers=2, dropout=0.0), nn.Dropout) == 0
    assert count(MLP(4, 3, n_layers=2, activation="tanh"), nn.Tanh) == 2
    widths = [m.out_features for m in MLP(4, 3, n_layers=2, hidden_units=[16, 8]).modules() if isinstance(m, nn.Linear)]
    assert widths == [16, 8, 3]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_builds(name: str) -> None:
    assert MLP(4, 2, n_layers=1, activation=name)(torch.zeros(3, 4)).shape == (3, 2)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"activation": "swish"}, "relu"),  # lists the valid names
        ({"dropout": 1.0}, "dropout"),
        ({"n_layers": 2, "hidden_units": [8]}, "one width per layer"),
        ({"hidden_units": 0}, "positive"),
        ({"n_layers": -1}, "n_layers"),
    ],
)
def test_invalid_module_arguments(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        MLP(4, 2, **kwargs)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"activation": "swish"}, "activation='swish' is not one of"),
        ({"optimizer": "adagrad"}, "optimizer='adagrad' is not one of"),
        ({"n_layers": 2.5}, "n_layers must be an integer >= 0"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
        ({"dropout": "x"}, r"dropout must be a number in \[0, 1\), got dropout='x'"),
        ({"batch_norm": "no"}, "batch_norm must be True or False, got batch_norm='no'"),
        ({"batch_size": 0}, r"batch_size must be -1 \(the whole training set\) or an integer >= 1, got batch_size=0"),
        ({"max_epochs": -1}, r"max_epochs must be an integer >= 1, got max_epochs=-1"),
        ({"l1": -1.0}, r"l1 must be a number >= 0, got l1=-1.0"),
        ({"lr": -1.0}, "Invalid learning rate"),
        # torch takes these, and every epoch trains to nan
        ({"lr": float("inf")}, "lr must be finite, got lr=inf"),
        ({"weight_decay": float("inf")}, "weight_decay must be finite, got weight_decay=inf"),
        ({"optimizer": "sgd", "momentum": float("inf")}, "momentum must be finite, got momentum=inf"),
        ({"l1": float("inf")}, "l1 must be finite, got l1=inf"),
        ({"optimizer": "sgd", "momentum": "high"}, "not supported between"),
        ({"module__nonexistent": 1}, "unexpected keyword argument 'nonexistent'"),
    ],
)
def test_check_params_refuses_what_fit_would_without_training(params: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        MLPClassifier().check_params(4, **params)
    with pytest.raises((ValueError, TypeError), match=message):
        MLPClassifier(**{"max_epochs": 1, **params}).fit(np.zeros((8, 4), np.float32), [0, 1] * 4)


def test_check_params_accepts_what_fit_accepts() -> None:
    MLPClassifier().check_params(4, activation="gelu", optimizer="sgd", momentum=0.5, n_layers=0, lr=0.1)
    MLPClassifier().check_params(4, n_layers=np.int64(2), hidden_units=np.int64(8), batch_size=-1)  # numpy ints
    MLPClassifier().check_params(4, batch_norm=np.bool_(True))
    MLPClassifier().check_params(4, hidden_units=np.array([16, 8]), n_layers=2)  # widths as an array
    ConvNetClassifier().check_params(64, channels=[4, 8], n_layers=2)
    with pytest.raises(ValueError, match="square"):
        ConvNetClassifier().check_params(63)


def test_convnet_takes_flat_or_image_input() -> None:
    net = ConvNet(64, 10, n_layers=3, channels=[4, 8, 8], batch_norm=True)
    assert count(net, nn.Conv2d) == 3 and count(net, nn.BatchNorm2d) == 3
    assert net(torch.zeros(2, 64)).shape == (2, 10)
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="square"):
        ConvNet(63, 10)


# ---------------------------------------------------------------- estimators
def test_estimator_hyperparameters_reach_the_network_and_optimizer(iris) -> None:
    X, y = iris
    net = MLPClassifier(
        n_layers=3, hidden_units=16, batch_norm=True, optimizer="sgd", lr=0.05,
        momentum=0.5, weight_decay=1e-3, max_epochs=1, random_state=0,
    ).fit(X, y)
    assert count(net.module_, nn.Linear) == 4 and count(net.module_, nn.BatchNorm1d) == 3
    assert net.module_.layers[0].in_features == 4 and net.module_.layers[-1].out_features == 3
    group = net.optimizer_.param_groups[0]
    assert isinstance(net.optimizer_, torch.optim.SGD)
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.05, 0.5, 1e-3)
    adagrad = MLPClassifier(optimizer=torch.optim.Adagrad, max_epochs=1).fit(X, y)
    assert isinstance(adagrad.optimizer_, torch.optim.Adagrad)
    with pytest.raises(ValueError, match="adamw"):
        MLPClassifier(optimizer="lbfgs", max_epochs=1).fit(X, y)


def test_l1_increases_the_training_loss_for_the_same_weights(iris) -> None:
    X, y = iris
    plain = MLPClassifier(max_epochs=1, random_state=0).fit(X, y)
    penalised = clone(plain).set_params(l1=0.1).fit(X, y)
    penalised.module_.load_state_dict(plain.module_.state_dict())
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    with torch.no_grad():
        logits = plain.module_(Xt)
        base = plain.get_loss(logits, yt, training=True)
        more = penalised.get_loss(logits, yt, training=True)
        same_eval = penalised.get_loss(logits, yt, training=False)
    assert more > base and same_eval == pytest.approx(base.item())


def test_classifier_learns_digits(digits) -> None:
    X_train, X_test, y_train, y_test = digits
    clf = MLPClassifier(n_layers=1, hidden_units=64, max_epochs=8, random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.9
    assert clf.predict_proba(X_test).shape == (len(X_test), 10)


def test_convnet_classifier_learns_digits(digits) -> None:
    X_train, X_test, y_train, y_test = digits
    clf = ConvNetClassifier(channels=16, max_epochs=10, lr=3e-3, random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.8


def test_convnet_refuses_images_it_would_read_as_other_images_and_names_channels() -> None:
    # 4-channel 4x4 images were trained as 1-channel 8x8 ones, 2x8 images as 4x4, without a word.
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    for shape in [(40, 4, 4, 4), (40, 2, 8), (40, 1, 2, 8), (40, 2, 2, 2, 2)]:
        with pytest.raises(ValueError, match=rf"square one-channel images.*got X of shape \({shape[0]}, "):
            ConvNetClassifier(max_epochs=1, channels=2, n_layers=1).fit(rng.random(shape).astype(np.float32), y)
    clf = ConvNetClassifier(max_epochs=1, channels=2, n_layers=1).fit(rng.random((40, 16)).astype(np.float32), y)
    with pytest.raises(ValueError, match="square one-channel images"):
        clf.predict(rng.random((3, 2, 8)).astype(np.float32))
    with pytest.raises(ValueError, match="channels must be positive integers, got 0"):  # it said hidden_units
        ConvNetClassifier(channels=0).check_params(16)
    with pytest.raises(ValueError, match=r"channels=\[4\] gives 1 widths but n_layers=2"):
        ConvNetClassifier(channels=[4], n_layers=2).check_params(16)


def test_convnet_classifier_predicts_images_shaped_as_it_was_fitted_on() -> None:
    images = load_digits().images[:200] / 16
    y = load_digits().target[:200]
    for shape in [(200, 64), (200, 8, 8), (200, 1, 8, 8)]:
        clf = ConvNetClassifier(max_epochs=1, random_state=0).fit(images.reshape(shape), y)
        probabilities = [clf.predict_proba(images.reshape(s)) for s in [(200, 64), (200, 8, 8), (200, 1, 8, 8)]]
        np.testing.assert_array_equal(probabilities[1], probabilities[0])
        np.testing.assert_array_equal(probabilities[2], probabilities[0])
        assert 0.0 <= clf.score(images.reshape(shape), y) <= 1.0


def test_regressor_beats_the_mean_on_diabetes() -> None:
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    reg = MLPRegressor(n_layers=1, hidden_units=32, max_epochs=20, random_state=0)  # the default lr
    reg.fit(scaler.transform(X_train), y_train)  # float64, 1-d target
    prediction = reg.predict(scaler.transform(X_test))
    assert prediction.shape == y_test.shape
    assert reg.score(scaler.transform(X_test), y_test) > 0.2  # R^2 of the mean predictor is ~0


def test_a_standardized_target_trains_where_the_raw_one_diverges() -> None:
    # Diabetes' target is in the hundreds: SGD at lr=0.01 diverges on it as it is.
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = dict(optimizer="sgd", lr=1e-2, max_epochs=20, random_state=0, train_split=None)
    raw = MLPRegressor(standardize_target=False, **params).fit(X, y)
    assert not np.isfinite(raw.predict(X)).any()
    reg = MLPRegressor(**params).fit(X, y)
    assert reg.target_mean_ == pytest.approx([y.mean()]) and reg.target_scale_ == pytest.approx([y.std()])
    assert reg.score(X, y) > 0.3
    assert not hasattr(reg, "predict_proba")  # a regressor has none, as in scikit-learn
    outputs = reg.forward(X.astype(np.float32)).numpy()  # the network's, in standardized units
    np.testing.assert_allclose(reg.predict(X), outputs.ravel() * y.std() + y.mean(), rtol=1e-5)
    assert np.isclose(reg.history[-1, "train_loss"], np.mean((outputs.ravel() - (y - y.mean()) / y.std()) ** 2),
                      rtol=0.5)  # the loss is in standardized units, not in the target's squared hundreds


def test_each_target_column_is_standardized_and_predicted_in_its_own_units(iris) -> None:
    X, y = iris
    Y = np.c_[y, 1000.0 * y + 5.0, np.full(len(y), 3.0)]  # the last column constant: scale 1
    reg = MLPRegressor(max_epochs=2, random_state=0).fit(X, Y)
    np.testing.assert_allclose(reg.target_mean_, Y.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(reg.target_scale_, [y.std(), 1000.0 * y.std(), 1.0], rtol=1e-6)
    np.testing.assert_allclose(reg.decode_targets((Y - reg.target_mean_) / reg.target_scale_), Y, rtol=1e-5)
    assert reg.predict(X).shape == (150, 3)
    reg.set_params(warm_start=True).fit(X, Y[:, [0, 1, 2]] + 1.0)  # training further keeps the first statistics
    np.testing.assert_allclose(reg.target_mean_, Y.mean(axis=0), rtol=1e-6)


def test_targets_of_the_wrong_shape_or_a_non_bool_flag_are_refused(iris) -> None:
    X, y = iris
    with pytest.raises(ValueError, match=r"y must be one label per sample .* got shape \(150, 2\): multilabel"):
        MLPClassifier(max_epochs=1).fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match=r"got shape \(150, 1, 1\)"):
        MLPClassifier(max_epochs=1).partial_fit(X, y.reshape(-1, 1, 1))
    assert MLPClassifier(max_epochs=1).fit(X, y.reshape(-1, 1)).predict(X).shape == (150,)  # one column is labels
    with pytest.raises(ValueError, match=r"y must be 1-d or 2-d .* got shape \(150, 1, 1\)"):
        MLPRegressor(max_epochs=1).fit(X, y.reshape(-1, 1, 1).astype(float))
    with pytest.raises(ValueError, match=r"at least one\), got shape \(150, 0\)"):  # it trained a net of no outputs
        MLPRegressor(max_epochs=1).fit(X, np.zeros((150, 0)))
    pd = pytest.importorskip("pandas")
    labels = pd.Series(np.array(["a", "b", "c"])[y], dtype="string")
    labels[3] = pd.NA
    with pytest.raises(ValueError, match="y has missing labels"):  # "boolean value of NA is ambiguous"
        MLPClassifier(max_epochs=1).fit(X, labels)
    with pytest.raises(ValueError, match="standardize_target must be True or False, got standardize_target='no'"):
        MLPRegressor(standardize_target="no").check_params(4)


@pytest.mark.parametrize("X, y, fit_params, error, message", [
    (None, np.where(np.arange(150) < 75, np.nan, 1.0), {}, ValueError, r"y has missing labels \(NaN, None or pandas"),
    (None, np.array(["a"] * 149 + [None], dtype=object), {}, ValueError, r"y has missing labels"),
    (None, np.linspace(0, 1, 150), {}, ValueError, r"y holds continuous values .* use MLPRegressor"),
    (None, np.r_[np.zeros(149), np.inf], {}, ValueError, r"y holds continuous values"),
    (None, np.zeros(150), {}, ValueError, r"a classifier needs 2 or more classes, got 1: \[0.0\]"),
    (None, None, {}, ValueError, r"a classifier needs y, one label per sample, got y=None"),
    ("one column", "iris", {}, ValueError, r"X must be 2-d, one row per sample, got shape \(150,\); a single feature"),
    ("complex", "iris", {}, ValueError, r"X has complex values"),
    (None, "iris", {"sample_weight": np.ones(150)}, TypeError, r"does not take sample_weight .* criterion__weight"),
])
def test_a_classifiers_data_that_cannot_train_it_is_refused_saying_why(iris, X, y, fit_params, error, message) -> None:
    features, labels = iris
    X = {None: features, "one column": features[:, 0], "complex": features + 1j}[X]
    y = labels if isinstance(y, str) else y
    with pytest.raises(error, match=message):
        MLPClassifier(max_epochs=1).fit(X, y, **fit_params)


def test_data_of_the_wrong_size_to_fit_or_predict_is_refused_saying_what_to_pass(iris) -> None:
    X, y = iris
    clf = MLPClassifier(max_epochs=1, random_state=0).fit(X, y.astype(float))  # whole floats are labels
    assert clf.classes_.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match=r"got shape \(4,\); one sample is X.reshape\(1, -1\)"):
        clf.predict(X[0])
    with pytest.raises(ValueError, match="a regressor needs y, the targets, got y=None"):
        MLPRegressor(max_epochs=1).fit(X, None)
    with pytest.raises(ValueError, match=r"needs 2 or more classes, got 1: \[0\]"):
        MLPClassifier(max_epochs=1).partial_fit(X, np.zeros(150, dtype=int), classes=[0])
    for features, target in (X[:0], y[:0]), (X[:, :0], y):
        shape = rf"X has shape \({len(features)}, {features.shape[1]}\)"
        with pytest.raises(ValueError, match=rf"{shape}, and training needs"):
            MLPRegressor(max_epochs=1).fit(features, target.astype(float))
    with pytest.raises(ValueError, match="X has 150 samples but y has 149; give one target per sample"):
        MLPClassifier(max_epochs=1).fit(X, y[1:])
    images = ConvNetClassifier(max_epochs=1, random_state=0).fit(X[:, :4].repeat(4, axis=1), y)
    with pytest.raises(ValueError, match=r"got shape \(16,\); one sample is X.reshape\(1, -1\)"):
        images.predict(X[0].repeat(4))  # one flat image, not 16 rows of a feature
    with pytest.raises(ValueError, match=r"X has shape \(4, 4\), but this network takes 16 features; one sample is"):
        images.predict(X[0].repeat(4).reshape(4, 4))  # one image as a 4x4 array: the rows are not samples
    with pytest.raises(ValueError, match=r"X has shape \(2, 4\), but this network takes 16 features$"):
        images.predict(X[:2])


def test_a_seeded_fit_leaves_torchs_global_generator_alone_and_keeps_a_stream_of_its_own(iris) -> None:
    X, y = iris
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MLPClassifier(max_epochs=1, dropout=0.2, random_state=0).fit(X, y)
    assert torch.equal(torch.rand(3), expected)
    first = MLPClassifier(max_epochs=1, dropout=0.3, random_state=0)
    first.partial_fit(X, y)
    first.partial_fit(X, y)
    second = MLPClassifier(max_epochs=1, dropout=0.3, random_state=0)
    second.partial_fit(X, y)
    torch.rand(100)  # the user's own draws between two partial fits change nothing
    second.partial_fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))



def test_seeded_partial_fits_train_as_one_fit_of_their_epochs_on_both_batching_paths(iris) -> None:
    X, y = iris
    for loader in ({}, {"iterator_train__num_workers": 0}):  # batches sliced on the device; a DataLoader
        whole = MLPClassifier(max_epochs=2, batch_size=16, dropout=0.2, random_state=0, **loader).fit(X, y)
        parts = MLPClassifier(max_epochs=1, batch_size=16, dropout=0.2, random_state=0, **loader).partial_fit(X, y)
        parts = pickle.loads(pickle.dumps(parts)).partial_fit(X, y)  # the batch order goes on through a pickle
        np.testing.assert_array_equal(parts.predict_proba(X), whole.predict_proba(X))


def test_setting_a_flat_hyperparameter_of_a_fitted_net_rebuilds_what_it_goes_to(iris, capsys) -> None:
    X, y = iris
    net = MLPClassifier(n_layers=1, max_epochs=1, random_state=0).fit(X, y)
    trained = net.module_
    net.set_params(optimizer="sgd", momentum=0.5, weight_decay=0.1)  # the optimizer only
    assert net.module_ is trained and isinstance(net.optimizer_, torch.optim.SGD)
    assert net.optimizer_.param_groups[0]["momentum"] == 0.5 and net.optimizer_.param_groups[0]["weight_decay"] == 0.1
    net.set_params(n_layers=3, verbose=1)  # a new network, and an optimizer for its weights
    assert "Re-initializing module because the following parameters were re-set: n_layers." in capsys.readouterr().out
    assert sum(isinstance(m, torch.nn.Linear) for m in net.module_.modules()) == 4
    optimized = {id(p) for g in net.optimizer_.param_groups for p in g["params"]}
    assert {id(p) for p in net.module_.parameters()} == optimized
    net.set_params(verbose=0).partial_fit(X, y)
    assert len(net.history) == 2 and net.predict_proba(X).shape == (150, 3)
    unfitted = MLPClassifier().set_params(n_layers=3, optimizer="sgd")
    assert not unfitted.initialized_ and unfitted.optimizer == "sgd"


def test_a_print_log_sink_of_the_users_gets_the_epoch_table_at_verbose_0(iris) -> None:
    X, y = iris
    given, set_later = [], []
    MLPClassifier(max_epochs=2, callbacks__print_log__sink=given.append).fit(X, y)
    MLPClassifier(max_epochs=2).set_params(callbacks__print_log__sink=set_later.append).fit(X, y)
    for lines in given, set_later:
        assert "valid_acc" in lines[0] and len(lines) == 4  # the header, its rule, two epochs


def test_initializing_a_seeded_net_again_leaves_torchs_global_generator_alone(iris) -> None:
    X, y = iris
    net = MLPClassifier(max_epochs=1, random_state=0).fit(X, y)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    net.initialize()  # as before load_params
    weights = [p.detach().clone() for p in net.module_.parameters()]
    assert torch.equal(torch.rand(3), expected)
    net.initialize()
    assert all(torch.equal(a, b.detach()) for a, b in zip(weights, net.module_.parameters(), strict=True))


def test_the_classes_given_to_the_constructor_are_the_classes_built_for(iris) -> None:
    X, y = iris
    net = MLPClassifier(classes=[0, 1, 2, 3], max_epochs=1, random_state=0).fit(X, y)
    assert net.classes_.tolist() == [0, 1, 2, 3] and net.predict_proba(X[:2]).shape == (2, 4)
    with pytest.raises(ValueError, match=r"y has labels \[0, 1, 2\] .*its classes: \['a', 'b', 'c'\]\); give classes="):
        MLPClassifier(classes=["a", "b", "c"], max_epochs=1).fit(X, y)
    partial = MLPClassifier(classes=[0, 1, 2, 3], max_epochs=1).partial_fit(X, y)
    assert partial.classes_.tolist() == [0, 1, 2, 3]


def test_a_numpy_integer_random_state_seeds_as_the_int_and_a_bad_one_is_named(iris) -> None:
    # np.int64 (a GridSearchCV grid's) failed every fit with torch's "an integer is required".
    X, y = iris
    ours = MLPClassifier(max_epochs=1, random_state=np.int64(1)).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(ours, MLPClassifier(max_epochs=1, random_state=1).fit(X, y).predict_proba(X))
    for bad in (-1, 2**40, "a", 1.5):
        with pytest.raises(ValueError, match=rf"random_state must be None or an integer from 0 to 2\*\*32 - 1, got "
                                             rf"random_state={re.escape(repr(bad))}"):
            MLPClassifier(random_state=bad).check_params(4)


def test_same_random_state_same_model(iris) -> None:
    X, y = iris
    a = MLPClassifier(max_epochs=3, random_state=7).fit(X, y).predict_proba(X)
    b = MLPClassifier(max_epochs=3, random_state=7).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- scikit-learn compatibility
def test_random_state_set_later_seeds_the_validation_split_as_given_at_construction(iris) -> None:
    X, y = iris

    def valid_acc(net) -> list[float]:
        return list(net.fit(X, y).history[:, "valid_acc"])

    given = valid_acc(MLPClassifier(max_epochs=3, random_state=1))
    assert valid_acc(MLPClassifier(max_epochs=3).set_params(random_state=1)) == given
    assert valid_acc(clone(MLPClassifier(max_epochs=3, random_state=2)).set_params(random_state=1)) == given
    assert valid_acc(MLPClassifier(max_epochs=3, random_state=2)) != given


def test_clone_round_trip() -> None:
    net = MLPClassifier(n_layers=3, hidden_units=[8, 8, 4], optimizer="rmsprop", l1=1e-4, device="auto")
    params = clone(net).get_params(deep=False)
    assert params["device"] == "auto" and params["hidden_units"] == [8, 8, 4]
    assert {k: v for k, v in params.items() if k not in ("train_split", "callbacks")} == {
        k: v for k, v in net.get_params(deep=False).items() if k not in ("train_split", "callbacks")
    }


def test_the_network_and_loss_the_class_builds_are_not_arguments() -> None:
    own = r"MLPRegressor got criterion=<class .*L1Loss'>, but it builds its own criterion, MSELoss"
    with pytest.raises(TypeError, match=own):
        MLPRegressor(criterion=torch.nn.L1Loss)
    with pytest.raises(TypeError, match=r"ConvNetClassifier got module=.*, but it builds its own module, ConvNet;"):
        ConvNetClassifier(module=torch.nn.Linear)


def test_pipeline_and_grid_search(iris) -> None:
    X, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("net", MLPClassifier(max_epochs=3, random_state=0))])
    search = GridSearchCV(pipe, {"net__lr": [1e-3, 1e-2], "net__n_layers": [1, 2]}, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert set(search.best_params_) == {"net__lr", "net__n_layers"}


def test_pandas_input_and_string_labels(iris) -> None:
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    labels = pd.Series(np.array(["setosa", "versicolor", "virginica"])[y])
    clf = MLPClassifier(max_epochs=30, lr=1e-2, random_state=0).fit(frame, labels)
    assert set(clf.predict(frame)) <= {"setosa", "versicolor", "virginica"}
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert clf.score(frame, labels) > 0.6
    assert clf.history[-1, "valid_acc"] > 0.5  # scored against decoded labels


# ---------------------------------------------------------------- batching
@pytest.mark.parametrize(("n", "batch_size"), [(100, 32), (96, 32), (10, 64), (50, -1)])
def test_tensor_batches_cover_every_sample_once_like_a_dataloader(n: int, batch_size: int) -> None:
    X, y = torch.arange(n, dtype=torch.float32)[:, None], torch.arange(n)
    batches = TensorBatches(X, y, batch_size, shuffle=True, generator=torch.Generator().manual_seed(0))
    loader = DataLoader(Dataset(X.numpy(), y.numpy()), batch_size=n if batch_size == -1 else batch_size)
    epochs = [[b for b in batches] for _ in range(2)]
    assert len(batches) == len(loader) == len(epochs[0])
    for epoch in epochs:
        seen = torch.cat([yb for _, yb in epoch])
        assert sorted(seen.tolist()) == list(range(n))
        assert all(torch.equal(xb[:, 0].long(), yb) for xb, yb in epoch)
    if n > 10:
        assert not torch.equal(torch.cat([yb for _, yb in epochs[0]]), torch.cat([yb for _, yb in epochs[1]]))


def test_on_device_batching_takes_as_many_steps_as_the_dataloader(iris) -> None:
    X, y = iris
    fast = MLPClassifier(batch_size=16, max_epochs=2, random_state=0).fit(X, y)
    loader = MLPClassifier(batch_size=16, max_epochs=2, random_state=0, iterator_train__num_workers=0).fit(X, y)
    assert isinstance(fast.get_iterator(Dataset(X.astype(np.float32), y), training=True), TensorBatches)
    assert not isinstance(loader.get_iterator(Dataset(X.astype(np.float32), y), training=True), TensorBatches)
    assert fast.history[:, "train_batch_count"] == loader.history[:, "train_batch_count"] == [8, 8]


# ---------------------------------------------------------------- history and batch hooks
class _WatchBatches(Callback):
    """Records each batch hook call, with the batch's history record as the hook sees it."""

    def initialize(self) -> _WatchBatches:
        self.calls: list[tuple[str, bool, dict]] = []
        return self

    def on_batch_begin(self, net, training, **kwargs) -> None:
        self.calls.append(("begin", training, dict(net.history[-1, "batches"][-1])))

    def on_batch_end(self, net, training, **kwargs) -> None:
        self.calls.append(("end", training, dict(net.history[-1, "batches", -1])))


EPOCH_KEYS = ["train_loss", "valid_loss", "valid_acc", "train_batch_count", "valid_batch_count", "train_loss_best"]


@pytest.mark.parametrize("batch_size", [16, 50])
def test_history_without_batch_hooks_is_the_history_recorded_batch_by_batch(digits, batch_size: int) -> None:
    X_train, _, y_train, _ = digits
    kwargs = dict(n_layers=1, hidden_units=32, batch_size=batch_size, max_epochs=3, random_state=0)
    lean = MLPClassifier(**kwargs).fit(X_train, y_train)  # batch records written once per pass
    watched = MLPClassifier(**kwargs, callbacks=[_WatchBatches()]).fit(X_train, y_train)  # one by one
    for key in EPOCH_KEYS:
        np.testing.assert_allclose(lean.history[:, key], watched.history[:, key], rtol=1e-6)
    for a, b in zip(lean.history[:, "batches"], watched.history[:, "batches"]):
        assert [sorted(r) for r in a] == [sorted(r) for r in b]
        np.testing.assert_allclose(
            [r.get("train_loss", r.get("valid_loss")) for r in a],
            [r.get("train_loss", r.get("valid_loss")) for r in b],
            rtol=1e-6,
        )
    train_losses = lean.history[-1, "batches", :, "train_loss"]
    sizes = lean.history[-1, "batches", :, "train_batch_size"]
    assert all(isinstance(v, float) for v in train_losses)
    assert len(sizes) == lean.history[-1, "train_batch_count"] == -(-sum(sizes) // batch_size)
    assert lean.history[-1, "train_loss"] == pytest.approx(np.average(train_losses, weights=sizes))


def test_batch_hooks_run_every_batch_after_its_record(iris) -> None:
    X, y = iris
    watch = _WatchBatches()
    net = MLPClassifier(batch_size=16, max_epochs=2, random_state=0, callbacks=[watch]).fit(X, y)
    train_batches = net.history[0, "train_batch_count"]
    one_epoch = [("begin", True), ("end", True)] * train_batches + [("begin", False), ("end", False)]
    assert [call[:2] for call in watch.calls] == one_epoch * 2
    for hook, training, record in watch.calls:
        prefix = "train" if training else "valid"
        # on_batch_begin sees a fresh record (skorch opens one per batch), on_batch_end the batch's loss
        assert set(record) == (set() if hook == "begin" else {f"{prefix}_loss", f"{prefix}_batch_size"})


class _GradNorm(Callback):
    def on_grad_computed(self, net, named_parameters, **kwargs):
        net.history.record_batch("grad_norm", 1.0)


def test_a_callback_recording_from_on_grad_computed_finds_its_batch(iris) -> None:
    X, y = iris
    net = MLPClassifier(batch_size=32, max_epochs=2, random_state=0, callbacks=[_GradNorm()]).fit(X, y)
    train = [b for b in net.history[-1, "batches"] if "train_loss" in b]
    assert train and all(b["grad_norm"] == 1.0 for b in train)


def test_a_user_s_epoch_scoring_sees_the_targets_in_their_own_units_and_labels(iris) -> None:
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    scoring = EpochScoring("accuracy", name="my_acc")
    net = MLPClassifier(max_epochs=3, random_state=0, callbacks=[scoring]).fit(X, labels)
    np.testing.assert_allclose(net.history[:, "my_acc"], net.history[:, "valid_acc"])
    Xd, yd = load_diabetes(return_X_y=True)
    reg = MLPRegressor(max_epochs=4, lr=0.01, random_state=0,
                       callbacks=[EpochScoring("r2", lower_is_better=False, name="valid_r2")]).fit(Xd, yd)
    assert reg.history[-1, "valid_r2"] > -1.0  # scored against the standardized targets it was about -3e4


def test_training_through_the_dataloader_is_shuffled_as_on_the_device(iris) -> None:
    X, y = iris
    orders = []

    class FirstBatch(Callback):  # the labels of each epoch's first training batch
        def on_epoch_begin(self, net, **kwargs):
            self.first = True

        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training and self.first:
                orders.append(batch[1][:8].tolist())
                self.first = False

    MLPClassifier(max_epochs=2, batch_size=16, random_state=0, iterator_train__num_workers=0,
                  callbacks=[FirstBatch()]).fit(X, y)
    assert len(orders) == 2 and orders[0] != orders[1]  # another order each epoch (iris is sorted by class)


def test_initialize_before_any_fit_says_what_to_do() -> None:
    with pytest.raises(NotFittedError, match=r"initialize\(\) builds the network for the X of a fit"):
        MLPClassifier().initialize()


def test_make_objective_refuses_what_is_not_one_of_its_networks(iris) -> None:
    X, y = iris
    with pytest.raises(TypeError, match="make_objective tunes a network of this package.*got Pipeline"):
        make_objective(Pipeline([("scale", StandardScaler()), ("net", MLPClassifier())]), X, y)


def test_scoring_on_training_batches_still_sees_them(iris) -> None:
    X, y = iris
    train_acc = EpochScoring("accuracy", name="train_acc", on_train=True, lower_is_better=False)
    net = MLPClassifier(max_epochs=2, random_state=0, callbacks=[("train_acc", train_acc)]).fit(X, y)
    assert all(0.0 <= v <= 1.0 for v in net.history[:, "train_acc"])


@pytest.mark.parametrize("use_caching", ["auto", False])
def test_valid_acc_is_the_accuracy_of_predict_on_the_validation_split(digits, use_caching) -> None:
    X_train, _, y_train, _ = digits
    net = MLPClassifier(n_layers=1, hidden_units=32, max_epochs=2, random_state=0, use_caching=use_caching)
    net.fit(X_train, y_train)
    _, valid = net.get_split_datasets(X_train.astype(np.float32), net.label_encoder_.transform(y_train))
    X_valid, y_valid = X_train[valid.indices], np.asarray(y_train)[valid.indices]
    assert net.history[-1, "valid_acc"] == float(np.mean(net.predict(X_valid) == y_valid))


# ---------------------------------------------------------------- devices
def test_auto_device_trains_on_the_cpu_without_a_gpu(iris) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    X, y = iris
    net = MLPClassifier(max_epochs=1).fit(X, y)
    assert net.get_params()["device"] == "auto"
    assert all(p.device.type == "cpu" for p in net.module_.parameters())


def test_cuda_without_a_gpu_is_a_clear_error(iris) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    X, y = iris
    net = MLPClassifier(device="cuda", max_epochs=1)  # constructing is fine
    with pytest.raises(ValueError, match="sees no CUDA GPU.*device='auto'"):
        net.fit(X, y)
    shipped = pickle.loads(pickle.dumps(net))  # as to a worker that has a GPU
    assert shipped.get_params()["device"] == "cuda" and not shipped.initialized_


# ---------------------------------------------------------------- training control
def test_early_stopping_still_ends_training_normally(iris) -> None:
    X, y = iris
    net = MLPClassifier(max_epochs=200, lr=1e-5, callbacks=[EarlyStopping(patience=2, threshold=1.0)])
    net.fit(X, y)
    assert len(net.history) < 200


def test_objective_reports_every_epoch_and_returns_the_best_epochs_score(digits) -> None:
    X_train, _, y_train, _ = digits
    objective = make_objective(MLPClassifier(max_epochs=3), X_train, y_train)
    study = Study({"lr": Float(1e-3, 1e-2, log=True)}, sampler=RandomSampler(seed=0), direction="maximize")
    study.optimize(objective, n_trials=2)
    for trial in study.trials:
        assert trial.state is TrialState.COMPLETE
        assert sorted(trial.intermediate_values) == [1, 2, 3]
        assert trial.value == max(trial.intermediate_values.values())
        assert trial.intermediate_values[trial.user_attrs["best_epoch"]] == trial.value
        assert 0.5 < trial.value <= 1.0
    again = Study({"lr": Float(1e-3, 1e-2, log=True)}, sampler=RandomSampler(seed=0), direction="maximize")
    again.optimize(objective, n_trials=2)
    assert [t.value for t in again.trials] == [t.value for t in study.trials]  # reproducible


class _PruneAtEpoch(BasePruner):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def prune(self, study, trial) -> bool:
        return trial.last_step >= self.epoch


class _CountEpochs(Callback):
    started: list[int] = []  # shared by the clones make_objective makes

    def on_epoch_begin(self, net, **kwargs) -> None:
        self.started.append(len(net.history))


@pytest.mark.parametrize("epoch", [1, 3])
def test_pruned_trial_has_trained_exactly_up_to_the_pruning_epoch(digits, epoch: int) -> None:
    X_train, _, y_train, _ = digits
    _CountEpochs.started.clear()
    objective = make_objective(MLPClassifier(max_epochs=10, callbacks=[_CountEpochs()]), X_train, y_train)
    study = Study(
        {"n_layers": Int(1, 2)}, sampler=RandomSampler(seed=0), direction="maximize", pruner=_PruneAtEpoch(epoch)
    )
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state is TrialState.PRUNED
    assert len(_CountEpochs.started) == epoch
    assert sorted(trial.intermediate_values) == list(range(1, epoch + 1))
    assert trial.value == trial.intermediate_values[epoch]
    assert 1 <= trial.user_attrs["best_epoch"] <= epoch


@pytest.mark.parametrize(("max_epochs", "state"), [(2, TrialState.COMPLETE), (3, TrialState.PRUNED)])
def test_a_trial_that_trains_its_last_epoch_completes_whatever_the_pruner_says(iris, max_epochs, state) -> None:
    X, y = iris
    objective = make_objective(MLPClassifier(max_epochs=1), X, y)
    study = Study({"max_epochs": max_epochs}, sampler=RandomSampler(seed=0), direction="maximize",
                  pruner=_PruneAtEpoch(2))
    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state is state and sorted(trial.intermediate_values) == [1, 2]


def test_a_validation_set_of_the_users_own_is_converted_as_the_training_data(iris) -> None:
    from sklearn.metrics import r2_score

    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)  # float64, as given
    own = predefined_split(Dataset(X[:100], y[:100]))
    net = MLPRegressor(max_epochs=2, lr=0.01, random_state=0, train_split=own,
                       callbacks=[EpochScoring("r2", name="valid_r2")]).fit(X[100:], y[100:])
    assert net.history[-1, "valid_loss"] < 5  # standardized, as the training loss (it was ~22,500)
    assert net.history[-1, "valid_r2"] == pytest.approx(r2_score(y[:100], net.predict(X[:100])), abs=1e-5)
    features, labels = iris
    names = np.array(["setosa", "versicolor", "virginica"])[labels]
    clf = MLPClassifier(max_epochs=1, random_state=0, train_split=predefined_split(Dataset(features[::3], names[::3])))
    assert 0 <= clf.fit(features, names).history[-1, "valid_acc"] <= 1  # string labels crashed


def test_a_dataframe_s_column_names_are_kept_and_checked_at_predict(iris) -> None:
    import pandas as pd

    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    missing = frame.astype("Float64")
    missing.iloc[0, 0] = pd.NA
    with pytest.raises(ValueError, match="X contains NaN or infinity"):  # a bare TypeError from pd.NA
        MLPClassifier(max_epochs=1).fit(missing, y)
    net = MLPClassifier(max_epochs=1, random_state=0).fit(frame, y)
    assert net.feature_names_in_.tolist() == ["sl", "sw", "pl", "pw"]
    np.testing.assert_array_equal(net.predict(frame), net.predict(X))  # an array is taken as it is
    with pytest.raises(ValueError, match=r"X has the columns \['pw', 'pl', 'sw', 'sl'\], and this network was fitted"):
        net.predict(frame[["pw", "pl", "sw", "sl"]])  # it predicted from the reordered features
    assert not hasattr(MLPClassifier(max_epochs=1, random_state=0).fit(X, y), "feature_names_in_")


def test_training_settings_the_network_cannot_take_are_refused_or_adapted(iris) -> None:
    X, y = iris
    MLPClassifier(max_epochs=1, optimizer=torch.optim.LBFGS, random_state=0).fit(X, y)  # it has no weight_decay
    with pytest.raises(ValueError, match="batch_norm=True normalizes over each batch, so it needs batches of 2"):
        MLPClassifier(max_epochs=1, batch_norm=True, batch_size=1).fit(X, y)
    with pytest.raises(ValueError, match="kernel_size must be a positive odd integer, got kernel_size=3.0"):
        ConvNetClassifier(max_epochs=1, kernel_size=3.0).fit(X[:, :4].repeat(4, axis=1), y)
    with pytest.raises(TypeError, match=r"MLPRegressor does not take sample_weight \(its batches are not weighted\)$"):
        MLPRegressor(max_epochs=1).fit(X, y.astype(float), sample_weight=np.ones(150))


def test_a_net_cloned_by_scikit_learn_reports_to_the_same_trial(iris) -> None:
    X, y = iris
    study = Study({"lr": 0.01}, sampler=RandomSampler(seed=0), direction="maximize")
    trial = study.ask()
    assert copy.copy(trial) is trial and copy.deepcopy(trial) is trial
    net = MLPClassifier(max_epochs=2, callbacks=[ReportToTrial(trial, monitor="valid_acc")])
    assert clone(net).callbacks[0].trial is trial
    cross_val_score(net, X, y, cv=2)  # clones the net for each fold
    assert sorted(trial.intermediate_values) == [1, 2]


def test_report_to_trial_refuses_a_loss_for_a_maximizing_study_and_a_key_the_history_lacks(iris) -> None:
    X, y = iris
    trial = Study({"lr": 0.01}, sampler=RandomSampler(seed=0), direction="maximize").ask()
    with pytest.raises(ValueError, match=r"reports a loss, lower is better, to a study that maximizes.*sign=-1"):
        MLPClassifier(max_epochs=1, callbacks=[ReportToTrial(trial)]).fit(X, y)
    MLPClassifier(max_epochs=1, callbacks=[ReportToTrial(trial, sign=-1)]).fit(X, y)
    assert trial.intermediate_values[1] < 0  # the negated loss
    with pytest.raises(ValueError, match=r"epoch 1 recorded no 'valid_acc' .*\(train_split=None\) records no"):
        MLPClassifier(max_epochs=1, train_split=None, callbacks=[ReportToTrial(trial, "valid_acc")]).fit(X, y)
    # The mirror cases, to a minimizing study, were taken: the pruner stopped the best trainings.
    minimizing = Study({"lr": 0.01}, sampler=RandomSampler(seed=0), direction="minimize").ask()
    for report, message in ((ReportToTrial(minimizing, sign=-1), "reports a loss, lower is better, negated, to a "
                                                                 "study that minimizes.*sign=1"),
                            (ReportToTrial(minimizing, "valid_acc"), "reports a score, higher is better, to a study "
                                                                     "that minimizes.*sign=-1")):
        with pytest.raises(ValueError, match=message):
            MLPClassifier(max_epochs=1, callbacks=[report]).fit(X, y)
    MLPClassifier(max_epochs=1, callbacks=[ReportToTrial(minimizing, "valid_acc", sign=-1)]).fit(X, y)
    MLPClassifier(max_epochs=1, callbacks=[ReportToTrial(minimizing, "dur")]).fit(X, y)  # of unknown sense: taken


def test_with_cv_a_failing_fold_fails_the_trial_with_its_own_error(iris) -> None:
    X, y = iris
    rows = np.arange(150)
    folds = [(rows[rows % 2 == 0], rows[rows % 2 == 1]), (rows[:50], rows[50:])]  # the second trains on one class
    study = Study({"lr": 0.01}, sampler=RandomSampler(seed=0), direction="maximize")
    study.optimize(make_objective(MLPClassifier(max_epochs=1), X, y, cv=folds), n_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL and "needs 2 or more classes, got 1" in trial.error
    assert study._history.diverged.tolist() == [False]  # left out by TPE, not ranked as diverged
    with pytest.raises(ValueError, match="scoring=<function accuracy_score.*looks like it is a metric function"):
        make_objective(MLPClassifier(), X, y, scoring=accuracy_score)


class _CountTrainingRows(Callback):
    rows: list[int] = []  # shared by the clones

    def on_epoch_end(self, net, **kwargs) -> None:
        self.rows.append(sum(b["train_batch_size"] for b in net.history[-1, "batches"] if "train_batch_size" in b))


def test_cross_validation_folds_train_on_all_their_training_rows(iris) -> None:
    X, y = iris
    _CountTrainingRows.rows.clear()
    objective = make_objective(MLPClassifier(max_epochs=1, callbacks=[_CountTrainingRows()]), X, y, cv=3)
    Study({"lr": 0.01}, sampler=RandomSampler(seed=0), direction="maximize").optimize(objective, n_trials=1)
    assert _CountTrainingRows.rows == [100, 100, 100]  # not 80: no validation split inside a fold


def test_a_conditional_choice_sets_the_chosen_dicts_parameters(iris) -> None:
    X, y = iris
    space = {"optimizer": Categorical([{"optimizer": "sgd", "momentum": Float(0.1, 0.2)}, {"optimizer": "adam"}])}
    study = Study(space, sampler=RandomSampler(seed=0), direction="maximize")
    study.optimize(make_objective(MLPClassifier(max_epochs=1), X, y), n_trials=6)
    assert {t.state for t in study.trials} == {TrialState.COMPLETE}
    assert {t.config["optimizer"]["optimizer"] for t in study.trials} == {"sgd", "adam"}
    assert estimator_params({"lr": 0.1, "opt": {"optimizer": "sgd", "inner": {"momentum": 0.5}}}) == {
        "lr": 0.1, "optimizer": "sgd", "momentum": 0.5
    }


def test_objective_with_cross_validation_and_minimize(iris) -> None:
    X, y = iris
    objective = make_objective(MLPClassifier(max_epochs=2), X, y, cv=2, direction="minimize")
    study = Study({"lr": Float(1e-3, 1e-2)}, sampler=RandomSampler(seed=0))
    study.optimize(objective, n_trials=1)
    assert -1.0 <= study.trials[0].value < 0  # the negated accuracy


def test_a_regression_that_diverges_fails_as_diverged_for_tpe_to_avoid() -> None:
    # SGD at lr=1 on diabetes' unscaled target: the loss is NaN from the first epoch,
    # and scikit-learn's R^2 raises on NaN predictions.
    X, y = load_diabetes(return_X_y=True)
    X = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
    net = MLPRegressor(max_epochs=3, optimizer="sgd", standardize_target=False)
    objective = make_objective(net, X, y.astype(np.float32))
    study = Study({"lr": 1.0}, sampler=RandomSampler(seed=0), direction="maximize")
    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL and trial.error == (
        "the objective returned nan; a value must be finite (the run is taken as diverged, which TPE ranks last)"
    )
    assert sorted(trial.intermediate_values) == [1, 2, 3]
    assert all(np.isnan(v) for v in trial.intermediate_values.values())
    assert "best_epoch" not in trial.user_attrs
    assert study._history.diverged.tolist() == [True]  # ranked last by TPE, not left out


@pytest.mark.parametrize(
    ("estimator", "data", "scoring", "message"),
    [
        (MLPRegressor, "diabetes", "neg_log_loss", "predict_proba"),
        (MLPRegressor, "diabetes", "accuracy", "continuous"),
        (MLPClassifier, "iris", "roc_auc", "multi_class"),
        (MLPClassifier, "iris", "f1", "average='binary'"),
    ],
)
def test_a_named_scorer_that_cannot_score_the_estimator_on_y_is_refused_before_any_trial(
    iris, estimator, data, scoring, message
) -> None:
    # Each was taken, and every trial of the study failed with the same error.
    X, y = iris if data == "iris" else load_diabetes(return_X_y=True)
    kind = "classifier" if estimator is MLPClassifier else "regressor"
    with pytest.raises(ValueError, match=rf"scoring={scoring!r} cannot score {estimator.__name__} \(a {kind}\) "
                                         rf"on this y: .*{re.escape(message)}"):
        make_objective(estimator(), X, y, scoring=scoring)
    make_objective(estimator(), X, y, scoring="roc_auc_ovr" if data == "iris" else "r2")


def test_make_objective_refuses_an_estimator_whose_validation_split_it_would_replace(iris) -> None:
    # The given validation set was silently replaced by a held-out fifth of X.
    X, y = iris
    given = predefined_split(Dataset(X[::3].astype(np.float32), y[::3]))
    with pytest.raises(ValueError, match=r"would replace the estimator's train_split=.*leave train_split at its "
                                         "default, and give validation_fraction or cv"):
        make_objective(MLPClassifier(train_split=given), X, y)
    make_objective(MLPClassifier(train_split=None), X, y)  # None (a refit's setting) is no split to replace


def test_an_objective_for_the_other_direction_fails_each_trial_before_training(iris) -> None:
    X, y = iris
    study = Study({"lr": Float(1e-3, 1e-2)}, sampler=RandomSampler(seed=0))  # minimizes
    study.optimize(make_objective(MLPClassifier(max_epochs=2), X, y), n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 2
    # it said "scores for a study with direction='maximize', and this study has direction='minimize'"
    assert "make_objective(direction='maximize') scores for a study that maximizes, and this study " \
           "has direction='minimize'" in study.trials[0].error
    assert all(t.intermediate_values == {} for t in study.trials)


def test_the_users_callbacks_see_the_score_and_every_trained_epoch_is_reported(iris) -> None:
    X, y = iris
    stop = EarlyStopping(monitor="valid_score", lower_is_better=False, patience=1, threshold=1.0)
    objective = make_objective(MLPClassifier(max_epochs=10, callbacks=[stop]), X.tolist(), y.tolist())  # lists
    study = Study({"lr": 0.01, "random_state": Int(0, 3)}, sampler=RandomSampler(seed=0), direction="maximize")
    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.COMPLETE, trial.error
    assert sorted(trial.intermediate_values) == [1, 2]  # the epoch that stopped it was scored and reported
    disabled = make_objective(MLPClassifier(max_epochs=2, callbacks="disable"), X, y)
    study.optimize(disabled, n_trials=1)
    assert study.trials[1].state is TrialState.COMPLETE and sorted(study.trials[1].intermediate_values) == [1, 2]


def test_partial_fit_builds_the_network_then_trains_it_further(iris) -> None:
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    net = MLPClassifier(max_epochs=2, random_state=0)
    net.partial_fit(X[:20], labels[:20], classes=["setosa", "versicolor", "virginica"])  # float64, one class so far
    net.partial_fit(X, labels)
    assert len(net.history) == 4 and list(net.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(net.predict(X)) <= set(labels)
    with pytest.raises(ValueError, match=r"y has labels \['other'\] that this network was not built for"):
        net.partial_fit(X[:3], ["other"] * 3)
    net.partial_fit(X, labels, classes=["virginica", "setosa", "versicolor"])  # the same classes, in any order
    differs = r"classes=\['setosa', 'virginica'\] differs from the classes this network was"
    with pytest.raises(ValueError, match=differs):
        net.partial_fit(X, labels, classes=["setosa", "virginica"])
    assert len(net.history) == 6
    regressor = MLPRegressor(max_epochs=1, random_state=0)
    regressor.partial_fit(X, y.astype(np.float64))
    regressor.partial_fit(X, y)
    assert len(regressor.history) == 2 and regressor.predict(X).shape == (150,)


def test_warm_start_trains_further_on_the_labels_it_knows_only(iris) -> None:
    X, y = iris
    net = MLPClassifier(max_epochs=1, warm_start=True, random_state=0).fit(X, y)
    net.fit(X[y < 2], y[y < 2])
    assert len(net.history) == 2 and net.predict_proba(X).shape == (150, 3)
    with pytest.raises(ValueError, match=r"y has labels \['x', 'y'\]"):
        net.fit(X[:4], ["x", "y"] * 2)
    with pytest.raises(ValueError, match="X has 3 features, but this network was built for 4"):
        net.fit(X[:, :3], y)


def test_prediction_before_fit_with_no_rows_or_the_wrong_width(iris) -> None:
    X, y = iris
    for estimator in (MLPClassifier(), MLPRegressor(), ConvNetClassifier()):
        with pytest.raises(NotFittedError, match="is not fitted yet"):
            estimator.predict(X)
    net = MLPClassifier(max_epochs=1).fit(X, y)
    assert net.predict(X[:0]).shape == (0,) and net.predict_proba(X[:0]).shape == (0, 3)
    with pytest.raises(ValueError, match=r"X has shape \(150, 3\), but this network takes 4 features"):
        net.predict(X[:, :3])


def test_sparse_or_non_finite_data_is_refused_naming_the_fix(iris) -> None:
    import scipy.sparse

    X, y = iris
    with pytest.raises(TypeError, match=r"X is a sparse matrix, .* pass X.toarray\(\)"):
        MLPClassifier(max_epochs=1).fit(scipy.sparse.csr_matrix(X), y)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        MLPClassifier(max_epochs=1).fit(np.where(X > 7, np.nan, X), y)
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        MLPRegressor(max_epochs=1).fit(X, np.where(y > 1, np.inf, y))


def test_batch_norm_trains_when_the_last_batch_would_hold_one_sample(iris) -> None:
    X, y = iris  # 120 training rows: batches of 119 leave one
    net = MLPClassifier(batch_size=119, batch_norm=True, max_epochs=2, random_state=0).fit(X, y)
    assert [b["train_batch_size"] for b in net.history[-1, "batches"] if "train_batch_size" in b] == [120]
    plain = MLPClassifier(batch_size=119, max_epochs=1, random_state=0).fit(X, y)
    assert [b["train_batch_size"] for b in plain.history[-1, "batches"] if "train_batch_size" in b] == [119, 1]



def test_batch_norm_through_the_dataloader_drops_a_last_batch_of_one_sample(iris) -> None:
    X, y = iris  # a custom DataLoader argument takes the DataLoader path
    net = MLPClassifier(batch_size=119, batch_norm=True, max_epochs=2, random_state=0,
                        iterator_train__num_workers=0).fit(X, y)
    assert [b["train_batch_size"] for b in net.history[-1, "batches"] if "train_batch_size" in b] == [119]
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):  # the user's own choice stands
        MLPClassifier(batch_size=119, batch_norm=True, max_epochs=1, iterator_train__drop_last=False).fit(X, y)


class _LossIsNanAtEpoch2(MLPClassifier):
    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        return loss * float("nan") if not training and len(self.history) == 2 else loss  # a diverged pass


def test_an_epoch_that_diverged_is_skipped_by_the_best_epoch(iris) -> None:
    X, y = iris
    objective = make_objective(_LossIsNanAtEpoch2(max_epochs=3), X, y)
    study = Study({"lr": 0.01}, sampler=RandomSampler(seed=0), direction="maximize")
    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    values = trial.intermediate_values
    assert np.isnan(values[2]) and np.isfinite([values[1], values[3]]).all()
    assert trial.state is TrialState.COMPLETE and trial.value == max(values[1], values[3])
    assert trial.user_attrs["best_epoch"] == (1 if values[1] >= values[3] else 3)


class _OutOfMemoryNet(MLPClassifier):
    def fit(self, X, y, **fit_params):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_cuda_out_of_memory_fails_the_trial_with_a_clear_reason(iris) -> None:
    X, y = iris
    study = Study({"batch_size": Int(16, 32)}, sampler=RandomSampler(seed=0), direction="maximize")
    study.optimize(make_objective(_OutOfMemoryNet(max_epochs=1), X, y), n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL]
    assert "CUDA out of memory in trial 0" in study.trials[0].error
    assert "smaller batch_size" in study.trials[0].error


@pytest.mark.parametrize("kwargs", [{"direction": "up"}, {"validation_fraction": 1.5}, {"scoring": "accurcy"}])
def test_make_objective_validates_its_arguments(iris, kwargs: dict) -> None:
    X, y = iris
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        make_objective(MLPClassifier(), X, y, **kwargs)


@pytest.mark.parametrize(
    ("estimator", "kwargs", "message"),
    [
        (MLPClassifier(), {"cv": 51}, r"cv=51 cannot split the 150 rows of y: n_splits=51 cannot be greater"),
        (MLPRegressor(), {"cv": 151}, r"cv=151 cannot split the 150 rows of y: Cannot have number of splits"),
        (MLPClassifier(), {"validation_fraction": 0.01},
         r"validation_fraction=0.01 cannot split the 150 rows of y: The test_size = 2 should be greater or equal"),
        (MLPClassifier(), {"validation_fraction": 0.99},
         r"validation_fraction=0.99 cannot split the 150 rows of y: The train_size = 1 should be greater or equal"),
        (MLPRegressor(), {"validation_fraction": 0.005},
         r"validation_fraction=0.005 holds out 1 row of the 150 rows of y, and r2 needs 2 or more"),
        (MLPRegressor(), {"cv": 150}, r"cv=150 holds out 1 row of the 150 rows of y, and r2 needs 2 or more"),
    ],
)
def test_a_split_that_cannot_work_fails_before_any_trial(iris, estimator, kwargs: dict, message: str) -> None:
    X, y = iris
    with pytest.raises(ValueError, match=message):
        make_objective(estimator, X, y.astype(np.float64) if isinstance(estimator, MLPRegressor) else y, **kwargs)


def test_a_generator_of_splits_serves_every_trial(iris) -> None:
    from sklearn.model_selection import KFold

    X, y = iris
    splits = KFold(3, shuffle=True, random_state=0).split(X)  # a generator: read once
    objective = make_objective(MLPClassifier(max_epochs=1), X, y, cv=splits)
    study = Study({"lr": Float(1e-3, 1e-2)}, sampler=RandomSampler(seed=0), direction="maximize")
    study.optimize(objective, n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.COMPLETE]


def test_pickle_round_trip_keeps_the_device_as_given(iris) -> None:
    import pickle

    X, y = iris
    net = MLPClassifier(max_epochs=2, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(net))
    assert again.get_params()["device"] == "auto"
    np.testing.assert_array_equal(again.predict(X), net.predict(X))
    assert clone(net).get_params()["device"] == "auto"
