"""The API page cannot drift from the docstrings, and the docstrings are numpydoc.

docs/api.md is written by ``python scripts/api_docs.py`` from the docstrings of ``bs.__all__``;
rerun it after changing a docstring.
"""

from __future__ import annotations

import builtins
import functools
import importlib.util
import inspect
import warnings
from pathlib import Path

import pytest

import bayes_scaling as bs
from tests.doc_examples import CODE, parse

ROOT = Path(__file__).resolve().parents[1]



def _generator():
    spec = importlib.util.spec_from_file_location("api_docs", ROOT / "scripts" / "api_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


api_docs = _generator()


@pytest.fixture(scope="module")
def rendered() -> str:
    return api_docs.render(bs)


def test_the_api_page_is_what_the_generator_writes(rendered):
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert page == rendered, "docs/api.md differs from the docstrings: run `python scripts/api_docs.py`"


def test_check_fails_on_a_stale_page_in_one_line(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "api.md"
    stale.write_text("# API reference\n", encoding="utf-8")
    monkeypatch.setattr(api_docs, "PAGE", stale)
    monkeypatch.setattr(api_docs, "ROOT", tmp_path)
    assert api_docs.main(["--check"]) == 1
    message = capsys.readouterr().err
    assert message.count("\n") == 1 and "python scripts/api_docs.py" in message


def test_every_public_name_and_member_is_on_the_page(rendered):
    for name in bs.__all__:
        assert f"### `bs.{name}`" in rendered, name
        obj = getattr(bs, name)
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for member, _ in api_docs._members(obj):
                assert f"#### `{name}.{member}`" in rendered, f"{name}.{member}"
    assert " at 0x" not in rendered  # no default whose repr changes from run to run


def test_the_page_has_no_block_the_doc_tests_would_run(rendered):
    """Its ``>>>`` examples are illustrations: tests/doc_examples.py must not execute them."""
    assert not [block.first for block in parse(rendered) if block.language in CODE]


def _parsed(doc: str | None, what: str):
    from numpydoc.docscrape import NumpyDocString

    assert doc and doc.strip(), f"{what} has no docstring"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unknown or malformed section is a failure, not a warning
        parsed = NumpyDocString(inspect.cleandoc(doc))
    assert len(parsed["Summary"]) == 1 and parsed["Summary"][0].strip(), f"{what}: the summary is one line"
    return parsed


def _check_callable(function, doc: str | None, what: str, drop_first: bool = False) -> None:
    parsed = _parsed(doc, what)
    names = list(inspect.signature(function).parameters)[1 if drop_first else 0 :]
    documented = [part.strip().lstrip("*") for p in parsed["Parameters"] for part in p.name.split(",")]
    assert documented == names, f"{what}: Parameters documents {documented}, the signature has {names}"
    assert parsed["Returns"], f"{what}: no Returns section"
    assert parsed["Examples"] and any(line.lstrip().startswith(">>>") for line in parsed["Examples"]), \
        f"{what}: no Examples section with a >>> line"
    for raised in parsed["Raises"]:
        error = raised.type or raised.name
        assert isinstance(getattr(builtins, error, None), type) or error in bs.__all__, \
            f"{what}: Raises names {error!r}, neither a builtin nor in bs.__all__"


@pytest.mark.parametrize("name", sorted(bs.__all__))
def test_every_public_docstring_is_numpydoc(name):
    pytest.importorskip("numpydoc.docscrape")
    obj = getattr(bs, name)
    if not inspect.isclass(obj):
        _check_callable(obj, obj.__doc__, f"bs.{name}")
        return
    _parsed(obj.__doc__, f"bs.{name}")  # a class: a summary (errors and warnings say when they are raised)
    if issubclass(obj, BaseException):
        return
    for member_name, member in api_docs._members(obj):
        what = f"bs.{name}.{member_name}"
        if isinstance(member, (property, functools.cached_property)):
            _parsed(member.__doc__, what)
        else:
            function = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
            _check_callable(function, function.__doc__, what, drop_first=not isinstance(member, staticmethod))
