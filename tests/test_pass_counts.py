"""Tests for load_pass_counts: every bad input is a DataError naming column, row and value."""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_scaling.tables import (
    OPTIONAL_PASS_COLUMNS,
    REQUIRED_PASS_COLUMNS,
    DataError,
    IncompleteRunsWarning,
    data_hash,
    load_pass_counts,
    load_runs,
)


def counts(**overrides) -> pd.DataFrame:
    """A valid, complete table: runs a, b, c at three computes, problems p0 and p1."""
    columns = {
        "run": ["a", "a", "b", "b", "c", "c"],
        "compute": [1e18, 1e18, 1e19, 1e19, 1e20, 1e20],
        "problem": ["p0", "p1", "p0", "p1", "p0", "p1"],
        "n": [10, 10, 10, 10, 10, 10],
        "correct": [1, 0, 4, 2, 9, 7],
    }
    columns.update(overrides)
    return pd.DataFrame({k: v for k, v in columns.items() if v is not None})


def load_quietly(source) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteRunsWarning)
        return load_pass_counts(source)


def error_of(frame) -> str:
    with pytest.raises(DataError) as info:
        load_quietly(frame)
    return str(info.value)


def test_constants():
    assert REQUIRED_PASS_COLUMNS == ("compute", "problem", "n", "correct")
    assert OPTIONAL_PASS_COLUMNS == ("run", "model", "suite", "nll")
    assert issubclass(IncompleteRunsWarning, UserWarning)
    assert not issubclass(IncompleteRunsWarning, DataError)


# ------------------------------------------------------------- bad tables


@pytest.mark.parametrize("name", REQUIRED_PASS_COLUMNS)
def test_missing_required_column(name):
    found = [c for c in counts().columns if c != name]
    message = error_of(counts(**{name: None}))
    assert message == f"missing required column {name!r}; found columns: {found}"


def test_missing_column_is_case_sensitive_with_hint():
    message = error_of(counts().rename(columns={"correct": "Correct"}))
    assert "missing required column 'correct'" in message
    assert "rename 'Correct' to 'correct'" in message


def test_empty_table():
    frame = pd.DataFrame({"compute": [], "problem": [], "n": [], "correct": []})
    assert error_of(frame) == "the pass-counts table from DataFrame has no rows; it needs one row per (run, problem)"


@pytest.mark.parametrize("column", ["compute", "n", "correct"])
def test_non_numeric(column):
    values = counts()[column].astype(object).tolist()
    values[3] = "lots"
    assert error_of(counts(**{column: values})) == f"column {column!r}, row 3 (run 'b'): value 'lots' is not a number"


@pytest.mark.parametrize("column", ["n", "correct"])
def test_boolean_count_is_not_a_number(column):
    values = counts()[column].astype(object).tolist()
    values[2] = True
    message = error_of(counts(**{column: values}))
    assert message == f"column {column!r}, row 2 (run 'b'): value True is a boolean, not a number"


@pytest.mark.parametrize("column", ["compute", "n", "correct"])
def test_nan(column):
    values = counts()[column].astype(float).tolist()
    values[4] = math.nan
    message = error_of(counts(**{column: values}))
    assert message.startswith(f"column {column!r}, row 4 (run 'c'): value nan is NaN")


@pytest.mark.parametrize("column", ["compute", "n", "correct"])
@pytest.mark.parametrize("value, shown", [(math.inf, "inf"), (-math.inf, "-inf")])
def test_infinite(column, value, shown):
    values = counts()[column].astype(float).tolist()
    values[5] = value
    assert error_of(counts(**{column: values})) == f"column {column!r}, row 5 (run 'c'): value {shown} is infinite"


@pytest.mark.parametrize("value, shown", [(0.0, "0.0"), (-1e19, "-1e+19")])
def test_compute_not_positive(value, shown):
    message = error_of(counts(compute=[1e18, 1e18, value, value, 1e20, 1e20]))
    assert message == f"column 'compute', row 2 (run 'b'): value {shown} must be > 0"


