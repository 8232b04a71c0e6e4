"""What the rendered Kubernetes objects do: valid against the API's schemas, a GPU only in the
gpu overlay, probes on the ports the commands open, KEDA on the workers' real group and topic,
network policies that admit what they should and nothing else, Secrets only as templates.

The overlays are rendered with kustomize (kubectl's) and the objects of built-in kinds checked
with kubernetes-validate's copies of the Kubernetes API schemas, all offline.
"""

from __future__ import annotations

import copy
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from senri.connectors.kafka import parse_bus, topic_part
from senri.engine.kafka_worker_setup import input_topics
from senri.engine.run import load_graph
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
    ("elasticsearch.k8s.elastic.co/v1", "Elasticsearch"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
}
SECRET_TEMPLATES = K8S / "base" / "secrets.template.yaml"


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
    assert all(isinstance(v, str) for v in meta.values()), "KEDA metadata values are strings"


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
        (WORKER, KAFKA, 9092, True),
        (API, KAFKA, 9092, True),
        (Pod("keda", {}), KAFKA, 9092, True),
        (WORKER, ES, 9200, True),
        (API, ES, 9200, True),
        (ES, ES, 9300, True),
        (Pod("ingress-nginx", {}), API, 8000, True),
        (Pod("monitoring", {}), WORKER, 9464, True),
        (OTHER, API, 8000, False),
        (OTHER, KAFKA, 9092, False),
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


def _secret_refs(docs: Docs) -> set[tuple[str, str | None]]:
    refs: set[tuple[str, str | None]] = set()
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        for c in pod.get("containers", []):
            for env in c.get("env", []):
                if ref := env.get("valueFrom", {}).get("secretKeyRef"):
                    refs.add((ref["name"], ref["key"]))
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                refs.add((volume["secret"]["secretName"], None))
    return refs


def test_secrets_the_pods_use_are_templated_with_placeholders() -> None:
    templates = {d["metadata"]["name"]: d for d in yaml.safe_load_all(SECRET_TEMPLATES.read_text())}
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    assert SECRET_TEMPLATES.name not in base["resources"], "templates must never be applied"
    refs = _secret_refs(rendered("cpu")) | _secret_refs(rendered("gpu"))
    assert refs
    for name, key in refs:
        assert name in templates, f"no template for Secret {name}"
        assert key is None or key in templates[name]["stringData"], f"{name} has no {key}"
    for secret in templates.values():
        sensitive = {
            k: v for k, v in secret["stringData"].items() if k not in ("username", "roles")
        }
        assert all("REPLACE-ME" in v for v in sensitive.values()), secret["metadata"]["name"]
