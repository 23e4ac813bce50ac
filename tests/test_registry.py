"""The prediction registry: records, the hash chain, tamper detection, scoring, refusals."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling.evaluation.registry import register
from bayes_scaling.evaluation.registry_chain import GENESIS, RegistryError, record_hash, verify
from bayes_scaling.evaluation.registry_scoring import SCORE_COLUMNS, score

# a forecast that repeats an earlier NUTS run (same data, seed and settings) gets its draws: conftest.py
pytestmark = pytest.mark.usefixtures("reused_fits")


@pytest.fixture(scope="module")
def fc_two(example_forecast):
    """Two targets (1e21, 1e22): the session's default forecast."""
    return example_forecast


@pytest.fixture(scope="module")
def fc_one(example):
    return bs.forecast(example, target=[3e21], seed=1, progress=False)


@pytest.fixture(scope="module")
def good(tmp_path_factory, fc_two, fc_one):
    """A verified registry: 'run-a' at two targets (lines 1-2), then 'run-b' at one (line 3)."""
    path = tmp_path_factory.mktemp("registry") / "predictions.jsonl"
    returned = register(fc_two, path, name="run-a", note="before the big run")
    returned += register(fc_one, path, name="run-b")
    return path, returned


@pytest.fixture
def copy(tmp_path, good):
    """A fresh copy of the good registry to break."""
    path = tmp_path / "copy.jsonl"
    path.write_bytes(good[0].read_bytes())
    return path


def _lines(path):
    return path.read_text().splitlines()


def _write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines))


# --------------------------------------------------------------------------- round trip


def test_records_hold_the_forecast_and_its_provenance(good, fc_two, fc_one):
    path, returned = good
    lines = _lines(path)
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert records == returned
    assert [r["seq"] for r in records] == [0, 1, 2]
    assert [r["name"] for r in records] == ["run-a", "run-a", "run-b"]
    assert [r["note"] for r in records] == ["before the big run"] * 2 + [""]
    assert [r["target"] for r in records] == [1e21, 1e22, 3e21]

    for record, row in zip(records, pd.concat([fc_two.to_frame(), fc_one.to_frame()]).itertuples()):
        for column in ("median", "mean", "lower_50", "upper_50", "lower_90", "upper_90"):
            assert record[column] == pytest.approx(getattr(row, column), rel=1e-12), column
        q = record["quantiles"]
        assert len(q) == 99 and np.all(np.diff(q) > 0)
        assert q[49] == pytest.approx(record["median"], rel=1e-12)  # the 50th percentile
        assert q[4] == pytest.approx(record["lower_90"], rel=1e-12) and q[94] == pytest.approx(record["upper_90"], rel=1e-12)
        assert record["kind"] == "predictive" and record["law"] == "loss" and record["quantity"] == "loss"

    s = fc_two.settings
    first = records[0]
    assert first["data_sha256"] == s["data_sha256"] and first["priors"] == s["priors"]
    assert first["versions"] == s["versions"] and first["seed"] == 0 and records[2]["seed"] == 1
    assert first["sampler"] == {"draws": 1000, "tune": 2000, "chains": 4, "target_accept": s["target_accept"]}
    assert first["diagnostics"] == fc_two.diagnostics.as_dict()
    assert first["forecast_created"] == s["created"]
    assert first["registered"].endswith("+00:00")


