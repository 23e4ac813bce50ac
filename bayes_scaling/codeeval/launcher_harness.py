"""The harness: the launcher's own process, which holds the tests, runs ``check(candidate)`` against
a proxy of the candidate and sends the verdict to the evaluator.

Kept apart from the candidate so that the trusted side, and what it believes of the
candidate's replies, is in one place to read.

Like every ``launcher*`` module it runs inside the sandbox, where only the standard library and
the other launcher modules can be imported (``sandbox._launcher_code`` hands them over).
"""

import marshal
import os

from bayes_scaling.codeeval.launcher_lockdown import _PR_SET_DUMPABLE, _SIGALRM, _become, _check, _set_limits
from bayes_scaling.codeeval.launcher_messages import (
    _RESULT_TEXT,
    MAX_REPLY_BYTES,
    Unencodable,
    _exception_text,
    _is_dotted_name,
    _receive_request,
    _receive_text,
    _send,
    decode,
    encode,
)


class CandidateError(Exception):
    """The candidate raised an exception that is not a built-in one; ``name`` is its type's name."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


_BUILTIN_ERRORS = None


def _candidate_exception(name: str, message: str) -> Exception:
    """The built-in exception the candidate raised (so a test expecting ValueError gets one), else CandidateError."""
    global _BUILTIN_ERRORS
    if _BUILTIN_ERRORS is None:
        import builtins

        _BUILTIN_ERRORS = {key: value for key, value in vars(builtins).items()
                           if isinstance(value, type) and issubclass(value, Exception)}
    error_type = _BUILTIN_ERRORS.get(name)
    if error_type is not None:
        try:
            error = error_type(message)
            error._candidate_message = message
            return error
        except Exception:  # noqa: BLE001 - e.g. UnicodeDecodeError needs five arguments
            pass
    return CandidateError(name if _is_dotted_name(name) else "Exception", message)


def _failure(error: BaseException) -> str:
    """The result text for an exception in the tests: ``failed: Type: message``."""
    if isinstance(error, CandidateError):
        name, message = error.name, str(error)
    else:
        name = type(error).__name__
        message = getattr(error, "_candidate_message", None)
        if message is None:
            message = _exception_text(error)[1]
    return f"failed: {name}: {message[:_RESULT_TEXT]}"


class _Harness:
    def __init__(self, result_fd: int, inbox: int, outbox: int, child: int):
        self.result_fd, self.inbox, self.outbox, self.child = result_fd, inbox, outbox, child

    def finish(self, *verdict) -> None:
        """Send the verdict to the evaluator and end (as PID 1 of the namespace, ending kills the rest)."""
        try:
            os.write(self.result_fd, marshal.dumps(verdict))
        finally:
            os._exit(0)

    def died(self) -> None:
        """The candidate closed its pipe: report how it ended."""
        try:
            _, status = os.waitpid(self.child, 0)
            self.finish("died", os.waitstatus_to_exitcode(status))
        except ChildProcessError:
            self.finish("died", None)

    def invalid(self, why: str) -> None:
        self.finish("failed", f"failed: the candidate sent an invalid reply ({why})")

    def message(self):
        """The candidate's next message, a list whose first item is a string; ends the harness otherwise."""
        try:
            text = _receive_text(self.inbox, MAX_REPLY_BYTES)
            if text is None:
                self.died()
            message = decode(text)
        except (ValueError, UnicodeDecodeError, MemoryError) as error:
            self.invalid(str(error)[:200])
        if type(message) is not list or not message or type(message[0]) is not str:
            self.invalid("not a message")
        return message

    def program_failure(self, message) -> None:
        """An ["error"|"syntax", type, text] message: the program failed before or while being called."""
        if len(message) == 3 and type(message[1]) is str and type(message[2]) is str:
            name = message[1] if _is_dotted_name(message[1]) else "Exception"
            self.finish("failed", f"failed: {name}: {message[2][:_RESULT_TEXT]}")
        self.invalid(f"a malformed {message[0]!r} message")

    def start(self) -> None:
        """Wait until the candidate has compiled its program (setup and syntax errors are only believed here)."""
        message = self.message()
        if message[0] == "setup" and len(message) == 2 and type(message[1]) is str:
            self.finish("setup", message[1])
        if message[0] == "syntax":
            self.program_failure(message)
        if message != ["started"]:
            self.invalid("no start")

    def loaded(self, expected: str) -> None:
        message = self.message()
        if message[0] == "error":
            self.program_failure(message)
        if message != [expected]:
            self.invalid(f"expected {expected!r}")

    def proxy(self, name: str):
        def candidate(*args, **kwargs):
            try:
                request = encode(["call", list(args), kwargs])
            except Unencodable as error:
                raise TypeError(f"the tests called the candidate with {error}, which cannot be sent to the sandbox") from None
            try:
                _send(self.outbox, None, request)
            except BrokenPipeError:
                self.died()
            message = self.message()
            if message[0] == "return" and len(message) == 2:
                return message[1]
            if message[0] == "raised" and len(message) == 3 and type(message[1]) is str and type(message[2]) is str:
                raise _candidate_exception(message[1], message[2][:_RESULT_TEXT])
            if message[0] == "error":
                self.program_failure(message)
            if message[0] == "unsupported" and len(message) == 2 and type(message[1]) is str:
                self.finish("failed", "failed: the candidate returned a value that cannot be passed to the tests "
                                      f"({message[1][:200]})")
            self.invalid(f"unexpected {message[0]!r}")

        candidate.__name__ = candidate.__qualname__ = name
        return candidate


def _helpers(prompt: str, namespace: dict) -> None:
    """Define the prompt's own functions (e.g. HumanEval/38's ``encode_cyclic``) in the harness, from the
    trusted prompt, never from the completion. A prompt that is not valid Python on its own gives none."""
    for source in (prompt, prompt + "\n    pass\n"):
        try:
            code = compile(source, "<prompt>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        exec(code, namespace)
        return


def _harness(libc, request: dict, result_fd: int, inbox: int, outbox: int, child: int, parent: int) -> None:
    harness = _Harness(result_fd, inbox, outbox, child)
    try:
        _become(libc, request["harness_uid"], parent)
        _check(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)", libc)
        _set_limits(request["limits"], request["processes"])
        import _signal

        def expire(*_):
            os._exit(3)

        _signal.signal(_SIGALRM, expire)  # a backstop should the evaluator be gone: PID 1 needs a handler
        _signal.alarm(int(request["limits"]["cpu_seconds"]) * 2 + 10)
        tests = _receive_request(0)  # read only now, in this process: the candidate's memory never held them
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.chdir("/")
    except BaseException as error:  # noqa: BLE001
        harness.finish("setup", f"{type(error).__name__}: {error}")
    harness.start()
    if tests is None:
        harness.loaded("done")
        harness.finish("passed")
    namespace = {"__name__": "__main__"}
    try:
        _helpers(tests["prompt"], namespace)
        check = compile(tests["test"] + "\n" + f"check({tests['entry_point']})", "<test>", "exec", dont_inherit=True)
    except BaseException as error:  # noqa: BLE001 - the problem's own code is broken
        harness.finish("setup", f"the problem's test does not run on its own: {type(error).__name__}: {error}")
    harness.loaded("ready")
    namespace[tests["entry_point"]] = harness.proxy(tests["entry_point"])
    try:
        exec(check, namespace)
    except BaseException as error:  # noqa: BLE001 - any exception, SystemExit included, is a failure
        harness.finish("failed", _failure(error))
    harness.finish("passed")
