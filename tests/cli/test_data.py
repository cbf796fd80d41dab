"""Reading the user's data and config files: ``load_csv`` and ``yaml_load``/``read_config``."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import example, given, seed
from hypothesis import strategies as st

from cli import main
from cli._config import read_config, yaml_load
from cli._data import load_csv
from cli._errors import CliError


def write(folder: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> str:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return str(path)


# --- YAML 1.2 scalars -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e-3", 1e-3), ("1E-3", 1e-3), ("2e-1", 0.2), (".5", 0.5), ("-1e+2", -100.0), ("1.0e-4", 1e-4), ("3.", 3.0),
        ("010", 10), ("-007", -7), ("42", 42), ("0x10", 16), ("0o17", 15),
        ("true", True), ("false", False), ("True", True), ("FALSE", False),
        ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("Yes", "Yes"), ("y", "y"), ("n", "n"),
        ("sgd", "sgd"), ("adam", "adam"), ("1_000", "1_000"), ("1:30", "1:30"), ("=", "="),
        ("null", None), ("~", None), ("", None), (".inf", math.inf), ("-.Inf", -math.inf),
    ],
)
def test_yaml_scalars_follow_yaml_1_2(text, expected):
    value = yaml_load(text)
    assert value == expected and type(value) is type(expected)


def test_yaml_nan_is_a_float():
    assert math.isnan(yaml_load(".nan"))


def test_the_yaml_1_2_loader_leaves_pyyaml_alone():
    yaml_load("a: yes")
    assert yaml.safe_load("yes") is True and yaml.safe_load("010") == 8 and yaml.safe_load("1e-3") == "1e-3"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text("abcxyz_", max_size=8), inner, max_size=4),
    max_leaves=12,
)


@seed(20240611)
@given(JSON)
@example({"lr": 1e-07, "big": 1e16, "half": 0.5, "flag": True, "word": "yes"})
def test_json_reads_the_same_as_yaml_1_2(value):
    # YAML 1.2 is a superset of JSON: `1e-07` is the float json.dumps wrote, not a string.
    assert yaml_load(json.dumps(value)) == value


@seed(20240611)
@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=9))
def test_leading_zeros_are_decimal(number, width):
    assert yaml_load(f"{number:0{width}d}") == number


def test_a_yaml_config_reads_exponents_and_keeps_words(tmp_path):
    path = write(tmp_path, "n_trials: 010\nseed: 0x10\nsampler: random\nspace:\n  optimizer: sgd\n"
                 "  lr: {float: [1e-4, 1e-1], log: true}\n  weight_decay: 1E-3\n"
                 "  nesterov: on\n  activation: {choices: [relu, no, off]}\n", "study.yaml")
    config = read_config(path)
    assert config == {
        "n_trials": 10, "seed": 16, "sampler": "random",
        "space": {"optimizer": "sgd", "lr": {"float": [1e-4, 1e-1], "log": True}, "weight_decay": 1e-3,
                  "nesterov": "on", "activation": {"choices": ["relu", "no", "off"]}},
    }


# --- load_csv ---------------------------------------------------------------------------------------------------


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = write(tmp_path, "\ufeffa,b,y\n1,2,5\n3,4,6\n", encoding="utf-8")
    data = load_csv(path, "y", None)
    assert data.X.tolist() == [[1, 2], [3, 4]] and data.y.tolist() == [5, 6]
    with pytest.raises(CliError, match=r"has no column 'label'; known: a, b, y$"):
        load_csv(path, "label", None)
    assert load_csv(path, "a", None).task == "regression"  # 'a' is found, not '\ufeffa'
    with pytest.raises(CliError, match=r"has no column 'yy' \(did you mean 'y'\?\); known: a, b, y$"):
        load_csv(path, "yy", None)


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-inf", "Infinity", "1e39"])
def test_a_feature_that_is_nan_or_infinite_is_refused(tmp_path, cell):
    path = write(tmp_path, f"a,b,y\n1,2,3\n4,{cell},6\n7,8,9\n")
    with pytest.raises(CliError) as error:
        load_csv(path, "y", None)
    message = str(error.value)
    assert message.startswith(f"{path!r} line 3, column 'b': {cell!r} is ")
    assert "finite" in message or "float32" in message
    assert "\n" not in message


def test_a_number_that_is_not_one_keeps_its_message(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,3\n4,five,6\n")
    with pytest.raises(CliError, match=r"line 3, column 'b': 'five' is not a number; feature columns must be numeric"):
        load_csv(path, "y", None)


@pytest.mark.parametrize("cell", ["", "  ", "NA", "N/A", "nan", "NaN", "NULL", "#N/A", " na "])
@pytest.mark.parametrize("others", [("1", "2"), ("a", "b")], ids=["numeric", "labels"])
def test_an_empty_or_missing_target_is_refused(tmp_path, cell, others):
    """A missing value, as R or a spreadsheet writes it, would be a class of its own, or make a regression labels."""
    path = write(tmp_path, f"a,y\n1,{others[0]}\n2,{cell}\n3,{others[1]}\n")
    said = "empty" if not cell.strip() else f"'{cell.strip()}', a missing value"
    with pytest.raises(CliError, match=rf"^{re.escape(repr(path))} line 3, column 'y': the target is {said}"):
        load_csv(path, "y", None)


def test_line_numbers_count_blank_lines(tmp_path):
    text = "a,b,y\n\n1,2,3\n\n\n4,x,6\n"
    with pytest.raises(CliError, match=r"line 6, column 'b': 'x' is not a number"):
        load_csv(write(tmp_path, text), "y", None)
    with pytest.raises(CliError, match=r"line 4: 2 fields, the header has 3"):
        load_csv(write(tmp_path, "a,b,y\n\n1,2,3\n4,5\n"), "y", None)
    with pytest.raises(CliError, match=r"line 5, column 'y': the target is empty"):
        load_csv(write(tmp_path, "a,y\n1,2\n\n   \n3,\n"), "y", None)


def test_line_numbers_count_the_lines_of_a_quoted_field(tmp_path):
    path = write(tmp_path, 'a,y\n1,"two\nlines"\n2,b\nx,c\n')
    with pytest.raises(CliError, match=r"line 5, column 'a': 'x' is not a number"):
        load_csv(path, "y", None)


@pytest.mark.parametrize(
    "text", ["", "a,b,y\n", "a,b,y\n\n\n\n", "a,b,y\n\n1,2,3\n\n", "\n\na,b,y\n1,2,3\n", "a,b,y\n  \n \n"]
)
def test_too_few_data_rows_need_a_header_and_two_rows(tmp_path, text):
    with pytest.raises(CliError, match=r"needs a header row and at least 2 data rows"):
        load_csv(write(tmp_path, text), "y", None)


def test_blank_lines_before_the_header_are_skipped(tmp_path):
    data = load_csv(write(tmp_path, "\n\na,y\n1,u\n2,v\n"), "y", None)
    assert data.X.tolist() == [[1], [2]] and data.y.tolist() == ["u", "v"]


@pytest.mark.parametrize(("text", "task"), [("a,y\n1,a\n2,a\n3,a\n", None), ("a,y\n1,5\n2,5\n", "classification")])
def test_a_single_class_is_refused(tmp_path, text, task):
    label = "a" if task is None else "5"
    with pytest.raises(CliError, match=rf"column 'y' has one class, '{label}': there is nothing to classify"):
        load_csv(write(tmp_path, text), "y", task)


def test_names_and_labels_padded_with_spaces_are_the_same_names_and_labels(tmp_path):
    data = load_csv(write(tmp_path, "a, b, y\n1, 2, u\n3, 4,u\n5, 6, v\n"), "y", None)
    assert data.y.tolist() == ["u", "u", "v"] and data.X.tolist() == [[1, 2], [3, 4], [5, 6]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,a,y\n1,2,u\n3,4,v\n", r"the header names 'a' more than once"),
        ("y\nu\nv\n", r"has only the target column 'y': no feature"),
        ("a,y\n1,5\n2,5\n3,5\n", r"column 'y' is 5 on every row: there is nothing to regress"),
    ],
)
def test_a_file_without_something_to_learn_is_refused(tmp_path, text, message):
    with pytest.raises(CliError, match=message):
        load_csv(write(tmp_path, text), "y", None)


def test_a_regression_target_must_be_finite(tmp_path):
    with pytest.raises(CliError, match=r"line 3, column 'y': '-inf' is not a finite"):
        load_csv(write(tmp_path, "a,y\n1,2\n2,-inf\n3,4\n"), "y", None)


def test_integer_labels_of_a_classification_are_integers_and_the_digest_reads_the_file(tmp_path):
    data = load_csv(write(tmp_path, "a,y\n1,0\n2,1\n3,1\n4,-2\n"), "y", "classification")
    assert data.y.dtype == np.int64 and data.y.tolist() == [0, 1, 1, -2]  # so that a metric's pos_label=1 is a class
    h = hashlib.sha256(np.ascontiguousarray(data.X).tobytes())
    h.update(np.array(["0", "1", "1", "-2"]).tobytes())  # as when the labels were strings: stored studies resume
    assert data.digest() == h.hexdigest()[:16]
    for text in ("a,y\n1,01\n2,1\n3,1\n", "a,y\n1,1.0\n2,2\n3,2\n", "a,y\n1,inf\n2,2\n3,2\n"):
        assert load_csv(write(tmp_path, text), "y", "classification").y.dtype.kind == "U"  # not plain integers
    floats = load_csv(write(tmp_path, "a,y\n1,0.0\n2,1.0\n3,1.0\n"), "y", "classification")  # as pandas writes
    assert floats.y.dtype == np.int64 and floats.y.tolist() == [0, 1, 1]


def test_a_header_column_without_a_name_is_refused_naming_it(tmp_path):
    with pytest.raises(CliError, match=r"column 3 of the header has no name \(a comma at the end of the header line"):
        load_csv(write(tmp_path, "a,y,\n1,u,\n2,v,\n"), "y", None)
    with pytest.raises(CliError, match=r"column 2 of the header has no name; name every column"):
        load_csv(write(tmp_path, "a,,y\n1,2,u\n2,3,v\n"), "y", None)


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_file_separated_otherwise_than_by_commas_says_so(tmp_path, separator):
    path = write(tmp_path, separator.join("aby") + "\n" + separator.join("12u") + "\n" + separator.join("34v") + "\n")
    with pytest.raises(CliError, match=re.escape(f"fields seem separated by {separator!r}, and parzen reads comma")):
        load_csv(path, "y", None)


def test_a_file_that_is_not_utf8_is_refused_in_one_line(tmp_path):
    path = write(tmp_path, "a,y\n1,caf\u00e9\n2,th\u00e9\n", encoding="latin-1")
    with pytest.raises(CliError, match=r"is not UTF-8 text"):
        load_csv(path, "y", None)


def test_existing_behaviour_is_kept(tmp_path):
    with pytest.raises(CliError, match=r"^no CSV file at"):
        load_csv(str(tmp_path / "missing.csv"), "y", None)
    with pytest.raises(CliError, match=r"--csv needs --target COLUMN"):
        load_csv(str(tmp_path / "missing.csv"), None, None)
    path = write(tmp_path, "a,b,y\n1,2,3\n4,5,6\n7,8,9\n")
    regression = load_csv(path, "y", None)
    assert regression.task == "regression" and regression.y.dtype == np.float32 and regression.name == "data"
    assert "is numeric: regression" in regression.note
    assert load_csv(path, "y", "classification").y.tolist() == [3, 6, 9]
    with pytest.raises(CliError, match=r"--task must be classification or regression, got 'both'"):
        load_csv(path, "y", "both")
    labels = write(tmp_path, "a,y\n1,cat\n2,dog\n", "pets.csv")
    with pytest.raises(CliError, match=r"--task regression needs a numeric target; column 'y' has non-numbers"):
        load_csv(labels, "y", "regression")
    assert load_csv(labels, "y", None).note == "target 'y' has labels: classification"


ROWS = st.lists(
    st.tuples(st.floats(-1e6, 1e6, width=32), st.floats(-1e6, 1e6, width=32), st.sampled_from(["a", "b", "c"])),
    min_size=2, max_size=15,
)


def csv_text(rows: list, blank_after: list[int]) -> tuple[str, list[int]]:
    """The CSV text of ``rows`` with blank lines after the rows listed, and the line each row lands on."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["u", "v", "label"])
    lines, line = [], 1
    for i, row in enumerate(rows):
        writer.writerow([repr(float(row[0])), repr(float(row[1])), row[2]])
        line += 1
        lines.append(line)
        for _ in range(blank_after.count(i)):
            buffer.write("\n")
            line += 1
    return buffer.getvalue(), lines


