"""Tests for bayes_scaling.tables: every bad input is a DataError naming column, row and value."""

from __future__ import annotations

import copy
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
    OPTIONAL_RUN_COLUMNS,
    REQUIRED_RUN_COLUMNS,
    DataError,
    ExtrapolationWarning,
    check_targets,
    data_hash,
    load_runs,
)


def ladder(**overrides) -> pd.DataFrame:
    """A valid five-run table; keyword arguments replace whole columns."""
    columns = {
        "run": ["r0", "r1", "r2", "r3", "r4"],
        "compute": [1e16, 1e17, 1e18, 3e18, 1e19],
        "loss": [3.9, 3.1, 2.6, 2.45, 2.3],
    }
    columns.update(overrides)
    return pd.DataFrame({k: v for k, v in columns.items() if v is not None})


def test_constants():
    assert REQUIRED_RUN_COLUMNS == ("compute", "loss")
    assert OPTIONAL_RUN_COLUMNS == ("run", "params", "tokens", "seed", "family")
    assert issubclass(DataError, ValueError)
    assert issubclass(ExtrapolationWarning, UserWarning)


# ---------------------------------------------------------------- bad run tables


def test_missing_required_column_names_it_and_lists_found_columns():
    with pytest.raises(DataError, match=r"missing required column 'loss'; found columns: \['run', 'compute'\]"):
        load_runs(ladder(loss=None))


def test_missing_column_is_case_sensitive_with_hint():
    frame = ladder().rename(columns={"loss": "Loss"})
    with pytest.raises(DataError, match=r"missing required column 'loss'.*case-sensitive: rename 'Loss' to 'loss'"):
        load_runs(frame)


def test_column_names_are_stripped():
    frame = ladder().rename(columns={"loss": "  loss ", "compute": "compute\t"})
    out = load_runs(frame)
    assert list(out.columns) == ["compute", "loss", "run"]
    assert out["loss"].tolist() == [3.9, 3.1, 2.6, 2.45, 2.3]


def test_same_column_twice_after_stripping():
    frame = ladder()
    frame[" loss"] = frame["loss"]
    with pytest.raises(DataError, match=r"column 'loss' appears 2 times \(as \['loss', ' loss'\]\)"):
        load_runs(frame)


def test_empty_table():
    with pytest.raises(DataError, match=r"from DataFrame has no rows"):
        load_runs(pd.DataFrame({"compute": [], "loss": []}))


def test_non_numeric_string():
    with pytest.raises(DataError, match=r"^column 'loss', row 2 \(run 'r2'\): value 'abc' is not a number$"):
        load_runs(ladder(loss=[3.9, 3.1, "abc", 2.45, 2.3]))


def test_none_in_object_column():
    frame = ladder(run=None, compute=[1e16, None, 1e18, 3e18, 1e19])
    frame["compute"] = frame["compute"].astype(object)
    frame.loc[1, "compute"] = None
    with pytest.raises(DataError, match=r"^column 'compute', row 1: value None is missing, not a number$"):
        load_runs(frame)


def test_boolean_is_not_a_number():
    with pytest.raises(DataError, match=r"^column 'loss', row 4 \(run 'r4'\): value True is a boolean, not a number$"):
        load_runs(ladder(loss=[3.9, 3.1, 2.6, 2.45, True]))


def test_boolean_column_is_not_numeric():
    with pytest.raises(DataError, match=r"^column 'compute', row 0 \(run 'r0'\): value True is a boolean"):
        load_runs(ladder(compute=[True, False, True, True, False]))


def test_numeric_strings_are_accepted():
    out = load_runs(ladder(compute=["1e16", " 1e17", "1e18 ", "3e18", "1e19"]))
    assert out["compute"].dtype == np.float64
    assert out["compute"].tolist() == [1e16, 1e17, 1e18, 3e18, 1e19]


def test_nan():
    with pytest.raises(DataError, match=r"^column 'loss', row 1 \(run 'r1'\): value nan is NaN"):
        load_runs(ladder(loss=[3.9, float("nan"), 2.6, 2.45, 2.3]))


@pytest.mark.parametrize("value, shown", [(math.inf, "inf"), (-math.inf, "-inf")])
def test_infinite(value, shown):
    with pytest.raises(DataError, match=rf"^column 'compute', row 3 \(run 'r3'\): value {shown} is infinite$"):
        load_runs(ladder(compute=[1e16, 1e17, 1e18, value, 1e19]))