def test_zero_samples():
    message = error_of(counts(n=[10, 10, 10, 0, 10, 10], correct=[1, 0, 4, 0, 9, 7]))
    assert message.startswith("column 'n', row 3 (run 'b'): value 0 ")
    assert message.endswith("n must be >= 1: a problem with no samples says nothing")


def test_negative_samples():
    message = error_of(counts(n=[10, -4, 10, 10, 10, 10]))
    assert message == "column 'n', row 1 (run 'a'): value -4 is negative: n (samples drawn) must be >= 1"


def test_negative_correct():
    message = error_of(counts(correct=[1, 0, 4, 2, -1, 7]))
    assert message == (
        "column 'correct', row 4 (run 'c'): value -1 is negative: correct (samples that passed) must be >= 0"
    )


@pytest.mark.parametrize("column", ["n", "correct"])
def test_fractional_count(column):
    values = counts()[column].astype(float).tolist()
    values[2] = 2.5
    message = error_of(counts(**{column: values}))
    assert message == f"column {column!r}, row 2 (run 'b'): value 2.5 must be an integer (a count of samples)"


def test_integral_floats_and_strings_become_int64():
    out = load_quietly(counts(n=[10.0, 10.0, "10", " 10 ", 10, 10.0], correct=[1.0, 0.0, "4", 2, 9.0, "7.0"]))
    assert out["n"].dtype == np.int64 and out["correct"].dtype == np.int64
    assert out["n"].tolist() == [10] * 6
    assert out["correct"].tolist() == [1, 0, 4, 2, 9, 7]


def test_count_outside_int64():
    message = error_of(counts(n=[10, 10, 10, 10, 10, 1e30]))
    assert message == "column 'n', row 5 (run 'c'): value 1e+30 is outside the 64-bit integer range"


def test_huge_integer_counts_stay_exact():
    big = 2**53 + 1  # not representable as a float64
    out = load_quietly(counts(n=[big] * 6, correct=[big, 0, 1, 2, 3, big - 1]))
    assert out["n"].tolist() == [big] * 6
    assert out["correct"].tolist() == [big, 0, 1, 2, 3, big - 1]
    message = error_of(counts(n=[big - 1] * 6, correct=[0, 0, big, 0, 0, 0]))  # equal as floats, not as integers
    assert message.startswith(f"column 'correct', row 2 (run 'b'): value {big} is more than n = {big - 1}")


def test_correct_more_than_n_names_both_values():
    message = error_of(counts(n=[10, 10, 10, 10, 8, 10], correct=[1, 0, 4, 2, 9, 7]))
    assert message == (
        "column 'correct', row 4 (run 'c'): value 9 is more than n = 8 in the same row; "
        "correct (samples that passed) must be <= n (samples drawn)"
    )


@pytest.mark.parametrize("missing", [None, math.nan])
def test_missing_problem_id(missing):
    frame = counts()
    frame["problem"] = frame["problem"].astype(object)
    frame.loc[3, "problem"] = missing
    message = error_of(frame)
    assert re.fullmatch(
        r"column 'problem', row 3 \(run 'b'\): value (None|nan) is missing; every row needs a problem id", message
    )


def test_duplicate_run_problem_pair_names_both_rows():
    message = error_of(counts(problem=["p0", "p1", "p0", "p1", "p1", "p1"]))
    assert message.startswith("column 'problem', row 5 (run 'c'): value 'p1' repeats row 4 for the same run 'c'")


def test_duplicate_pair_without_run_column_uses_compute():
    message = error_of(counts(run=None, problem=["p0", "p1", "p0", "p0", "p0", "p1"]))
    assert message.startswith("column 'problem', row 3: value 'p0' repeats row 2 for the same run (compute=1e+19)")


def test_same_problem_in_different_runs_is_fine():
    out = load_quietly(counts(run=["a", "a", "b", "b", "b2", "b2"], compute=[1e18, 1e18, 1e19, 1e19, 1e19, 1e19]))
    assert out["run"].tolist() == ["a", "a", "b", "b", "b2", "b2"]


