"""The sandbox of generated parsers: an allow-list policy on the source, a minimal builtins table,
a time limit and a memory limit per page, and a check of what a parser returns.

Generated code is untrusted: the page text that went into an LLM prompt may carry a prompt
injection. A parser is loaded only after :func:`check_source` accepted it; it then runs with
builtins limited to :data:`SAFE_BUILTINS`, inside :func:`limits` (time limit by ``SIGALRM`` on the
main thread or by an asynchronous exception on other threads; memory limit by ``RLIMIT_AS``).

The policy, checked on the AST (each violation names the line and the rule):

* module level: a docstring, ``from crawler.parsing import …`` (names of its ``__all__``),
  function definitions whose default values are constants, and assignments of constant literals
  (no mutable global state: no list default, no ``:=`` in an annotation);
* a function ``parse(page)`` must exist;
* no other import (nor any import inside a function), no names or attributes starting with
  ``_``, no ``while``, ``class``, ``global``, ``nonlocal``, ``with``, ``yield``, ``await``,
  ``async``, decorators, bare ``except``, ``finally`` (it runs while the time-out unwinds, so
  nested ones could outlive the limit) or ``**`` / ``<<`` (unbounded big-integer work);
* attributes only from :data:`ALLOWED_ATTRIBUTES` (page and selection methods, and the plain
  methods of str, list, dict and set), read but never assigned;
* ``.xpath()`` only called directly, with the query alone (and XPath variables): a namespaces
  argument would bring back EXSLT ``re:test``, Python's ``re`` with no time-out;
* names such as ``exec``, ``eval``, ``open``, ``getattr``, ``globals``, ``vars``, ``type`` are refused.

At run time ``range`` is bounded (:data:`MAX_RANGE`): ``sum``, ``max``, ``any``, ``set`` … iterate
it in C, where the time limit (which acts between bytecodes) cannot stop them. A parse that
returns after its time limit fails all the same.

Known limit: one C call that runs long (an XPath with nested predicates over a big page, the
comparison of huge nested lists) cannot be interrupted in-process; the parse fails when the call
returns, if it returns. A hard bound on such calls needs a worker process that can be killed.

Why not RestrictedPython: its guards rewrite every attribute access and subscript into a call,
which doubles the cost of a parse; the allow-list over a deliberately small helper API gives
the same guarantees here with no run-time cost.
"""

from __future__ import annotations

import _weakrefset
import ast
import builtins
import ctypes
import hashlib
import math
import os
import resource
import signal
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

from crawler import parsing
from crawler.exceptions import ParserFailed, ParserTimeout, PolicyViolation

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "SAFE_BUILTINS",
    "LoadedParser",
    "check_item",
    "check_source",
    "limits",
    "load_parser",
]

DEFAULT_TIME_LIMIT = 2.0  # seconds per page
DEFAULT_MEMORY_LIMIT = 512 * 1024 * 1024  # bytes of address space a parse may add
MAX_ITEM_CHARS = 1_000_000
MAX_ITEM_DEPTH = 8

_SAFE_BUILTIN_NAMES = (
    "abs all any bool dict enumerate filter float frozenset int isinstance len list map max min "
    "next range reversed round set sorted str sum tuple zip "
    "Exception ValueError TypeError KeyError IndexError AttributeError ZeroDivisionError "
    "True False None"
).split()

FORBIDDEN_NAMES = frozenset(
    "exec eval compile open getattr setattr delattr hasattr globals locals vars dir type object "
    "super input breakpoint help memoryview classmethod staticmethod property id print exit quit "
    "iter aiter anext bytearray bytes callable chr ord hash format issubclass repr ascii hex oct bin "
    "pow divmod slice copyright credits license BaseException SystemExit KeyboardInterrupt "
    "GeneratorExit".split()
)

