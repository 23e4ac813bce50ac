"""Write docs/api.md, the API reference, from the docstrings of everything in ``bayes_scaling.__all__``.

    python scripts/api_docs.py           # (re)write docs/api.md
    python scripts/api_docs.py --check   # exit 1 if docs/api.md is not what this would write

``tests/test_api_docs.py`` compares the page with ``render()``, so a docstring changed without
rerunning this script fails the suite.

Each name gets its signature (``inspect.signature``) and its docstring as written, in a fence
tagged ``rst`` (numpydoc is reStructuredText): the section underlines stay text instead of
becoming Markdown headings, and the page holds no ``python``, ``text`` or ``bash`` block, the
languages ``tests/doc_examples.py`` runs, so the docstrings' ``>>>`` examples (illustrations,
not doctests) are not executed as the other pages' examples are. Classes other than errors and
warnings also get their public methods and properties.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "api.md"
COMMAND = "python scripts/api_docs.py"

# The order of the page. A name of ``__all__`` not listed here still gets a section, under "Other".
GROUPS = [
    ("Loading data", ["load_runs", "load_pass_counts", "load_capability_runs", "example_runs", "example_pass_counts"]),
    ("Forecasting", ["forecast", "point_forecast", "load_forecast"]),
    ("Allocation", ["compute_optimal", "CostModel", "six_nd", "transformer_cost", "fit_cost"]),
    ("The forecast objects", ["Forecast", "PointForecast"]),
    ("Comparing and stacking", ["compare", "stack", "StackedForecast"]),
    ("Decisions: recipes and runs", ["compare_recipes", "RecipeComparison", "suggest_runs", "RunSuggestions"]),
    ("Backtesting", ["backtest", "BacktestResult"]),
    ("Registering and scoring", ["register", "score", "verify"]),
    ("Warnings and errors", ["DataError", "RegistryError", "ExtrapolationWarning", "IdentifiabilityWarning",
                             "IncompleteRunsWarning", "SamplerWarning", "CurvatureWarning", "TrendReversalWarning"]),
]
OTHER = "Other"


def _import_package():
    if str(ROOT) not in sys.path:  # run from a source tree without an installation
        sys.path.insert(0, str(ROOT))
    import bayes_scaling

    return bayes_scaling


def grouped(names) -> list[tuple[str, list[str]]]:
    """``GROUPS`` restricted to ``names``, then the names no group lists, sorted, under ``OTHER``."""
    names = list(names)
    listed = {name for _, members in GROUPS for name in members}
    groups = [(title, [name for name in members if name in names]) for title, members in GROUPS]
    rest = sorted(name for name in names if name not in listed)
    groups.append((OTHER, rest))
    return [(title, members) for title, members in groups if members]


# --------------------------------------------------------------------------- signatures


class _Annotation:
    """A string annotation (``from __future__ import annotations``) shown as code, without quotes."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _plain(signature: inspect.Signature, drop_first: bool = False) -> str:
    parameters = list(signature.parameters.values())[1 if drop_first else 0 :]
    parameters = [p.replace(annotation=_Annotation(p.annotation)) if isinstance(p.annotation, str) else p for p in parameters]
    returns = signature.return_annotation
    if isinstance(returns, str):
        returns = _Annotation(returns)
    return str(signature.replace(parameters=parameters, return_annotation=returns))


def _function_signature(prefix: str, function) -> str:
    return prefix + _plain(inspect.signature(function))


def _member_signature(owner: str, name: str, member) -> tuple[str, str]:
    """(signature line, kind) of a class's public method or property."""
    if isinstance(member, (property, functools.cached_property)):
        getter = member.fget if isinstance(member, property) else member.func
        returns = inspect.signature(getter).return_annotation
        shown = "" if returns is inspect.Signature.empty else f": {returns if isinstance(returns, str) else inspect.formatannotation(returns)}"
        return f"{owner}.{name}{shown}", "property"
    if isinstance(member, classmethod):
        return f"{owner}.{name}{_plain(inspect.signature(member.__func__), drop_first=True)}", "classmethod"
    if isinstance(member, staticmethod):
        return f"{owner}.{name}{_plain(inspect.signature(member.__func__))}", "staticmethod"
    signature = inspect.signature(member)
    first = next(iter(signature.parameters), None)
    return f"{owner}.{name}{_plain(signature, drop_first=first == 'self')}", "method"