def test_chain_links_and_hashes_are_canonical_sha256(good):
    path, _ = good
    records = [json.loads(line) for line in _lines(path)]
    assert records[0]["prev_hash"] == GENESIS
    for before, after in zip(records, records[1:]):
        assert after["prev_hash"] == before["hash"]
    for record in records:
        body = {k: v for k, v in record.items() if k != "hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
        assert record["hash"] == hashlib.sha256(canonical.encode()).hexdigest()

    result = verify(path)
    assert result.ok and bool(result) and result.records == 3 and result.problems == []
    assert result.head == records[-1]["hash"]


def test_register_creates_parent_folder_and_appends(tmp_path, fc_one):
    path = tmp_path / "nested" / "deeper" / "p.jsonl"
    register(fc_one, path, name="x")
    register(fc_one, path, name="y")
    result = verify(path)
    assert result.ok and result.records == 2
    assert [json.loads(line)["seq"] for line in _lines(path)] == [0, 1]


def test_score_inside_far_below_and_missing(good):
    path, records = good
    a21, a22, b = records
    inside = a21["median"] + 0.1 * (a21["upper_50"] - a21["median"])
    far_below = a22["lower_90"] - 10 * (a22["upper_90"] - a22["lower_90"])
    scored = score(path, {("run-a", 1e21): inside, ("run-a", 1e22): far_below})
    between = (b["upper_50"] + b["upper_90"]) / 2  # in the 90% interval, not the 50%
    only_90 = score(path, {"run-b": between}).iloc[2]
    assert only_90["inside_50"] is False and only_90["inside_90"] is True
    assert 0.75 < only_90["pit"] < 0.95

    assert list(scored.columns) == SCORE_COLUMNS
    assert len(scored) == 3 and list(scored["name"]) == ["run-a", "run-a", "run-b"]
    first, second, third = (scored.iloc[i] for i in range(3))

    assert first["inside_50"] is True and first["inside_90"] is True
    k = int(np.searchsorted(a21["quantiles"], inside))  # quantiles[k-1] <= inside < quantiles[k]
    assert k / 100 <= first["pit"] <= (k + 1) / 100
    assert 0.5 <= first["pit"] < 0.6  # just above the median
    assert first["error"] == pytest.approx(inside - a21["median"])
    assert first["abs_pct_error"] == pytest.approx(100 * abs(inside / a21["median"] - 1))

    assert second["inside_90"] is False and second["inside_50"] is False
    assert second["pit"] < 0.05 and second["error"] < 0

    assert math.isnan(third["actual"]) and math.isnan(third["pit"]) and math.isnan(third["error"])
    assert third["inside_50"] is None and third["inside_90"] is None
    assert third["median"] == b["median"]


def test_score_accepts_name_keys_and_a_dataframe_alike(good):
    path, records = good
    value = records[2]["upper_90"] * 1.5  # above the 99th percentile
    by_name = score(path, {"run-b": value})
    by_pair = score(path, {("run-b", 3e21 * (1 + 1e-12)): value})  # within the 1e-9 tolerance
    by_frame = score(path, pd.DataFrame({"name": ["run-b"], "target": [3e21], "actual": [value]}))
    for frame in (by_pair, by_frame):
        pd.testing.assert_frame_equal(frame, by_name)
    assert by_name.iloc[2]["pit"] == 0.995 and by_name.iloc[2]["inside_90"] is False
    assert by_name["actual"].isna().tolist() == [True, True, False]


# --------------------------------------------------------------------------- tampering


def test_an_edited_number_is_named_with_its_line(copy):
    lines = _lines(copy)
    record = json.loads(lines[1])
    old = json.dumps(record["median"])
    assert lines[1].count(f'"median": {old}') == 1
    lines[1] = lines[1].replace(f'"median": {old}', f'"median": {json.dumps(record["median"] * 1.01)}')
    json.loads(lines[1])  # still valid JSON
    _write_lines(copy, lines)

    result = verify(copy)
    assert not result and not result.ok
    assert len(result.problems) == 1, result.problems  # the chain after it still links to its stored hash
    assert "record at line 2 (name 'run-a', target 1e+22) was edited after it was registered" in result.problems[0]


def test_a_forger_who_rehashes_one_record_breaks_the_next_link(copy):
    lines = _lines(copy)
    record = json.loads(lines[1])
    record["upper_90"] *= 2
    record["hash"] = record_hash(record)
    lines[1] = json.dumps(record)
    _write_lines(copy, lines)

    problems = verify(copy).problems
    assert len(problems) == 1
    assert "record at line 3 (name 'run-b', target 3e+21) does not follow line 2" in problems[0]


def test_a_full_rewrite_verifies_but_changes_the_head(copy, good):
    """Why the head must be published: the file alone cannot catch a rewrite of every hash."""
    records = [json.loads(line) for line in _lines(copy)]
    records[0]["median"] *= 0.9
    previous = GENESIS
    for record in records:
        record["prev_hash"] = previous
        record["hash"] = previous = record_hash(record)
    _write_lines(copy, [json.dumps(r) for r in records])
    forged = verify(copy)
    assert forged.ok
    assert forged.head != verify(good[0]).head


def test_a_deleted_record_breaks_the_chain_at_the_next(copy):
    lines = _lines(copy)
    del lines[1]
    _write_lines(copy, lines)
    result = verify(copy)
    assert not result.ok and result.records == 2
    assert all("line 2 (name 'run-b'" in p for p in result.problems), result.problems
    assert any("does not follow line 1" in p for p in result.problems)
    assert any("sequence is broken" in p for p in result.problems)


def test_swapped_records_are_both_reported(copy):
    lines = _lines(copy)
    lines[0], lines[1] = lines[1], lines[0]
    _write_lines(copy, lines)
    problems = verify(copy).problems
    assert any(p.startswith("record at line 1 (name 'run-a', target 1e+22) does not follow the start") for p in problems)
    assert any(p.startswith("record at line 2 (name 'run-a', target 1e+21) does not follow line 1") for p in problems)
    assert any("line 1" in p and "sequence is broken" in p for p in problems)
    assert any("line 2" in p and "sequence is broken" in p for p in problems)
    assert not any("edited" in p for p in problems)


def test_a_garbage_line_is_not_valid_json(copy):
    with open(copy, "a") as handle:
        handle.write('{"name": "run-c", "median": 2.\n')
    result = verify(copy)
    assert result.problems == ["line 4: not valid JSON"]
    assert result.head == json.loads(_lines(copy)[2])["hash"]


def _edit(path):
    lines = _lines(path)
    lines[1] = lines[1].replace('"note": "before the big run"', '"note": "after the big run"')
    _write_lines(path, lines)


def _delete(path):
    lines = _lines(path)
    del lines[1]
    _write_lines(path, lines)


def _swap(path):
    lines = _lines(path)
    lines[0], lines[1] = lines[1], lines[0]
    _write_lines(path, lines)


def _garbage(path):
    with open(path, "a") as handle:
        handle.write("not json\n")


@pytest.mark.parametrize("tamper", [_edit, _delete, _swap, _garbage])
def test_broken_files_are_refused_by_score_and_register(copy, fc_one, tamper):
    tamper(copy)
    assert not verify(copy).ok
    with pytest.raises(RegistryError, match="refusing to score"):
        score(copy, {"run-b": 2.0})
    before = copy.read_bytes()
    with pytest.raises(RegistryError, match="refusing to append"):
        register(fc_one, copy, name="run-c")
    assert copy.read_bytes() == before


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", ["", "   ", None, 3])
def test_name_is_required(tmp_path, fc_one, name):
    path = tmp_path / "p.jsonl"
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        register(fc_one, path, name=name)
    assert not path.exists()


def test_a_name_with_several_targets_needs_pair_keys(good):
    with pytest.raises(RegistryError, match=r"'run-a' was registered at 2 targets \(1e\+21, 1e\+22\).*\(name, target\)"):
        score(good[0], {"run-a": 2.0})


def test_unknown_actuals_are_named(good):
    with pytest.raises(RegistryError, match=r"no registered prediction for \(name 'run-a', target 5e\+21\)"):
        score(good[0], {("run-a", 5e21): 2.0})
    with pytest.raises(RegistryError, match=r"no registered prediction for \(name 'run-a', target 1e\+21\)"):
        score(good[0], {("run-a", 1e21 * (1 + 1e-6)): 2.0})  # outside the 1e-9 tolerance
    with pytest.raises(RegistryError, match="no registered prediction is named 'run-z'"):
        score(good[0], {"run-z": 2.0})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_actuals_are_refused(good, value):
    with pytest.raises(ValueError, match="must be a finite number") as caught:
        score(good[0], {"run-b": value})
    assert not isinstance(caught.value, RegistryError)


def test_missing_file(tmp_path):
    with pytest.raises(RegistryError, match="no registry file"):
        verify(tmp_path / "absent.jsonl")
    with pytest.raises(RegistryError, match="no registry file"):
        score(tmp_path / "absent.jsonl", {"run-a": 2.0})


def test_unhealthy_forecast_is_refused_unless_allowed(tmp_path, example):
    with pytest.warns(bs.SamplerWarning):
        weak = bs.forecast(example, target=1e21, draws=30, tune=30, seed=0, progress=False)
    assert not weak.ok
    path = tmp_path / "p.jsonl"
    with pytest.raises(ValueError, match="diagnostics failed") as caught:
        register(weak, path, name="weak")
    assert "allow_unhealthy=True" in str(caught.value)
    assert "--allow-unhealthy" in caught.value.cli_message and "allow_unhealthy" not in caught.value.cli_message
    assert not path.exists()

    (record,) = register(weak, path, name="weak", allow_unhealthy=True)
    assert record["diagnostics"]["ok"] is False
    assert verify(path).ok


# ------------------------------------------------- one name, one prediction (issue 15)


def test_a_name_that_is_taken_is_refused(copy, fc_one):
    before = copy.read_bytes()
    with pytest.raises(RegistryError, match=r"'run-b' is already registered .*line 3 \(name 'run-b', target 3e\+21\).*"
                                            r"supersedes=True") as caught:
        register(fc_one, copy, name="run-b")
    assert "--supersedes" in caught.value.cli_message and "supersedes=True" not in caught.value.cli_message
    assert copy.read_bytes() == before
    with pytest.raises(RegistryError, match="nothing named 'run-new' to supersede"):
        register(fc_one, copy, name="run-new", supersedes=True)


def test_superseding_is_recorded_in_the_chain_and_scored_apart(copy, fc_one):
    old_hash = json.loads(_lines(copy)[2])["hash"]
    (record,) = register(fc_one, copy, name="run-b", supersedes=True, note="refit with more runs")
    assert record["supersedes"] == [old_hash]
    result = verify(copy)
    assert result.ok and result.records == 4 and result.notes == []
    scored = score(copy, {"run-b": 2.0})
    assert scored["superseded"].tolist() == [False, False, True, False]
    assert scored.loc[scored["name"] == "run-b", "actual"].tolist() == [2.0, 2.0]  # both are predictions of run-b
    with pytest.raises(RegistryError, match="already registered"):  # the new record holds the name now
        register(fc_one, copy, name="run-b")


def test_verify_notes_a_repeat_that_does_not_supersede(copy):
    """A file written before register refused a taken name: the chain is intact, the repeat is noted."""
    lines = _lines(copy)
    repeat = json.loads(lines[2])
    repeat.pop("supersedes", None)
    repeat.update(seq=3, prev_hash=json.loads(lines[2])["hash"])
    repeat["hash"] = record_hash(repeat)
    _write_lines(copy, [*lines, json.dumps(repeat)])
    result = verify(copy)
    assert result.ok
    assert result.notes == ["record at line 4 (name 'run-b', target 3e+21) repeats line 3 without superseding it: both are scored"]


@pytest.mark.parametrize("content", [b"run,compute,loss\nr0,1e17,3.1\n", b"CDF\x01\x00\x00\x00\x00binary", b"[1, 2]\n"])
def test_a_file_that_is_not_a_registry_is_refused_by_name(tmp_path, fc_one, content):
    path = tmp_path / "runs.csv"
    path.write_bytes(content)
    for call in (lambda: verify(path), lambda: score(path, {"x": 1.0}), lambda: register(fc_one, path, name="x")):
        with pytest.raises(RegistryError, match=r"runs\.csv is not a JSON Lines registry: no line is a JSON object"):
            call()
    assert path.read_bytes() == content


def test_errors_say_what_to_do_in_the_command_lines_words(good, copy):
    with pytest.raises(RegistryError) as caught:
        score(good[0], {"run-a": 2.0})
    assert "--actual run-a@1e+21=VALUE" in caught.value.cli_message and "(name, target)" not in caught.value.cli_message
    _edit(copy)
    with pytest.raises(RegistryError) as caught:
        score(copy, {"run-b": 2.0})
    assert "\n" in str(caught.value) and "\n" not in caught.value.cli_message
    assert "bayes-scaling verify" in caught.value.cli_message