def test_infinite_from_string():
    with pytest.raises(DataError, match=r"^column 'loss', row 0 \(run 'r0'\): value 'inf' is infinite$"):
        load_runs(ladder(loss=["inf", "3.1", "2.6", "2.45", "2.3"]))


@pytest.mark.parametrize("value, shown", [(0.0, "0.0"), (-1e17, "-1e\\+17")])
def test_compute_not_positive(value, shown):
    with pytest.raises(DataError, match=rf"^column 'compute', row 2 \(run 'r2'\): value {shown} must be > 0$"):
        load_runs(ladder(compute=[1e16, 1e17, value, 3e18, 1e19]))


@pytest.mark.parametrize("value, shown", [(0, "0"), (-1.2, "-1.2")])
def test_loss_not_positive(value, shown):
    with pytest.raises(DataError, match=rf"^column 'loss', row 3 \(run 'r3'\): value {shown} must be > 0$"):
        load_runs(ladder(loss=[4, 3, 2, value, 1]))


def test_row_is_position_not_index_label():
    frame = ladder(loss=[3.9, 3.1, 2.6, -2.45, 2.3])
    frame.index = [10, 20, 30, 40, 50]
    with pytest.raises(DataError, match=r"^column 'loss', row 3 \(run 'r3'\): value -2.45 must be > 0$"):
        load_runs(frame)


def test_checks_run_in_the_documented_order():
    # A NaN in compute row 0 and a string in loss row 3: non-numeric is check 3, NaN check 4.
    frame = ladder(compute=[math.nan, 1e17, 1e18, 3e18, 1e19], loss=[3.9, 3.1, 2.6, "x", -2.3])
    with pytest.raises(DataError, match=r"^column 'loss', row 3 .*value 'x' is not a number"):
        load_runs(frame)
    # Within one check the earliest row wins, whichever column it is in.
    frame = ladder(compute=[1e16, 1e17, 1e18, -3e18, 1e19], loss=[3.9, -3.1, 2.6, 2.45, 2.3])
    with pytest.raises(DataError, match=r"^column 'loss', row 1 "):
        load_runs(frame)


def test_duplicate_run_names():
    with pytest.raises(
        DataError, match=r"^column 'run', row 3 \(run 'r1'\): duplicate run name 'r1' \(already used by row 1\); "
        r"if these rows are evaluations of one run, name each in an 'evaluation' column$"
    ):
        load_runs(ladder(run=["r0", "r1", "r2", "r1", "r4"]))


def test_duplicate_identical_rows_without_run_column():
    frame = ladder(run=None, compute=[1e16, 1e17, 1e18, 1e17, 1e19], loss=[3.9, 3.1, 2.6, 3.1, 2.3])
    with pytest.raises(
        DataError, match=r"^row 3 is identical to row 1 in columns \['compute', 'loss'\] \(compute=1e\+17, loss=3.1\)"
    ):
        load_runs(frame)


def test_same_compute_with_different_seeds_is_fine():
    frame = ladder(run=None, compute=[1e16, 1e17, 1e17, 1e18, 1e19], loss=[3.9, 3.1, 3.1, 2.6, 2.3])
    frame["seed"] = [0, 0, 1, 0, 0]
    out = load_runs(frame)
    assert out["seed"].tolist() == [0, 0, 1, 0, 0]
    frame["seed"] = [0, 1, 1, 0, 0]
    with pytest.raises(DataError, match=r"^row 2 is identical to row 1 in columns \['compute', 'loss', 'seed'\]"):
        load_runs(frame)


def test_two_distinct_computes():
    frame = ladder(compute=[1e16, 1e17, 1e16, 1e17, 1e17])
    with pytest.raises(
        DataError,
        match=r"^column 'compute' has 2 distinct values \(1e\+16, 1e\+17\); a 3-parameter law needs at least 3",
    ):
        load_runs(frame)


