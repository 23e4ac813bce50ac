"""Difficulty buckets, the pass@k wrapper, the GPT-4 point method and observed bucket rates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scipy.stats import norm

from bayes_scaling.buckets import assign_buckets, border_probabilities, observed_bucket_rates, pass_at_k, point_method


def _table(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["run", "compute", "problem", "n", "correct"])


@pytest.fixture
def ladder():
    """40 problems × 3 runs; problem ``q{j}`` has pass rate ``rates[j]`` in every run."""
    rng = np.random.default_rng(0)
    rates = rng.permutation(np.arange(5, 85, 2)) / 100  # 40 distinct rates, ids unrelated to difficulty
    runs = [("small", 1e18, 100), ("mid", 1e19, 200), ("large", 1e20, 1000)]
    rows = [
        (run, compute, f"q{j:02d}", n, int(round(rate * n)))
        for run, compute, n in runs
        for j, rate in enumerate(rates)
    ]
    return _table(rows), {f"q{j:02d}": rate for j, rate in enumerate(rates)}


# ---------------------------------------------------------------- assign_buckets


def test_assign_buckets_excludes_hardest_and_orders_easiest_first(ladder):
    counts, rates = ladder
    out = assign_buckets(counts, buckets=6, exclude_hardest=15)

    assert list(out.columns) == ["problem", "score", "bucket", "excluded"]
    assert len(out) == 40
    assert out["bucket"].dtype == "Int64"
    assert out["excluded"].dtype == bool
    np.testing.assert_allclose(out["score"], [rates[p] for p in out["problem"]])

    hardest = sorted(rates, key=rates.get)[:15]
    assert set(out.loc[out["excluded"], "problem"]) == set(hardest)
    assert out.loc[out["excluded"], "bucket"].isna().all()
    assert out.loc[~out["excluded"], "bucket"].notna().all()

    kept = out.loc[~out["excluded"]]
    sizes = kept["bucket"].value_counts().sort_index()
    assert list(sizes.index) == [1, 2, 3, 4, 5, 6]
    assert list(sizes) == [5, 4, 4, 4, 4, 4]  # numpy.array_split of 25 into 6
    assert sizes.max() - sizes.min() <= 1

    # Sorted by score, highest first; buckets contiguous and monotone in difficulty.
    assert np.all(np.diff(out["score"].to_numpy()) < 0)
    assert np.all(np.diff(kept["bucket"].to_numpy(dtype=int)) >= 0)
    by_bucket = kept.groupby("bucket")["score"]
    assert np.all(by_bucket.min().to_numpy()[:-1] > by_bucket.max().to_numpy()[1:])
    top = max(rates, key=rates.get)
    assert out.loc[out["problem"] == top, "bucket"].item() == 1
    assert kept["score"].min() > out.loc[out["excluded"], "score"].max()


def test_assign_buckets_weights_runs_equally_not_samples():
    # Per-run mean: A = (0.9 + 0.1) / 2 = 0.5, B = 0.6, so A is harder.
    # Pooled samples would say A = 9001 / 10010 ≈ 0.90 > B = 0.6, the other way round.
    counts = _table(
        [
            ("big", 1e20, "A", 10_000, 9_000),
            ("small", 1e18, "A", 10, 1),
            ("big", 1e20, "B", 10_000, 6_000),
            ("small", 1e18, "B", 10, 6),
        ]
    )
    out = assign_buckets(counts, buckets=1, exclude_hardest=1)
    assert list(out["problem"]) == ["B", "A"]
    np.testing.assert_allclose(out["score"], [0.6, 0.5])
    assert out.set_index("problem").loc["A", "excluded"]
    assert not out.set_index("problem").loc["B", "excluded"]


def test_assign_buckets_score_uses_only_runs_that_have_the_problem():
    counts = _table(
        [
            ("r1", 1e18, "A", 10, 8),
            ("r2", 1e19, "A", 10, 6),
            ("r1", 1e18, "B", 10, 7),  # B missing from r2: score 0.7, not (0.7 + 0) / 2
        ]
    )
    out = assign_buckets(counts, buckets=2, exclude_hardest=0).set_index("problem")
    assert out.loc["A", "score"] == pytest.approx(0.7)
    assert out.loc["B", "score"] == pytest.approx(0.7)
    # Tie broken by id: A ranks above B.
    assert list(out.index) == ["A", "B"]
    assert list(out["bucket"]) == [1, 2]


def test_assign_buckets_ties_are_deterministic_and_row_order_free():
    # Six problems, all with the same score; ties go by problem id, so the last ids are excluded.
    rows = [(run, c, f"p{i}", 10, 3 + j) for i in range(6) for j, (run, c) in enumerate([("a", 1e18), ("b", 1e19), ("c", 1e20)])]
    counts = _table(rows)
    out = assign_buckets(counts, buckets=2, exclude_hardest=2)
    assert list(out["problem"]) == ["p0", "p1", "p2", "p3", "p4", "p5"]
    assert list(out["excluded"]) == [False] * 4 + [True] * 2
    assert list(out["bucket"].iloc[:4]) == [1, 1, 2, 2]

    for seed in range(5):
        shuffled = counts.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        pd.testing.assert_frame_equal(assign_buckets(shuffled, buckets=2, exclude_hardest=2), out)


def test_assign_buckets_exact_ties_survive_floating_point_summation():
    # Both problems score exactly 7/30 (1/10, 2/10, 4/10 over the runs, in a different order),
    # but summed in run order the floats differ in the last bit, x2 coming out larger.
    counts = _table(
        [
            (run, c, problem, 10, correct)
            for problem, corrects in {"x1": (1, 4, 2), "x2": (1, 2, 4)}.items()
            for (run, c), correct in zip([("a", 1e18), ("b", 1e19), ("c", 1e20)], corrects)
        ]
    )
    out = assign_buckets(counts, buckets=1, exclude_hardest=1)
    assert list(out["problem"]) == ["x1", "x2"]  # the tie goes by id
    assert list(out["excluded"]) == [False, True]


def test_assign_buckets_errors(ladder):
    counts, _ = ladder
    with pytest.raises(ValueError, match="buckets must be at least 1"):
        assign_buckets(counts, buckets=0)
    with pytest.raises(ValueError, match="exclude_hardest must be 0 or more"):
        assign_buckets(counts, exclude_hardest=-1)
    with pytest.raises(ValueError, match="40 problems, 15 excluded, leaves 25 for 26 buckets"):
        assign_buckets(counts, buckets=26, exclude_hardest=15)
    with pytest.raises(ValueError, match="40 problems, 50 excluded, leaves 0 for 1 buckets"):
        assign_buckets(counts, buckets=1, exclude_hardest=50)
    assert assign_buckets(counts, buckets=25, exclude_hardest=15)["bucket"].max() == 25

    humaneval = _table([("r", 1e18, f"HumanEval/{i}", 10, 5) for i in range(164)])
    with pytest.raises(ValueError, match="164 problems, 15 excluded, leaves 149 for 200 buckets"):
        assign_buckets(humaneval, buckets=200, exclude_hardest=15)


# ---------------------------------------------------------------- border_probabilities


def _one_run(rates, n):
    return _table([("only", 1e18, f"p{j}", n, int(round(rate * n))) for j, rate in enumerate(rates)])


def test_border_probabilities_hand_computed():
    # buckets {0.9, 0.8}, {0.6, 0.5}, {0.3, 0.1}; borders at 0.7 and 0.4; the 0.05 problem left out
    counts = _one_run([0.9, 0.8, 0.6, 0.5, 0.3, 0.1, 0.05], n=100)
    assignment = assign_buckets(counts, buckets=3, exclude_hardest=1)
    out = border_probabilities(counts, assignment).set_index("problem")

    def se(rate):
        p = (rate * 100 + 0.5) / 101
        return math.sqrt(p * (1 - p) / 100)

    expected = {  # problem: (p_easier, p_harder)
        "p0": (0.0, norm.cdf((0.7 - 0.9) / se(0.9))),
        "p1": (0.0, norm.cdf((0.7 - 0.8) / se(0.8))),
        "p2": (norm.cdf((0.6 - 0.7) / se(0.6)), norm.cdf((0.4 - 0.6) / se(0.6))),
        "p3": (norm.cdf((0.5 - 0.7) / se(0.5)), norm.cdf((0.4 - 0.5) / se(0.5))),
        "p4": (norm.cdf((0.3 - 0.4) / se(0.3)), 0.0),  # the last bucket has no harder neighbour
        "p5": (norm.cdf((0.1 - 0.4) / se(0.1)), 0.0),
        "p6": (0.0, 0.0),  # excluded: not in any bucket
    }
    for problem, (easier, harder) in expected.items():
        assert out.loc[problem, "p_easier"] == pytest.approx(easier, rel=1e-9, abs=1e-300)
        assert out.loc[problem, "p_harder"] == pytest.approx(harder, rel=1e-9, abs=1e-300)
    assert list(out.index) == list(assignment["problem"])  # same rows, same order


def test_border_probabilities_half_at_a_tied_border_and_shrink_with_samples():
    # two problems level at 0.5 land in different buckets: the border runs through both
    tied = _one_run([0.9, 0.5, 0.5, 0.1], n=100)
    out = border_probabilities(tied, assign_buckets(tied, buckets=2, exclude_hardest=0)).set_index("problem")
    assert out.loc["p1", "p_harder"] == pytest.approx(0.5) and out.loc["p2", "p_easier"] == pytest.approx(0.5)
    # the same scores measured with 100× the samples: far less doubt about which side they are on
    rates = [0.9, 0.75, 0.65, 0.5]
    few, many = _one_run(rates, n=100), _one_run(rates, n=10_000)
    p_few = border_probabilities(few, assign_buckets(few, buckets=2, exclude_hardest=0))
    p_many = border_probabilities(many, assign_buckets(many, buckets=2, exclude_hardest=0))
    assert (p_many["p_harder"] + p_many["p_easier"] < p_few["p_harder"] + p_few["p_easier"]).all()
    assert p_few.loc[p_few["problem"] == "p1", "p_harder"].item() > 0.1  # 5 points from the border, se ~4


# ---------------------------------------------------------------- pass_at_k


def _closed_form(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def test_pass_at_k_matches_closed_form():
    n = np.array([10, 10, 10, 20, 200, 7, 5])
    c = np.array([0, 3, 10, 1, 17, 6, 0])
    for k in (1, 2, 5):
        expected = [_closed_form(int(a), int(b), k) for a, b in zip(n, c)]
        np.testing.assert_allclose(pass_at_k(n, c, k), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(pass_at_k(n, c, 1), c / n, rtol=1e-12, atol=1e-15)


def test_pass_at_k_nan_where_too_few_samples_and_broadcasts():
    out = pass_at_k(np.array([3, 4, 10]), np.array([3, 1, 2]), 4)
    assert np.isnan(out[0])  # n = 3 < k = 4: HumanEval's own function would say 1.0
    assert out[1] == pytest.approx(_closed_form(4, 1, 4))  # = 1.0: any 4 of 4 include the correct one
    assert out[2] == pytest.approx(_closed_form(10, 2, 4))

    broadcast = pass_at_k(10, np.array([0, 5, 10]), 2)
    np.testing.assert_allclose(broadcast, [_closed_form(10, c, 2) for c in (0, 5, 10)])
    assert broadcast.shape == (3,)

    with pytest.raises(ValueError):
        pass_at_k(np.array([5]), np.array([6]), 1)
    with pytest.raises(ValueError):
        pass_at_k(np.array([5]), np.array([1]), 0)


# ---------------------------------------------------------------- point_method

COMPUTES = [1e18, 3e18, 1e19, 3e19, 1e20]
TARGET = 1e22  # 100× beyond the largest run
BUCKET_K = {1: 0.35, 2: 0.25, 3: 0.15}
N_SAMPLES = 1_000_000


def _alpha(a_at_1e18: float, k: float) -> float:
    """alpha such that -log p = a_at_1e18 at C = 1e18."""
    return a_at_1e18 * 1e18**k


def _noiseless(problems):
    """problems: {id: (alpha, k)} -> counts with correct = round(n * exp(-alpha * C**-k))."""
    rows = []
    for j, compute in enumerate(COMPUTES):
        for problem, (alpha, k) in problems.items():
            p = math.exp(-alpha * compute ** (-k))
            rows.append((f"run{j}", compute, problem, N_SAMPLES, int(round(N_SAMPLES * p))))
    return _table(rows)


@pytest.fixture
def synthetic():
    """Three buckets of four problems with a common k per bucket, plus one excluded problem."""
    a_values = {1: [0.05, 0.08, 0.1, 0.12], 2: [0.4, 0.5, 0.6, 0.8], 3: [1.2, 1.5, 2.0, 2.5]}
    problems, buckets = {}, {}
    for g, values in a_values.items():
        for i, a in enumerate(values):
            problems[f"b{g}_{i}"] = (_alpha(a, BUCKET_K[g]), BUCKET_K[g])
            buckets[f"b{g}_{i}"] = g
    problems["hard"] = (_alpha(4.0, 0.2), 0.2)
    counts = _noiseless(problems)
    assignment = pd.DataFrame(
        {
            "problem": list(buckets) + ["hard"],
            "score": np.nan,
            "bucket": pd.array(list(buckets.values()) + [None], dtype="Int64"),
            "excluded": [False] * len(buckets) + [True],
        }
    )
    return counts, assignment, problems, buckets


def test_point_method_recovers_alpha_and_k_per_bucket(synthetic):
    counts, assignment, problems, buckets = synthetic
    out = point_method(counts, assignment, [1e21, TARGET])

    assert list(out.columns) == ["compute", "bucket", "quantity", "value", "alpha", "k", "problems_used", "problems_dropped"]
    assert list(out["bucket"]) == ["1", "1", "2", "2", "3", "3", "all", "all"]
    assert (out["quantity"] == "neg_log_pass_rate").all()
    assert out.attrs["dropped"] == {"count": 0, "problems": []}

    for g, k in BUCKET_K.items():
        row = out[(out["bucket"] == str(g)) & (out["compute"] == TARGET)].iloc[0]
        members = [problems[p][0] for p, b in buckets.items() if b == g]
        true_alpha = float(np.mean(members))
        truth = true_alpha * TARGET ** (-k)
        assert row["k"] == pytest.approx(k, abs=1e-2)
        assert row["value"] == pytest.approx(truth, rel=0.02)
        assert row["alpha"] == pytest.approx(true_alpha, rel=0.05)
        assert row["problems_used"] == 4 and row["problems_dropped"] == 0

    everything = out[out["bucket"] == "all"]
    assert (everything["problems_used"] == 12).all()  # the excluded problem is not used
    assert np.isfinite(everything["value"]).all() and (everything["k"] > 0).all()
    # Predictions fall with compute.
    for _, group in out.groupby("bucket"):
        assert group.sort_values("compute")["value"].is_monotonic_decreasing


def test_point_method_all_bucket_recovers_common_law():
    k = 0.2
    problems = {f"p{i}": (_alpha(a, k), k) for i, a in enumerate([0.1, 0.3, 0.5, 0.9, 1.4, 2.2])}
    counts = _noiseless(problems)
    assignment = assign_buckets(counts[counts["run"] != "run4"], buckets=2, exclude_hardest=0)
    out = point_method(counts, assignment, TARGET)
    truth_all = np.mean([a for a, _ in problems.values()]) * TARGET ** (-k)
    row = out[out["bucket"] == "all"].iloc[0]
    assert row["k"] == pytest.approx(k, abs=1e-2)
    assert row["value"] == pytest.approx(truth_all, rel=0.02)
    # Easiest bucket (1) has the smaller -log pass rate.
    values = out.set_index("bucket")["value"]
    assert values["1"] < values["2"]


def test_point_method_drops_problems_with_a_zero_or_missing_count(synthetic):
    counts, assignment, problems, buckets = synthetic
    baseline = point_method(counts, assignment, TARGET)

    extra = {
        "zero": (_alpha(0.7, BUCKET_K[2]), BUCKET_K[2]),
        "gap": (_alpha(1.8, BUCKET_K[3]), BUCKET_K[3]),
    }
    more = _noiseless(extra)
    more.loc[(more["problem"] == "zero") & (more["run"] == "run0"), "correct"] = 0
    more = more[~((more["problem"] == "gap") & (more["run"] == "run2"))]
    # An excluded problem with zeros does not count as dropped.
    counts2 = pd.concat([counts, more], ignore_index=True)
    counts2.loc[(counts2["problem"] == "hard") & (counts2["run"] == "run0"), "correct"] = 0
    assignment2 = pd.concat(
        [
            assignment,
            pd.DataFrame(
                {"problem": ["zero", "gap"], "score": np.nan, "bucket": pd.array([2, 3], dtype="Int64"), "excluded": False}
            ),
        ],
        ignore_index=True,
    )
    out = point_method(counts2, assignment2, TARGET)

    assert out.attrs["dropped"]["count"] == 2
    assert sorted(out.attrs["dropped"]["problems"]) == ["gap", "zero"]
    by = out.set_index("bucket")
    assert list(by.loc[["1", "2", "3", "all"], "problems_dropped"]) == [0, 1, 1, 2]
    assert list(by.loc[["1", "2", "3", "all"], "problems_used"]) == [4, 4, 4, 12]
    # The dropped problems did not enter the fit.
    np.testing.assert_allclose(out["value"], baseline["value"], rtol=1e-12)
    np.testing.assert_allclose(out["k"], baseline["k"], rtol=1e-12)


def test_point_method_unfittable_buckets_are_listed_with_nan(synthetic):
    counts, assignment, _, _ = synthetic
    # Every problem of bucket 1 has a zero somewhere: bucket 1 has no usable problem.
    zeroed = counts.copy()
    zeroed.loc[zeroed["problem"].str.startswith("b1_") & (zeroed["run"] == "run0"), "correct"] = 0
    out = point_method(zeroed, assignment, TARGET).set_index("bucket")
    assert np.isnan(out.loc["1", "value"]) and np.isnan(out.loc["1", "k"]) and np.isnan(out.loc["1", "alpha"])
    assert out.loc["1", "problems_used"] == 0 and out.loc["1", "problems_dropped"] == 4
    assert np.isfinite(out.loc["2", "value"])

    # A single run cannot fit a line.
    one_run = point_method(counts[counts["run"] == "run0"], assignment, TARGET)
    assert list(one_run["bucket"]) == ["1", "2", "3", "all"]
    assert one_run["value"].isna().all()
    assert (one_run.set_index("bucket").loc[["1", "2", "3"], "problems_used"] == 4).all()


# ---------------------------------------------------------------- observed_bucket_rates


def test_observed_bucket_rates_hand_computed():
    counts = _table(
        [
            ("s", 1e18, "A", 4, 3),
            ("s", 1e18, "B", 4, 1),
            ("s", 1e18, "X", 4, 0),
            ("l", 1e19, "A", 2, 2),
            ("l", 1e19, "B", 2, 0),
            ("l", 1e19, "X", 2, 1),
        ]
    )
    assignment = pd.DataFrame(
        {"problem": ["A", "B", "X"], "score": np.nan, "bucket": pd.array([1, 2, None], dtype="Int64"), "excluded": [False, False, True]}
    )
    out = observed_bucket_rates(counts, assignment)
    assert list(out.columns) == ["run", "compute", "bucket", "pass_rate", "neg_log_pass_rate", "problems"]
    assert list(zip(out["run"], out["bucket"])) == [("s", "1"), ("s", "2"), ("s", "all"), ("l", "1"), ("l", "2"), ("l", "all")]

    s1, s2, sall, l1, l2, lall = (row for _, row in out.iterrows())
    assert s1["pass_rate"] == pytest.approx(0.75)
    assert s1["neg_log_pass_rate"] == pytest.approx(-math.log(3.5 / 5))
    assert s2["pass_rate"] == pytest.approx(0.25)
    assert s2["neg_log_pass_rate"] == pytest.approx(-math.log(1.5 / 5))
    assert sall["pass_rate"] == pytest.approx(0.5)  # X is excluded
    assert sall["neg_log_pass_rate"] == pytest.approx((-math.log(3.5 / 5) - math.log(1.5 / 5)) / 2)
    assert l1["pass_rate"] == pytest.approx(1.0)
    assert l1["neg_log_pass_rate"] == pytest.approx(-math.log(2.5 / 3))
    assert l2["pass_rate"] == pytest.approx(0.0)
    assert l2["neg_log_pass_rate"] == pytest.approx(-math.log(0.5 / 3))  # finite despite zero correct
    assert lall["pass_rate"] == pytest.approx(0.5)
    assert list(out["problems"]) == [1, 1, 2, 1, 1, 2]
    assert list(out["compute"]) == [1e18, 1e18, 1e18, 1e19, 1e19, 1e19]


def test_observed_bucket_rates_missing_problem_gives_empty_bucket():
    counts = _table([("s", 1e18, "A", 4, 2), ("l", 1e19, "A", 4, 4), ("l", 1e19, "B", 4, 1)])
    assignment = assign_buckets(counts, buckets=2, exclude_hardest=0)
    out = observed_bucket_rates(counts, assignment).set_index(["run", "bucket"])
    assert out.loc[("s", "2"), "problems"] == 0
    assert np.isnan(out.loc[("s", "2"), "pass_rate"]) and np.isnan(out.loc[("s", "2"), "neg_log_pass_rate"])
    assert out.loc[("l", "2"), "pass_rate"] == pytest.approx(0.25)