ALLOWED_ATTRIBUTES = frozenset(
    # Page and parsel selections
    "css xpath get getall extract extract_first attrib url jsonld meta "
    # str
    "strip lstrip rstrip split rsplit splitlines replace lower upper title capitalize casefold "
    "startswith endswith find rfind index rindex count join partition rpartition isdigit "
    "isnumeric isdecimal isalpha isalnum isspace isupper islower removeprefix removesuffix "
    # list / dict / set
    "append extend insert pop remove sort reverse copy items keys values setdefault update "
    "add discard union intersection difference".split()
)

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module,
    ast.Expr,
    ast.ImportFrom,
    ast.alias,
    ast.FunctionDef,
    ast.arguments,
    ast.arg,
    ast.Return,
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.For,
    ast.If,
    ast.Try,
    ast.ExceptHandler,
    ast.Pass,
    ast.Break,
    ast.Continue,
    ast.Delete,
    ast.Raise,
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Lambda,
    ast.NamedExpr,
    ast.Dict,
    ast.Set,
    ast.List,
    ast.Tuple,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.Call,
    ast.keyword,
    ast.Constant,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Name,
    ast.Starred,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Load,
    ast.Store,
    ast.Del,
    ast.And,
    ast.Or,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.BitOr,
    ast.BitAnd,
    ast.BitXor,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Invert,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Is,
    ast.IsNot,
    ast.In,
    ast.NotIn,
)

_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Import: "import is not allowed (only 'from crawler.parsing import …')",
    ast.While: "'while' is not allowed (loops must be bounded: use 'for')",
    ast.ClassDef: "class definitions are not allowed",
    ast.Global: "'global' is not allowed",
    ast.Nonlocal: "'nonlocal' is not allowed",
    ast.With: "'with' is not allowed",
    ast.AsyncWith: "'async with' is not allowed",
    ast.AsyncFunctionDef: "async functions are not allowed",
    ast.AsyncFor: "'async for' is not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed (generators expose frames)",
    ast.YieldFrom: "'yield from' is not allowed",
    ast.Pow: "'**' is not allowed (unbounded big-integer work)",
    ast.LShift: "'<<' is not allowed (unbounded big-integer work)",
    ast.RShift: "'>>' is not allowed",
    ast.MatMult: "'@' is not allowed",
    ast.Assert: "'assert' is not allowed",
    ast.Match: "'match' is not allowed",
}


def _violation(filename: str, node: ast.AST, rule: str) -> PolicyViolation:
    return PolicyViolation(filename, getattr(node, "lineno", 0), rule)


def _check_module_level(tree: ast.Module, filename: str) -> None:
    has_parse = False
    for index, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and index == 0:
            continue
        if isinstance(stmt, ast.ImportFrom):
            if stmt.module != "crawler.parsing" or stmt.level:
                raise _violation(
                    filename,
                    stmt,
                    f"import from {stmt.module!r} is not allowed (only crawler.parsing)",
                )
            for alias in stmt.names:
                if alias.name not in parsing.__all__:
                    raise _violation(
                        filename, stmt, f"crawler.parsing has no public name {alias.name!r}"
                    )
            continue
        if isinstance(stmt, ast.FunctionDef):
            args = stmt.args
            if stmt.name == "parse":
                if len(args.args) != 1 or args.vararg or args.kwarg or args.kwonlyargs:
                    raise _violation(filename, stmt, "parse() must take exactly one argument: page")
                has_parse = True
            # Evaluated once, at load: a mutable default would be state shared between pages.
            for default in [*args.defaults, *args.kw_defaults]:
                if default is not None and not (
                    _is_constant_literal(default) or isinstance(default, ast.Name)
                ):
                    raise _violation(
                        filename,
                        default,
                        "default values of module-level functions must be constants "
                        "(no state shared between pages)",
                    )
            annotations = [a.annotation for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
            annotations += [a.annotation for a in (args.vararg, args.kwarg) if a is not None]
            _check_no_binding(filename, [*annotations, stmt.returns])
            continue
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            value = stmt.value
            if value is None or not _is_constant_literal(value):
                raise _violation(
                    filename,
                    stmt,
                    "module-level assignments must be constant literals (no global state)",
                )
            if isinstance(stmt, ast.AnnAssign):
                _check_no_binding(filename, [stmt.annotation])
            continue
        rule = _REFUSED_NODES.get(
            type(stmt), f"{type(stmt).__name__} is not allowed at module level"
        )
        raise _violation(filename, stmt, rule)
    if not has_parse:
        raise PolicyViolation(filename, 0, "no function 'parse(page)' defined")


def _check_no_binding(filename: str, expressions: list[ast.expr | None]) -> None:
    """Refuse ``:=`` in expressions evaluated at module level: it would bind a module global."""
    for expr in expressions:
        for node in ast.walk(expr) if expr is not None else ():
            if isinstance(node, ast.NamedExpr):
                raise _violation(
                    filename, node, "':=' is not allowed at module level (global state)"
                )


def _is_constant_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):  # -1
        return isinstance(node.operand, ast.Constant)
    if isinstance(node, ast.Tuple):
        return all(_is_constant_literal(elt) for elt in node.elts)
    return False


