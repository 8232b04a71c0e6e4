"""What the rendered Kubernetes objects do: valid against the API's schemas, a GPU only in the
gpu overlay, probes on the ports the commands open, KEDA on the workers' real group and topic,
network policies that admit what they should and nothing else, Kafka (SASL_SSL) and
Elasticsearch (HTTPS) credentials from Secrets and never in a URL, Secrets only as templates or
written by the operators.

The overlays are rendered with kustomize (kubectl's) and the objects of built-in kinds checked
with kubernetes-validate's copies of the Kubernetes API schemas, all offline.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate
import pytest
import yaml

from senri.connectors.kafka import parse_bus, topic_part
from senri.credentials import MECHANISMS
from senri.engine.kafka_worker_setup import input_topics
from senri.engine.run import load_graph
from senri.indexes.events.stores import SCHEMES
from tests.deploy_checks import (
    K8S,
    OVERLAYS,
    ROOT,
    Docs,
    Pod,
    container,
    find,
    ingress_allowed,
    option_value,
    rendered,
    selects,
)

pytestmark = pytest.mark.unit

K8S_VERSIONS = ("1.30.0", "1.37.0")  # the oldest Kubernetes the manifests target, the newest
CUSTOM_KINDS = {  # operators' resources: no schema in kubernetes-validate, checked below
    ("kafka.strimzi.io/v1beta2", "Kafka"),
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaUser"),
    ("elasticsearch.k8s.elastic.co/v1", "Elasticsearch"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
}
SECRET_TEMPLATES = K8S / "base" / "secrets.template.yaml"
NOT_SECRET = {"username", "roles", "sasl", "tls"}  # template keys that hold settings, not secrets
KEDA_SASL = {"scram-sha-256": "scram_sha256", "scram-sha-512": "scram_sha512"}  # Strimzi → KEDA


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_objects_match_the_kubernetes_schemas(overlay: str) -> None:
    docs = rendered(overlay)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "ScaledObject", "Ingress", "NetworkPolicy", "ConfigMap"} <= kinds
    for doc in docs:
        assert doc["metadata"]["name"] and doc["metadata"].get("namespace", "senri") == "senri"
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                pytest.fail(f"{doc['apiVersion']} {doc['kind']}: not a Kubernetes {version} kind")
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{doc['kind']} {doc['metadata']['name']} ({version}): {exc}")


def test_the_schema_check_catches_a_misspelt_field() -> None:
    worker = copy.deepcopy(find(rendered("cpu"), "Deployment", "senri-worker"))
    worker["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinessProbes"):
        kubernetes_validate.validate(worker, K8S_VERSIONS[0], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gpu_overlay_puts_workers_on_a_gpu(overlay: str) -> None:
    worker = container(rendered(overlay), "senri-worker")
    gpu = overlay == "gpu"
    limits = worker["resources"].get("limits", {})
    assert (str(limits.get("nvidia.com/gpu")) == "1") is gpu
    assert (option_value(worker["args"], "--device") == "cuda") is gpu
    assert worker["image"].endswith(":cuda") is gpu
    assert not container(rendered(overlay), "senri-api")["image"].endswith(":cuda")


# ---- workers, KEDA, the API, policies, secrets ------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_probes_its_metrics_and_has_a_budget(overlay: str) -> None:
    docs = rendered(overlay)
    worker = container(docs, "senri-worker")
    args = worker["args"]
    assert option_value(args, "--metrics-host") == "0.0.0.0"
    ports = {p["name"]: p["containerPort"] for p in worker["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        get = worker[probe]["httpGet"]
        assert str(ports.get(get["port"], get["port"])) == option_value(args, "--metrics-port")
    assert {"cpu", "memory"} <= set(worker["resources"]["requests"])
    labels = find(docs, "Deployment", "senri-worker")["spec"]["template"]["metadata"]["labels"]
    assert selects(find(docs, "PodDisruptionBudget", "senri-worker")["spec"]["selector"], labels)
    monitor = find(docs, "PodMonitor", "senri-worker")["spec"]
    assert selects(monitor["selector"], labels)
    assert monitor["podMetricsEndpoints"][0]["port"] in ports


def test_the_pipeline_config_map_is_the_shipped_pipeline_and_the_workers_read_it() -> None:
    docs = rendered("cpu")
    pod = find(docs, "Deployment", "senri-worker")["spec"]["template"]["spec"]
    path = Path(pod["containers"][0]["args"][1])
    mount = next(
        m for m in pod["containers"][0]["volumeMounts"] if Path(m["mountPath"]) == path.parent
    )
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    config_map = find(docs, "ConfigMap", volume["configMap"]["name"])
    assert config_map["metadata"]["name"] == volume["configMap"]["name"]
    text = config_map["data"][path.name]
    assert text == (ROOT / "senri" / "pipelines" / path.name).read_text()


def test_keda_scales_the_workers_on_their_group_and_input(tmp_path: Path) -> None:
    docs = rendered("cpu")
    worker = container(docs, "senri-worker")
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(find(docs, "ConfigMap", "senri-pipeline")["data"]["street.yaml"])
    graph = load_graph(pipeline)
    scaled = find(docs, "ScaledObject", "senri-worker")["spec"]
    assert scaled["scaleTargetRef"]["name"] == "senri-worker"
    assert "replicas" not in find(docs, "Deployment", "senri-worker")["spec"]  # KEDA's to set
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    group = option_value(worker["args"], "--group") or f"senri.worker.{topic_part(graph.name)}"
    assert meta["consumerGroup"] == group
    assert meta["topic"] in input_topics(graph).values()
    assert meta["bootstrapServers"] == parse_bus(option_value(worker["args"], "--bus") or "")
    assert meta["bootstrapServers"].endswith(":9093")
    assert all(isinstance(v, str) for v in meta.values()), "KEDA metadata values are strings"


def test_keda_logs_in_to_kafka_as_the_workers_do() -> None:
    docs = rendered("cpu")
    pod = find(docs, "Deployment", "senri-worker")["spec"]["template"]["spec"]
    worker = pod["containers"][0]
    (trigger,) = find(docs, "ScaledObject", "senri-worker")["spec"]["triggers"]
    auth = find(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])["spec"]
    refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["secretTargetRef"]}
    assert set(refs) == {"sasl", "tls", "username", "password", "ca"}
    templates = _templates()

    def template_value(parameter: str) -> str:
        name, key = refs[parameter]
        assert name in templates, f"{parameter}: {name} is not a template"
        return str(templates[name]["stringData"][key])

    listener = _listener(docs, option_value(worker["args"], "--bus") or "")
    assert template_value("sasl") == KEDA_SASL[listener["authentication"]["type"]]
    assert template_value("tls") == "enable"
    assert template_value("username") == _env(worker)["SENRI_KAFKA_USERNAME"]["value"]
    assert refs["password"] == _secret_source(pod, worker, "SENRI_KAFKA_PASSWORD")
    assert refs["ca"] == _secret_file(pod, worker, _env(worker)["SENRI_KAFKA_CA_FILE"]["value"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_api_probes_healthz_behind_a_tls_ingress(overlay: str) -> None:
    docs = rendered(overlay)
    api = container(docs, "senri-api")
    ports = {p["name"]: p["containerPort"] for p in api["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        get = api[probe]["httpGet"]
        assert get["path"] == "/healthz"
        assert str(ports[get["port"]]) == option_value(api["args"], "--port")
    ingress = find(docs, "Ingress", "senri-api")["spec"]
    assert ingress["tls"][0]["secretName"] and ingress["tls"][0]["hosts"]
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = find(docs, "Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


SENRI = "senri"
WORKER = Pod(SENRI, {"app.kubernetes.io/name": "senri", "app.kubernetes.io/component": "worker"})
API = Pod(SENRI, {"app.kubernetes.io/name": "senri", "app.kubernetes.io/component": "api"})
KAFKA = Pod(SENRI, {"strimzi.io/cluster": "senri", "strimzi.io/kind": "Kafka"})
ES = Pod(SENRI, {"elasticsearch.k8s.elastic.co/cluster-name": "senri"})
OTHER = Pod(SENRI, {"app": "something-else"})


@pytest.mark.parametrize(
    ("source", "target", "port", "allowed"),
    [
        (WORKER, KAFKA, 9093, True),
        (API, KAFKA, 9093, True),
        (Pod("keda", {}), KAFKA, 9093, True),
        (WORKER, KAFKA, 9092, False),  # no plaintext listener
        (WORKER, ES, 9200, True),
        (API, ES, 9200, True),
        (ES, ES, 9300, True),
        (Pod("ingress-nginx", {}), API, 8000, True),
        (Pod("monitoring", {}), WORKER, 9464, True),
        (OTHER, API, 8000, False),
        (OTHER, KAFKA, 9093, False),
        (OTHER, ES, 9200, False),
        (Pod("ingress-nginx", {}), WORKER, 9464, False),
        (WORKER, API, 8000, False),
        (Pod("monitoring", {}), ES, 9200, False),
        (WORKER, OTHER, 8080, False),  # the default deny: no policy of its own
    ],
)
def test_network_policies(source: Pod, target: Pod, port: int, allowed: bool) -> None:
    policies = [d for d in rendered("cpu") if d["kind"] == "NetworkPolicy"]
    assert ingress_allowed(policies, source, target, port) is allowed


def _templates() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(SECRET_TEMPLATES.read_text())}


def _operator_secrets(docs: Docs) -> dict[str, set[str]]:
    """The Secrets the operators write for the rendered objects, with their keys: Strimzi's
    cluster CA for each Kafka and, where its User Operator runs, a SCRAM user's password; ECK's
    public HTTP CA for each Elasticsearch whose HTTP TLS is on."""
    out: dict[str, set[str]] = {}
    user_operators = set()
    for doc in docs:
        name = doc["metadata"]["name"]
        if doc["kind"] == "Kafka":
            out[f"{name}-cluster-ca-cert"] = {"ca.crt", "ca.p12", "ca.password"}
            if "userOperator" in doc["spec"].get("entityOperator", {}):
                user_operators.add(name)
        if doc["kind"] == "Elasticsearch":
            tls = doc["spec"].get("http", {}).get("tls", {})
            if not tls.get("selfSignedCertificate", {}).get("disabled"):
                out[f"{name}-es-http-certs-public"] = {"ca.crt", "tls.crt"}
    for doc in docs:
        if doc["kind"] != "KafkaUser" or doc["spec"]["authentication"]["type"] not in KEDA_SASL:
            continue
        if doc["metadata"]["labels"]["strimzi.io/cluster"] in user_operators:
            out[doc["metadata"]["name"]] = {"password", "sasl.jaas.config"}
    return out


def _available_secrets(docs: Docs) -> dict[str, set[str]]:
    templates = {name: set(d["stringData"]) for name, d in _templates().items()}
    return templates | _operator_secrets(docs)


def _secret_refs(docs: Docs) -> set[tuple[str, str | None]]:
    """(Secret, key) for every Secret a pod or KEDA reads; key None for a whole volume."""
    refs: set[tuple[str, str | None]] = set()
    for doc in docs:
        if doc["kind"] == "TriggerAuthentication":
            refs |= {(r["name"], r["key"]) for r in doc["spec"].get("secretTargetRef", [])}
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        for c in pod.get("containers", []):
            for env in c.get("env", []):
                if ref := env.get("valueFrom", {}).get("secretKeyRef"):
                    refs.add((ref["name"], ref["key"]))
        for volume in pod.get("volumes", []):
            if secret := volume.get("secret"):
                items = secret.get("items") or [{"key": None}]
                refs |= {(secret["secretName"], item["key"]) for item in items}
    return refs


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_the_pods_use_are_templated_or_written_by_an_operator(overlay: str) -> None:
    templates = _templates()
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    assert SECRET_TEMPLATES.name not in base["resources"], "templates must never be applied"
    docs = rendered(overlay)
    available = _available_secrets(docs)
    assert not set(templates) & set(_operator_secrets(docs)), "a template an operator owns"
    applied = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}  # ECK's roles
    assert not applied & set(available), "a credential Secret rendered with a known value"
    refs = _secret_refs(docs)
    assert refs
    for name, key in refs:
        assert name in available, f"Secret {name}: no template, and no operator writes it"
        assert key is None or key in available[name], f"{name} has no {key}"
    unused = set(templates) - {name for name, _ in refs}
    assert not unused, f"templates nothing reads: {unused}"
    for secret in templates.values():
        sensitive = {k: v for k, v in secret["stringData"].items() if k not in NOT_SECRET}
        assert all("REPLACE-ME" in v for v in sensitive.values()), secret["metadata"]["name"]


# ---- Kafka and Elasticsearch credentials ------------------------------------------------------


def _pod_containers(docs: Docs) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        out += [(pod, c) for c in pod.get("containers", [])]
    return out


def _env(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in c.get("env", [])}


def _secret_file(pod: dict[str, Any], c: dict[str, Any], path: str) -> tuple[str, str]:
    """(Secret, key) of the file at `path` in container `c`: a read-only Secret volume."""
    file = PurePosixPath(path)
    for mount in c.get("volumeMounts", []):
        if not file.is_relative_to(mount["mountPath"]):
            continue
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert "secret" in volume, f"{path}: volume {mount['name']} is not a Secret"
        assert mount.get("readOnly") is True, f"{path}: {mount['name']} is mounted writable"
        assert "subPath" not in mount, f"{path}: a subPath mount misses the Secret's updates"
        inside = file.relative_to(mount["mountPath"]).as_posix()
        items = volume["secret"].get("items")
        keys = [i["key"] for i in items if i["path"] == inside] if items else [inside]
        assert keys, f"{path}: {volume['secret']['secretName']} projects no such file"
        return volume["secret"]["secretName"], keys[0]
    pytest.fail(f"{c['name']}: {path} is on no mounted volume")


def _secret_source(pod: dict[str, Any], c: dict[str, Any], name: str) -> tuple[str, str]:
    """(Secret, key) a secret setting comes from: `name` from a secretKeyRef, or `name`_FILE a
    file of a Secret volume (senri.credentials reads either, never both)."""
    env = _env(c)
    assert (name in env) != (f"{name}_FILE" in env), f"{c['name']}: set {name} or {name}_FILE"
    if name in env:
        ref = env[name].get("valueFrom", {}).get("secretKeyRef")
        assert ref, f"{c['name']}: {name} must come from a Secret, not a literal value"
        return ref["name"], ref["key"]
    return _secret_file(pod, c, env[f"{name}_FILE"]["value"])


def _listener(docs: Docs, bus: str) -> dict[str, Any]:
    """The Strimzi listener a --bus URL reaches (its bootstrap Service and port)."""
    host, _, port = parse_bus(bus).rpartition(":")
    (kafka,) = [d for d in docs if d["kind"] == "Kafka"]
    assert host == f"{kafka['metadata']['name']}-kafka-bootstrap", bus
    listeners = {item["port"]: item for item in kafka["spec"]["kafka"]["listeners"]}
    assert int(port) in listeners, f"{bus}: Kafka has no listener on {port}"
    return dict(listeners[int(port)])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_clients_log_in_with_scram_over_tls(overlay: str) -> None:
    docs = rendered(overlay)
    available = _available_secrets(docs)
    users = {d["metadata"]["name"]: d for d in docs if d["kind"] == "KafkaUser"}
    (kafka,) = [d["metadata"]["name"] for d in docs if d["kind"] == "Kafka"]
    clients = 0
    for pod, c in _pod_containers(docs):
        bus = option_value(c.get("args", []), "--bus") or option_value(
            c.get("args", []), "--follow"
        )
        if bus is None:
            continue
        clients += 1
        listener = _listener(docs, bus)
        assert listener["tls"] is True, f"{c['name']}: {bus} is not a TLS listener"
        auth = listener["authentication"]["type"]
        env = _env(c)
        assert env["SENRI_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL", c["name"]
        mechanism = env["SENRI_KAFKA_SASL_MECHANISM"]["value"]
        assert mechanism in MECHANISMS and mechanism.lower() == auth, c["name"]
        user = env["SENRI_KAFKA_USERNAME"]["value"]
        assert user in users, f"{c['name']}: no KafkaUser {user}"
        assert users[user]["spec"]["authentication"]["type"] == auth
        assert users[user]["metadata"]["labels"]["strimzi.io/cluster"] == kafka
        password = _secret_source(pod, c, "SENRI_KAFKA_PASSWORD")
        assert password == (user, "password"), f"{c['name']}: not {user}'s own password"
        ca = _secret_file(pod, c, env["SENRI_KAFKA_CA_FILE"]["value"])
        assert ca == (f"{kafka}-cluster-ca-cert", "ca.crt"), c["name"]
        for name, key in (password, ca):
            assert key in available.get(name, set()), f"{c['name']}: no Secret {name} ({key})"
    assert clients, "no container talks to Kafka"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_event_stores_speak_https_with_credentials_from_the_environment(overlay: str) -> None:
    docs = rendered(overlay)
    available = _available_secrets(docs)
    (cluster,) = [d["metadata"]["name"] for d in docs if d["kind"] == "Elasticsearch"]
    stores = 0
    for pod, c in _pod_containers(docs):
        store = option_value(c.get("args", []), "--store")
        if store is None:
            continue
        stores += 1
        scheme, _, rest = store.partition(":")  # as senri.indexes.events.stores.open_store
        assert scheme in SCHEMES, f"{c['name']}: {store} has no scheme senri opens"
        assert scheme == "elasticsearch+https", f"{c['name']}: {store} is not HTTPS"
        host = rest.lstrip("/").partition("/")[0]
        assert host == f"{cluster}-es-http:9200", store
        env = _env(c)
        if "SENRI_ES_API_KEY" in env or "SENRI_ES_API_KEY_FILE" in env:
            sources = [_secret_source(pod, c, "SENRI_ES_API_KEY")]
        else:
            ref = env["SENRI_ES_USERNAME"].get("valueFrom", {}).get("secretKeyRef")
            assert ref, f"{c['name']}: SENRI_ES_USERNAME from a Secret"
            sources = [(ref["name"], ref["key"]), _secret_source(pod, c, "SENRI_ES_PASSWORD")]
        ca = _secret_file(pod, c, env["SENRI_ES_CA_FILE"]["value"])
        assert ca == (f"{cluster}-es-http-certs-public", "ca.crt"), c["name"]
        for name, key in [*sources, ca]:
            assert key in available.get(name, set()), f"{c['name']}: no Secret {name} ({key})"
    assert stores, "no container opens an event store"


CREDENTIALS_IN_A_URL = re.compile(r"://[^/\s]*@")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_argument_carries_credentials(overlay: str) -> None:
    for _, c in _pod_containers(rendered(overlay)):
        args = c.get("args", [])
        for option in ("--store", "--bus", "--follow"):
            value = option_value(args, option)
            assert value is None or "@" not in value, f"{c['name']}: {option} {value}"
        for arg in args:
            assert not CREDENTIALS_IN_A_URL.search(arg), f"{c['name']}: {arg}"
            assert not re.search(r"PASSWORD|API_KEY", arg), f"{c['name']}: {arg} expands a secret"


def test_the_credentials_checks_catch_a_password_in_the_store_url() -> None:
    url = "elasticsearch://$(SENRI_ES_USERNAME):$(SENRI_ES_PASSWORD)@senri-es-http:9200/x"
    assert CREDENTIALS_IN_A_URL.search(url)
    assert not CREDENTIALS_IN_A_URL.search("elasticsearch+https://senri-es-http:9200/x")
