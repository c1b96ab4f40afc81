"""A bash command line taken apart for permission rules: every simple command it would run.

``parse`` uses ``bashlex`` to find each simple command: those in lists and pipelines, in
``$(...)``, backticks, ``<(...)``/``>(...)``, loop and function bodies, and the strings given
to ``bash -c``/``sh -c``/``eval``. For each it records:

- ``text``: the words as bash would see them (quotes removed), what allow rules match;
- ``inner``: the command a wrapper runs (``sudo rm x`` -> ``rm x``; also ``env``, ``command``,
  ``exec``, ``nice``, ``timeout``, ``xargs``, ``find -exec``, ...), which rules must allow too;
- ``deny_views``: the above plus the executable's basename (``/bin/rm`` -> ``rm``), what deny
  rules match, so no spelling of a denied program the parser can see slips past;
- ``outside``: output redirections and path arguments that reach outside the workspace (or
  that cannot be known: ``$VAR``, ``~``), which keep an allow rule from applying;
- ``hidden``: why it runs code the parser cannot see (a shell reading a script file or
  stdin, ``source``, ``alias``, ``trap``, ``BASH_ENV=``, ``su``/``unshare``/``chroot``...):
  asked about while deny rules exist. Interpreters (``python -c``) are not looked into at all;
- ``problem``: why it cannot be judged (a computed command name, an unparseable ``-c``
  string): such a part is asked about, never allowed by a rule.

A command line bashlex cannot parse is one part with a ``problem``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

# Wrappers that run their argument vector as a command: options taking a value, and how
# many positional words come before the command.
_WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "command": (frozenset(), 0),
    "builtin": (frozenset(), 0),
    "exec": (frozenset({"-a"}), 0),
    "env": (frozenset({"-u", "--unset", "-C", "--chdir"}), 0),
    "sudo": (frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T"}), 0),
    "doas": (frozenset({"-u", "-C"}), 0),
    "nice": (frozenset({"-n", "--adjustment"}), 0),
    "ionice": (frozenset({"-c", "-n", "-p", "-P", "-u"}), 0),
    "nohup": (frozenset(), 0),
    "time": (frozenset({"-f", "-o", "--format", "--output"}), 0),
    "setsid": (frozenset(), 0),
    "stdbuf": (frozenset({"-i", "-o", "-e"}), 0),
    "timeout": (frozenset({"-s", "--signal", "-k", "--kill-after"}), 1),
    "xargs": (frozenset({"-I", "-d", "-n", "-L", "-P", "-s", "-E", "-a", "--arg-file"}), 0),
    "chrt": (frozenset(), 1),
    "taskset": (frozenset(), 1),
    "flock": (frozenset({"-w", "-E", "--timeout"}), 1),
    "unbuffer": (frozenset(), 0),
    "watch": (frozenset({"-n", "-d", "--interval"}), 0),
    "busybox": (frozenset(), 0),
    "strace": (frozenset({"-e", "-o", "-p", "-s", "-u"}), 0),
    "catchsegv": (frozenset(), 0),
    "firejail": (frozenset(), 0),
}
_SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh", "mksh", "ash", "fish", "rbash"})
# Programs that run a command line, script or shell in a way not parsed here.
_OPAQUE_RUNNERS = frozenset(
    {"trap", "su", "runuser", "script", "unshare", "chroot", "parallel", "nsenter", "sg"}
    | {"systemd-run", "machinectl", "newgrp", "expect", "tmux", "screen", "at", "batch"}
)
_HOOK_VARIABLES = frozenset({"BASH_ENV", "ENV", "PROMPT_COMMAND", "PS4", "SHELLOPTS", "BASHOPTS"})
_DECLARERS = frozenset({"env", "export", "declare", "typeset", "readonly", "local"})
_GIT_COMMAND_KEYS = re.compile(
    r"(?i)(alias\.[^=]*=\s*!|core\.(fsmonitor|sshcommand|pager|editor|hookspath|askpass)=|"
    r"[^=]*\.(textconv|command|clean|smudge|process|helper)=|sequence\.editor=)"
)
_HIDDEN_SUBSTITUTION = re.compile(r"\$\{[^}]*(\$\(|`)")
_OUTPUT_REDIRECTS = frozenset({">", ">>", ">|", "&>", "&>>", "<>", ">&"})
_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero")
_FD = re.compile(r"/dev/fd/\d+")
# Links whose target depends on the process that follows them (its fds, cwd, root): the
# checker's own would be a guess, so a path through them is "cannot be known".
_PROCESS_RELATIVE = ("/proc/", "/dev/fd/", "/dev/stdin", "/dev/stdout", "/dev/stderr")
_OPAQUE = re.compile(r"[*?\[\]{}]")
_DYNAMIC = frozenset({"parameter", "commandsubstitution", "processsubstitution"})


@dataclass(slots=True)
class Part:
    text: str
    inner: list[str] = field(default_factory=list)
    deny_views: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    problem: str | None = None
    # Runs code this parser cannot see (a shell reading a script file or stdin, ``source``,
    # ``alias``, ``trap``, ``BASH_ENV=``, ``su``/``unshare``/``chroot``...): asked about
    # whenever a deny rule exists, since it could run a denied program; fine otherwise.
    hidden: str | None = None

    @property
    def allow_views(self) -> list[str]:
        return [self.text, *self.inner]


@dataclass(slots=True)
class Parsed:
    source: str
    parts: list[Part]

    @property
    def problems(self) -> list[str]:
        return [p.problem for p in self.parts if p.problem]

    @property
    def hidden(self) -> list[str]:
        return [p.hidden for p in self.parts if p.hidden]


def parse(command: str, cwd: Path, depth: int = 0) -> Parsed:
    """``command`` as its simple commands; see the module docstring."""
    import bashlex  # type: ignore[import-untyped]

    parts: list[Part] = []
    if depth > 5:
        return Parsed(command, [Part(command, problem="nested too deeply to judge")])
    if not command.strip():
        return Parsed(command, [])
    try:
        trees = bashlex.parse(command)
    except Exception as exc:  # noqa: BLE001 - bashlex raises many kinds; all mean "cannot tell"
        reason = f"bash syntax the checker cannot parse ({type(exc).__name__}: {exc})"
        return Parsed(command, [Part(command.strip(), problem=reason)])
    walker = _Walker(command, _real(cwd), depth, parts)
    for tree in trees:
        walker.visit(tree)
    return Parsed(command, parts)


def matches(text: str, pattern: str) -> bool:
    return fnmatchcase(text, pattern)


def network_allowed(command: str, patterns: tuple[str, ...], cwd: Path) -> bool:
    """True when every part of ``command`` matches one of ``patterns`` (``network_commands``);
    paths are judged against the session's ``cwd``."""
    if not patterns:
        return False
    parsed = parse(command, cwd)
    if not parsed.parts or parsed.problems:
        return False
    return all(
        any(matches(view, p) for p in patterns)
        for part in parsed.parts
        for view in part.allow_views
    )