MAX_SOURCE_CHARS = 200_000  # a parser is one line per field: far below this
MAX_AST_DEPTH = 60  # nesting of expressions and statements; deeper is refused, whatever the stack


def _deepest(tree: ast.AST) -> tuple[int, ast.AST]:
    """The depth of the most deeply nested node, found without recursion."""
    deepest, where = 0, tree
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest, where = depth, node
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, where


def check_source(source: str, filename: str = "<parser>") -> ast.Module:
    """Check parser source against the policy; return its AST or raise :class:`PolicyViolation`.

    Source longer than :data:`MAX_SOURCE_CHARS` or nested deeper than :data:`MAX_AST_DEPTH`
    (``a + b + …`` of thousands of terms, ``[[[…]]]``) is refused before anything recurses on it:
    the same verdict whatever the caller's stack depth."""
    if len(source) > MAX_SOURCE_CHARS:
        raise PolicyViolation(
            filename, 0, f"source of {len(source)} characters is longer than {MAX_SOURCE_CHARS}"
        )
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise PolicyViolation(filename, exc.lineno or 0, f"syntax error: {exc.msg}") from exc
    except ValueError as exc:  # null bytes
        raise PolicyViolation(filename, 0, f"unreadable source: {exc}") from exc
    except (RecursionError, MemoryError) as exc:
        raise PolicyViolation(filename, 0, "nested too deeply to parse") from exc
    depth, node = _deepest(tree)
    if depth > MAX_AST_DEPTH:
        raise _violation(filename, node, f"nested {depth} levels deep (at most {MAX_AST_DEPTH})")
    _check_module_level(tree, filename)
    module_imports = {id(stmt) for stmt in tree.body if isinstance(stmt, ast.ImportFrom)}
    called = set()  # ids of the nodes called as functions (ast.walk visits a Call before its func)
    for node in ast.walk(tree):
        kind = type(node)
        if kind in _REFUSED_NODES:
            raise _violation(filename, node, _REFUSED_NODES[kind])
        if not isinstance(node, _ALLOWED_NODES):
            raise _violation(filename, node, f"{kind.__name__} is not allowed")
        if isinstance(node, ast.Call):
            called.add(id(node.func))
            if isinstance(node.func, ast.Attribute) and node.func.attr == "xpath":
                if (
                    len(node.args) > 1
                    or any(isinstance(a, ast.Starred) for a in node.args)
                    or any(k.arg in (None, "namespaces") for k in node.keywords)
                ):
                    raise _violation(
                        filename,
                        node,
                        "xpath() takes the query alone (namespaces would enable EXSLT regex)",
                    )
        elif isinstance(node, ast.ImportFrom):
            if id(node) not in module_imports:
                raise _violation(filename, node, "import is only allowed at module level")
        elif isinstance(node, ast.Try):
            if node.finalbody:
                raise _violation(
                    filename,
                    node.finalbody[0],
                    "'finally' is not allowed (it runs while the time-out unwinds)",
                )
        elif isinstance(node, ast.BinOp | ast.AugAssign):
            if type(node.op) in _REFUSED_NODES:  # here, where the line is known
                raise _violation(filename, node, _REFUSED_NODES[type(node.op)])
            if isinstance(node, ast.AugAssign):
                if isinstance(node.op, ast.Mult) and not isinstance(node.target, ast.Name):
                    raise _violation(filename, node, "'*=' is only allowed on plain names")
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise _violation(filename, node, f"name {node.id!r} starts with '_'")
            if node.id in FORBIDDEN_NAMES:
                raise _violation(filename, node, f"name {node.id!r} is not allowed")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise _violation(filename, node, f"attribute {node.attr!r} starts with '_'")
            if node.attr not in ALLOWED_ATTRIBUTES:
                raise _violation(
                    filename, node, f"attribute {node.attr!r} is not in the allowed list"
                )
            if not isinstance(node.ctx, ast.Load):
                raise _violation(
                    filename, node, f"assigning attribute {node.attr!r} is not allowed"
                )
            if node.attr == "xpath" and id(node) not in called:
                raise _violation(filename, node, "'xpath' may only be called directly")
        elif isinstance(node, ast.FunctionDef | ast.Lambda):
            if isinstance(node, ast.FunctionDef) and node.decorator_list:
                raise _violation(filename, node, "decorators are not allowed")
            for arg in node.args.args + node.args.kwonlyargs + node.args.posonlyargs:
                if arg.arg.startswith("_"):
                    raise _violation(filename, node, f"argument {arg.arg!r} starts with '_'")
        elif isinstance(node, ast.ExceptHandler):
            if node.type is None:
                raise _violation(
                    filename, node, "bare 'except:' is not allowed (name the exceptions)"
                )
            if node.name and node.name.startswith("_"):
                raise _violation(filename, node, f"name {node.name!r} starts with '_'")
        elif isinstance(node, ast.alias):
            if node.asname and node.asname.startswith("_"):
                raise _violation(filename, node, f"alias {node.asname!r} starts with '_'")
        elif isinstance(node, ast.keyword):
            if node.arg is not None and node.arg.startswith("_"):
                raise _violation(filename, node, f"keyword {node.arg!r} starts with '_'")
    return tree


