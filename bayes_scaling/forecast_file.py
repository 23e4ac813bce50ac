"""``load_forecast``: read a forecast back from the netCDF file ``Forecast.save`` wrote.

Its own module because reading a file someone hands over is where a CSV, a folder or another
program's netCDF turns up: each is refused by name before ArviZ tries to read it.
"""

from __future__ import annotations

from pathlib import Path

from bayes_scaling.quiet import quietly

with quietly():  # often the first import of ArviZ
    import arviz as az

from bayes_scaling.forecast import forecast
from bayes_scaling.forecast_result import _ATTR, Forecast

# netCDF-3 files start with b"CDF" and a version byte; netCDF-4 files are HDF5.
_NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")


def load_forecast(path) -> Forecast:
    """Read a forecast written by ``Forecast.save`` (or ``bayes-scaling forecast --save``).

    Parameters
    ----------
    path : str or os.PathLike
        The netCDF file. It is read whole and closed, so it can be saved over.

    Returns
    -------
    Forecast
        The forecast as it was saved: every answer (intervals, diagnostics, settings) is
        the same as the original's.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    ValueError
        When ``path`` is a directory, not a netCDF file (e.g. a CSV), or a netCDF file
        that ``Forecast.save`` did not write.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> fc = bs.forecast(bs.example_runs(), target=1e21, seed=0)
    >>> path = fc.save("fc.nc")
    >>> bs.load_forecast(path).interval(0.9) == fc.interval(0.9)
    True
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no forecast file at {path}")
    check_netcdf(path)
    with az.rc_context({"data.load": "eager"}):  # read it all and close the file: it can then be saved over
        idata = az.from_netcdf(path)
    if _ATTR not in idata.attrs:
        raise ValueError(f"{path} is a netCDF file but not a bayes_scaling forecast (no {_ATTR!r} attribute)")
    return Forecast(idata, refit=forecast)


def check_netcdf(path: Path) -> None:
    """Refuse, by name, a file that is not netCDF (a CSV given where a forecast is expected)."""
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a directory, not a forecast file (what Forecast.save or forecast --save writes)")
    with open(path, "rb") as handle:
        start = handle.read(8)
    if not start.startswith(_NETCDF_MAGIC):
        raise ValueError(
            f"{str(path)!r} is not a netCDF file (it starts with {start!r}); a forecast file is what "
            "Forecast.save or `bayes-scaling forecast --save` writes"
        )