def _members(cls) -> list[tuple[str, object]]:
    """The public methods and properties a class defines itself or inherits from a base of its own
    package (``Forecast`` from ``ForecastRecord``), bases first, each in the order of its source."""
    kinds = (property, functools.cached_property, classmethod, staticmethod)
    package = cls.__module__.split(".")[0]
    found = {}
    for owner in reversed(cls.__mro__):
        if owner.__module__.split(".")[0] == package:
            found.update((name, value) for name, value in vars(owner).items()
                         if not name.startswith("_") and (isinstance(value, kinds) or inspect.isfunction(value)))
    return list(found.items())


def _doc(obj) -> str | None:
    """The object's own docstring, dedented (a class without one does not show its base's)."""
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    text = obj.__doc__ if isinstance(obj, (property, functools.cached_property)) else getattr(obj, "__doc__", None)
    return inspect.cleandoc(text) if text and text.strip() else None


# --------------------------------------------------------------------------- Markdown


def _code(text: str) -> str:
    """``text`` as inline code, with a longer delimiter where it holds backticks."""
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _block(text: str | None) -> list[str]:
    if text is None:
        return ["*No docstring.*", ""]
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`{3,}", text)), default=0) + 1)
    return [f"{fence}rst", *text.split("\n"), fence, ""]


def _slug(heading: str, seen: dict[str, int]) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


def _is_error_or_warning(obj) -> bool:
    return inspect.isclass(obj) and issubclass(obj, BaseException)


def _entry(name: str, obj, seen: dict[str, int]) -> tuple[str, list[str]]:
    """(anchor, lines) of one public name: heading, signature, docstring, then a class's members."""
    heading = f"`bs.{name}`"
    anchor = _slug(heading, seen)
    lines = [f"### {heading}", ""]
    if _is_error_or_warning(obj):
        bases = ", ".join(base.__name__ for base in obj.__bases__)
        lines += [_code(f"class bs.{name}({bases})"), ""]
    elif inspect.isclass(obj):
        constructor = inspect.signature(obj).replace(return_annotation=inspect.Signature.empty)  # a dataclass's "-> None"
        lines += [_code(f"class bs.{name}{_plain(constructor)}"), ""]
    else:
        lines += [_code(_function_signature(f"bs.{name}", obj)), ""]
    lines += _block(_doc(obj))
    if inspect.isclass(obj) and not _is_error_or_warning(obj):
        for member_name, member in _members(obj):
            signature, kind = _member_signature(name, member_name, member)
            member_heading = f"`{name}.{member_name}`"
            _slug(member_heading, seen)
            lines += [f"#### {member_heading}", "", f"{_code(signature)} ({kind})", ""]
            lines += _block(_doc(member))
    return anchor, lines


def render(package=None) -> str:
    """The text of docs/api.md for ``package`` (default: ``bayes_scaling``, imported)."""
    package = package or _import_package()
    seen: dict[str, int] = {}
    contents, body = [], []
    for title, names in grouped(package.__all__):
        title_anchor = _slug(title, seen)  # in the page's order, as GitHub numbers repeated headings
        entries = [(name, *_entry(name, getattr(package, name), seen)) for name in names]
        contents.append(f"- [{title}](#{title_anchor}): "
                        + ", ".join(f"[{_code(name)}](#{anchor})" for name, anchor, _ in entries))
        body += [f"## {title}", ""]
        for _, _, lines in entries:
            body += lines
    header = [
        "# API reference",
        "",
        f"<!-- Generated by `{COMMAND}`: do not edit by hand. -->",
        "",
        f"This page is generated by `{COMMAND}` from the docstrings of the names in",
        "`bayes_scaling.__all__` (imported as `import bayes_scaling as bs`); do not edit it by hand:",
        f"change the docstring and rerun the script. `{COMMAND} --check` (and `tests/test_api_docs.py`)",
        "fails when the page and the docstrings differ. The docstrings follow numpydoc; their `>>>`",
        "examples are illustrations and, unlike the other pages' examples, are not run by the tests.",
        "",
        *contents,
        "",
    ]
    return "\n".join(header + body).rstrip("\n") + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md differs from what would be written")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else None
        if current != text:
            print(f"{PAGE.relative_to(ROOT)} is out of date with the docstrings: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