def _guarded_import(
    name: str,
    globals: Any = None,
    locals: Any = None,
    fromlist: tuple[str, ...] | None = (),
    level: int = 0,
) -> Any:
    if name != "crawler.parsing" or level or not fromlist:
        raise ImportError(f"import of {name!r} is not allowed")
    for item in fromlist:
        if item not in parsing.__all__:
            raise ImportError(f"crawler.parsing has no public name {item!r}")
    return parsing


MAX_RANGE = 10_000_000  # most items a range() may have


def _bounded_range(*args: int) -> range:
    """``range`` with at most :data:`MAX_RANGE` items: ``sum(range(10**15))`` and the like run in C,
    out of reach of the time limit, so a range must be small enough to iterate in well under it."""
    bounded = range(*args)
    try:
        size = len(bounded)
    except OverflowError:  # more than sys.maxsize items
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise ValueError(f"range() of more than {MAX_RANGE} items")
    return bounded


SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
SAFE_BUILTINS["range"] = _bounded_range


def _builtins_table() -> dict[str, Any]:
    table = dict(SAFE_BUILTINS)
    table["__import__"] = _guarded_import
    return table


# ---------------------------------------------------------------------------------------------
# Limits: time (SIGALRM on the main thread, async exception elsewhere) and memory (RLIMIT_AS).

_rlimit_lock = threading.Lock()
_rlimit_depth = 0
_rlimit_saved: tuple[int, int] | None = None
_PAGE = os.sysconf("SC_PAGE_SIZE")


_STATM_TTL = 0.25  # seconds a reading of the process size is reused (it is a file read)
_statm: list[float] = [0.0, 0.0]  # [read at (monotonic), bytes]


def _address_space() -> int:
    """The process's address space, re-read at most every ``_STATM_TTL`` seconds (the limit
    is this plus a 512 MiB budget, so a slightly stale reading only shifts it a little)."""
    now = time.monotonic()
    if now - _statm[0] > _STATM_TTL:
        with open("/proc/self/statm", "rb") as fh:
            _statm[1] = int(fh.read().split()[0]) * _PAGE
        _statm[0] = now
    return int(_statm[1])


_armed = False
_QUIET_CODES: frozenset[CodeType] = frozenset()  # the sandbox's clean-up code; set at the end


# code that the garbage collector runs between any two bytecodes (weak reference callbacks):
# an exception raised there is printed and dropped, not seen by the parser
# (Scrapy's signals, PyDispatcher, drop dead receivers from weak reference callbacks too)
def _module_files(*names: str) -> set[str]:
    import importlib.util

    out = set()
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin:
            out.add(spec.origin)
    return out


_GC_CALLBACK_FILES = frozenset(
    {
        weakref.__file__,
        _weakrefset.__file__,
        *_module_files("pydispatch.dispatcher", "pydispatch.saferef"),
    }
)


def _on_alarm(signum: int, frame: Any) -> None:
    # Never raise in the sandbox's own clean-up, once the parser has returned: a time-out there
    # would leave the alarm and the memory limit in place; nor in a weak reference callback the
    # collector runs, where it would be dropped. It fires again 50 ms later if needed.
    if not _armed or frame is None:
        if _armed:
            raise ParserTimeout("time limit reached")
        return
    code = frame.f_code
    if code in _QUIET_CODES or code.co_filename in _GC_CALLBACK_FILES or code.co_name == "__del__":
        return
    raise ParserTimeout("time limit reached")


