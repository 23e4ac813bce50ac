"""What crosses the launcher's pipes: the evaluator's request in, and the JSON messages between
the candidate and the harness.

``encode``/``decode`` carry only plain values (None, bools, numbers, strings, bytes and the
built-in containers), so no object of the candidate's ever reaches the tests. Both processes
speak it, so it is a module of its own.

Like every ``launcher*`` module it runs inside the sandbox, where only the standard library and
the other launcher modules can be imported (``sandbox._launcher_code`` hands them over).
"""

import marshal
import os

MAX_REPLY_BYTES = 16 << 20  # the most a candidate may answer one call with
_RESULT_TEXT = 1000  # characters of an exception message kept in a result

# ------------------------------------------------------------------- the wire format
#
# One JSON value per message, after its length (4 bytes, big-endian). JSON has no tuples, sets,
# non-string keys or bytes, so those are tagged: {"tuple": [...]}, {"set": [...]},
# {"frozenset": [...]}, {"dict": [[key, value], ...]} (every dict, so a JSON object is always a
# tag), {"bytes": "<hex>"}, {"complex": [real, imag]}; floats keep their exact value (repr), NaN
# and infinities included. Subclasses of these types (a namedtuple, a defaultdict, an IntEnum)
# travel as the base type. ``decode`` builds only these plain types, whatever the text says.

_TAGS = ("tuple", "set", "frozenset", "dict", "bytes", "complex")
_MAX_DEPTH = 100


class Unencodable(TypeError):
    """A value that is not one of the plain types that cross the sandbox boundary."""


def _string_encoder():
    try:
        from _json import encode_basestring_ascii
    except ImportError:  # pragma: no cover - CPython always has _json
        from json.encoder import py_encode_basestring_ascii as encode_basestring_ascii
    return encode_basestring_ascii


_quote = _string_encoder()


def encode(value) -> str:
    """JSON text for ``value``; raises Unencodable for anything but the plain types above."""
    out = []
    _encode(value, out, 0)
    return "".join(out)


def _encode(value, out, depth) -> None:
    if depth > _MAX_DEPTH:
        raise Unencodable(f"a value nested more than {_MAX_DEPTH} deep")
    kind = type(value)
    if value is None:
        out.append("null")
    elif value is True or value is False:
        out.append("true" if value else "false")
    elif kind is int or (isinstance(value, int) and not isinstance(value, bool)):
        try:
            out.append(int.__repr__(int.__pos__(value)))
        except ValueError:  # more digits than int's string conversion allows
            raise Unencodable("an integer with too many digits") from None
    elif kind is float or isinstance(value, float):
        number = float.__pos__(value) if kind is not float else value
        if number != number:
            out.append("NaN")
        elif number in (float("inf"), float("-inf")):
            out.append("Infinity" if number > 0 else "-Infinity")
        else:
            out.append(float.__repr__(number))
    elif kind is str or isinstance(value, str):
        out.append(_quote(str.__str__(value)))
    elif kind is list or isinstance(value, list):
        _sequence(list.copy(value), out, depth, "[", "]")
    elif kind is tuple or isinstance(value, tuple):
        _sequence(tuple.__iter__(value), out, depth, '{"tuple":[', "]}")
    elif kind is dict or isinstance(value, dict):
        out.append('{"dict":[')
        for i, (key, item) in enumerate(list(dict.items(value))):
            out.append(",[" if i else "[")
            _encode(key, out, depth + 1)
            out.append(",")
            _encode(item, out, depth + 1)
            out.append("]")
        out.append("]}")
    elif kind is frozenset or isinstance(value, frozenset):
        _sequence(frozenset.__iter__(value), out, depth, '{"frozenset":[', "]}")
    elif kind is set or isinstance(value, set):
        _sequence(set.__iter__(value), out, depth, '{"set":[', "]}")
    elif kind is bytes or isinstance(value, (bytes, bytearray)):
        out.append('{"bytes":"' + bytes(value).hex() + '"}')
    elif kind is complex or isinstance(value, complex):
        number = complex(value)
        out.append('{"complex":[')
        _encode(number.real, out, depth + 1)
        out.append(",")
        _encode(number.imag, out, depth + 1)
        out.append("]}")
    else:
        raise Unencodable(f"a value of type {_type_name(value)}")


def _sequence(items, out, depth, start, end) -> None:
    out.append(start)
    for i, item in enumerate(items):
        if i:
            out.append(",")
        _encode(item, out, depth + 1)
    out.append(end)


