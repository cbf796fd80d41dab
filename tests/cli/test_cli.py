"""The ``parzen`` command line, through click's CliRunner, on real SQLite files."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from sklearn.datasets import load_iris

from cli import main
from cli._config import parse_space, read_config
from tpe_core import Categorical, Float, Int, SQLiteStorage, TrialState, load_study

TINY = ["--max-epochs", "2", "--n-trials", "3", "--quiet"]


def make_runner(folder: Path):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    invoke.storage = f"sqlite:///{folder}/cli.db"
    invoke.tmp = folder
    return invoke


@pytest.fixture()
def run(tmp_path):
    return make_runner(tmp_path)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """A runner whose storage holds a 3-trial study 'iris-mlp' (tests only read it)."""
    run = make_runner(tmp_path_factory.mktemp("tuned"))
    result = run("tune", "--dataset", "iris", "--storage", run.storage, *TINY)
    assert result.exit_code == 0, result.output
    return run


def test_tune_stores_a_study_and_reports_the_best(tuned):
    study = load_study(storage=tuned.storage, study_name="iris-mlp")
    assert len(study.trials) == 3
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert study.direction == "maximize"


def test_a_second_tune_resumes_the_study(run):
    first = run("tune", "--dataset", "iris", "--storage", run.storage, *TINY)
    assert "Created study 'iris-mlp'" not in first.stderr  # --quiet
    result = run("tune", "--dataset", "iris", "--storage", run.storage, "--max-epochs", "2", "--n-trials", "2")
    assert result.exit_code == 0, result.output
    assert "Resuming study 'iris-mlp' (3 trials so far)" in result.stderr
    assert "Best of 5 trials" in result.stdout
    assert "test accuracy" in result.stdout
    assert len(load_study(storage=run.storage, study_name="iris-mlp").trials) == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--scoring", "f1_macro"], "--scoring accuracy (this run: --scoring f1_macro)"),
        (["--cv", "3"], "--validation-fraction 0.2 (this run: --cv 3)"),
        (["--validation-fraction", "0.3"], "--validation-fraction 0.2 (this run: --validation-fraction 0.3)"),
        (["--seed", "5"], "--seed 0 (this run: --seed 5, which chooses the test and validation rows)"),
        (["--csv", "{tmp}/iris.csv", "--target", "y", "--task", "classification", "--study", "iris-mlp"],
         "--dataset iris (classification) (this run: --csv {tmp}/iris.csv --target y (classification))"),
        (["--csv", "{tmp}/edited.csv", "--target", "y", "--task", "classification"],
         "the data of --csv {tmp}/edited.csv --target y (classification), which has changed since"),
    ],
)
def test_a_study_is_not_resumed_with_values_that_measure_something_else(run, change, message):
    X, y = load_iris(return_X_y=True)
    lines = ["a,b,c,d,y", *(",".join(f"{v:g}" for v in row) + f",{t}" for row, t in zip(X, y))]
    (run.tmp / "iris.csv").write_text("\n".join(lines))
    (run.tmp / "edited.csv").write_text("\n".join(lines))
    edited = ["--csv", run.tmp / "edited.csv", "--target", "y", "--task", "classification"]
    for source in (["--dataset", "iris"], edited):
        assert run("tune", *source, "--storage", run.storage, *TINY).exit_code == 0
    (run.tmp / "edited.csv").write_text("\n".join(lines[:-1]))  # one row fewer, same name
    args = [a.format(tmp=run.tmp) for a in change]
    if "--csv" not in args:
        args += ["--dataset", "iris"]
    result = run("tune", *args, "--storage", run.storage, *TINY)
    assert result.exit_code == 2, result.output
    assert message.format(tmp=run.tmp) in result.stderr
    assert "they would not compare. Run with the study's settings, or pass --study NEW_NAME" in result.stderr
    # The same measures resume (explicit default scoring included); the refused run added no trial.
    same = run("tune", "--dataset", "iris", "--scoring", "accuracy", "--storage", run.storage, *TINY)
    assert same.exit_code == 0, same.output
    assert len(load_study(storage=run.storage, study_name="iris-mlp").trials) == 6


def test_the_same_data_by_another_path_resumes_and_a_study_from_before_the_seed_was_recorded_records_it(run):
    X, y = load_iris(return_X_y=True)
    lines = ["a,b,c,d,y", *(",".join(f"{v:g}" for v in row) + f",{t}" for row, t in zip(X, y))]
    (run.tmp / "iris.csv").write_text("\n".join(lines))
    (run.tmp / "sub").mkdir()
    (run.tmp / "sub" / "iris.csv").write_text("\n".join(lines))  # a copy elsewhere
    args = ["--target", "y", "--task", "classification", "--storage", run.storage, *TINY]
    assert run("tune", "--csv", run.tmp / "iris.csv", *args).exit_code == 0
    study = load_study(storage=run.storage, study_name="iris-mlp")
    measures = study.user_attrs["parzen_measures"]
    study.set_user_attr("parzen_measures", {k: v for k, v in measures.items() if k != "seed"})  # as an older run
    again = run("tune", "--csv", run.tmp / "sub" / "iris.csv", *args)
    assert again.exit_code == 0, again.output
    assert load_study(storage=run.storage, study_name="iris-mlp").user_attrs["parzen_measures"] == measures


def test_integer_labels_classified_take_a_binary_metric(run):
    (run.tmp / "binary.csv").write_text("a,y\n" + "".join(f"{i},{int(i % 10 > 4)}\n" for i in range(60)))
    result = run("tune", "--csv", run.tmp / "binary.csv", "--target", "y", "--task", "classification",
                 "--scoring", "f1", "--storage", run.storage, *TINY)
    assert result.exit_code == 0, result.output
    assert "test f1" in result.stdout


def test_a_study_that_searches_epochs_is_not_resumed_with_asha_and_says_why(run):
    config = run.tmp / "epochs.json"
    config.write_text(json.dumps({"space": {"max_epochs": {"int": [1, 2]}}}))
    first = run("tune", "--dataset", "iris", "--config", config, "--n-trials", "1", "--storage", run.storage, "--quiet")
    assert first.exit_code == 0, first.output
    result = run("tune", "--dataset", "iris", "--config", config, "--pruner", "asha", "--n-trials", "1",
                 "--storage", run.storage, "--quiet")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"Error: study 'iris-mlp' in {run.storage} has another space: 'max_epochs' was Int(low=1, high=2, log=False, "
        "step=1, label=None), is the constant 2 (--pruner asha trains every trial to the most epochs, so max_epochs "
        "is a constant here; resume this study with --pruner none or median); pass --study NEW_NAME to start "
        "another study\n"
    )


def test_asha_stops_the_first_two_trials_at_the_first_epoch(run):
    result = run("tune", "--dataset", "iris", "--storage", run.storage, "--pruner", "asha",
                 "--max-epochs", "4", "--n-trials", "4", "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    trials = load_study(storage=run.storage, study_name="iris-mlp").trials
    assert [t.state for t in trials[:2]] == [TrialState.PRUNED] * 2  # bootstrap_count=3 at rung 1
    assert [sorted(t.intermediate_values) for t in trials[:2]] == [[1], [1]]
    # All four were pruned: a study too short for its pruner, not an error (exit code 0 above).
    assert [t.state for t in trials] == [TrialState.PRUNED] * 4
    assert "No trial of 'iris-mlp' completed" in result.stderr and "4 were pruned: run more trials" in result.stderr


def test_show_best_and_studies(tuned):
    shown = tuned("show", "iris-mlp", "--storage", tuned.storage, "--sort", "value", "--limit", "2")
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert lines[0].split()[:4] == ["#", "state", "value", "duration"] and len(lines) == 4
    assert "lr" in lines[0]

    best = tuned("best", "iris-mlp", "--storage", tuned.storage)
    config = json.loads(best.stdout)
    study = load_study(storage=tuned.storage, study_name="iris-mlp")
    assert config["lr"] == study.best_params["lr"]
    assert config["max_epochs"] == study.best_trial.user_attrs["best_epoch"]

    listed = tuned("studies", "--storage", tuned.storage)
    assert listed.stdout.splitlines()[2].split()[:4] == ["iris-mlp", "maximize", "3", "3"]  # trials, complete


def test_delete_asks_first_and_removes_one_study(tmp_path):
    from tpe_core import Float, RandomSampler, Study

    storage = f"sqlite:///{tmp_path}/d.db"
    for name in ("keep", "drop"):
        Study({"x": Float(0, 1)}, sampler=RandomSampler(seed=0), storage=storage, study_name=name).optimize(
            lambda c: c["x"], n_trials=2
        )
    runner = CliRunner()
    declined = runner.invoke(main, ["delete", "drop", "--storage", storage], input="n\n")
    assert declined.exit_code == 1 and "Delete study 'drop' and its 2 trials" in declined.output
    assert "Kept study 'drop'; nothing was deleted." in declined.stderr and "Aborted" not in declined.output
    assert len(load_study(storage=storage, study_name="drop").trials) == 2
    deleted = runner.invoke(main, ["delete", "drop", "--storage", storage, "--yes"])
    assert deleted.exit_code == 0 and "Deleted study 'drop' (2 trials)" in deleted.output
    assert len(load_study(storage=storage, study_name="keep").trials) == 2
    again = runner.invoke(main, ["delete", "drop", "--storage", storage, "--yes"])
    assert again.exit_code == 2 and "no study named 'drop'" in again.stderr and "it holds: 'keep'" in again.stderr


@pytest.mark.parametrize("given", [True, False])
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_parses_back_with_every_trial(tuned, fmt, given):
    # Without --format, -o trials.json was written as CSV.
    out = tuned.tmp / f"trials.{fmt}"
    result = tuned("export", "iris-mlp", "--storage", tuned.storage, *(["--format", fmt] * given), "-o", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    records = json.loads(text) if fmt == "json" else list(csv.DictReader(io.StringIO(text)))
    assert [int(r["number"]) for r in records] == [0, 1, 2]
    assert all("params_lr" in r for r in records)


@pytest.mark.parametrize("kind", ["history", "importance", "parallel", "slice"])
def test_plot_writes_a_png(tuned, kind):
    out = tuned.tmp / f"{kind}.png"
    result = tuned("plot", "iris-mlp", "--storage", tuned.storage, "--kind", kind, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 1000


@pytest.mark.parametrize(("name", "magic"), [("run.v2", b"\x89PNG"), ("run", b"\x89PNG"), ("run.PDF", b"%PDF")])
def test_plot_writes_the_very_file_named_in_png_unless_its_extension_names_another_format(tuned, name, magic):
    out = tuned.tmp / name
    result = tuned("plot", "iris-mlp", "--storage", tuned.storage, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)


def test_compare_on_a_study_without_trials_says_it_has_none(run):
    from tpe_core import Study

    Study({"x": Float(0.0, 1.0)}, storage=run.storage, study_name="empty")
    result = run("show", "empty", "--storage", run.storage, "--compare", "0", "1")
    assert result.exit_code == 2
    assert "--compare: study 'empty' has no trial yet, not 0" in result.stderr


def test_slice_plot_names_the_options_of_a_categorical_parameter(monkeypatch):
    from cli import _plots
    from tpe_core import Categorical, Float, Int, Study, TPESampler

    space = {"act": Categorical(["relu", "tanh"]), "lr": Float(1e-4, 1e-1, log=True),
             "units": Int(16, 256, log=True),
             "opt": Categorical([{"optimizer": "sgd", "momentum": 0.9}, {"optimizer": "adam"},
                                 {"optimizer": "rmsprop", "momentum": Float(0.0, 0.5)}])}
    study = Study(space, sampler=TPESampler(seed=0))
    study.optimize(lambda c: c["lr"], n_trials=6)
    drawn = []
    monkeypatch.setattr(_plots, "_save", lambda figure, output: drawn.append(figure))
    _plots.plot_slice(study, "unused.png")
    act, lr, units, opt, _ = drawn[0].axes  # the last, rmsprop's momentum
    assert [t.get_text() for t in act.get_xticklabels()] == ["relu", "tanh"]
    assert [t.get_text() for t in opt.get_xticklabels()] == ["sgd, 0.9", "adam", "rmsprop"]
    assert lr.get_xscale() == units.get_xscale() == "log"
    drawn[0].canvas.draw()  # the tick labels of a log axis are made at drawing
    shown = {t.get_text() for t in units.get_xticklabels() if t.get_text()}
    assert {"20", "50", "100", "200"} <= shown, shown  # a narrow log range labelled at 1, 2 and 5 times 10^k


def test_tune_a_csv_file_with_string_labels(run):
    X, y = load_iris(return_X_y=True)
    path = run.tmp / "flowers.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "c", "d", "species"])
        writer.writerows([*map(float, row), ["setosa", "versicolor", "virginica"][label]] for row, label in zip(X, y))
    result = run("tune", "--csv", path, "--target", "species", "--storage", run.storage, "--max-epochs", "2",
                 "--n-trials", "2", "--pruner", "median")
    assert result.exit_code == 0, result.output
    assert "target 'species' has labels: classification" in result.stderr
    assert len(load_study(storage=run.storage, study_name="flowers-mlp").trials) == 2


def test_a_grid_run_in_part_is_spread_over_the_grid_and_resuming_finishes_it(run):
    config = run.tmp / "grid.json"
    config.write_text(json.dumps({"space": {"lr": {"choices": [1e-3, 1e-2, 1e-1]}, "batch_size": {"choices": [32, 64]}},
                                  "replace_space": True}))
    args = ["tune", "--dataset", "iris", "--sampler", "grid", "--config", config, "--storage", run.storage,
            "--max-epochs", "1", "--study", "g"]
    first = run(*args, "--n-trials", "3")
    assert first.exit_code == 0, first.output
    assert "--sampler grid runs 3 of the 6 points left of the grid's 6, in an order shuffled by --seed" in first.stderr
    visited = [(t.params["lr"], t.params["batch_size"]) for t in load_study(storage=run.storage, study_name="g").trials]
    assert len(set(visited)) == 3 and visited != [(1e-3, 32), (1e-3, 64), (1e-2, 32)]  # not the grid's start
    second = run(*args, "--n-trials", "5")  # 3 points are left: the run stops there
    assert second.exit_code == 0, second.output
    assert "grid runs" not in second.stderr  # 5 trials cover the 3 points left
    trials = load_study(storage=run.storage, study_name="g").trials
    assert len(trials) == 6 and len({(t.params["lr"], t.params["batch_size"]) for t in trials}) == 6
    third = run(*args, "--n-trials", "2")
    assert "--sampler grid: the grid's 6 points have all been visited; nothing is left to run" in third.stderr
    assert len(load_study(storage=run.storage, study_name="g").trials) == 6


def test_config_files_in_toml_yaml_and_json_give_the_same_space(tmp_path):
    toml = """