def test_optional_numeric_columns_are_checked():
    with pytest.raises(DataError, match=r"^column 'params', row 1 \(run 'r1'\): value -5 must be > 0$"):
        load_runs(ladder(params=[1, -5, 3, 4, 5]))
    with pytest.raises(DataError, match=r"^column 'tokens', row 4 \(run 'r4'\): value nan is NaN"):
        load_runs(ladder(tokens=[1e9, 2e9, 3e9, 4e9, math.nan]))
    with pytest.raises(DataError, match=r"^column 'seed', row 2 \(run 'r2'\): value 1.5 must be an integer$"):
        load_runs(ladder(seed=[0, 1, 1.5, 2, 3]))
    with pytest.raises(DataError, match=r"^column 'seed', row 0 \(run 'r0'\): value 1e\+300 is outside the 64-bit"):
        load_runs(ladder(seed=[1e300, 1, 2, 3, 4]))


def test_missing_run_name():
    with pytest.raises(DataError, match=r"^column 'run', row 2: value (None|nan) is missing; every row needs a run name$"):
        load_runs(ladder(run=["a", "b", None, "d", "e"]))


def test_unknown_extension(tmp_path):
    path = tmp_path / "runs.txt"
    path.write_text("compute,loss\n1,2\n")
    with pytest.raises(DataError, match=r"unknown extension '\.txt'; accepted extensions are \.csv, \.jsonl, \.ndjson"):
        load_runs(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(DataError, match=r"^file not found: '.*nowhere\.csv'$"):
        load_runs(str(path))


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "runs.parquet"
    path.write_bytes(b"this is not a parquet file at all")
    with pytest.raises(DataError, match=r"^could not read parquet file '.*runs\.parquet': \w+") as info:
        load_runs(path)
    assert info.value.__cause__ is not None


def test_corrupt_jsonl_names_the_line(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"compute": 1e16, "loss": 3.0}\n\n{"compute": 1e17, "loss": \n')
    with pytest.raises(DataError, match=r"runs\.jsonl': line 3: Expecting value") as info:
        load_runs(path)
    assert isinstance(info.value.__cause__, json.JSONDecodeError)


@pytest.mark.parametrize("source, name", [(42, "int"), ([1, 2, 3], "list"), (pd.Series([1.0]), "Series")])
def test_wrong_type(source, name):
    with pytest.raises(DataError, match=rf"takes a path \(str or os.PathLike\) or a pandas DataFrame, got {name}$"):
        load_runs(source)


# ------------------------------------------------------------------- round trip


@pytest.fixture
def full_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "notes": ["a", "b", "c", "d", "e"],
            "loss": [3.9, 0.1 + 0.2, 2.6, 1 / 3 + 2, 2.3],
            "run": ["r0", "r1", "r2", "r3", "r4"],
            "compute": [1e16, 1e17 / 3, 1e18, 3e18, 1.2345678901234567e19],
            "seed": [0, 1, 2, 3, 4],
            "params": [1e7, 3e7, 1e8, 2e8, 1e9],
            "gpu_hours": [0.5, 1.25, 10.0, 30.0, 100.0],
            "family": ["base"] * 5,
        }
    )


def test_round_trip_csv_parquet_jsonl(tmp_path, full_table):
    csv, pq, jsonl = tmp_path / "runs.csv", tmp_path / "runs.parquet", tmp_path / "runs.jsonl"
    full_table.to_csv(csv, index=False)
    full_table.to_parquet(pq, index=False)
    jsonl.write_text("\n".join(json.dumps(record) for record in full_table.to_dict(orient="records")) + "\n")

    frames = {name: load_runs(path) for name, path in [("csv", csv), ("parquet", pq), ("jsonl", jsonl)]}
    frames["frame"] = load_runs(full_table)
    for frame in frames.values():
        pd.testing.assert_frame_equal(frame, frames["frame"])
    assert len({data_hash(frame) for frame in frames.values()}) == 1
    assert frames["csv"].attrs["source"] == str(csv)
    assert frames["frame"].attrs["source"] == "DataFrame"


def test_output_columns_and_dtypes(full_table):
    out = load_runs(full_table)
    assert list(out.columns) == ["compute", "loss", "run", "params", "seed", "family", "notes", "gpu_hours"]
    assert out["compute"].dtype == np.float64 and out["loss"].dtype == np.float64
    assert out["params"].dtype == np.float64 and out["seed"].dtype == np.int64
    assert out["gpu_hours"].equals(full_table["gpu_hours"])
    assert out.index.equals(pd.RangeIndex(5))
    for name in ("run", "family"):
        assert pd.api.types.is_string_dtype(out[name])
        assert all(type(v) is str for v in out[name])


