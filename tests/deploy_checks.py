"""Readers for the deployment files (Dockerfiles, .dockerignore, kustomize output, network
policies) and a checker of ``senri ...`` command lines against the real CLI tree.

Used by tests/unit/test_deploy_files.py; each reader is small and says what it does not handle.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import typer.main
import yaml

from senri import config
from senri.cli import app

ROOT = Path(__file__).resolve().parents[1]
K8S, DOCKER = ROOT / "k8s", ROOT / "docker"
OVERLAYS = ("cpu", "gpu")


# ---- Dockerfiles ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    line: int
    name: str  # upper case: FROM, RUN, COPY, ...
    text: str  # the rest, continuation lines joined with single spaces

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form ENTRYPOINT/CMD/RUN, or None for the shell form."""
        if not self.text.startswith("["):
            return None
        value = json.loads(self.text)
        return [str(v) for v in value]


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions of a Dockerfile: comments dropped (also between continuation lines), a
    trailing backslash joins the next line. Heredocs and a custom escape character are not
    supported (the project's Dockerfiles use neither; an unknown instruction fails the test)."""
    out: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not parts and (not line or line.startswith("#")):
            continue
        if parts and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if not parts:
            start = number
        if line.endswith("\\"):
            parts.append(line[:-1].strip())
            continue
        parts.append(line)
        joined = " ".join(p for p in parts if p)
        name, _, rest = joined.partition(" ")
        out.append(Instruction(start, name.upper(), rest.strip()))
        parts = []
    if parts:
        raise ValueError(f"line {start}: the last instruction ends with a backslash")
    return out


KNOWN_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip


def copy_parts(instruction: Instruction) -> tuple[dict[str, str], list[str], str]:
    """(flags, sources, destination) of a COPY or ADD."""
    words = instruction.exec_form() or shlex.split(instruction.text)
    flags: dict[str, str] = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    if len(words) < 2:
        raise ValueError(f"line {instruction.line}: {instruction.name} needs a source and a dest")
    return flags, words[:-1], words[-1]


def shell_commands(script: str) -> Iterator[list[str]]:
    """The simple commands of a shell line, split at ``&&``, ``||``, ``;``, ``|`` and ``&``
    outside quotes (redirections stay in the words: none of ours redirects into senri)."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    words: list[str] = []
    for token in lexer:
        if token and set(token) <= set(";&|"):
            if words:
                yield words
            words = []
        else:
            words.append(token)
    if words:
        yield words


# ---- .dockerignore ----------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's pattern syntax (Go's filepath.Match plus ``**``) as a regex over a path."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def dockerignore_excludes(rules: str, path: str) -> bool:
    """Whether `path` (relative to the context) is left out of the build context: the last rule
    that matches the path or one of its parent folders wins, ``!`` re-includes."""
    excluded = False
    parents = path.split("/")
    candidates = ["/".join(parents[: i + 1]) for i in range(len(parents))]
    for raw in rules.splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        regex = _pattern_regex(rule.lstrip("!").strip().strip("/"))
        if any(regex.match(c) for c in candidates):
            excluded = not negate
    return excluded


# ---- the CLI ----------------------------------------------------------------------------------


def _kind(param: Any) -> str:
    """``option`` or ``argument``: Typer vendors its own click, so classes are not compared."""
    return str(param.param_type_name)


def cli_problems(argv: list[str]) -> list[str]:
    """What is wrong with ``senri ARGV`` for the Typer app: an unknown command, an unknown
    option, an option without its value, a flag given one, too few or too many arguments, a
    required option missing. Values are not converted (paths need not exist here)."""
    cmd: Any = typer.main.get_command(app)
    words = list(argv)
    path = ["senri"]
    while hasattr(cmd, "commands"):
        if not words:
            return [] if cmd.no_args_is_help else [f"`{' '.join(path)}` needs a command"]
        word = words.pop(0)
        if word in ("--help", "--version"):
            return []
        sub = cmd.commands.get(word)
        if sub is None:
            known = ", ".join(sorted(cmd.commands))
            return [f"`{' '.join(path)}` has no command {word!r} (it has: {known})"]
        cmd, path = sub, [*path, word]
    where = " ".join(path)
    options = {"--help": None} | {
        name: p for p in cmd.params if _kind(p) == "option" for name in (*p.opts, *p.secondary_opts)
    }
    problems: list[str] = []
    positionals: list[str] = []
    seen: set[str] = set()
    while words:
        word = words.pop(0)
        if word == "--":
            positionals += words
            break
        if not word.startswith("-") or word == "-":
            positionals.append(word)
            continue
        name, eq, _ = word.partition("=")
        if name == "--help":
            return problems
        if name not in options:
            problems.append(f"`{where}` has no option {name}")
            continue
        param = options[name]
        assert param is not None
        seen.add(param.name or name)
        takes_value = not (param.is_flag or param.count)
        if takes_value and not eq and not words:
            problems.append(f"`{where} {name}` needs a value")
        elif takes_value and not eq:
            words.pop(0)
        elif not takes_value and eq:
            problems.append(f"`{where} {name}` is a flag and takes no value")
    arguments = [p for p in cmd.params if _kind(p) == "argument"]
    least = sum(max(p.nargs, 1) for p in arguments if p.required)
    most = None if any(p.nargs == -1 for p in arguments) else sum(p.nargs for p in arguments)
    if len(positionals) < least or (most is not None and len(positionals) > most):
        problems.append(f"`{where}` takes {least}..{most} arguments, got {positionals}")
    for p in cmd.params:
        if _kind(p) == "option" and p.required and p.name not in seen:
            problems.append(f"`{where}` needs {p.opts[0]}")
    return problems


def option_value(argv: list[str], name: str) -> str | None:
    """The value given to option `name` in an argument list (``--x v`` or ``--x=v``)."""
    for i, word in enumerate(argv):
        if word == name and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith(name + "="):
            return word.partition("=")[2]
    return None


# ---- kustomize and Kubernetes -----------------------------------------------------------------


def kustomize_command() -> list[str]:
    """`kubectl kustomize` (the machines have kubectl) or `kustomize build`, which
    ``scripts/setup.sh --dev`` builds into ``$SENRI_CACHE/bin`` where kubectl is missing."""
    if kubectl := shutil.which("kubectl"):
        return [kubectl, "kustomize"]
    for found in (shutil.which("kustomize"), config.cache() / "bin" / "kustomize"):
        if found and Path(found).is_file():
            return [str(found), "build"]
    raise FileNotFoundError(
        "neither kubectl nor kustomize is installed: run scripts/setup.sh --dev (it builds "
        "kustomize with Go into $SENRI_CACHE/bin) or install kubectl"
    )


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """The documents an overlay renders to (no cluster is contacted)."""
    proc = subprocess.run(
        [*kustomize_command(), str(folder)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"kustomize {folder} failed:\n{proc.stderr}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


Docs = tuple[dict[str, Any], ...]


@cache
def rendered(overlay: str) -> Docs:
    """The objects ``k8s/overlays/<overlay>`` renders to (once per test session)."""
    return tuple(kustomize(K8S / "overlays" / overlay))


def find(docs: Docs, kind: str, name: str) -> dict[str, Any]:
    """The one object of `kind` whose name starts with `name` (generated names get a hash)."""
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def container(docs: Docs, deployment: str) -> dict[str, Any]:
    """The single container of a Deployment's pod template."""
    containers = find(docs, "Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist)
    against a set of labels; an empty selector selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str]


def ingress_allowed(policies: list[dict[str, Any]], source: Pod, target: Pod, port: int) -> bool:
    """Whether NetworkPolicies let `source` reach `target` on TCP `port`: open when no policy
    selects the target for ingress; else some selecting policy's rule must admit the source
    (a peer's podSelector alone means the policy's namespace; namespaceSelector is matched on
    the namespace's kubernetes.io/metadata.name label). Named ports are not resolved."""
    chosen = [
        p
        for p in policies
        if p["metadata"].get("namespace", target.namespace) == target.namespace
        and "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])
        and selects(p["spec"].get("podSelector"), target.labels)
    ]
    if not chosen:
        return True
    ns_labels = {"kubernetes.io/metadata.name": source.namespace}
    for policy in chosen:
        for rule in policy["spec"].get("ingress") or []:
            ports = rule.get("ports")
            if ports and not any(p.get("port") in (None, port) for p in ports):
                continue
            peers = rule.get("from")
            if peers is None:
                return True
            for peer in peers:
                if "namespaceSelector" in peer:
                    in_ns = selects(peer["namespaceSelector"], ns_labels)
                else:
                    in_ns = source.namespace == target.namespace
                if in_ns and selects(peer.get("podSelector"), source.labels):
                    return True
    return False