class _Walker:
    def __init__(self, source: str, cwd: str, depth: int, out: list[Part]) -> None:
        self.source = source
        self.cwd = cwd
        self.depth = depth
        self.out = out

    def visit(self, node: Any) -> None:
        kind = getattr(node, "kind", None)
        if kind == "command":
            self._command(node)
        elif kind == "function":
            pass  # its body is walked below; calling it is a command of its own name
        for child in _children(node):
            self.visit(child)

    def _command(self, node: Any) -> None:
        words = [p for p in node.parts if p.kind == "word"]
        assigns = [p.word for p in node.parts if p.kind == "assignment"]
        argv = [w.word for w in words]
        # Words whose source bash would still transform (globs, braces, $'..'): as a
        # command name they could become any program, so they are not judged by their text.
        self._opaque = {i for i, w in enumerate(words) if _opaque(self._raw(w))}
        part = Part(" ".join([*assigns, *argv]))
        raw = self._raw(node)
        if _HIDDEN_SUBSTITUTION.search(raw):
            # `${x:-$(rm x)}`: bashlex does not see a substitution nested in ${...}.
            part.problem = "a command substitution inside ${...} the checker cannot see"
        for assign in assigns:
            if assign.split("=", 1)[0] in _HOOK_VARIABLES:
                part.hidden = f"{assign.split('=', 1)[0]}= makes a shell run another script"
        if words and _kinds(words[0]) & (_DYNAMIC | {"tilde"}):
            part.problem = f"the command name {words[0].word!r} is computed at run time"
        elif 0 in self._opaque:
            part.problem = f"the command name {self._raw(words[0])!r} is expanded by bash"
        for word in words[1:]:
            if "$'" in self._raw(word) or '$"' in self._raw(word):
                part.outside.append(f"{self._raw(word)} (decoded at run time)")
            else:
                self._check_arg(word, part)
        for redirect in (p for p in node.parts if p.kind == "redirect"):
            self._check_redirect(redirect, part)
        if argv and part.problem is None:
            self._unwrap(argv, part)
        part.deny_views = _deny_views(part, argv)
        self.out.append(part)

    def _raw(self, word: Any) -> str:
        start, end = word.pos
        return str(self.source[start:end])

    def _check_arg(self, word: Any, part: Part) -> None:
        kinds = _kinds(word)
        if "parameter" in kinds:
            part.outside.append(f"{word.word} (expanded at run time)")
        elif not kinds & {"commandsubstitution", "processsubstitution"}:
            if self._escapes(word.word):  # also --output=../x and -o../x
                part.outside.append(word.word)

    def _check_redirect(self, redirect: Any, part: Part) -> None:
        target = redirect.output
        if redirect.type not in _OUTPUT_REDIRECTS or not hasattr(target, "word"):
            return  # input, or a descriptor duplication like 2>&1
        kinds = _kinds(target)
        if "processsubstitution" in kinds:
            return  # >(cmd): cmd is a part of its own
        if kinds & _DYNAMIC or "tilde" in kinds:
            if "tilde" in kinds and not kinds & _DYNAMIC:
                if self._escapes(target.word, always=True):
                    part.outside.append(f"{redirect.type}{target.word}")
                return
            part.outside.append(f"{redirect.type}{target.word} (expanded at run time)")
        elif self._escapes(target.word, always=True):
            part.outside.append(f"{redirect.type}{target.word}")

    def _escapes(self, value: str, always: bool = False) -> bool:
        candidates = [value]
        if "=" in value:
            candidates.append(value.split("=", 1)[1])
        if value.startswith("-") and not value.startswith("--") and len(value) > 2:
            candidates.append(value[2:])
        for text in candidates:
            if not (always or _pathlike(text) or self._maybe_link(text)):
                continue
            if os.path.normpath(text) in _DEVICES or _FD.fullmatch(os.path.normpath(text)):
                continue  # exactly a device; `/dev/fd/../x` is judged as the path it is
            if text.startswith("~"):
                expanded = _tilde(text)
                if expanded is None:
                    return True  # ~+ ($PWD), ~- ($OLDPWD), ~N, an unknown user: not knowable
                text = expanded
            full = _resolve(os.path.join(self.cwd, text))
            if full is None:
                return True
            if full != self.cwd and not full.startswith(self.cwd.rstrip("/") + "/"):
                return True
        return False

    def _maybe_link(self, text: str) -> bool:
        """A relative path that may lead out through a symlink at any depth (``up/x`` with
        ``up -> ..``, ``docs/ext/x`` with ``docs/ext -> /elsewhere``)."""
        if not text or "://" in text or text.startswith("-"):
            return False
        current = self.cwd
        for name in text.split("/")[:-1] if not text.endswith("/") else text.split("/"):
            if name in ("", "."):
                continue
            current = os.path.join(current, name)
            if os.path.islink(current):
                return True
            if not os.path.isdir(current):
                return False
        return os.path.islink(os.path.join(self.cwd, text))

    def _unwrap(self, argv: list[str], part: Part) -> None:
        current = argv
        for _ in range(8):
            index = len(argv) - len(current)
            if index > 0 and index in self._opaque:
                # `sudo {rm,x}`: what the wrapper runs is not the text we see.
                part.problem = f"the command name {current[0]!r} is expanded by bash"
                return
            name = _basename(current[0])
            hidden = _hidden_code(name, current[1:])
            if hidden is not None and part.hidden is None:
                part.hidden = hidden
            if name in _SHELLS or name == "eval":
                start = len(argv) - len(current) + 1
                if any(i in self._opaque for i in range(start, len(argv))):
                    # `bash -c $'rm\x20x'`, `eval {rm,x}`: the script is not the text we see.
                    part.problem = f"{name} runs a script that bash expands first"
                    return
            if name in _SHELLS:
                script = _dash_c(current[1:])
                if script is not None:
                    self._nested(script, part)
                return
            if name == "eval":
                self._nested(" ".join(current[1:]), part)
                return
            if name == "find":
                for inner in _find_exec(current):
                    part.inner.append(" ".join(inner))
                    hidden = _hidden_code(_basename(inner[0]), inner[1:])
                    if hidden is not None and part.hidden is None:
                        part.hidden = hidden
                return
            if name == "env" and any(a in ("-S", "--split-string") for a in current[1:]):
                part.problem = "env -S splits a string into a command the checker cannot see"
                return
            rest = _after_wrapper(name, current[1:])
            if rest is None:
                return
            if not rest:
                return
            part.inner.append(" ".join(rest))
            current = rest

    def _nested(self, script: str, part: Part) -> None:
        nested = parse(script, Path(self.cwd), self.depth + 1)
        if not nested.parts:
            return
        for inner in nested.parts:
            if inner.problem and not part.problem:
                part.problem = f"inner command {script!r}: {inner.problem}"
            self.out.append(inner)