def test_run_names_become_strings():
    out = load_runs(ladder(run=[10, 11, 12, 13, 14]))
    assert out["run"].tolist() == ["10", "11", "12", "13", "14"]


def test_named_index_becomes_a_column():
    out = load_runs(ladder().set_index("run"))
    assert out["run"].tolist() == ["r0", "r1", "r2", "r3", "r4"]


def test_callers_frame_is_not_mutated():
    frame = ladder(compute=[10**15, 10**16, 10**17, 3 * 10**17, 10**18]).rename(columns={"loss": " loss"})
    frame.index = [5, 4, 3, 2, 1]
    before = frame.copy(deep=True)
    out = load_runs(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert frame["compute"].dtype == np.int64
    assert out["compute"].dtype == np.float64
    assert frame.attrs == {}
    out.loc[0, "loss"] = 99.0
    assert frame[" loss"].iloc[0] == 3.9


def test_load_runs_is_idempotent(full_table):
    once = load_runs(full_table)
    pd.testing.assert_frame_equal(load_runs(once), once)


def test_data_hash_follows_the_documented_recipe(full_table):
    table = load_runs(full_table)
    text = table[sorted(table.columns)].to_csv(index=False, float_format="%.17g", lineterminator="\n")
    assert "0.30000000000000004" in text  # 0.1 + 0.2, written with all 17 digits
    assert data_hash(full_table) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_data_hash_sees_the_last_bit_and_ignores_column_order(full_table):
    reference = data_hash(full_table)
    assert re.fullmatch(r"[0-9a-f]{64}", reference)
    assert data_hash(full_table[list(reversed(full_table.columns))]) == reference
    changed = full_table.copy()
    changed.loc[2, "loss"] = np.nextafter(2.6, 3.0)
    assert data_hash(changed) != reference


# ---------------------------------------------------------------------- targets


@pytest.fixture
def runs() -> pd.DataFrame:
    return load_runs(ladder())


def _extrapolation_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, ExtrapolationWarning)]


def test_target_inside_range_warns(runs):
    with pytest.warns(ExtrapolationWarning, match=r"^target 3e18 lies inside the fitted compute range \[1e16, 1e19\]"):
        check_targets(runs, 3e18)


def test_target_far_beyond_warns(runs):
    with pytest.warns(ExtrapolationWarning, match=r"^target 2.3e26 is 2.3e7 × the largest compute in the data"):
        check_targets(runs, [2.3e26])


def test_target_below_range_warns(runs):
    with pytest.warns(ExtrapolationWarning, match=r"^target 1e15 lies below the smallest compute.*backcasting"):
        check_targets(runs, np.array([1e15]))


def test_good_targets_do_not_warn(runs):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = check_targets(runs, [1e21, 1e25])  # 100x and exactly 10^6 x
    assert _extrapolation_warnings(record) == []
    assert result.dtype == np.float64 and result.shape == (2,)
    assert result.tolist() == [1e21, 1e25]


def test_one_warning_per_risky_target(runs):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = check_targets(runs, (1e15, 1e21, 5e18, 1e30))
    messages = _extrapolation_warnings(record)
    assert len(messages) == 3
    assert [m.split(" ")[1] for m in messages] == ["1e15", "5e18", "1e30"]
    assert result.tolist() == [1e15, 1e21, 5e18, 1e30]


def test_scalar_target_gives_1d_array(runs):
    result = check_targets(runs, 10**21)
    assert result.shape == (1,) and result.dtype == np.float64 and result[0] == 1e21


@pytest.mark.parametrize(
    "targets, pattern",
    [
        ([], r"^targets is empty"),
        (np.array([]), r"^targets is empty"),
        ([1e21, -1e21], r"^targets\[1\]: value -1e\+21 must be > 0"),
        (0, r"^target: value 0 must be > 0"),
        ([1e21, "abc"], r"^targets\[1\]: value 'abc' is not a number$"),
        ([None], r"^targets\[0\]: value None is missing, not a number$"),
        (True, r"^target: value True is a boolean, not a number$"),
        ([1e21, 1e22, math.nan], r"^targets\[2\]: value nan is NaN$"),
        (np.array([1e21, np.inf]), r"^targets\[1\]: value inf is infinite$"),
        ([[1e21]], r"^targets\[0\]: value \[1e\+21\] is not a number$"),
        (np.ones((2, 2)), r"got an array of shape \(2, 2\)$"),
        ({"a": 1e21}, r"got dict$"),
        (object(), r"got object$"),
    ],
)
def test_bad_targets(runs, targets, pattern):
    with pytest.raises(DataError, match=pattern):
        check_targets(runs, targets)


