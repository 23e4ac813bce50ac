"""The candidate: the launcher's child process, which becomes the untrusted program and answers
the harness's calls to its entry point.

Kept apart from the harness so that everything the untrusted side runs is in one place to read.

Like every ``launcher*`` module it runs inside the sandbox, where only the standard library and
the other launcher modules can be imported (``sandbox._launcher_code`` hands them over).
"""

import os
import sys

from bayes_scaling.codeeval.launcher_lockdown import (
    RLIMITS_ONLY,
    SETUP_FAILED,
    _become,
    _refuse_foreign_signals,
    _refuse_sockets,
    _set_limits,
)
from bayes_scaling.codeeval.launcher_messages import (
    _RESULT_TEXT,
    Unencodable,
    _exception_text,
    _receive_text,
    _send,
    decode,
    encode,
)


def _candidate(libc, request: dict, inbox: int, outbox: int, parent: int) -> None:
    """The child: becomes the untrusted program and answers calls. Never returns."""
    try:
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)  # input() sees end of file; the tests still waiting in stdin are out of reach
        os.close(devnull)
        _become(libc, request["candidate_uid"], parent)
        _set_limits(request["limits"], request["processes"])
        os.chdir(request["workdir"])
        os.environ.clear()  # started with env={}; this drops what Python adds itself (LC_CTYPE coercion)
        sys.executable = request["executable"]
        _refuse_foreign_signals()
        if request["mode"] == RLIMITS_ONLY:
            _refuse_sockets()
        program, entry_point = request.pop("program"), request["entry_point"]
    except BaseException as error:  # noqa: BLE001 - reported to the harness, which tells the evaluator
        _send(outbox, ["setup", f"{type(error).__name__}: {error}"])
        os._exit(SETUP_FAILED)
    try:  # compiling runs none of the program, but a huge or odd one may exhaust the limits: it is done here
        code = compile(program, "<program>", "exec", dont_inherit=True)
    except SyntaxError as error:
        _send(outbox, ["syntax", type(error).__name__, f"{error.msg} (line {error.lineno})"])
        os._exit(1)
    except (ValueError, RecursionError, MemoryError, OverflowError) as error:  # null bytes, absurd nesting
        _send(outbox, ["syntax", type(error).__name__, str(error)[:_RESULT_TEXT]])
        os._exit(1)
    del program, request
    # the launcher's modules were put in sys.modules only so they could import each other: the program
    # sees the standard library and nothing of ours, as when the launcher was one file
    for name in [name for name in sys.modules if name.startswith("bayes_scaling")]:
        del sys.modules[name]
    _send(outbox, ["started"])
    # From here on the process runs untrusted code; nothing it writes is believed without checking.
    send, leave = _send, os._exit
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(code, namespace)
    except BaseException as error:  # noqa: BLE001 - SystemExit included: the program did not load
        send(outbox, ["error", *_exception_text(error)])
        leave(1)
    if entry_point is None:
        send(outbox, ["done"])
        leave(0)
    function = namespace.get(entry_point)
    if function is None:
        send(outbox, ["error", "NameError", f"name {entry_point!r} is not defined"])
        leave(1)
    send(outbox, ["ready"])
    while True:
        text = _receive_text(inbox, 1 << 62)
        if text is None:
            leave(0)
        _, args, kwargs = decode(text)
        try:
            value = function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the tests may expect it
            send(outbox, ["raised", *_exception_text(error)])
            continue
        except BaseException as error:  # noqa: BLE001 - SystemExit, KeyboardInterrupt: the program ends
            send(outbox, ["error", *_exception_text(error)])
            leave(1)
        try:
            reply = encode(["return", value])
        except Unencodable as error:
            send(outbox, ["unsupported", str(error)[:200]])
            leave(1)
        send(outbox, None, reply)