def _type_name(value) -> str:
    """The name of ``value``'s type if it is a Python name (a program can name a class anything), else 'object'."""
    try:
        name = type(value).__name__
    except Exception:  # noqa: BLE001 - a hostile metaclass
        return "object"
    return name if _is_dotted_name(name) else "object"


def _is_dotted_name(text) -> bool:
    return type(text) is str and 0 < len(text) <= 100 and all(part.isidentifier() for part in text.split("."))


_scanner = None


def _scan(text: str):
    global _scanner
    if _scanner is None:
        try:
            from _json import make_scanner
        except ImportError:  # pragma: no cover
            from json.scanner import py_make_scanner as make_scanner

        class Context:  # what json's scanner reads from a JSONDecoder
            strict = True
            object_hook = None
            object_pairs_hook = None
            parse_float = float
            parse_int = int
            memo = {}

            @staticmethod
            def parse_constant(name):
                return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]

        _scanner = make_scanner(Context())
    try:
        value, end = _scanner(text, 0)
    except StopIteration:
        raise ValueError("not a JSON value") from None
    if end != len(text):
        raise ValueError("text after the JSON value")
    return value


def decode(text: str):
    """The plain value ``text`` (from ``encode``) stands for; ValueError for anything else."""
    try:
        return _plain(_scan(text), 0)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except TypeError as error:  # an unhashable set member or key
        raise ValueError(str(error)) from None


def _plain(value, depth):
    if depth > _MAX_DEPTH:
        raise ValueError(f"nested more than {_MAX_DEPTH} deep")
    kind = type(value)
    if kind is list:
        return [_plain(item, depth + 1) for item in value]
    if kind is not dict:
        return value  # None, bool, int, float or str: all the scanner makes besides lists and dicts
    if len(value) != 1:
        raise ValueError("a JSON object that is not one tag")
    ((tag, body),) = value.items()
    if tag == "bytes":
        if type(body) is not str:
            raise ValueError("bytes that are not hex text")
        return bytes.fromhex(body)
    if tag not in _TAGS or type(body) is not list:
        raise ValueError(f"unknown tag {tag!r}" if tag not in _TAGS else f"tag {tag!r} without a list")
    items = [_plain(item, depth + 1) for item in body]
    if tag == "tuple":
        return tuple(items)
    if tag == "set":
        return set(items)
    if tag == "frozenset":
        return frozenset(items)
    if tag == "complex":
        if len(items) != 2 or not all(type(part) in (int, float) for part in items):
            raise ValueError("complex that is not two numbers")
        return complex(items[0], items[1])
    if not all(type(pair) is list and len(pair) == 2 for pair in items):
        raise ValueError("dict that is not a list of pairs")
    return {key: item for key, item in items}


def _send(fd: int, value, text: str | None = None) -> None:
    """Write one message: ``value`` (or its ``text``, when already encoded)."""
    data = (encode(value) if text is None else text).encode("ascii")
    data = len(data).to_bytes(4, "big") + data
    while data:
        data = data[os.write(fd, data):]


def _read_exactly(fd: int, count: int) -> bytes | None:
    chunks, left = [], count
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive_text(fd: int, limit: int) -> str | None:
    """One message's text, None at end of file; ValueError if it is over ``limit`` bytes or not ASCII."""
    header = _read_exactly(fd, 4)
    if header is None:
        return None
    size = int.from_bytes(header, "big")
    if size > limit:
        raise ValueError(f"a reply of {size} bytes, over the limit of {limit}")
    data = _read_exactly(fd, size)
    if data is None:
        return None
    return data.decode("ascii")  # encode() writes ASCII only; anything else is not ours


# ------------------------------------------------------------------------- messages in


def _receive_request(fd: int):
    """One ``marshal`` message from the evaluator (trusted), read to its exact end (nothing read ahead)."""
    header = _read_exactly(fd, 8)
    if header is None:
        raise EOFError("the evaluator sent no request")
    data = _read_exactly(fd, int.from_bytes(header, "little"))
    if data is None:
        raise EOFError("the evaluator's request was cut short")
    return marshal.loads(data)


def _exception_text(error: BaseException) -> tuple[str, str]:
    """(type name, message) of an exception raised by untrusted code, without trusting either."""
    name = _type_name(error)
    try:
        message = str(error)
        if type(message) is not str:
            raise TypeError
    except BaseException:  # noqa: BLE001 - a program's exception whose str() raises
        message = "<an exception that could not be printed>"
    return name, message[:_RESULT_TEXT]