class limits:  # noqa: N801 - used like a function: ``with limits(seconds, memory):``
    """Run the body with a time limit and a limit on added address space.

    Exceeding time raises :class:`ParserTimeout` (a ``BaseException``); exceeding memory raises
    ``MemoryError``. The alarm re-fires every 50 ms after the deadline, so code that swallows one
    is stopped by the next. A class rather than a generator: after a ``MemoryError`` the exit must
    lift the limit before anything allocates.
    """

    def __init__(
        self, seconds: float = DEFAULT_TIME_LIMIT, memory: int = DEFAULT_MEMORY_LIMIT
    ) -> None:
        self.seconds = seconds
        self.memory = memory
        self.on_main = False
        self.previous: Any = None
        self.deadline: Any = None
        self.ends_at = 0.0

    def __enter__(self) -> None:
        global _rlimit_depth, _rlimit_saved, _armed
        with _rlimit_lock:
            if _rlimit_depth == 0 and self.memory:
                try:
                    _rlimit_saved = resource.getrlimit(resource.RLIMIT_AS)
                    hard = _rlimit_saved[1]
                    want = _address_space() + self.memory
                    if hard != resource.RLIM_INFINITY:
                        want = min(want, hard)
                    resource.setrlimit(resource.RLIMIT_AS, (want, hard))
                except (OSError, ValueError):
                    _rlimit_saved = None
            _rlimit_depth += 1
        self.on_main = threading.current_thread() is threading.main_thread()
        self.ends_at = time.monotonic() + self.seconds
        if self.on_main:
            self.previous = signal.signal(signal.SIGALRM, _on_alarm)
            _armed = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.05)
        else:
            self.deadline = _Watchdog(self.seconds)
            self.deadline.__enter__()

    def __exit__(self, *exc_info: object) -> None:
        # Order matters after a MemoryError, while the parser's huge objects are still alive:
        # disarm the alarm and lift the memory limit (neither allocates) before anything else.
        # Off the main thread a time-out may land here before the watchdog stops: the caller
        # retries, so nothing is changed before the watchdog is stopped.
        global _rlimit_depth, _rlimit_saved, _armed
        if self.on_main:
            _armed = False
        elif self.deadline is not None:
            self.deadline.stop()
        with _rlimit_lock:
            _rlimit_depth -= 1
            if _rlimit_depth == 0 and _rlimit_saved is not None:
                resource.setrlimit(resource.RLIMIT_AS, _rlimit_saved)
                _rlimit_saved = None
        if self.on_main:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            if self.previous is not None:
                signal.signal(signal.SIGALRM, self.previous)


class _Watchdog:
    """Raise :class:`ParserTimeout` in the calling thread (an asynchronous exception) after
    ``seconds``, then every 50 ms, until :meth:`stop`."""

    def __init__(self, seconds: float) -> None:
        self.target = threading.get_ident()
        self.seconds = seconds
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.active = True
        self.fired = False

    def __enter__(self) -> None:
        threading.Thread(target=self._fire, name="scrapec-parser-watchdog", daemon=True).start()

    def _fire(self) -> None:
        while not self.done.wait(0.05 if self.fired else self.seconds):
            with self.lock:
                if not self.active:
                    return
                self.fired = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self.target), ctypes.py_object(ParserTimeout)
                )

    def stop(self) -> None:
        """Idempotent; once it returns, no time-out is pending or will be raised."""
        with self.lock:
            self.active = False
            if self.fired:  # clear an exception that was set but not yet raised
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.target), None)
        self.done.set()


# ---------------------------------------------------------------------------------------------
# Items