# ------------------------------------------------------------- property tests

CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e-3, max_value=1e25),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1e308, -1e308, 10**400, 2**63, "1e18", "nan", "inf", " 2.5 ", "-1", ""]),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
)
GOOD = st.one_of(st.floats(min_value=1e-3, max_value=1e25), st.integers(min_value=1, max_value=10**20))
REQUIRED = st.sampled_from([("compute", "loss"), ("loss", "compute"), ("compute", " loss ")]) | (
    st.lists(st.sampled_from(["compute", "loss", "Loss", " compute"]), max_size=3).map(tuple)
)
EXTRA = st.lists(st.sampled_from(["run", "params", "seed", "family", "other", "other"]), unique=True, max_size=3)


def _column(n_rows: int):
    """Cells for one column: anything at all, all good, or all good but one."""
    anything = st.lists(CELLS, min_size=n_rows, max_size=n_rows)
    good = st.lists(GOOD, min_size=n_rows, max_size=n_rows)
    if n_rows == 0:
        return good
    one_bad = st.tuples(good, st.integers(0, n_rows - 1), CELLS).map(lambda t: t[0][: t[1]] + [t[2]] + t[0][t[1] + 1 :])
    return st.one_of(anything, good, one_bad)


def _assert_contract(out: pd.DataFrame, n_rows: int) -> None:
    assert out["compute"].dtype == np.float64 and out["loss"].dtype == np.float64
    for name in ("compute", "loss"):
        values = out[name].to_numpy()
        assert np.all(np.isfinite(values)) and np.all(values > 0)
    assert np.unique(out["compute"]).size >= 3
    assert len(out) == n_rows and out.index.equals(pd.RangeIndex(n_rows))
    if "run" in out.columns:
        assert all(type(v) is str for v in out["run"]) and out["run"].is_unique


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(required=REQUIRED, extra=EXTRA, n_rows=st.integers(min_value=0, max_value=12), data=st.data())
def test_load_runs_only_raises_data_error(required, extra, n_rows, data):
    names = list(required) + extra  # may repeat a name, as a hand-edited file can
    frame = pd.DataFrame({i: data.draw(_column(n_rows)) for i in range(len(names))}, index=range(n_rows))
    frame.columns = names
    before = frame.copy(deep=True)
    try:
        out = load_runs(frame)
    except DataError:
        pass
    else:
        _assert_contract(out, n_rows)
    pd.testing.assert_frame_equal(frame, before)


@settings(max_examples=300, deadline=None)
@given(
    computes=st.lists(st.floats(min_value=1e10, max_value=1e25), min_size=0, max_size=10),
    with_run=st.booleans(),
    corrupt=st.one_of(st.none(), st.tuples(st.integers(0, 9), st.sampled_from(["compute", "loss"]), CELLS)),
)
def test_nearly_valid_tables(computes, with_run, corrupt):
    n = len(computes)
    frame = pd.DataFrame({"compute": computes, "loss": [2.0 + 1.0 / (1.0 + i) for i in range(n)]})
    if with_run:
        frame["run"] = [f"r{i}" for i in range(n)]
    if corrupt is not None and n:
        row, column, value = corrupt
        frame[column] = frame[column].astype(object)
        frame.loc[row % n, column] = value
    try:
        out = load_runs(frame)
    except DataError:
        clean = corrupt is None and n > 0
        if clean:
            assert len(set(computes)) < 3  # the only way a clean table fails
    else:
        _assert_contract(out, n)


