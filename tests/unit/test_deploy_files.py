"""The deployment files hold together: Dockerfiles, docker/compose.yaml and k8s/ (files,
kustomizations, commands); what the rendered Kubernetes objects do is in test_deploy_k8s.py.

Everything runs offline. The compose file is validated against the compose-spec JSON schema
from the npm package dclint (cached by ``scripts/setup.sh --dev``) and every ``senri ...``
command line against the Typer app. The overlays are rendered with kustomize (kubectl's).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shlex
import tarfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from senri import config
from senri.connectors.kafka import parse_bus
from tests.deploy_checks import (
    DOCKER,
    K8S,
    KNOWN_INSTRUCTIONS,
    OVERLAYS,
    ROOT,
    cli_problems,
    container,
    copy_parts,
    dockerfile_instructions,
    dockerignore_excludes,
    option_value,
    rendered,
    shell_commands,
)

pytestmark = pytest.mark.unit

DOCKERFILES = {"cpu": DOCKER / "Dockerfile", "cuda": DOCKER / "Dockerfile.cuda"}
COMPOSE = DOCKER / "compose.yaml"
YAML_FILES = sorted({*K8S.rglob("*.y*ml"), *DOCKER.rglob("*.y*ml")})
# the compose-spec schema (draft-07, with `name`, `include`, `start_interval`) as shipped in
# dclint's npm tarball; docker-compose 1.29.2's wheel has an older one that rejects `name:`
COMPOSE_SCHEMA = ("dclint", "3.1.0", "package/schemas/compose.schema.json")
COMPOSE_SCHEMA_SHA256 = "46b7d35f19dd93a05f8fea530291bf84d881c1791ec167ecf0e6fb94e639d496"


def _yaml(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


# ---- YAML and kustomize -----------------------------------------------------------------------


def test_the_deploy_files_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in YAML_FILES}
    assert {"docker/compose.yaml", "k8s/base/kustomization.yaml"} <= names
    assert {f"k8s/overlays/{o}/kustomization.yaml" for o in OVERLAYS} <= names


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_yaml_file_parses(path: Path) -> None:
    assert _yaml(path), f"{path} holds no document"


def _generated_files() -> set[Path]:
    out = set()
    for kz in K8S.rglob("kustomization.yaml"):
        for gen in yaml.safe_load(kz.read_text()).get("configMapGenerator", []):
            out |= {kz.parent / f.rpartition("=")[2] for f in gen.get("files", [])}
    return out


@pytest.mark.parametrize(
    "path",
    [p for p in YAML_FILES if p.is_relative_to(K8S) and p.name != "kustomization.yaml"],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_each_k8s_document_has_api_version_kind_and_name(path: Path) -> None:
    if path in _generated_files():
        return  # a ConfigMap's data (the pipeline), not an object
    for doc in _yaml(path):
        if isinstance(doc, list):  # a JSON 6902 patch
            assert all({"op", "path"} <= set(op) for op in doc), path
            continue
        assert doc.get("apiVersion") and doc.get("kind"), f"{path}: {doc}"
        assert doc.get("metadata", {}).get("name"), f"{path}: {doc['kind']} has no name"


@pytest.mark.parametrize(
    "kustomization", sorted(K8S.rglob("kustomization.yaml")), ids=lambda p: p.parent.name
)
def test_kustomizations_point_at_files_that_exist(kustomization: Path) -> None:
    doc = yaml.safe_load(kustomization.read_text())
    here = kustomization.parent
    for entry in doc.get("resources", []):
        target = here / entry
        assert target.is_file() or (target / "kustomization.yaml").is_file(), entry
    for patch in doc.get("patches", []):
        assert (here / patch["path"]).is_file(), patch["path"]
    for generator in doc.get("configMapGenerator", []) + doc.get("secretGenerator", []):
        for entry in generator.get("files", []):
            assert (here / entry.rpartition("=")[2]).is_file(), entry
    assert "patchesStrategicMerge" not in doc and "patchesJson6902" not in doc  # deprecated


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_build_on_the_base(overlay: str) -> None:
    doc = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
    assert "../../base" in doc["resources"]


# ---- every `senri ...` command line -----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["worker", "p.yaml", "--metrics-port", "9464", "--no-transactions"], None),
        (["serve", "--host", "0.0.0.0", "--insecure"], None),
        (["models", "fetch"], None),
        (["--help"], None),
        (["wroker", "p.yaml"], "has no command 'wroker'"),
        (["models", "fletch"], "has no command 'fletch'"),
        (["worker", "p.yaml", "--metric-port", "9464"], "has no option --metric-port"),
        (["worker"], "takes 1..1 arguments"),
        (["worker", "a.yaml", "b.yaml"], "takes 1..1 arguments"),
        (["serve", "--port"], "needs a value"),
        (["serve", "--insecure=yes"], "is a flag"),
        (["ingest", "video", "cam.mp4"], "needs --stream"),
    ],
)
def test_the_cli_checker(argv: list[str], problem: str | None) -> None:
    problems = cli_problems(argv)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def _dockerfile_commands(path: Path) -> list[list[str]]:
    steps = dockerfile_instructions(path.read_text())
    out = []
    entry = next(i for i in steps if i.name == "ENTRYPOINT").exec_form()
    assert entry == ["senri"], f"{path.name}: ENTRYPOINT must be the exec form ['senri']"
    for step in steps:
        if step.name == "CMD":
            out.append(step.exec_form() or [])
        if step.name == "RUN":
            out += [w[1:] for w in shell_commands(step.text) if w[0] == "senri"]
    return out


def _compose_commands() -> list[list[str]]:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    out = [s["command"] for s in services.values() if "senri" in s.get("image", "")]
    for service in services.values():
        test = service.get("healthcheck", {}).get("test", [])
        script = " ".join(test[1:]) if test[:1] == ["CMD-SHELL"] else shlex.join(test[1:])
        out += [w[1:] for w in shell_commands(script) if w[0] == "senri"]
    return out


def _k8s_commands(overlay: str) -> list[list[str]]:
    out = []
    for doc in rendered(overlay):
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        for c in pod.get("containers", []):
            if c["image"].rpartition(":")[0] == "senri":
                assert "command" not in c, "the image's entrypoint is senri: give args"
                out.append(c["args"])
    return out


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        *[(f"docker/{p.name}", {"--help", "models"}) for p in DOCKERFILES.values()],
        ("docker/compose.yaml", {"worker", "serve", "--help"}),
        *[(f"k8s/overlays/{o}", {"worker", "serve"}) for o in OVERLAYS],
    ],
)
def test_senri_commands_exist_in_the_cli(source: str, expected: set[str]) -> None:
    """CMD/ENTRYPOINT and RUN lines, compose commands and health checks, k8s container args."""
    if source.startswith("k8s/"):
        argvs = _k8s_commands(source.rpartition("/")[2])
    elif source.endswith("compose.yaml"):
        argvs = _compose_commands()
    else:
        argvs = _dockerfile_commands(ROOT / source)
    firsts = {a[0] for a in argvs if a}
    assert expected <= firsts, f"{source}: found only {firsts}"
    problems = [f"senri {' '.join(a)}: {p}" for a in argvs for p in cli_problems(a)]
    assert not problems, "\n".join(problems)


# ---- Dockerfiles ------------------------------------------------------------------------------


def test_the_dockerfile_reader() -> None:
    text = "# c\nFROM a AS b\nRUN x \\\n  # inside\n  && y\n\nCOPY --from=b /a /b\n"
    steps = dockerfile_instructions(text)
    assert [(s.line, s.name, s.text) for s in steps] == [
        (2, "FROM", "a AS b"),
        (3, "RUN", "x && y"),
        (7, "COPY", "--from=b /a /b"),
    ]
    assert copy_parts(steps[2]) == ({"from": "b"}, ["/a"], "/b")
    with pytest.raises(ValueError, match="backslash"):
        dockerfile_instructions("RUN a \\\n")
    script = "python -c 'a; b' > /dev/null 2>&1 && senri models fetch ${X}|cat; senri --help"
    assert list(shell_commands(script)) == [
        ["python", "-c", "a; b", ">", "/dev/null", "2", ">&", "1"],
        ["senri", "models", "fetch", "${X}"],
        ["cat"],
        ["senri", "--help"],
    ]


@pytest.mark.parametrize(
    ("rules", "path", "excluded"),
    [
        ("*\n!senri/\n**/__pycache__", "senri/cli.py", False),
        ("*\n!senri/\n**/__pycache__", "senri/api/__pycache__/x.pyc", True),
        ("*\n!senri/", "tests/unit/test_x.py", True),
        ("*\n!README.md", "README.md", False),
        ("*\n!senri/\nsenri/pipelines", "senri/pipelines/street.yaml", True),
        ("", "anything", False),
    ],
)
def test_the_dockerignore_reader(rules: str, path: str, excluded: bool) -> None:
    assert dockerignore_excludes(rules, path) is excluded


def _sent_files(source: str) -> list[str]:
    """The repository files a COPY source names (a glob, a file or a folder)."""
    paths = sorted(ROOT.glob(source.rstrip("/"))) if source.strip("/") else [ROOT]
    files = []
    for path in paths:
        inside = sorted(path.rglob("*")) if path.is_dir() else [path]
        files += [
            f.relative_to(ROOT).as_posix()
            for f in inside
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc"
        ]
    return files


@pytest.mark.parametrize("path", DOCKERFILES.values(), ids=lambda p: p.name)
def test_dockerfile_copies_exist_in_the_build_context(path: Path) -> None:
    steps = dockerfile_instructions(path.read_text())
    rules = (ROOT / ".dockerignore").read_text()
    assert {s.name for s in steps} <= KNOWN_INSTRUCTIONS
    stages: list[str] = []
    copies = 0
    for step in steps:
        if step.name == "FROM":
            words = step.text.split()
            stages.append(words[2] if len(words) == 3 and words[1].upper() == "AS" else "")
        if step.name not in ("COPY", "ADD"):
            continue
        flags, sources, _ = copy_parts(step)
        if "from" in flags:
            assert flags["from"] in stages[:-1], f"line {step.line}: no stage {flags['from']}"
            continue
        for source in sources:
            files = _sent_files(source)
            assert files, f"{path.name} line {step.line}: {source} matches nothing in the repo"
            left_out = [f for f in files if dockerignore_excludes(rules, f)]
            assert not left_out, f"line {step.line}: .dockerignore leaves out {left_out[:3]}"
            copies += 1
    assert copies >= 3


@pytest.mark.parametrize("flavour", DOCKERFILES)
def test_dockerfile_installs_the_runtime_extras_and_runs_as_a_user(flavour: str) -> None:
    steps = dockerfile_instructions(DOCKERFILES[flavour].read_text())
    pyproject = (ROOT / "pyproject.toml").read_text()
    installs = [m for s in steps if s.name == "RUN" for m in re.findall(r'"\.\[(.*?)\]"', s.text)]
    assert len(installs) == 1
    extras = set(installs[0].split(","))
    assert {"api", "ask", "audio", "services", "vectors"} <= extras
    assert ("gpu" in extras) is (flavour == "cuda")
    for extra in extras:
        assert re.search(rf"^{extra} = \[", pyproject, re.M), f"no extra {extra} in pyproject"
    final = steps[max(i for i, s in enumerate(steps) if s.name == "FROM") :]
    users = [s.text for s in final if s.name == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(s.name == "RUN" and "senri models fetch" in s.text for s in steps)


# ---- docker/compose.yaml ----------------------------------------------------------------------


def compose_schema() -> dict[str, Any]:
    package, version, member = COMPOSE_SCHEMA
    tarball = config.cache() / "npm" / f"{package}-{version}.tgz"
    if not tarball.is_file():
        pytest.fail(
            f"the compose-spec schema is not cached ({tarball}): run scripts/setup.sh --dev "
            f"(it fetches the npm package {package}@{version})"
        )
    with tarfile.open(tarball) as tar:
        handle = tar.extractfile(member)
        assert handle is not None
        data = handle.read()
    assert hashlib.sha256(data).hexdigest() == COMPOSE_SCHEMA_SHA256, f"{member} changed"
    return dict(json.loads(data))


def test_compose_file_matches_the_compose_spec() -> None:
    validator = jsonschema.Draft7Validator(compose_schema())
    doc = yaml.safe_load(COMPOSE.read_text())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]
    assert not errors, "\n".join(errors)
    broken = copy.deepcopy(doc)
    broken["services"]["worker"]["contianer_name"] = "typo"
    assert not validator.is_valid(broken)


def _services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def test_compose_workers_scale() -> None:
    worker = _services()["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"][0] == "worker"


def test_compose_build_context_is_the_repository_root() -> None:
    for name, service in _services().items():
        if "build" in service:
            context = (DOCKER / service["build"]["context"]).resolve()
            assert context == ROOT, name
            assert (context / service["build"]["dockerfile"]).is_file(), name


def test_compose_kafka_advertises_an_address_containers_reach() -> None:
    services = _services()
    env = services["kafka"]["environment"]
    advertised = dict(a.split("://") for a in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    listening = dict(a.split("://") for a in env["KAFKA_LISTENERS"].split(","))
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(advertised) <= set(listening) and set(listening) <= set(protocols)
    by_address = {address: name for name, address in advertised.items()}
    for name in ("worker", "api", "cli"):
        service = services[name]
        buses = [service["environment"]["SENRI_KAFKA"]]
        if bus := option_value(service["command"], "--bus"):
            buses.append(parse_bus(bus))
        for address in buses:
            assert address in by_address, f"{name} uses {address}, not an advertised listener"
            host, _, port = address.rpartition(":")
            assert host not in ("localhost", "127.0.0.1"), f"{name} would reach itself"
            assert listening[by_address[address]].endswith(f":{port}")
    external = [a for a in advertised.values() if "SENRI_KAFKA_HOST" in a]
    assert external, "the published listener's host must be settable for a second host"


def test_compose_health_checks() -> None:
    services = _services()
    for name in ("kafka", "elasticsearch", "api", "worker"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    api, worker = services["api"], services["worker"]
    assert "depends_on" in worker and "kafka" in worker["depends_on"]
    api_test = " ".join(api["healthcheck"]["test"])
    assert f":{option_value(api['command'], '--port')}/healthz" in api_test
    worker_test = " ".join(worker["healthcheck"]["test"])
    assert f":{option_value(worker['command'], '--metrics-port')}/metrics" in worker_test
    assert option_value(worker["command"], "--metrics-host") == "0.0.0.0"


def _api_args() -> list[tuple[str, list[str]]]:
    return [
        ("compose", _services()["api"]["command"]),
        *[(o, container(rendered(o), "senri-api")["args"]) for o in OVERLAYS],
    ]


def test_open_api_servers_require_keys() -> None:
    for where, args in _api_args():
        assert args[0] == "serve"
        if option_value(args, "--host") not in ("127.0.0.1", "::1", "localhost"):
            assert option_value(args, "--api-keys"), f"{where}: an open --host needs keys"
            assert "--insecure" not in args, where


def test_the_deploy_guide_is_linked_from_the_readme() -> None:
    assert (ROOT / "docs" / "deploy.md").is_file()
    assert "(docs/deploy.md)" in (ROOT / "README.md").read_text()
