"""What a bad table raises (``DataError``, naming column, row and value) and the warnings a usable but doubtful one gets."""

from __future__ import annotations



class DataError(ValueError):
    """The runs table or the targets are unusable; the message says where and why.

    Raised before any model is built: by ``load_runs``, ``load_pass_counts`` and
    ``load_capability_runs`` (and so by ``bs.forecast`` and ``bs.backtest``, which load
    their data with them) for an unreadable file or a bad value, naming the column, the
    row and the offending value; by ``bs.forecast`` for unusable targets; and by
    ``bs.backtest`` for a split that leaves nothing to forecast or too few runs to fit.
    A subclass of ``ValueError``.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> try:
    ...     bs.load_runs("runs.csv")
    ... except bs.DataError as error:
    ...     print(error)  # e.g. column 'loss', row 3 (run 'r4'): value -1.2 must be > 0
    """


class ExtrapolationWarning(UserWarning):
    """A target compute is one the fitted law cannot forecast well (inside, below, or far past the data).

    Issued by ``bs.forecast`` (through ``check_targets``), once per such target, before
    any sampling: a target inside the fitted compute range (interpolation, not a forecast
    of a larger run), below the smallest compute in the data (backcasting: the law was not
    fitted on runs that small), or more than 10^6 × past the largest compute
    (extrapolations that far are not trustworthy). The Chinchilla law warns the same way
    about its targets' compute.
    """


class IncompleteRunsWarning(UserWarning):
    """Some runs of a pass-counts table lack rows for problems that other runs have.

    Issued by ``load_pass_counts`` (and so by ``bs.forecast(..., law="pass_rate")``),
    naming each such run and how many problems it misses. The runs are kept and fitted on
    what they have; ``attrs["incomplete_runs"]`` of the loaded table lists the missing
    problem ids per run.
    """


class IdentifiabilityWarning(UserWarning):
    """The data cannot tell a part of the law: it keeps its prior (said before sampling, with the way out).

    Issued by ``bs.forecast`` before sampling. ``law="chinchilla"``: the runs' tokens per
    parameter follow one path, so the parameter term of ``L(N, D)`` cannot be told from
    the token term and forecasts off that path (``bs.compute_optimal`` included) rest on
    the default priors' compute-optimal assumption. ``law="pass_rate"``: too few runs to
    measure how far one new run lands off the trend, or a bucket none of whose problems
    any fitted run solved. Each message says what data would settle it.
    """