n_trials = 5
[space]
lr = { float = [1e-4, 1e-1], log = true }
n_layers = { int = [1, 4], step = 1 }
optimizer = "adam"
model = { choices = [{ kind = "a", width = { int = [8, 64], log = true } }, "plain"] }
"""
    yaml = """
n_trials: 5
space:
  lr: {float: [1.0e-4, 1.0e-1], log: true}
  n_layers: {int: [1, 4], step: 1}
  optimizer: adam
  model:
    choices:
      - {kind: a, width: {int: [8, 64], log: true}}
      - plain
"""
    as_json = {
        "n_trials": 5,
        "space": {
            "lr": {"float": [1e-4, 1e-1], "log": True},
            "n_layers": {"int": [1, 4], "step": 1},
            "optimizer": "adam",
            "model": {"choices": [{"kind": "a", "width": {"int": [8, 64], "log": True}}, "plain"]},
        },
    }
    (tmp_path / "c.toml").write_text(toml)
    (tmp_path / "c.yaml").write_text(yaml)
    (tmp_path / "c.json").write_text(json.dumps(as_json))
    spaces = [parse_space(read_config(str(tmp_path / f"c.{ext}"))["space"]) for ext in ("toml", "yaml", "json")]
    expected = {
        "lr": Float(1e-4, 1e-1, log=True),
        "n_layers": Int(1, 4),
        "optimizer": "adam",
        "model": Categorical([{"kind": "a", "width": Int(8, 64, log=True)}, "plain"]),
    }
    assert spaces == [expected] * 3


def test_flags_override_the_config_file(run):
    config = run.tmp / "study.json"
    config.write_text(json.dumps({"dataset": "iris", "n_trials": 1, "max_epochs": 2, "space": {"n_layers": 1}}))
    result = run("tune", "--config", config, "--storage", run.storage, "--n-trials", "2", "--study", "mine", "--quiet")
    assert result.exit_code == 0, result.output
    trials = load_study(storage=run.storage, study_name="mine").trials
    assert len(trials) == 2 and all(t.config["n_layers"] == 1 for t in trials)


ERRORS = [
    (["tune", "--dataset", "mnist"], "unknown dataset 'mnist'; choose one of iris, digits"),
    (["tune", "--csv", "{tmp}/missing.csv", "--target", "y"], "no CSV file at"),
    (["tune", "--csv", "{tmp}/data.csv", "--target", "label"], "has no column 'label'; known: a, b, y"),
    (["tune", "--dataset", "iris", "--n-trials", "0"], "--n-trials must be a whole number >= 1, got 0"),
    (["tune", "--dataset", "iris", "--config", "{tmp}/bad_key.json"], "unknown setting 'n_trails' (did you mean"),
    (["tune", "--dataset", "iris", "--config", "{tmp}/bad_value.json"], "space.lr: Float: log=True needs low > 0"),
    (["tune", "--dataset", "iris", "--config", "{tmp}/yaml_no.yaml"], "log must be True or False, got log='no'"),
    (["tune", "--dataset", "iris", "--config", "{tmp}/yaml_yes_no.yaml"], "got batch_norm='yes'"),
    (["tune", "--dataset", "iris", "--pruner", "sometimes"], "--pruner must be one of none, median, asha, hyperband"),
    (["tune", "--dataset", "diabetes", "--scoring", "accuracy"],
     "--scoring accuracy cannot score this regression: Classification metrics can't handle"),
    (["tune", "--dataset", "iris", "--scoring", "r2"], "--scoring r2 is a regression metric, and this data is a"),
    (["tune", "--dataset", "iris", "--scoring", "f1"], "--scoring f1 cannot score this classification: Target is"),
    (["tune", "--dataset", "iris", "--sampler", "grid", "--study", "grid"],
     "--sampler grid: the grid has more than 10,000,000 points; give a config file whose space has a few values"),
    (["tune", "--dataset", "iris", "--pruner", "hyperband", "--max-epochs", "2"],
     "--pruner hyperband (reduction factor 3) has rungs from epoch 3: it needs --max-epochs 3 or more, got 2"),
    (["tune", "--dataset", "wine", "--model", "convnet"], "--model convnet classifies square single-channel images"),
    (["tune", "--dataset", "iris", "--scoring", "acuracy"], "unknown --scoring 'acuracy' (did you mean 'accuracy'?)"),
    (["tune", "--dataset", "iris", "--pruner", "asha", "--max-epochs", "1"], "needs --max-epochs 2 or more, got 1"),
    (["tune", "--dataset", "iris", "--config", "{tmp}/bad_name.json"],
     "unknown hyperparameter 'hiden_units' in the space of --model mlp (did you mean 'hidden_units'?)"),
    (["tune", "--dataset", "iris", "--config", "{tmp}/bad_choice.json"],
     "the space's 'activation' may be 'swish', which --model mlp refuses: activation='swish' is not one of"),
    (["tune", "--dataset", "iris", "--config", "{tmp}/float_layers.json"],
     "the space's 'n_layers' may be 1.0, which --model mlp refuses: n_layers must be an integer >= 0"),
    (["tune", "--dataset", "iris", "--config", "{tmp}/conditional_value.json"],
     "the space's 'momentum' may be 'high', which --model mlp refuses"),
    (["tune", "--dataset", "iris", "--cv", "41"],  # 40 rows of each class in the training part
     "cv=41 cannot split the 120 rows of y: n_splits=41 cannot be greater than the number of members in each class"),
    (["tune", "--dataset", "iris", "--validation-fraction", "0.999"],
     "validation_fraction=0.999 cannot split the 120 rows of y: "),
    (["tune", "--csv", "{tmp}/single_rows.csv", "--target", "y", "--task", "classification"],
     "the target has 2 classes of a single row ('c', 'd'): each class needs 2 rows or more, one for the held-out"),
    (["tune", "--csv", "{tmp}/forty_classes.csv", "--target", "y", "--task", "classification"],
     "cannot hold out the test part (20% of the 80 rows, stratified by class): The test_size = 16 should be"),
    (["tune", "--dataset", "iris", "--cv", "3", "--pruner", "median"],
     "--pruner median stops a trial between the epochs of its validation, and --cv trains a network per fold"),
    (["tune", "--dataset", "iris", "--seed", str(2**32)], "--seed must be a whole number from 0 to 2**32 - 1"),
    (["tune", "--dataset", "iris", "--dask-scheduler", "localhost"],
     "--dask-scheduler 'localhost': missing port number in address 'localhost'; give HOST:PORT"),
    (["try", "--dataset", "iris", "--max-epochs", "2", "--set", "max_epochs=5"],
     "max_epochs=5 and --max-epochs 2 both set the epochs: give one of them"),
    (["tune", "--csv", "{tmp}/semicolons.csv", "--target", "y"], "its fields seem separated by ';'"),
    (["export", "iris-mlp", "-o", "{tmp}/no_folder/trials.csv"],
     "cannot write -o '{tmp}/no_folder/trials.csv': No such"),
    (["plot", "iris-mlp", "-o", "{tmp}/no_folder/history.png"],
     "cannot write -o '{tmp}/no_folder/history.png': No such"),
    (["show", "nobody"], "no study named 'nobody'"),
    (["export", "iris-mlp", "--format", "csv", "-o", "{tmp}/trials.json"],
     "--format csv, but -o {tmp}/trials.json names a .json file"),
    # each ran: the file's last 'dataset' won (TOML refuses it), --target was ignored, inf trained every trial
    # to nan, and an Int up to 1e11 units was torch's RuntimeError with a traceback
    (["tune", "--config", "{tmp}/twice.yaml"], "the key 'dataset' is given twice (again at line 3)"),
    (["tune", "--config", "{tmp}/twice.json"], "the key 'dataset' is given twice"),
    (["tune", "--dataset", "iris", "--target", "y"], "--dataset iris has its own target: leave --target out"),
    (["tune", "--dataset", "iris", "--task", "both"], "--task must be classification or regression, got 'both'"),
    (["tune", "--dataset", "iris", "--config", "{tmp}/inf_lr.json"], "'lr' may be inf, which --model mlp refuses: "
                                                                     "lr must be finite, got lr=inf"),
    (["tune", "--dataset", "iris", "--config", "{tmp}/huge_units.json"],
     "'hidden_units' may be 100000000000, for which --model mlp cannot build its network ("),
    (["try", "--dataset", "iris", "--config", "{tmp}/constant_lr.json", "--set", "lr=0.1"],
     "'lr' is a constant of the space (0.01), not a parameter; make it a distribution to vary it"),
    (["best", "nobody"], "no study named 'nobody'"),
    (["plot", "iris-mlp", "-o", "-"], "plot writes an image file: give -o a file name (history.png)"),
    (["tune", "--dataset", "iris", "--study", " "], "--study must be a name, got ' '; leave it out for the default"),
]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"validation_fraction": "0.2"}, "--validation-fraction must be a number, got '0.2'"),
        ({"timeout": "10"}, "--timeout must be a number or null, got '10'"),
        ({"jobs": True}, "--jobs must be a whole number, got True"),
        ({"seed": 1.5}, "--seed must be a whole number, got 1.5"),
        ({"seed": -1}, "--seed must be a whole number from 0 to 2**32 - 1 = 4294967295, got -1"),
        ({"scoring": 5}, "--scoring must be a string or null, got 5"),
        ({"pruner": None}, "--pruner must be a string, got None"),
        ({"replace_space": "no"}, "replace_space must be true or false, got 'no'"),
        ({"space": [1, 2]}, "space must be a table, got [1, 2]"),
    ],
)
def test_a_config_value_of_the_wrong_type_is_named(run, setting, message):
    config = run.tmp / "study.json"
    config.write_text(json.dumps({"dataset": "iris", **setting}))
    result = run("tune", "--config", config, "--storage", run.storage, *TINY)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"Error: {message}"


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=[" ".join(a[:3]) for a, _ in ERRORS])
def test_a_users_mistake_is_one_line_and_exit_code_2(tuned, args, message):
    tmp: Path = tuned.tmp
    (tmp / "data.csv").write_text("a,b,y\n1,2,3\n4,5,6\n7,8,9\n")
    (tmp / "single_rows.csv").write_text("a,y\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(20)) + "1,c\n2,d\n")
    (tmp / "forty_classes.csv").write_text("a,y\n" + "".join(f"{i},{i % 40}\n" for i in range(80)))
    (tmp / "semicolons.csv").write_text("a;y\n1;u\n2;v\n")
    (tmp / "bad_key.json").write_text(json.dumps({"n_trails": 3}))
    (tmp / "bad_value.json").write_text(json.dumps({"space": {"lr": {"float": [0, 1], "log": True}}}))
    (tmp / "yaml_no.yaml").write_text("space:\n  lr: {float: [1.0e-4, 1.0e-1], log: no}\n")  # YAML 1.2: a string
    (tmp / "yaml_yes_no.yaml").write_text("space:\n  batch_norm: {choices: [yes, no]}\n")
    (tmp / "bad_name.json").write_text(json.dumps({"space": {"hiden_units": [8, 16]}}))
    (tmp / "twice.yaml").write_text("dataset: iris\nmax_epochs: 1\ndataset: wine\n")
    (tmp / "twice.json").write_text('{"dataset": "iris", "dataset": "wine"}')
    (tmp / "inf_lr.json").write_text('{"space": {"lr": Infinity}}')
    (tmp / "huge_units.json").write_text(json.dumps({"space": {"hidden_units": {"int": [1, 10**11]}}}))
    (tmp / "constant_lr.json").write_text(json.dumps({"max_epochs": 1, "space": {"lr": 0.01}}))
    (tmp / "bad_choice.json").write_text(json.dumps({"space": {"activation": {"choices": ["relu", "swish"]}}}))
    (tmp / "float_layers.json").write_text(json.dumps({"space": {"n_layers": {"float": [1, 3]}}}))
    (tmp / "conditional_value.json").write_text(json.dumps(
        {"space": {"optimizer": {"choices": [{"optimizer": "sgd", "momentum": "high"}, {"optimizer": "adam"}]}}}
    ))
    args = [a.format(tmp=tmp) for a in args]
    result = tuned(*args, "--storage", tuned.storage)
    assert result.exit_code == 2, result.output
    assert message.format(tmp=tmp) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert len(load_study(storage=tuned.storage, study_name="iris-mlp").trials) == 3  # no trial was started
    assert SQLiteStorage(tuned.storage).study_names() == ["iris-mlp"]  # and no study was opened


def test_ctrl_c_in_the_final_refit_says_the_trials_are_stored_and_exits_130(run, monkeypatch):
    from models import MLPClassifier

    trains = MLPClassifier.fit

    def interrupted_refit(self, X, y, **kwargs):
        if self.train_split is None:  # the refit on every training row
            raise KeyboardInterrupt
        return trains(self, X, y, **kwargs)

    monkeypatch.setattr(MLPClassifier, "fit", interrupted_refit)
    result = run("tune", "--dataset", "iris", "--storage", run.storage, *TINY)
    assert result.exit_code == 130, result.output
    assert ("Interrupted during the final refit. The 3 trials of 'iris-mlp' (3 COMPLETE; an interrupted trial is "
            "a FAIL) are stored in "
            in result.stderr and "`parzen best iris-mlp` shows the best configuration." in result.stderr)


def test_a_refit_that_diverges_is_said_and_a_failed_try_exits_1(run, monkeypatch):
    import torch

    from models import MLPRegressor

    trains = MLPRegressor.fit

    def diverges_on_every_row(self, X, y, **kwargs):  # the trial trains as it does, the final refit diverges
        trains(self, X, y, **kwargs)
        if self.train_split is None:
            with torch.no_grad():
                for weights in self.module_.parameters():
                    weights.fill_(float("nan"))
        return self

    monkeypatch.setattr(MLPRegressor, "fit", diverges_on_every_row)
    result = run("tune", "--dataset", "diabetes", "--storage", run.storage, "--n-trials", "1", "--max-epochs", "1",
                 "--quiet")
    assert result.exit_code == 0, result.output
    assert "diverged: its outputs are not finite, so it has no test score" in result.stdout
    from models import MLPClassifier

    def fails(self, X, y, **kwargs):
        raise RuntimeError("broken network")

    monkeypatch.setattr(MLPClassifier, "fit", fails)
    tried = run("try", "--dataset", "iris", "--storage", run.storage, "--max-epochs", "1", "--quiet")
    assert tried.exit_code == 1 and "ended FAIL: RuntimeError: broken network" in tried.stdout


def test_a_storage_error_names_the_storage_only(run):
    result = run("tune", "--dataset", "iris", "--storage", f"sqlite:///{run.tmp}/no_folder/x.db", *TINY)
    assert result.exit_code == 2, result.output
    assert "cannot create" in result.stderr and "no directory" in result.stderr
    assert "--study" not in result.stderr  # another study name would not help


def test_an_unreachable_dask_scheduler_is_one_line_before_any_study(run):
    import dask.config

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = run("tune", "--dataset", "iris", "--dask-scheduler", "tcp://127.0.0.1:1", "--storage", run.storage,
                     *TINY)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: --dask-scheduler 'tcp://127.0.0.1:1': Timed out trying to connect")
    assert "is a scheduler running there? (`dask scheduler` starts one" in result.stderr
    assert not (run.tmp / "cli.db").exists()


def test_a_negative_limit_is_refused(tuned):
    result = tuned("show", "iris-mlp", "--limit", "-1", "--storage", tuned.storage)
    assert result.exit_code == 2
    assert "-1 is not in the range x>=0" in result.stderr


def test_a_tune_in_which_every_trial_failed_exits_with_1(run, monkeypatch):
    from models import MLPClassifier

    def fails(self, X, y, **kwargs):
        raise ValueError("no training today")

    monkeypatch.setattr(MLPClassifier, "fit", fails)
    result = run("tune", "--dataset", "iris", "--storage", run.storage, *TINY)
    assert result.exit_code == 1, result.output
    assert ("No trial of 'iris-mlp' completed; see `parzen show iris-mlp`. The last failure: ValueError: "
            "no training today") in result.stderr
    study = load_study(storage=run.storage, study_name="iris-mlp")
    assert study.trials and all(t.state is TrialState.FAIL for t in study.trials)


def test_debug_shows_the_traceback_and_keeps_the_exit_code(run):
    result = run("tune", "--dataset", "mnist", "--debug")
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().endswith("Error: unknown dataset 'mnist'; choose one of iris, digits, wine, "
                                           "breast_cancer, diabetes or use --csv FILE --target COL")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_is_a_clear_error(run):
    result = run("tune", "--dataset", "iris", "--device", "cuda", "--storage", run.storage)
    assert result.exit_code == 2
    assert "torch sees no CUDA GPU here; use --device auto" in result.stderr


def test_version_and_help(run):
    import tpe_core

    assert run("--version").stdout == f"parzen, version {tpe_core.__version__}\n"
    for flag in ("--help", "-h"):
        shown = run(flag).stdout
        assert shown.startswith("Usage: ") and "--version" in shown and "tune" in shown
    unknown = CliRunner().invoke(main, ["--bogus"])
    assert unknown.exit_code == 2 and "No such option '--bogus'" in unknown.output
    as_module = subprocess.run([sys.executable, "-m", "cli", "show"], capture_output=True, text=True,
                               cwd=Path(__file__).resolve().parents[2])  # "No module named cli.__main__"
    assert as_module.returncode == 2 and as_module.stderr.startswith("Usage: parzen show [OPTIONS] STUDY")


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_stops_cleanly_and_keeps_the_finished_trials(tmp_path):
    storage = f"sqlite:///{tmp_path}/c.db"
    parzen = [sys.executable, "-c", "from cli import main; main()"]  # this checkout's, whatever is installed
    proc = subprocess.Popen(
        [*parzen, "tune", "--dataset", "digits", "--n-trials", "50", "--max-epochs", "30", "--storage", storage],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    deadline = time.monotonic() + 300
    while True:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no trial finished in time"
        if (tmp_path / "c.db").exists() and SQLiteStorage(storage).study_names():
            finished = [t for t in load_study(storage=storage, study_name="digits-mlp").trials if t.state.is_finished()]
            if finished:
                break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Interrupted. The" in err and "run the same command again to resume" in err
    assert "Traceback" not in err
    trials = load_study(storage=storage, study_name="digits-mlp").trials
    assert all(t.state.is_finished() for t in trials)
    assert any(t.state is TrialState.COMPLETE for t in trials)


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGTERM")
def test_sigterm_while_trials_run_stops_as_ctrl_c_does():
    import os

    from models import TrainingInterrupted
    from models._estimators import _user_interrupts  # what tune and try run under

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted, match="interrupted by SIGTERM"), _user_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)  # between two trainings: no training handler is installed
        time.sleep(5)  # the signal is handled at the next bytecode; never reached
    assert signal.getsignal(signal.SIGTERM) is before


def test_try_a_configuration_by_hand_then_tune_the_same_study(run):
    tried = run("try", "--dataset", "iris", "--max-epochs", "2", "--storage", run.storage, "--quiet",
                "--set", "lr=0.01", "--set", "optimizer=adam", "--set", "batch_norm=true")
    assert tried.exit_code == 0, tried.output
    assert "Trial 0 (manual): validation accuracy" in tried.stdout
    assert "Rank 1 of 1 complete trials" in tried.stdout
    trial = load_study(storage=run.storage, study_name="iris-mlp").trials[0]
    assert trial.params["lr"] == 0.01 and trial.params["optimizer"] == "adam" and trial.params["batch_norm"] is True
    assert trial.params["hidden_units"] == 128  # the model's default

    shown = run("show", "iris-mlp", "--storage", run.storage)
    assert shown.stdout.splitlines()[2].split()[4] == "manual"

    tuned = run("tune", "--dataset", "iris", "--max-epochs", "2", "--n-trials", "2", "--storage", run.storage,
                "--fix", "optimizer=sgd")
    assert "Resuming study 'iris-mlp' (1 trial so far)" in tuned.stderr
    trials = load_study(storage=run.storage, study_name="iris-mlp").trials
    assert [t.source for t in trials] == ["manual", "sampler", "sampler"]
    assert [t.params["optimizer"] for t in trials] == ["adam", "sgd", "sgd"]

    compared = run("show", "iris-mlp", "--storage", run.storage, "--compare", "0", "2")
    assert compared.exit_code == 0
    assert "trial 0" in compared.stdout and "manual" in compared.stdout and "sampler" in compared.stdout
    rule = compared.stdout.splitlines()[1]
    assert len(rule.split()) == 2 and set(rule.replace(" ", "")) == {"-"}  # the trials' columns, not the notes


def test_try_trains_to_the_end_whatever_the_config_files_sampler_and_pruner(run):
    config = run.tmp / "study.toml"
    config.write_text('dataset = "iris"\npruner = "asha"\nsampler = "grid"\n[space]\nmax_epochs = { int = [2, 4] }\n')
    tried = run("try", "--config", config, "--storage", run.storage, "--study", "st", "--quiet", "--set", "lr=0.01")
    assert tried.exit_code == 0, tried.output  # asha's bootstrap stopped it at epoch 1, then "no COMPLETE trial"
    (trial,) = load_study(storage=run.storage, study_name="st").trials
    assert trial.state is TrialState.COMPLETE and sorted(trial.intermediate_values) == [1, 2, 3, 4]
    # the study tune makes with that config has max_epochs 4, as try's, so both go on in it
    tuned = run("tune", "--config", config, "--storage", run.storage, "--study", "st", "--quiet", "--n-trials", "1")
    assert tuned.exit_code == 0, tuned.output


def test_try_takes_the_models_defaults_inside_a_conditional_choice(run):
    config = run.tmp / "cond.yaml"
    config.write_text("dataset: iris\nmax_epochs: 1\nspace:\n  optimizer:\n    choices:\n"
                      "      - {optimizer: sgd, momentum: {float: [0, 0.5]}}\n      - {optimizer: adam}\n")
    for extra in ([], ["--set", "optimizer=0"]):
        tried = run("try", "--config", config, "--storage", run.storage, "--quiet", *extra)
        assert tried.exit_code == 0, tried.output
    first, second = load_study(storage=run.storage, study_name="iris-mlp").trials
    assert first.config["optimizer"] == {"optimizer": "adam"}  # the model's default optimizer, adam
    assert second.config["optimizer"] == {"optimizer": "sgd", "momentum": 0.5}  # its momentum, 0.9, brought inside


def test_try_takes_a_plain_default_option_the_branch_a_given_parameter_is_in_and_ignores_a_file_s_pruner(run):
    config = run.tmp / "mix.toml"
    sgd = '{ optimizer = "sgd", momentum = { float = [0.0, 0.9] } }'
    config.write_text(f'dataset = "iris"\nmax_epochs = 1\npruner = "median"\n[space]\n'
                      f'optimizer = {{ choices = [ {sgd}, "adam" ] }}\n')
    assert run("try", "--config", config, "--storage", run.storage, "--quiet").exit_code == 0
    branch = run("try", "--config", config, "--storage", run.storage, "--quiet", "--set", "optimizer/0/momentum=0.5")
    assert branch.exit_code == 0, branch.output  # "given as branch 1": the default's branch overrode it
    with_cv = run("try", "--config", config, "--storage", run.storage, "--study", "cv", "--quiet", "--cv", "2")
    assert with_cv.exit_code == 0, with_cv.output  # the file's pruner, which try does not use, was refused
    assert "Trial 0 (manual): 2-fold CV accuracy " in with_cv.output  # the folds' mean, not a validation score
    first, second = load_study(storage=run.storage, study_name="iris-mlp").trials
    assert first.config["optimizer"] == "adam"  # the model's default (it took sgd, option 0)
    assert second.config["optimizer"] == {"optimizer": "sgd", "momentum": 0.5}
    unknown = run("try", "--config", config, "--storage", run.storage, "--set", "optimizer=sgd")
    assert "expected a branch index, got 'sgd' (the branches: 0: {" in unknown.stderr


def test_a_flag_s_source_of_data_replaces_the_file_s_task_with_it(run):
    config = run.tmp / "reg.json"
    config.write_text(json.dumps({"csv": "nowhere.csv", "target": "y", "task": "regression", "max_epochs": 1,
                                  "n_trials": 1}))
    result = run("tune", "--config", config, "--dataset", "iris", "--storage", run.storage, "--quiet")
    assert result.exit_code == 0, result.output  # "dataset 'iris' is a classification task, not regression"


def test_a_study_tuned_with_asha_says_which_max_epochs_resumes_it(run):
    assert run("tune", "--dataset", "iris", "--pruner", "asha", "--n-trials", "1", "--storage", run.storage,
               "--quiet").exit_code == 0
    tried = run("try", "--dataset", "iris", "--storage", run.storage, "--set", "lr=0.01")
    assert tried.exit_code == 2
    assert "has another space: 'max_epochs' was the constant 30, is Int(low=5, high=30, log=False, step=5, " \
        "label=None) (pass --max-epochs 30: --max-epochs, or --pruner asha or hyperband, fixed it in this study)" \
        in tried.stderr
    memory = run("tune", "--dataset", "iris", "--storage", "sqlite:///")
    assert memory.exit_code == 2 and "storage='sqlite:///' names no file: give one (sqlite:///parzen.db)" \
        in memory.stderr


def test_a_run_that_its_timeout_ended_before_any_trial_finished_says_so(capsys):
    from cli._tune import Settings, _report
    from tpe_core import Study

    _report(Study({"lr": Float(0.01, 0.1)}), Settings(dataset="iris", timeout=0.5), None, None, ())
    assert "No trial of 'iris-mlp' completed; see `parzen show iris-mlp`. --timeout 0.5 s ended the run before " \
        "any trial finished." in capsys.readouterr().err


def test_a_source_of_data_given_by_a_flag_replaces_the_config_files(run):
    config = run.tmp / "csv.json"
    config.write_text(json.dumps({"csv": "nowhere.csv", "target": "y", "max_epochs": 1, "n_trials": 1}))
    result = run("tune", "--config", config, "--dataset", "iris", "--storage", run.storage, "--quiet")
    assert result.exit_code == 0, result.output
    assert load_study(storage=run.storage, study_name="iris-mlp").trials


def test_best_of_a_conditional_study_gives_the_networks_parameters(run):
    config = run.tmp / "cond.json"
    space = {"optimizer": {"choices": [{"optimizer": "sgd", "momentum": 0.5}, {"optimizer": "adam"}]}}
    config.write_text(json.dumps({"dataset": "iris", "max_epochs": 1, "n_trials": 2, "space": space}))
    assert run("tune", "--config", config, "--storage", run.storage, "--quiet").exit_code == 0
    best = json.loads(run("best", "iris-mlp", "--storage", run.storage).stdout)
    assert best["optimizer"] in ("sgd", "adam") and not isinstance(best["optimizer"], dict)
    from models import MLPClassifier

    MLPClassifier(**best)  # pastes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["try", "--set", "lrate=0.1"], "unknown parameter 'lrate'"),
        (["try", "--set", "lr"], "--set and --fix take NAME=VALUE"),
        (["try", "--set", "lr=5"], "5 is outside"),
        (["tune", "--fix", "optimizer=bogus"], "'bogus' is not one of the choices"),
    ],
)
def test_try_and_fix_refuse_bad_values_in_one_line_before_any_study(run, args, message):
    result = run(*args, "--dataset", "iris", "--max-epochs", "2", "--storage", run.storage)
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.output and "Created study" not in result.output
    assert not (run.tmp / "cli.db").exists()  # no study opened, so none left empty