def check_item(item: Any, template: str = "?") -> dict[str, Any]:
    """Return ``item`` as JSON-ready data or raise :class:`ParserFailed` (not a dict, a value that
    is not JSON, a NaN, an integer outside the signed 64-bit range, a string or key holding a
    lone surrogate such as ``"\\ud800"`` — no Unicode text, it cannot be written as UTF-8 — too
    deep, or larger than ``MAX_ITEM_CHARS``). Tuples become lists and top-level fields that are
    None or ``[]`` are dropped."""
    if not isinstance(item, dict):
        raise ParserFailed(template, None, f"parse() returned {type(item).__name__}, not dict")
    budget = [MAX_ITEM_CHARS]
    # This runs outside the limits, so its work is bounded by the budget: keys count, and the
    # path of a value (keys and indexes) is only rendered for an error message.

    def fail(where: tuple[str | int, ...], reason: str) -> ParserFailed:
        path = ""
        for part in where:
            path = (
                f"{path}[{part}]" if isinstance(part, int) else f"{path}.{part}" if path else part
            )
        return ParserFailed(template, path or None, reason)

    def spend(size: int, where: tuple[str | int, ...]) -> None:
        budget[0] -= size
        if budget[0] < 0:
            raise fail(where, f"item larger than {MAX_ITEM_CHARS} characters")

    def unicode(text: str, where: tuple[str | int, ...], what: str) -> None:
        if text.isascii():  # the common case, no copy
            return
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:  # only a surrogate code point does not encode
            raise fail(
                where,
                f"{what} holds a lone surrogate {text[exc.start]!r} at character {exc.start}:"
                " not Unicode text",
            ) from None

    def walk(value: Any, where: tuple[str | int, ...], depth: int) -> Any:
        if depth > MAX_ITEM_DEPTH:
            raise fail(where, f"value nested deeper than {MAX_ITEM_DEPTH} levels")
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            spend(len(value), where)
            unicode(value, where, "string")
            return value
        if isinstance(value, int):
            if not -(2**63) <= value < 2**63:
                bits = value.bit_length()  # no str() of a huge integer: it costs, or raises
                shown = str(value) if bits <= 128 else f"of {bits} bits"
                raise fail(where, f"integer {shown} is outside the signed 64-bit range")
            return value
        if isinstance(value, float):
            if math.isnan(value) or math.isinf(value):
                raise fail(where, f"{value!r} is not a JSON number")
            return value
        if isinstance(value, list | tuple):
            spend(len(value), where)
            return [walk(v, (*where, i), depth + 1) for i, v in enumerate(value)]
        if isinstance(value, dict):
            spend(len(value), where)
            out = {}
            for key, v in value.items():
                if not isinstance(key, str):  # no repr: a huge key would be a bomb
                    raise fail(where, f"key of type {type(key).__name__} is not a string")
                spend(len(key), where)
                unicode(key, where, "key")
                out[key] = walk(v, (*where, key), depth + 1)
            return out
        raise fail(where, f"{type(value).__name__} is not a JSON value")

    checked: dict[str, Any] = walk(item, (), 0)
    # a field the page does not have is absent from the item, not null: schemas type fields
    # as "string", "number", … and a missing optional field is valid
    return {k: v for k, v in checked.items() if v is not None and v != []}


# ---------------------------------------------------------------------------------------------
# Loading

_code_cache: dict[str, CodeType] = {}
MAX_REPEAT = 10_000_000  # largest sequence a '*' may build, in items
MAX_INT_BITS = 100_000  # largest integer product, in bits


def _guarded_mul(left: Any, right: Any) -> Any:
    """``left * right`` with bounds: big-integer products and sequence repeats are C loops that
    neither the time limit (which runs between bytecodes) nor a cheap check could stop."""
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise MemoryError("integer product too large")
    elif isinstance(left, str | list | tuple) and isinstance(right, int):
        if len(left) * max(right, 0) > MAX_REPEAT:
            raise MemoryError("sequence repeat too large")
    elif isinstance(right, str | list | tuple) and isinstance(left, int):
        if len(right) * max(left, 0) > MAX_REPEAT:
            raise MemoryError("sequence repeat too large")
    return left * right


