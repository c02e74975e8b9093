#!/usr/bin/env python3
"""Offline checks of the Kubernetes manifests in k8s/ (run through scripts/validate-k8s).

1. Schema: every object in k8s/base/*.yaml, and everything `kubectl kustomize` renders
   from each kustomization under k8s/ (the base, monitoring/, each overlay), is validated
   against the Kubernetes OpenAPI schemas bundled in kubernetes-validate, in strict mode
   (unknown or misplaced fields are errors), for every Kubernetes minor version from
   MIN_KUBERNETES to the newest the validator bundles. A kind the validator has no schema
   for is an error too (a wrong apiVersion or kind), except the custom resources in
   CUSTOM_RESOURCES, which have their own check (a PrometheusRule must hold exactly the
   groups of its rule file, which promtool checks and tests: k8s/monitoring/alerts.rules.yaml,
   or the alerts.rules.yaml beside the kustomization that renders it). YAML with
   duplicate keys is rejected.
2. kustomization.yaml (not a Kubernetes API object, so it has no schema): the base's
   resources exist, every manifest in k8s/base/ is either listed or named in
   NOT_RESOURCES, its image override names the CronJob's image; every rendered CronJob
   runs exactly the image the `images:` overrides give (base, then overlay), and an image
   digest, where one is set, is a well-formed sha256 digest.
3. Policy: the CronJob's security and scheduling properties (in the base's files and in
   every rendering), its agreement with the ConfigMap and Secret examples, and the
   rendered ConfigMaps' keys against the environment variables the CLI reads (the list
   its hidden `env-vars` subcommand prints, built with cargo).
4. Negative tests: each k8s/tests/*.yaml must be rejected by the schema check with the
   error its `# expect-rejected:` line names, and mutated copies of the real CronJob must
   be rejected by the check that guards the mutated property. A check that cannot fail
   would pass them, so the script fails.

Prints one line per check and closes with "validate-k8s: N passed, N failed"; exits 1 on
any failure.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from kubernetes_validate import utils as kv
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s"
BASE = K8S / "base"
NEGATIVE_TESTS = K8S / "tests"
ALERT_RULES = K8S / "monitoring" / "alerts.rules.yaml"
# The same rules for a run every 2 minutes: equal to ALERT_RULES but for the alerts whose
# timing counts schedule periods (PERIOD_ALERTS: their `for:`, their summary, and the
# period in `N * <seconds>` of their expression).
ALERT_RULES_2M = K8S / "overlays" / "every-2-minutes" / "monitoring" / "alerts.rules.yaml"
PERIOD_ALERTS = {"PwActivateScimSyncStale", "PwActivateScimSyncFailing", "PwActivateScimSyncNoHeartbeat"}
PERIODS = re.compile(r"\b(\d+) \* \d+\b")
# Custom resources (no schema in kubernetes-validate): apiVersion, and their own check.
CUSTOM_RESOURCES = {"PrometheusRule": "monitoring.coreos.com/v1"}
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# Prints the environment variables the CLI reads, one a line (`env_vars::ALL`).
CLI_ENV_VARS = ["cargo", "run", "--locked", "--quiet", "--manifest-path", str(ROOT / "Cargo.toml"),
                "--bin", "pw-activate-scim-sync", "--", "env-vars"]

# The oldest Kubernetes minor version the manifests must be valid for.
MIN_KUBERNETES = Version("1.30")
# Manifests in k8s/ that kustomization.yaml leaves out on purpose.
NOT_RESOURCES = {"secret.example.yaml": "credentials are created from files, never from git"}
# Mode of the Secret's files (group read is added by the kubelet for fsGroup).
SECRET_FILE_MODE = 0o400
# Environment variables holding credentials: they must come from the Secret's files.
SECRET_VARS = {"ACTIVATE_API_KEY", "CW_SCIM_BEARER_TOKEN"}
EXPECT_REJECTED = re.compile(r"^#\s*expect-rejected:\s*(\S.*?)\s*$", re.MULTILINE)
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")

Doc = dict[str, Any]


class ManifestError(Exception):
    """A manifest that cannot be read as Kubernetes YAML."""


# --- YAML ---------------------------------------------------------------------------------


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (the last one would silently win)."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Doc:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_docs(text: str, source: str) -> list[Doc]:
    try:
        docs = [d for d in yaml.load_all(text, Loader=StrictLoader) if d is not None]
    except yaml.YAMLError as e:
        raise ManifestError(f"{source}: invalid YAML: {e}") from e
    for doc in docs:
        if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
            raise ManifestError(f"{source}: a document is not an object with apiVersion and kind")
    return docs


def load_docs(path: Path) -> list[Doc]:
    return parse_docs(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))


def name_of(doc: Doc) -> str:
    return f"{doc['kind']}/{doc.get('metadata', {}).get('name', '?')}"


# --- Schema -------------------------------------------------------------------------------


def kubernetes_versions() -> list[str]:
    versions = sorted({Version(v) for v in kv.all_versions()})
    chosen = [f"{v.major}.{v.minor}" for v in versions if v >= MIN_KUBERNETES]
    if not chosen:
        raise SystemExit(f"kubernetes-validate bundles no schema for {MIN_KUBERNETES} or later")
    return chosen


def schema_problem(doc: Doc, version: str) -> str | None:
    """The strict-schema error of `doc` for Kubernetes `version`, or None if it is valid."""
    try:
        kv.validate(doc, version, strict=True)
    except kv.ValidationError as e:
        path = ".".join(str(p) for p in e.path) or "(top level)"
        return f"{version}: {path}: {e.message}"
    except (kv.SchemaNotFoundError, kv.InvalidSchemaError, kv.VersionNotSupportedError) as e:
        return f"{version}: {e.message}"
    return None


def schema_problems(doc: Doc, versions: list[str]) -> list[str]:
    return [p for v in versions if (p := schema_problem(doc, v)) is not None]


# --- Policy -------------------------------------------------------------------------------


def dig(doc: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(doc, dict):
            doc = doc.get(key)
        elif isinstance(doc, list) and isinstance(key, int) and key < len(doc):
            doc = doc[key]
        else:
            return None
    return doc


def cronjob_policy_problems(cronjob: Doc, configmap: Doc) -> list[str]:
    """What is wrong with the CronJob's scheduling and security properties."""
    problems: list[str] = []

    def expect(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    spec = cronjob.get("spec") or {}
    job = dig(spec, "jobTemplate", "spec") or {}
    pod = dig(job, "template", "spec") or {}
    pod_sc = pod.get("securityContext") or {}

    expect(spec.get("concurrencyPolicy") == "Forbid", "spec.concurrencyPolicy is not Forbid")
    expect(
        isinstance(spec.get("startingDeadlineSeconds"), int),
        "spec.startingDeadlineSeconds is not set",
    )
    expect(job.get("backoffLimit") == 0, "jobTemplate backoffLimit is not 0")
    expect(
        isinstance(job.get("ttlSecondsAfterFinished"), int),
        "jobTemplate ttlSecondsAfterFinished is not set",
    )
    raw_deadline = dig(configmap, "data", "SYNC_DEADLINE")
    active_deadline = job.get("activeDeadlineSeconds")
    if not (isinstance(raw_deadline, str) and raw_deadline.isdigit()):
        problems.append(f"ConfigMap SYNC_DEADLINE is not a number of seconds: {raw_deadline!r}")
    elif not isinstance(active_deadline, int) or active_deadline <= int(raw_deadline):
        problems.append(
            f"jobTemplate activeDeadlineSeconds ({active_deadline}) is not above "
            f"the ConfigMap's SYNC_DEADLINE ({raw_deadline})"
        )
    expect(pod.get("restartPolicy") == "Never", "pod restartPolicy is not Never")
    expect(
        pod.get("automountServiceAccountToken") is False,
        "pod automountServiceAccountToken is not false",
    )
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        expect(not pod.get(field), f"pod {field} is set")

    containers = (pod.get("initContainers") or []) + (pod.get("containers") or [])
    expect(bool(containers), "pod has no containers")
    for c in containers:
        sc = c.get("securityContext") or {}
        name = c.get("name", "?")

        def effective(field: str, sc: Doc = sc) -> Any:
            # A container's setting overrides the pod's.
            return sc[field] if field in sc else pod_sc.get(field)

        expect(effective("runAsNonRoot") is True, f"container {name}: runAsNonRoot is not true")
        uid, gid = effective("runAsUser"), effective("runAsGroup")
        expect(isinstance(uid, int) and uid > 0, f"container {name}: no explicit non-root uid")
        expect(isinstance(gid, int) and gid > 0, f"container {name}: no explicit non-root gid")
        expect(
            sc.get("readOnlyRootFilesystem") is True,
            f"container {name}: readOnlyRootFilesystem is not true",
        )
        expect(
            sc.get("allowPrivilegeEscalation") is False,
            f"container {name}: allowPrivilegeEscalation is not false",
        )
        expect(not sc.get("privileged"), f"container {name}: privileged")
        caps = sc.get("capabilities") or {}
        expect("ALL" in (caps.get("drop") or []), f"container {name}: capabilities do not drop ALL")
        expect(not caps.get("add"), f"container {name}: capabilities are added")
        expect(
            dig(effective("seccompProfile"), "type") == "RuntimeDefault",
            f"container {name}: seccompProfile is not RuntimeDefault",
        )
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                expect(
                    dig(c, "resources", kind, resource) is not None,
                    f"container {name}: no {resource} {kind[:-1]}",
                )
        for env in c.get("env") or []:
            expect(
                env.get("name") not in SECRET_VARS,
                f"container {name}: credential {env.get('name')} in env (use the *_FILE form)",
            )
            expect("valueFrom" not in env, f"container {name}: env {env.get('name')} has valueFrom")
        for mount in c.get("volumeMounts") or []:
            expect(
                mount.get("readOnly") is True,
                f"container {name}: volume {mount.get('name')} is mounted writable",
            )
    for volume in pod.get("volumes") or []:
        secret = volume.get("secret")
        expect(
            secret is not None,
            f"volume {volume.get('name')}: not a Secret (the tool needs no writable volume)",
        )
        if secret is not None:
            expect(
                secret.get("defaultMode") == SECRET_FILE_MODE,
                f"volume {volume.get('name')}: Secret defaultMode is not 0400",
            )
    return problems


def wiring_problems(cronjob: Doc, configmap: Doc, secret: Doc, cli_vars: set[str]) -> list[str]:
    """Disagreements between the CronJob, the ConfigMap and Secret examples and the CLI."""
    problems: list[str] = []
    pod = dig(cronjob, "spec", "jobTemplate", "spec", "template", "spec") or {}
    containers = pod.get("containers") or []
    if len(containers) != 1:
        return [f"expected one container, found {len(containers)}"]
    container = containers[0]

    cm_name = dig(configmap, "metadata", "name")
    refs = [dig(e, "configMapRef", "name") for e in container.get("envFrom") or []]
    if refs != [cm_name]:
        problems.append(f"envFrom names {refs}, the ConfigMap example is {cm_name!r}")
    data = configmap.get("data") or {}
    for key in sorted(set(data) - cli_vars):
        problems.append(f"ConfigMap key {key} is not an environment variable the CLI reads")
    for key in sorted(set(data) & (SECRET_VARS | {v + "_FILE" for v in SECRET_VARS})):
        problems.append(f"ConfigMap holds {key}: credentials belong in the Secret")
    if data.get("DRY_RUN") != "true":
        problems.append('ConfigMap example DRY_RUN is not "true" (safe first rollout)')
    if data.get("LOG_FORMAT") != "json":
        problems.append('ConfigMap example LOG_FORMAT is not "json"')

    secret_volumes = [v for v in pod.get("volumes") or [] if "secret" in v]
    if len(secret_volumes) != 1:
        return [*problems, f"expected one Secret volume, found {len(secret_volumes)}"]
    volume = secret_volumes[0]
    secret_name = dig(secret, "metadata", "name")
    if volume["secret"].get("secretName") != secret_name:
        problems.append(
            f"Secret volume uses {volume['secret'].get('secretName')!r}, "
            f"the Secret example is {secret_name!r}"
        )
    item_paths = {i.get("key"): i.get("path") for i in volume["secret"].get("items") or []}
    secret_keys = set(secret.get("stringData") or {}) | set(secret.get("data") or {})
    if set(item_paths) != secret_keys:
        problems.append(
            f"Secret volume items {sorted(item_paths)} differ from the Secret example's "
            f"keys {sorted(secret_keys)}"
        )
    mounts = [m for m in container.get("volumeMounts") or [] if m.get("name") == volume["name"]]
    if len(mounts) != 1:
        return [*problems, f"Secret volume {volume['name']} is mounted {len(mounts)} times"]
    files = {f"{mounts[0]['mountPath']}/{path}" for path in item_paths.values()}
    env = {e.get("name"): e.get("value") for e in container.get("env") or []}
    for var in sorted(SECRET_VARS):
        file_var = var + "_FILE"
        if env.get(file_var) not in files:
            problems.append(f"{file_var}={env.get(file_var)!r} is not a file of the Secret volume")
    for var in sorted(set(env) - cli_vars):
        problems.append(f"container env {var} is not an environment variable the CLI reads")
    return problems


def cli_env_vars() -> set[str]:
    """The environment variables the CLI reads, as its `env-vars` subcommand prints them.

    It runs in an empty directory with only what cargo needs from the environment, so
    that no `.env` file and no setting of the caller's changes what it parses.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("PATH", "HOME") or k.startswith(("CARGO_", "RUSTUP_"))
    }
    with tempfile.TemporaryDirectory() as empty:
        result = subprocess.run(
            CLI_ENV_VARS, cwd=empty, env=env, capture_output=True, text=True, check=False
        )
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(CLI_ENV_VARS)} exited with {result.returncode}:\n{result.stderr}"
        )
    names = result.stdout.split()
    bad = [n for n in names if not ENV_NAME.match(n)]
    if not names or bad or len(set(names)) != len(names):
        raise SystemExit(f"the CLI's env-vars printed an unexpected list: {result.stdout!r}")
    return set(names)


# --- kustomize ----------------------------------------------------------------------------


def kustomization_dirs() -> list[Path]:
    """Every directory under k8s/ with a kustomization.yaml, the base first."""
    found = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
    return sorted(found, key=lambda d: d != BASE)


def render_kustomization(directory: Path) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ManifestError("kubectl (for `kubectl kustomize`) is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ManifestError(
            f"`kubectl kustomize {directory.relative_to(ROOT)}` exited with "
            f"{result.returncode}: {result.stderr.strip()}"
        )
    return result.stdout


def rules_file(directory: Path) -> Path:
    """The rule file a kustomization's PrometheusRule must match: the alerts.rules.yaml
    beside its kustomization.yaml, else that of the first kustomization it includes that
    has one (an overlay including k8s/monitoring), else k8s/monitoring's."""
    found = _rules_file_in(directory.resolve())
    return found if found is not None else ALERT_RULES


def _rules_file_in(directory: Path) -> Path | None:
    own = directory / "alerts.rules.yaml"
    if own.is_file():
        return own
    kustomization = load_docs(directory / "kustomization.yaml")[0]
    for resource in kustomization.get("resources", []):
        included = (directory / resource).resolve()
        if (included / "kustomization.yaml").is_file():
            found = _rules_file_in(included)
            if found is not None:
                return found
    return None


def rule_groups(path: Path) -> Any:
    """The `groups:` of a Prometheus rule file."""
    return (yaml.load(path.read_text(encoding="utf-8"), Loader=StrictLoader) or {}).get("groups")


def custom_resource_problems(doc: Doc, rules_path: Path = ALERT_RULES) -> list[str]:
    """The check of a custom resource that has no schema in kubernetes-validate; a
    PrometheusRule must hold exactly the groups of `rules_path`."""
    kind = doc["kind"]
    if doc.get("apiVersion") != CUSTOM_RESOURCES[kind]:
        return [f"{kind}: apiVersion {doc.get('apiVersion')!r}, not {CUSTOM_RESOURCES[kind]!r}"]
    unknown = sorted(set(doc) - {"apiVersion", "kind", "metadata", "spec"})
    problems = [f"{kind}: unexpected top-level fields {unknown}"] if unknown else []
    if not dig(doc, "metadata", "name"):
        problems.append(f"{kind}: no metadata.name")
    if dig(doc, "spec", "groups") != rule_groups(rules_path):
        problems.append(
            f"{kind}: spec.groups differ from {rules_path.relative_to(ROOT)}'s groups"
        )
    return problems


def without_periods(groups: Any) -> Any:
    """Rule groups with what depends on the schedule set aside (see PERIOD_ALERTS)."""
    groups = copy.deepcopy(groups)
    for group in groups or []:
        for rule in group.get("rules", []):
            if rule.get("alert") in PERIOD_ALERTS:
                rule["expr"] = PERIODS.sub(r"\1 * <period>", rule["expr"])
                rule.pop("for", None)
                rule.get("annotations", {}).pop("summary", None)
    return groups


def schedule_rules_problems(rules: Any, rules_2m: Any) -> list[str]:
    """Problems of the 2-minute rules against the 15-minute ones (`groups:` of each)."""
    if without_periods(rules) != without_periods(rules_2m):
        return [
            f"{ALERT_RULES_2M.relative_to(ROOT)} differs from {ALERT_RULES.relative_to(ROOT)} "
            f"beyond the periods of {sorted(PERIOD_ALERTS)}"
        ]
    return []


def object_problems(doc: Doc, versions: list[str], rules_path: Path = ALERT_RULES) -> list[str]:
    """Schema problems of a rendered object (custom resources: their own check)."""
    if doc["kind"] in CUSTOM_RESOURCES:
        return custom_resource_problems(doc, rules_path)
    return schema_problems(doc, versions)


def configmap_key_problems(configmap: Doc, cli_vars: set[str]) -> list[str]:
    """Keys of a (rendered) ConfigMap that the CLI does not read, or that are credentials."""
    data = configmap.get("data") or {}
    problems = [
        f"ConfigMap key {key} is not an environment variable the CLI reads"
        for key in sorted(set(data) - cli_vars)
    ]
    problems += [
        f"ConfigMap holds {key}: credentials belong in the Secret"
        for key in sorted(set(data) & (SECRET_VARS | {v + "_FILE" for v in SECRET_VARS}))
    ]
    return problems


def image_chain(directory: Path) -> list[Doc]:
    """The kustomizations whose `images:` apply to `directory`'s CronJob, base first."""
    own = load_docs(directory / "kustomization.yaml")[0]
    if directory == BASE:
        return [own]
    bases = [
        (directory / r).resolve() for r in own.get("resources") or [] if not r.endswith(".yaml")
    ]
    if BASE.resolve() not in bases:
        return [own]
    return [load_docs(BASE / "kustomization.yaml")[0], own]


def digest_problems(chain: list[Doc]) -> list[str]:
    return [
        f"images: {i.get('name')}: digest {i['digest']!r} is not sha256:<64 hex digits>"
        for k in chain
        for i in k.get("images") or []
        if "digest" in i and not DIGEST.match(str(i["digest"]))
    ]


def kustomization_problems(kustomization: Doc, cronjob: Doc, manifests: list[str]) -> list[str]:
    problems: list[str] = []
    if kustomization.get("apiVersion") != "kustomize.config.k8s.io/v1beta1":
        problems.append(f"unexpected apiVersion {kustomization.get('apiVersion')!r}")
    if kustomization.get("kind") != "Kustomization":
        problems.append(f"unexpected kind {kustomization.get('kind')!r}")
    resources = kustomization.get("resources") or []
    for resource in resources:
        if not (BASE / resource).is_file():
            problems.append(f"resource {resource} does not exist in k8s/base/")
    for manifest in manifests:
        if manifest not in resources and manifest not in NOT_RESOURCES:
            problems.append(
                f"k8s/base/{manifest} is neither a resource nor listed in NOT_RESOURCES"
            )
    for manifest, reason in NOT_RESOURCES.items():
        if manifest in resources:
            problems.append(f"{manifest} must not be a resource: {reason}")
    image = container_image(cronjob)
    image_name = split_image(image)[0] if isinstance(image, str) else None
    overrides = [i.get("name") for i in kustomization.get("images") or []]
    if overrides != [image_name]:
        problems.append(f"images: overrides {overrides}, the CronJob runs {image_name!r}")
    return problems


def container_image(cronjob: Doc) -> Any:
    pod = dig(cronjob, "spec", "jobTemplate", "spec", "template", "spec")
    return dig(pod, "containers", 0, "image")


def split_image(image: str) -> tuple[str, str]:
    """(name, tag) of name[:tag]; a registry's :port is part of the name."""
    name, colon, tag = image.rpartition(":")
    if not colon or "/" in tag:
        return image, ""
    return name, tag


def expected_image(kustomization: Doc, image: str) -> str:
    """`image` (name:tag) after the kustomization's first `images:` override."""
    override = (kustomization.get("images") or [{}])[0]
    name, tag = split_image(image)
    reference = override.get("newName", name)
    if "newTag" in override or "digest" not in override:
        reference += f":{override.get('newTag', tag)}"
    if "digest" in override:
        reference += f"@{override['digest']}"
    return reference


# --- Runner -------------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, what: str, problems: list[str]) -> None:
        if problems:
            self.failed += 1
            print(f"FAIL {what}")
            for problem in problems:
                print(f"       {problem}")
        else:
            self.passed += 1
            print(f"ok   {what}")

    def guarded(self, what: str, run: Callable[[], list[str]]) -> None:
        try:
            problems = run()
        except ManifestError as e:
            problems = [str(e)]
        self.check(what, problems)


Mutate = Callable[[Doc, Doc], None]
Mutation = tuple[str, Mutate, str]


def _job(doc: Doc) -> Doc:
    return doc["spec"]["jobTemplate"]["spec"]


def _pod(doc: Doc) -> Doc:
    return _job(doc)["template"]["spec"]


def _pod_sc(doc: Doc) -> Doc:
    return _pod(doc)["securityContext"]


def _container_sc(doc: Doc) -> Doc:
    return _pod(doc)["containers"][0]["securityContext"]


def _rename(mapping: Doc, old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


def _misplace_container_security_context(doc: Doc, _configmap: Doc) -> None:
    # One indentation level off: the container's securityContext lands in the pod's.
    _pod_sc(doc).update(_pod(doc)["containers"][0].pop("securityContext"))


def _set(path: Callable[[Doc], Doc], key: str, value: Any) -> Mutate:
    def mutate(doc: Doc, _configmap: Doc) -> None:
        path(doc)[key] = value

    return mutate


# Each mutation of the real CronJob, and the check ("schema" or "policy") that must reject it.
MUTATIONS: list[Mutation] = [
    (
        "misspelled spec.concurencyPolicy",
        lambda d, _: _rename(d["spec"], "concurrencyPolicy", "concurencyPolicy"),
        "schema",
    ),
    (
        "misspelled container readOnlyRootFileSystem",
        lambda d, _: _rename(_container_sc(d), "readOnlyRootFilesystem", "readOnlyRootFileSystem"),
        "schema",
    ),
    (
        "container securityContext moved into the pod's",
        _misplace_container_security_context,
        "schema",
    ),
    (
        "activeDeadlineSeconds on the CronJob spec instead of the Job's",
        lambda d, _: d["spec"].update(activeDeadlineSeconds=_job(d).pop("activeDeadlineSeconds")),
        "schema",
    ),
    ("backoffLimit as a string", _set(_job, "backoffLimit", "0"), "schema"),
    ("concurrencyPolicy Allow", _set(lambda d: d["spec"], "concurrencyPolicy", "Allow"), "policy"),
    ("container runAsNonRoot false", _set(_container_sc, "runAsNonRoot", False), "policy"),
    ("runAsUser 0", _set(_pod_sc, "runAsUser", 0), "policy"),
    (
        "readOnlyRootFilesystem false",
        _set(_container_sc, "readOnlyRootFilesystem", False),
        "policy",
    ),
    (
        "allowPrivilegeEscalation true",
        _set(_container_sc, "allowPrivilegeEscalation", True),
        "policy",
    ),
    ("capabilities drop nothing", _set(_container_sc, "capabilities", {"drop": []}), "policy"),
    (
        "pod seccompProfile Unconfined",
        _set(_pod_sc, "seccompProfile", {"type": "Unconfined"}),
        "policy",
    ),
    (
        "container seccompProfile Unconfined",
        _set(_container_sc, "seccompProfile", {"type": "Unconfined"}),
        "policy",
    ),
    (
        "automountServiceAccountToken true",
        _set(_pod, "automountServiceAccountToken", True),
        "policy",
    ),
    (
        "activeDeadlineSeconds equal to SYNC_DEADLINE",
        lambda d, cm: _job(d).update(activeDeadlineSeconds=int(cm["data"]["SYNC_DEADLINE"])),
        "policy",
    ),
    ("backoffLimit 6", _set(_job, "backoffLimit", 6), "policy"),
    ("restartPolicy OnFailure", _set(_pod, "restartPolicy", "OnFailure"), "policy"),
    (
        "no memory limit",
        lambda d, _: _pod(d)["containers"][0]["resources"]["limits"].pop("memory"),
        "policy",
    ),
    (
        "Secret volume defaultMode 0644",
        lambda d, _: _pod(d)["volumes"][0]["secret"].update(defaultMode=0o644),
        "policy",
    ),
]


def mutation_rejected(
    mutate: Mutate,
    checker: str,
    cronjob: Doc,
    configmap: Doc,
    versions: list[str],
) -> list[str]:
    broken = copy.deepcopy(cronjob)
    try:
        mutate(broken, configmap)
    except (KeyError, IndexError, TypeError) as e:
        return [f"cannot apply the mutation: the CronJob lacks {e}"]
    if checker == "schema":
        found = schema_problems(broken, versions)
        missed = len(versions) - len(found)
        return [f"accepted by {missed} of {len(versions)} versions"] if missed else []
    return [] if cronjob_policy_problems(broken, configmap) else ["accepted by the policy check"]


def negative_file_rejected(path: Path, versions: list[str]) -> list[str]:
    text = path.read_text(encoding="utf-8")
    expected = EXPECT_REJECTED.findall(text)
    if len(expected) != 1:
        return ["needs exactly one '# expect-rejected: <text in the error>' line"]
    problems = []
    for doc in parse_docs(text, str(path.relative_to(ROOT))):
        for version in versions:
            problem = schema_problem(doc, version)
            if problem is None:
                problems.append(f"{name_of(doc)} ACCEPTED by the {version} schema")
            elif expected[0] not in problem:
                problems.append(f"rejected for another reason than {expected[0]!r}: {problem}")
    return problems


def main() -> int:
    versions = kubernetes_versions()
    report = Report()
    print(
        f"kubernetes-validate {kv.__version__}, strict, Kubernetes {versions[0]} to {versions[-1]}"
    )

    manifests = sorted(p.name for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml")
    docs: dict[str, list[Doc]] = {}
    for manifest in manifests:
        try:
            docs[manifest] = load_docs(BASE / manifest)
        except ManifestError as e:
            report.check(f"k8s/base/{manifest}", [str(e)])
            continue
        for doc in docs[manifest]:
            report.check(
                f"k8s/base/{manifest} {name_of(doc)}: schema", schema_problems(doc, versions)
            )

    found = {
        kind: [d for ds in docs.values() for d in ds if d["kind"] == kind]
        for kind in ("CronJob", "ConfigMap", "Secret")
    }
    wrong = [f"{kind}: {len(ds)}" for kind, ds in found.items() if len(ds) != 1]
    report.check("k8s/base/*.yaml holds one CronJob, one ConfigMap and one Secret", wrong)
    if wrong:
        return finish(report)
    cronjob, configmap, secret = (found[k][0] for k in ("CronJob", "ConfigMap", "Secret"))
    report.check(
        "CronJob: scheduling and security policy", cronjob_policy_problems(cronjob, configmap)
    )
    cli_vars = cli_env_vars()
    report.check(
        "CronJob, ConfigMap, Secret and CLI agree",
        wiring_problems(cronjob, configmap, secret, cli_vars),
    )

    kustomization = load_docs(BASE / "kustomization.yaml")[0]
    report.check(
        "k8s/base/kustomization.yaml: structure",
        kustomization_problems(kustomization, cronjob, manifests),
    )

    def rendered(directory: Path) -> list[str]:
        where = str(directory.relative_to(ROOT))
        out = parse_docs(render_kustomization(directory), f"kubectl kustomize {where}")
        if not out:
            return ["renders no object"]
        rules = rules_file(directory)
        problems = [
            f"{name_of(d)}: {p}" for d in out for p in object_problems(d, versions, rules)
        ]
        cronjobs = [d for d in out if d["kind"] == "CronJob"]
        configmaps = [d for d in out if d["kind"] == "ConfigMap"]
        for configmap in configmaps:
            problems += configmap_key_problems(configmap, cli_vars)
        if not cronjobs:
            return problems
        if len(cronjobs) != 1 or len(configmaps) != 1:
            return [*problems, f"rendered {len(cronjobs)} CronJobs, {len(configmaps)} ConfigMaps"]
        problems += cronjob_policy_problems(cronjobs[0], configmaps[0])
        chain = image_chain(directory)
        problems += digest_problems(chain)
        expected = str(container_image(cronjob))
        for k in chain:
            expected = expected_image(k, expected)
        image = container_image(cronjobs[0])
        if image != expected:
            problems.append(f"rendered image {image!r}, expected {expected!r}")
        return problems

    for directory in kustomization_dirs():
        report.guarded(
            f"kubectl kustomize {directory.relative_to(ROOT)}: renders; schema, policy, image",
            lambda directory=directory: rendered(directory),
        )

    negative_files = sorted(NEGATIVE_TESTS.glob("*.yaml"))
    if not negative_files:
        report.check("negative tests in k8s/tests/", ["none found"])
    for path in negative_files:
        report.guarded(
            f"{path.relative_to(ROOT)} is rejected",
            lambda path=path: negative_file_rejected(path, versions),
        )
    def prometheusrule_changes_rejected() -> list[str]:
        out = parse_docs(render_kustomization(K8S / "monitoring"), "kubectl kustomize")
        [rule] = [d for d in out if d["kind"] == "PrometheusRule"]
        problems = []
        changed = copy.deepcopy(rule)
        changed["spec"]["groups"][0]["rules"][0]["expr"] += " * 2"
        if not custom_resource_problems(changed):
            problems.append("a PrometheusRule with a changed expression was accepted")
        every_2_minutes = ALERT_RULES_2M.parent
        out = parse_docs(render_kustomization(every_2_minutes), "kubectl kustomize")
        [rule_2m] = [d for d in out if d["kind"] == "PrometheusRule"]
        if rules_file(every_2_minutes) == ALERT_RULES:
            problems.append(
                f"{every_2_minutes.relative_to(ROOT)} is compared with "
                f"{ALERT_RULES.relative_to(ROOT)}"
            )
        if not custom_resource_problems(rule_2m, ALERT_RULES):
            problems.append("the 2-minute PrometheusRule matches the 15-minute rule file")
        wrong_version = {**copy.deepcopy(rule), "apiVersion": "monitoring.coreos.com/v1beta1"}
        if not custom_resource_problems(wrong_version):
            problems.append("a PrometheusRule with apiVersion v1beta1 was accepted")
        return problems

    report.guarded(
        "PrometheusRule differing from its rule file is rejected",
        prometheusrule_changes_rejected,
    )
    rules, rules_2m = rule_groups(ALERT_RULES), rule_groups(ALERT_RULES_2M)
    report.check(
        "the 2-minute alert rules equal the 15-minute ones but for their periods",
        schedule_rules_problems(rules, rules_2m),
    )
    changed = copy.deepcopy(rules_2m)
    changed[0]["rules"][2]["annotations"]["description"] += " changed"
    also_changed = copy.deepcopy(rules_2m)
    also_changed[0]["rules"][0]["expr"] += " and up == 1"
    report.check(
        "2-minute alert rules that differ beyond their periods are rejected",
        []
        if schedule_rules_problems(rules, changed) and schedule_rules_problems(rules, also_changed)
        else ["a changed description or expression of the 2-minute rules was accepted"],
    )
    report.check(
        "image digest that is not sha256:<64 hex> is rejected",
        []
        if digest_problems([{"images": [{"name": "x", "digest": "sha256:abc"}]}])
        and not digest_problems([{"images": [{"name": "x", "digest": "sha256:" + "a" * 64}]}])
        else ["the digest check accepts sha256:abc or rejects a well-formed digest"],
    )
    for what, mutate, checker in MUTATIONS:
        report.check(
            f"CronJob with {what} is rejected by the {checker} check",
            mutation_rejected(mutate, checker, cronjob, configmap, versions),
        )

    return finish(report)


def finish(report: Report) -> int:
    print(f"validate-k8s: {report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