def _hidden_code(name: str, args: list[str]) -> str | None:
    """Why ``name args`` runs code the checker cannot see, or None."""
    if name in _SHELLS and _dash_c(args) is None:
        return f"{name} runs a script from a file or stdin the checker cannot see"
    if name in ("source", "."):
        return f"{name} runs a script file the checker cannot see"
    if name in _OPAQUE_RUNNERS:
        return f"{name} runs commands the checker cannot see"
    if name == "alias" and any("=" in a for a in args):
        return "alias defines a command the checker cannot see"
    if name == "shopt" and "expand_aliases" in args:
        return "shopt expand_aliases lets aliases run commands the checker cannot see"
    if name in _DECLARERS and any(a.split("=", 1)[0] in _HOOK_VARIABLES for a in args):
        return "it sets a variable that makes a shell run another script"
    if name == "git":
        for i, arg in enumerate(args):
            value = args[i + 1] if arg == "-c" and i + 1 < len(args) else None
            if arg.startswith("-c") and len(arg) > 2:
                value = arg[2:]
            if value is not None and _GIT_COMMAND_KEYS.match(value):
                return f"git -c {value.split('=', 1)[0]} runs a command the checker cannot see"
    return None


def _after_wrapper(name: str, args: list[str]) -> list[str] | None:
    """The command a wrapper runs, or None when ``name`` is not a wrapper."""
    spec = _WRAPPERS.get(name)
    if spec is None:
        return None
    valued, positionals = spec
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if name == "env" and "=" in arg and not arg.startswith("-"):
            i += 1
            continue
        if arg.startswith("-") and len(arg) > 1:
            if name == "nice" and arg[1:].isdigit():
                i += 1
                continue
            i += 2 if arg in valued else 1
            continue
        break
    i += positionals
    return args[i:]