@seed(20240611)
@given(ROWS.filter(lambda rows: len({r[2] for r in rows}) > 1), st.lists(st.integers(0, 14), max_size=6))
def test_a_csv_reads_back_whatever_its_blank_lines(tmp_path_factory, rows, blank_after):
    text, _ = csv_text(rows, blank_after)
    data = load_csv(write(tmp_path_factory.mktemp("csv"), text), "label", None)
    assert data.X.tolist() == [[r[0], r[1]] for r in rows]
    assert data.y.tolist() == [r[2] for r in rows] and data.task == "classification"


@seed(20240611)
@given(ROWS, st.lists(st.integers(0, 14), max_size=6), st.data())
def test_a_bad_cell_is_reported_on_its_own_line(tmp_path_factory, rows, blank_after, data):
    bad = data.draw(st.integers(0, len(rows) - 1))
    cell = data.draw(st.sampled_from(["nan", "inf", "-inf", "oops"]))
    rows = [(*row[:1], cell, row[2]) if i == bad else row for i, row in enumerate(rows)]
    text, lines = csv_text([(r[0], 0.0, r[2]) for r in rows], blank_after)
    text = text.splitlines(keepends=True)
    text[lines[bad] - 1] = text[lines[bad] - 1].replace(",0.0,", f",{cell},")
    path = write(tmp_path_factory.mktemp("csv"), "".join(text))
    with pytest.raises(CliError, match=rf"^{path!r} line {lines[bad]}, column 'v': {cell!r} is not a"):
        load_csv(path, "label", None)


def test_the_command_shows_a_csv_mistake_in_one_line(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,3\n4,nan,6\n7,8,9\n")
    result = CliRunner().invoke(main, ["tune", "--csv", path, "--target", "y", "--storage",
                                       f"sqlite:///{tmp_path}/cli.db", "--n-trials", "1", "--quiet"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"Error: {path!r} line 3, column 'b': 'nan' is not a finite number; " \
                                    "feature columns must be finite (fill in missing values)"