def test_one_run_two_computes_names_the_rows():
    message = error_of(counts(compute=[1e18, 1e18, 1e19, 2e19, 1e20, 1e20]))
    assert message.startswith(
        "column 'compute', row 3 (run 'b'): value 2e+19 differs from 1e+19 in row 2 of the same run"
    )


def test_one_compute_is_not_a_trend():
    message = error_of(counts(run=None, compute=[1e18] * 6, problem=["p0", "p1", "p2", "p3", "p4", "p5"]))
    assert message == "column 'compute', rows 0-5: 1 distinct value (1e+18): a trend needs at least 2 runs; found 1"


def test_runs_sharing_one_compute_count_once():
    message = error_of(counts(compute=[1e18] * 6))
    assert message.startswith("column 'compute', rows 0-5: 1 distinct value (1e+18), shared by its 3 runs")
    assert message.endswith("a trend needs at least 2 runs; found 1")


def test_two_runs_are_enough():
    out = load_quietly(counts().iloc[:4])
    assert out["run"].unique().tolist() == ["a", "b"]


def test_optional_columns_are_checked():
    message = error_of(counts(nll=[0.1, 0.2, math.inf, 0.4, 0.5, 0.6]))
    assert message == "column 'nll', row 2 (run 'b'): value inf is infinite"
    message = error_of(counts(model=["m", "m", None, "m", "m", "m"]))
    assert re.fullmatch(
        r"column 'model', row 2 \(run 'b'\): value (None|nan) is missing; every row needs a model name", message
    )
    message = error_of(counts(run=["a", "a", "b", None, "c", "c"]))
    assert re.fullmatch(r"column 'run', row 3: value (None|nan) is missing; every row needs a run name", message)


def test_checks_run_in_the_documented_order():
    # Not a number (stage 1) beats NaN (stage 2) beats a negative count (stage 3), whatever the rows.
    frame = counts(compute=[1e18, math.nan, 1e19, 1e19, 1e20, 1e20], n=[10, 10, 10, 10, 10, "x"])
    assert error_of(frame).startswith("column 'n', row 5 ")
    frame = counts(compute=[1e18, math.nan, 1e19, 1e19, 1e20, 1e20], correct=[1, 0, 4, 2, 9, -7])
    assert error_of(frame).startswith("column 'compute', row 1 ")
    # Within a stage the earliest row wins, whichever column it is in.
    frame = counts(n=[10, 10, 10, -1, 10, 10], correct=[1, -2, 4, 2, 9, 7])
    assert error_of(frame).startswith("column 'correct', row 1 ")


@pytest.mark.parametrize("source, name", [(42, "int"), ([1, 2], "list")])
def test_wrong_type(source, name):
    with pytest.raises(DataError, match=rf"^load_pass_counts\(\) takes a path .* got {name}$"):
        load_pass_counts(source)


def test_jsonl_line_that_is_not_an_object(tmp_path):
    path = tmp_path / "counts.jsonl"
    path.write_text('{"compute": 1e18, "problem": "p0", "n": 1, "correct": 0}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"line 2 is a JSON list, not an object with one row's columns$"):
        load_pass_counts(path)


# ------------------------------------------------------------- good tables


@pytest.fixture
def full_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "notes": ["x", "y", "z", "w", "v", "u"],
            "correct": [1, 0, 4, 2, 9, 7],
            "problem": ["HumanEval/0", "007", "HumanEval/0", "007", "HumanEval/0", "007"],
            "suite": ["humaneval"] * 6,
            "nll": [0.1 + 0.2, 1 / 3, -0.5, 2.0, 0.25, 1e-9],
            "compute": [1e17 / 3, 1e17 / 3, 1.2345678901234567e19, 1.2345678901234567e19, 1e20, 1e20],
            "n": [10, 10, 10, 10, 10, 10],
            "run": ["s", "s", "m", "m", "l", "l"],
            "model": ["tiny", "tiny", "mid", "mid", "big", "big"],
            "seconds": [0.5, 1.25, 10.0, 30.0, 100.0, 3.0],
        }
    )