class _GuardMultiplication(ast.NodeTransformer):
    """Rewrite ``a * b`` and ``a *= b`` into calls of :func:`_guarded_mul`."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Mult):
            call = ast.Call(ast.Name("_scrapec_mul", ast.Load()), [node.left, node.right], [])
            return ast.copy_location(call, node)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Mult) and isinstance(node.target, ast.Name):
            load = ast.Name(node.target.id, ast.Load())
            call = ast.Call(ast.Name("_scrapec_mul", ast.Load()), [load, node.value], [])
            return ast.copy_location(ast.Assign([node.target], call), node)
        if isinstance(node.op, ast.Mult):
            raise PolicyViolation("<parser>", node.lineno, "'*=' is only allowed on plain names")
        return node


@dataclass
class LoadedParser:
    """A checked, compiled parser, ready to run on pages."""

    template: str
    version: int
    source_hash: str
    function: Callable[[Any], Any] = field(repr=False)
    time_limit: float = DEFAULT_TIME_LIMIT
    memory_limit: int = DEFAULT_MEMORY_LIMIT

    def run(self, page: parsing.Page) -> dict[str, Any]:
        """Parse one page under the limits; return a JSON-ready item or raise :class:`ParserFailed`."""
        # Not a "with" block: after a MemoryError nothing may allocate until the parser's frames
        # (which hold the huge object) are released, which happens when the handler ends. So the
        # limits are lifted in "finally", after the handlers, and the handlers only bind constants.
        reason = ""
        raw: Any = None
        guard = limits(self.time_limit, self.memory_limit)
        try:
            guard.__enter__()
            try:
                raw = self.function(page)
                if time.monotonic() > guard.ends_at:  # returned from C work past the limit
                    reason = "time"
            except ParserTimeout:
                reason = "time"
            except MemoryError:
                reason = "memory limit reached"
            except RecursionError:
                reason = "recursion too deep"
            except Exception as exc:  # the parser's own error, e.g. IndexError
                reason = _parser_error_text(exc)
                del exc
            finally:
                while True:  # off the main thread a time-out may land in it: retry
                    try:
                        guard.__exit__(None, None, None)
                        break
                    except ParserTimeout:
                        reason = reason or "time"
        except ParserTimeout:  # an alarm that fired while a handler ran
            reason = reason or "time"
        except MemoryError:  # raised while a handler ran, at the limit
            reason = reason or "memory limit reached"
        if reason == "time":
            reason = f"time limit of {self.time_limit:g} s reached"
        if reason:
            raise ParserFailed(self.template, None, reason)
        return check_item(raw, self.template)


def _parser_error_text(exc: BaseException) -> str:
    """``Type: message`` of an exception a parser raised, without ``str()`` of what the parser
    put in it (the repr of a huge list is a memory bomb of its own)."""
    name = type(exc).__name__
    args = exc.args
    if len(args) == 1 and type(args[0]) is str:
        message = args[0][:200]
        return f"{name}: {message!r}" if isinstance(exc, KeyError) else f"{name}: {message}"
    return name


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def load_parser(
    source: str,
    filename: str = "<parser>",
    template: str = "?",
    version: int = 0,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> LoadedParser:
    """Check ``source`` against the policy, compile it (once per process for the same source)
    and return a :class:`LoadedParser` with its own globals and builtins table."""
    digest = source_hash(source)
    code = _code_cache.get(digest)
    if code is None:
        tree = check_source(source, filename)
        tree = ast.fix_missing_locations(_GuardMultiplication().visit(tree))
        try:
            code = compile(tree, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            raise PolicyViolation(
                filename, getattr(exc, "lineno", 0) or 0, f"does not compile: {exc}"
            ) from exc
        _code_cache[digest] = code
    namespace: dict[str, Any] = {
        "__builtins__": _builtins_table(),
        "__name__": f"scrapec_parser_{digest[:12]}",
        "_scrapec_mul": _guarded_mul,
    }
    failure = ""
    guard = limits(time_limit)
    try:
        guard.__enter__()
        try:
            exec(code, namespace)  # noqa: S102 - checked by check_source, runs with SAFE_BUILTINS
        except ParserTimeout:
            failure = "time limit reached"
        except Exception as exc:
            failure = _parser_error_text(exc)
            del exc
        finally:
            while True:  # as in LoadedParser.run
                try:
                    guard.__exit__(None, None, None)
                    break
                except ParserTimeout:
                    failure = failure or "time limit reached"
    except ParserTimeout:
        failure = failure or "time limit reached"
    except MemoryError:
        failure = failure or "MemoryError"
    if failure:
        raise ParserFailed(template, None, f"module failed to load: {failure}")
    function = namespace.get("parse")
    if not callable(function):
        raise PolicyViolation(filename, 0, "no function 'parse(page)' defined")
    return LoadedParser(template, version, digest, function, time_limit)


_QUIET_CODES = frozenset(
    {limits.__exit__.__code__, LoadedParser.run.__code__, load_parser.__code__}
)