@settings(max_examples=300, deadline=None)
@given(
    targets=st.one_of(
        CELLS,
        st.lists(CELLS, max_size=6),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6).map(np.array),
        st.lists(st.lists(CELLS, max_size=2), max_size=2),
    )
)
def test_check_targets_only_raises_data_error(targets):
    runs = load_runs(ladder())
    original = copy.deepcopy(targets) if not isinstance(targets, np.ndarray) else targets.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        try:
            result = check_targets(runs, targets)
        except DataError:
            return
    assert result.dtype == np.float64 and result.ndim == 1 and result.size >= 1
    assert np.all(np.isfinite(result)) and np.all(result > 0)
    expected_len = 1 if not isinstance(targets, (list, np.ndarray)) else len(targets)
    assert result.size == expected_len
    if isinstance(targets, np.ndarray):
        np.testing.assert_array_equal(targets, original)


def test_read_table_normalises_columns_before_any_check():
    from bayes_scaling.tables import read_table

    raw = pd.DataFrame({" compute": [1.0, 2.0], "loss ": [-3.0, 2.0], " note ": ["a", "b"]}).set_index(" compute")
    table, label = read_table(raw, "load_runs")
    assert label == "DataFrame" and list(table.columns) == ["compute", "loss", "note"]
    assert table["loss"].tolist() == [-3.0, 2.0]  # values are not checked yet
    table, _ = read_table(raw.reset_index(), "load_capability_runs", ("accuracy",))
    assert list(table.columns) == ["compute", "loss", "note"]  # every header is stripped, known or not


def test_capability_runs_check_optional_columns_and_keep_extras_as_load_runs_does():
    from bayes_scaling.tables import load_capability_runs

    runs = pd.DataFrame(
        {"compute": [1e17, 1e18, 1e19], "loss": [3.0, 2.8, 2.6], "task_loss": [2.0, 1.5, 1.0],
         "accuracy": [0.3, 0.4, 0.6], "seed": [1.0, 2.0, 3.0], "params": [1e7, 1e8, 1e9], "note": ["x", "y", "z"]}
    )
    capability, plain = load_capability_runs(runs), load_runs(runs.drop(columns=["task_loss", "accuracy"]))
    pd.testing.assert_frame_equal(capability[["seed", "params", "loss", "note"]], plain[["seed", "params", "loss", "note"]])
    with pytest.raises(DataError, match="column 'seed', row 1"):
        load_capability_runs(runs.assign(seed=[1.0, 2.5, 3.0]))


# ------------------------------------------------------------- malformed names, paths, headers


def test_a_lone_surrogate_in_a_run_name_is_a_data_error():
    table = ladder(run=pd.Series(["r0", "r\ud8001", "r2", "r3", "r4"], dtype=object))
    with pytest.raises(DataError, match=r"column 'run', row 1 .*is not valid text \(a lone surrogate"):
        load_runs(table)


def test_a_lone_surrogate_in_a_problem_name_is_a_data_error(tmp_path):
    from bayes_scaling import load_pass_counts
    rows = [{"run": f"r{i}", "compute": 1e17 * (i + 1), "problem": "p\ud800" if i == 1 else "p", "n": 4, "correct": 1}
            for i in range(3)]
    frame = pd.DataFrame({key: pd.Series([row[key] for row in rows], dtype=object if key == "problem" else None)
                          for key in rows[0]})
    with pytest.raises(DataError, match=r"column 'problem', row 1 .*lone surrogate"):
        load_pass_counts(frame)
    path = tmp_path / "passcounts.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")  # json writes the surrogate as \ud800
    with pytest.raises(DataError, match=r"passcounts.jsonl': line 2, field 'problem'.*lone surrogate"):
        load_pass_counts(path)


@pytest.mark.parametrize("name", ["a" * 300 + ".csv", "b" * 300 + "/runs.csv"])
def test_an_over_long_path_component_is_a_data_error(tmp_path, name):
    with pytest.raises(DataError, match="cannot read .*File name too long"):
        load_runs(tmp_path / name)