def test_round_trip_csv_parquet_jsonl(tmp_path, full_table):
    csv, pq, jsonl = tmp_path / "counts.csv", tmp_path / "counts.parquet", tmp_path / "counts.jsonl"
    full_table.to_csv(csv, index=False)
    full_table.to_parquet(pq, index=False)
    jsonl.write_text("\n".join(json.dumps(record) for record in full_table.to_dict(orient="records")) + "\n")

    frames = {name: load_pass_counts(path) for name, path in [("csv", csv), ("parquet", pq), ("jsonl", jsonl)]}
    frames["frame"] = load_pass_counts(full_table)
    assert frames["csv"]["problem"].tolist()[:2] == ["HumanEval/0", "007"]  # CSV ids keep their zeros
    for frame in frames.values():
        pd.testing.assert_frame_equal(frame, frames["frame"])
    hashes = {data_hash(frame) for frame in frames.values()}
    hashes |= {data_hash(csv), data_hash(pq), data_hash(jsonl), data_hash(full_table)}
    assert len(hashes) == 1
    assert frames["csv"].attrs["source"] == str(csv)
    assert frames["frame"].attrs == {"source": "DataFrame", "file_sha256": None, "sha256": hashes.pop(), "incomplete_runs": {}}


def test_csv_ids_are_read_as_text(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text(
        " run ,compute,problem,n,correct\n01,1e18,007,4,1\n01,1e18,010,4,2\n02,1e19,007,4,3\n02,1e19,010,4,4\n"
    )
    out = load_pass_counts(path)
    assert out["problem"].tolist() == ["007", "010", "007", "010"]
    assert out["run"].tolist() == ["01", "01", "02", "02"]
    assert out["n"].dtype == np.int64 and out["compute"].dtype == np.float64
    assert data_hash(path) == data_hash(out)


def test_output_columns_and_dtypes(full_table):
    out = load_pass_counts(full_table)
    assert list(out.columns) == [
        "run", "compute", "problem", "n", "correct", "model", "suite", "nll", "notes", "seconds",
    ]  # fmt: skip
    assert out["compute"].dtype == np.float64 and out["nll"].dtype == np.float64
    assert out["n"].dtype == np.int64 and out["correct"].dtype == np.int64
    for name in ("run", "problem", "model", "suite"):
        assert pd.api.types.is_string_dtype(out[name])
        assert all(type(v) is str for v in out[name])
    assert out["seconds"].equals(full_table["seconds"])
    assert out["notes"].tolist() == full_table["notes"].tolist()
    assert out.index.equals(pd.RangeIndex(6))
    assert out["compute"].tolist() == full_table["compute"].tolist()
    assert out["correct"].tolist() == [1, 0, 4, 2, 9, 7]


def test_ids_become_strings_and_rows_keep_their_order():
    frame = counts(problem=[11, 12, 11, 12, 11, 12], run=[3, 3, 2, 2, 1, 1]).iloc[::-1]
    frame.index = [7, 3, 9, 1, 0, 4]
    out = load_quietly(frame)
    assert out["problem"].tolist() == ["12", "11", "12", "11", "12", "11"]
    assert out["run"].tolist() == ["1", "1", "2", "2", "3", "3"]
    assert out["correct"].tolist() == [7, 9, 2, 4, 0, 1]
    assert out.index.equals(pd.RangeIndex(6))


def test_run_is_made_from_compute_when_absent():
    out = load_quietly(counts(run=None, compute=[1e18, 1e18, 2.5e19, 2.5e19, 1.23456e20, 1.23456e20]))
    assert list(out.columns[:5]) == ["run", "compute", "problem", "n", "correct"]
    assert out["run"].tolist() == ["C=1e+18", "C=1e+18", "C=2.5e+19", "C=2.5e+19", "C=1.235e+20", "C=1.235e+20"]
    assert all(type(v) is str for v in out["run"])


def test_made_up_run_names_never_merge_runs():
    out = load_quietly(counts(run=None, compute=[1e18, 1e18, 1.00001e18, 1.00001e18, 1e20, 1e20]))
    assert out["run"].nunique() == 3
    assert out["run"].tolist()[1:3] == ["C=1e+18", "C=1.00001e+18"]


def test_incomplete_runs_warn_and_are_listed():
    problems = [f"p{i}" for i in range(164)]
    rows = [("a", 1e18, p) for p in problems[3:]] + [("b", 1e19, p) for p in problems if p != "p7"]
    rows += [("c", 1e20, p) for p in problems]
    frame = pd.DataFrame(rows, columns=["run", "compute", "problem"]).assign(n=5, correct=2)
    with pytest.warns(IncompleteRunsWarning) as record:
        out = load_pass_counts(frame)
    assert len(record) == 1
    assert str(record[0].message) == (
        "2 runs miss some problems (run 'a': 3 of 164 problems missing, run 'b': 1 of 164 problems missing); "
        "they are fitted on what they have"
    )
    assert record[0].filename == __file__  # points at the caller, not at data.py
    assert out.attrs["incomplete_runs"] == {"a": ["p0", "p1", "p2"], "b": ["p7"]}
    assert len(out) == len(frame)


def test_complete_runs_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = load_pass_counts(counts())
    assert out.attrs["incomplete_runs"] == {}


def test_callers_frame_is_not_mutated():
    frame = counts(n=[10.0] * 6, compute=[10**16, 10**16, 10**17, 10**17, 10**18, 10**18]).rename(
        columns={"correct": " correct "}
    )
    frame = frame.drop(index=[5])  # run c misses p1: a warning, and attrs on the output only
    frame.index = [50, 40, 30, 20, 10]
    before = frame.copy(deep=True)
    out = load_quietly(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert frame["compute"].dtype == np.int64 and frame["n"].dtype == np.float64
    assert frame.attrs == {}
    assert out["correct"].tolist() == [1, 0, 4, 2, 9]
    out.loc[0, "correct"] = 5
    assert frame[" correct "].iloc[0] == 1


def test_load_pass_counts_is_idempotent(full_table):
    once = load_pass_counts(full_table)
    pd.testing.assert_frame_equal(load_pass_counts(once), once)
    no_run = load_quietly(counts(run=None))
    pd.testing.assert_frame_equal(load_quietly(no_run), no_run)


def test_data_hash_of_pass_counts(full_table):
    reference = data_hash(full_table)
    assert re.fullmatch(r"[0-9a-f]{64}", reference)
    table = load_pass_counts(full_table)
    text = table[sorted(table.columns)].to_csv(index=False, float_format="%.17g", lineterminator="\n")
    assert reference == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert data_hash(full_table[list(reversed(full_table.columns))]) == reference
    changed = full_table.copy()
    changed.loc[3, "correct"] = 3
    assert data_hash(changed) != reference
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # hashing an incomplete table does not warn
        assert data_hash(full_table.iloc[:5]) != reference
    with pytest.raises(DataError, match=r"^column 'n', row 0 \(run 's'\): value 0 "):
        data_hash(full_table.assign(n=0))


def test_a_runs_table_is_not_a_pass_counts_table():
    runs = pd.DataFrame({"compute": [1e16, 1e17, 1e18], "loss": [3.0, 2.5, 2.2]})
    assert data_hash(runs) == data_hash(load_runs(runs))
    with pytest.raises(DataError, match=r"missing required column 'problem'"):
        load_pass_counts(runs)


# ------------------------------------------------------------- property test

CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, -1, 1, 2, 2.5, 3.0, -0.0, 1e308, 2**63, 10**400, "3", "3.0", " 2.5 ", "nan", "inf", "-1", ""]),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
)
NAMES = ["run", "compute", "problem", "n", "correct", "model", "suite", "nll", "other", " n ", "Correct"]