def _dash_c(args: list[str]) -> str | None:
    """The script of ``bash -c SCRIPT`` (also ``-lc``, ``-ec``...); None without ``-c``."""
    for i, arg in enumerate(args):
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            return args[i + 1] if i + 1 < len(args) else ""
        if not arg.startswith("-"):
            return None
    return None


def _find_exec(argv: list[str]) -> list[list[str]]:
    found: list[list[str]] = []
    i = 0
    while i < len(argv):
        if argv[i] in ("-exec", "-execdir", "-ok", "-okdir"):
            j = i + 1
            while j < len(argv) and argv[j] not in (";", "+"):
                j += 1
            if j > i + 1:
                found.append(argv[i + 1 : j])
            i = j
        i += 1
    return found


def _deny_views(part: Part, argv: list[str]) -> list[str]:
    views = [part.text, *part.inner]
    if argv:
        views.append(" ".join(argv))
    for view in list(views):
        head, _, tail = view.partition(" ")
        base = _basename(head)
        if base != head:
            views.append(f"{base} {tail}".rstrip())
    return list(dict.fromkeys(views))


def _opaque(raw: str) -> bool:
    """True when bash would still transform this word's source: an unquoted glob or brace,
    or ``$'...'``/``$"..."`` quoting (which bashlex does not decode)."""
    outside: list[str] = []
    quote = ""
    i = 0
    while i < len(raw):
        c = raw[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"':
                i += 1
        elif c == "\\":
            i += 1
        elif c == "$" and raw[i + 1 : i + 2] in ("'", '"'):
            return True
        elif c in ("'", '"'):
            quote = c
        else:
            outside.append(c)
        i += 1
    return bool(_OPAQUE.search("".join(outside)))


def _basename(word: str) -> str:
    return word.rsplit("/", 1)[-1] if "/" in word else word


def _pathlike(text: str) -> bool:
    return text.startswith(("/", "~")) or ".." in text.split("/")


def _real(path: Path) -> str:
    return os.path.realpath(path)


def _tilde(text: str) -> str | None:
    """``~`` / ``~/x`` / ``~user/x`` expanded as bash would, or None when bash's value is
    not knowable here (``~+`` is $PWD, ``~-`` $OLDPWD, ``~N`` the directory stack)."""
    head = text[1:].split("/", 1)[0]
    if head and (head[0] in "+-" or head.isdigit()):
        return None
    expanded = os.path.expanduser(text)
    return None if expanded == text else expanded


def _resolve(path: str, limit: int = 40) -> str | None:
    """``path`` with every symlink at any depth followed (like ``realpath``), or None when it
    goes through a process-relative link (``/proc/self/cwd``, ``/dev/fd/N``) or loops."""
    parts = [p for p in path.split("/") if p]
    done = "/"
    hops = 0
    while parts:
        name = parts.pop(0)
        if name == ".":
            continue
        if name == "..":
            done = os.path.dirname(done.rstrip("/")) or "/"
            continue
        candidate = os.path.join(done, name)
        if (candidate + "/").startswith(_PROCESS_RELATIVE) or candidate in _PROCESS_RELATIVE:
            return None
        if os.path.islink(candidate):
            hops += 1
            if hops > limit:
                return None
            try:
                target = os.readlink(candidate)
            except OSError:
                return None
            base = "/" if target.startswith("/") else done
            parts = [p for p in target.split("/") if p] + parts
            done = base if target.startswith("/") else done
            continue
        done = candidate
    return done


def _kinds(node: Any) -> set[str]:
    """The node kinds nested in a word (parameter, tilde, substitutions)."""
    found: set[str] = set()
    for child in _children(node):
        found.add(child.kind)
        if child.kind not in ("commandsubstitution", "processsubstitution"):
            found |= _kinds(child)
    return found


def _children(node: Any) -> list[Any]:
    children: list[Any] = []
    for value in vars(node).values():
        if isinstance(value, list):
            children += [v for v in value if hasattr(v, "kind")]
        elif hasattr(value, "kind"):
            children.append(value)
    return children