def test_a_repeated_csv_header_is_a_data_error_as_in_a_frame(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("run,compute,loss,loss\nr0,1e16,3.9,3.9\nr1,1e17,3.1,3.1\nr2,1e18,2.6,2.6\n")
    with pytest.raises(DataError, match="runs.csv': column 'loss' appears 2 times in the header"):
        load_runs(path)  # pandas alone would rename the second one 'loss.1'
    path.write_text("run,compute,loss,note, note\nr0,1e16,3.9,a,b\nr1,1e17,3.1,a,b\nr2,1e18,2.6,a,b\n")
    with pytest.raises(DataError, match="column 'note' appears 2 times"):
        load_runs(path)
    frame = ladder()
    frame.insert(3, "loss ", frame["loss"])
    with pytest.raises(DataError, match="column 'loss' appears 2 times"):
        load_runs(frame)


# ------------------------------------------------- files as people write them (issue 15)

LADDER_ROWS = [("r0", "1e16", "3.9"), ("r1", "1e17", "3.1"), ("r2", "1e18", "2.6")]


def write_table(path, header, rows=LADDER_ROWS, delimiter=",", bom=False):
    text = delimiter.join(header) + "\n" + "".join(delimiter.join(row) + "\n" for row in rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_a_bom_and_spaced_headers_are_stripped_from_every_column(tmp_path):
    path = write_table(tmp_path / "runs.csv", [" run ", " compute ", " loss ", " note "],
                       [(*row, "x") for row in LADDER_ROWS], bom=True)
    out = load_runs(path)
    assert list(out.columns) == ["compute", "loss", "run", "note"]  # ' run' is the run column, not an extra
    assert out["run"].tolist() == ["r0", "r1", "r2"]


@pytest.mark.parametrize("name, delimiter", [("runs.csv", "\t"), ("runs.tsv", "\t"), ("runs.csv", ";"), ("runs.tsv", ",")])
def test_the_delimiter_is_sniffed_and_tsv_is_accepted(tmp_path, name, delimiter):
    out = load_runs(write_table(tmp_path / name, ["run", "compute", "loss"], delimiter=delimiter))
    assert out["loss"].tolist() == [3.9, 3.1, 2.6] and out["run"].tolist() == ["r0", "r1", "r2"]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_decimal_comma_is_refused_by_name(tmp_path, delimiter):
    rows = [("r0", "1e16", "3,9"), *LADDER_ROWS[1:]]
    path = write_table(tmp_path / "runs.csv", ["run", "compute", "loss"], rows, delimiter=delimiter)
    with pytest.raises(DataError, match=r"^column 'loss', row 0 \(run 'r0'\): value '3,9' has a comma in a number: "
                                        r"write decimals with a point"):
        load_runs(path)


@pytest.mark.parametrize("cell, problem", [("n/a", "is not a number"), ("NA", "is not a number"), ("", "is empty")])
def test_an_unparseable_cell_is_shown_as_written(tmp_path, cell, problem):
    rows = [LADDER_ROWS[0], ("r1", "1e17", cell), LADDER_ROWS[2]]
    path = write_table(tmp_path / "runs.csv", ["run", "compute", "loss"], rows)
    with pytest.raises(DataError, match=rf"^column 'loss', row 1 \(run 'r1'\): value '{cell}' {problem}"):
        load_runs(path)


def test_an_empty_run_name_in_a_csv_is_missing(tmp_path):
    rows = [LADDER_ROWS[0], ("", "1e17", "3.1"), LADDER_ROWS[2]]
    with pytest.raises(DataError, match=r"^column 'run', row 1: value '' is missing; every row needs a run name$"):
        load_runs(write_table(tmp_path / "runs.csv", ["run", "compute", "loss"], rows))


@pytest.mark.parametrize("name", ["ladder", "ladder.csv"])
def test_a_directory_says_it_is_a_directory(tmp_path, name):
    (tmp_path / name).mkdir()
    with pytest.raises(DataError, match=rf"^'.*{name}' is a directory; give the path of a table file inside it$"):
        load_runs(tmp_path / name)


def test_a_loaded_table_keeps_its_file_and_the_files_sha256(tmp_path):
    path = write_table(tmp_path / "runs.csv", ["run", "compute", "loss"])
    runs = load_runs(path)
    expected = {"source": str(path), "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "sha256": data_hash(runs)}
    assert runs.attrs == expected
    assert load_runs(runs).attrs == expected  # bs.forecast(bs.load_runs(path)) loads it again
    changed = runs.assign(loss=runs["loss"] * 1.01)
    again = load_runs(changed)
    assert again.attrs["source"] == f"DataFrame (from {str(path)!r}, changed since it was loaded)"
    assert again.attrs["file_sha256"] is None and again.attrs["sha256"] == data_hash(changed)