@st.composite
def pass_tables(draw) -> tuple[pd.DataFrame, bool]:
    """(a table, whether it is valid by construction): a valid table, damaged or not, or noise."""
    runs = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=2, max_size=4, unique=True))
    computes = draw(  # mostly one compute per run; sometimes runs share one
        st.lists(
            st.sampled_from([1e18, 3e18, 1e19, 1e20]),
            min_size=len(runs),
            max_size=len(runs),
            unique=draw(st.integers(0, 3)) > 0,
        )
    )
    problems = draw(st.lists(st.sampled_from(["p0", "p1", "p2"]), min_size=1, max_size=3, unique=True))
    rows = []
    for run, compute in zip(runs, computes):
        for problem in problems:
            if draw(st.integers(0, 4)) == 0:
                continue  # this run misses this problem
            n = draw(st.integers(1, 20))
            correct = draw(st.integers(0, n))
            rows.append({"run": run, "compute": compute, "problem": problem, "n": n, "correct": correct})
    frame = pd.DataFrame(rows, columns=["run", "compute", "problem", "n", "correct"])
    valid = len(frame) > 0 and frame["compute"].nunique() >= 2
    mode = draw(st.sampled_from(["valid", "damaged", "noise"]))
    if mode == "valid":
        return frame, valid
    if mode == "damaged":
        frame = frame.astype(object)
        for _ in range(draw(st.integers(1, 3))):
            action = draw(st.sampled_from(["cell", "cell", "drop", "add"]))
            if action == "cell" and len(frame):
                frame.iloc[draw(st.integers(0, len(frame) - 1)), draw(st.integers(0, frame.shape[1] - 1))] = draw(CELLS)
            elif action == "drop" and frame.shape[1] > 1:
                frame = frame.drop(columns=frame.columns[draw(st.integers(0, frame.shape[1] - 1))])
            elif action == "add":
                values = draw(st.lists(CELLS, min_size=len(frame), max_size=len(frame)))
                # object dtype, like the rest of a damaged frame: a later "cell" may put any value here
                frame[draw(st.sampled_from(["model", "suite", "nll", "other"]))] = pd.Series(values, index=frame.index, dtype=object)
        return frame, False
    n_rows = draw(st.integers(0, 8))
    names = draw(st.lists(st.sampled_from(NAMES), max_size=7))
    noise = pd.DataFrame(
        {i: draw(st.lists(CELLS, min_size=n_rows, max_size=n_rows)) for i in range(len(names))}, index=range(n_rows)
    )
    noise.columns = names  # may repeat a name, as a hand-edited file can
    return noise, False


def _assert_contract(out: pd.DataFrame, n_rows: int) -> None:
    assert list(out.columns[:5]) == ["run", "compute", "problem", "n", "correct"]
    assert len(out) == n_rows and out.index.equals(pd.RangeIndex(n_rows))
    assert out["compute"].dtype == np.float64
    assert out["n"].dtype == np.int64 and out["correct"].dtype == np.int64
    compute, n, correct = (out[c].to_numpy() for c in ("compute", "n", "correct"))
    assert np.all(np.isfinite(compute)) and np.all(compute > 0)
    assert np.all(n >= 1) and np.all(correct >= 0) and np.all(correct <= n)
    for name in ("run", "problem"):
        assert all(type(v) is str for v in out[name])
    assert not out.duplicated(["run", "problem"]).any()
    assert (out.groupby("run")["compute"].nunique() == 1).all()
    assert out["compute"].nunique() >= 2
    if "nll" in out.columns:
        assert out["nll"].dtype == np.float64 and np.all(np.isfinite(out["nll"]))
    problems = set(out["problem"])
    expected = {
        run: sorted(problems - set(group["problem"]))
        for run, group in out.groupby("run", sort=False)
        if set(group["problem"]) != problems
    }
    assert {run: sorted(missing) for run, missing in out.attrs["incomplete_runs"].items()} == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=pass_tables())
def test_load_pass_counts_loads_or_raises_data_error(table):
    frame, valid = table
    before = frame.copy(deep=True)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            out = load_pass_counts(frame)
        except DataError:
            assert not valid, "a valid table was refused"
            out = None
    pd.testing.assert_frame_equal(frame, before)
    if out is None:
        return
    _assert_contract(out, len(frame))
    warned = [w for w in record if issubclass(w.category, IncompleteRunsWarning)]
    assert len(warned) == (1 if out.attrs["incomplete_runs"] else 0)
    if valid:
        pd.testing.assert_frame_equal(out[["compute", "n", "correct"]], frame[["compute", "n", "correct"]])
