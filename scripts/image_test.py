#!/usr/bin/env python3
"""Runs the container image the way the CronJob's pod runs it (see scripts/image-test).

Usage: image_test.py IMAGE RENDERED_MANIFESTS EMULATOR_DIR

IMAGE (name@sha256:digest) must be the image the rendered CronJob runs. The pod's
settings are read from the CronJob and ConfigMap that `kubectl kustomize` rendered
(RENDERED_MANIFESTS), never repeated here: user and groups (runAsUser,
runAsGroup, fsGroup), read-only root filesystem (no tmpfs either), capabilities dropped,
no new privileges, the memory and CPU limits, the ConfigMap's variables (envFrom) and the
container's env, the Secret's files (mode 0440, group fsGroup, as the kubelet makes them)
at the volume's mount path, and the container's args. A pod setting this script does not
know how to reproduce is an error, not silently dropped.

Local test settings are layered on top, as a kustomize overlay would patch the ConfigMap:
the two APIs are the bundled emulators on loopback (ACTIVATE_API_URL, CW_SCIM_BASE_URL),
DRY_RUN=false, OUTPUT=json. Asserts: the first run exits 0 and writes the example
organization (9 users created, 14 operations applied, all of them visible in the SCIM
emulator); the second exits 0 with an empty plan and no write; `demo` exits 2 saying it
is not in this build. Prints one line per check and closes with
"image-test: N passed, N failed".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import yaml

EXPECTED_CREATED_USERS = 9
EXPECTED_APPLIED = 14
SCIM_WRITE_STATUSES = {"201", "204"}

# Fields of the pod and container specs that this script reproduces or that do not
# change how the container runs under podman (scheduling, Kubernetes API access).
POD_FIELDS = {
    "restartPolicy",
    "automountServiceAccountToken",
    "enableServiceLinks",
    "terminationGracePeriodSeconds",
    "securityContext",
    "containers",
    "volumes",
}
POD_SECURITY_FIELDS = {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "seccompProfile"}
CONTAINER_FIELDS = {
    "name",
    "image",
    "imagePullPolicy",
    "args",
    "envFrom",
    "env",
    "volumeMounts",
    "resources",
    "securityContext",
}
CONTAINER_SECURITY_FIELDS = {
    "runAsNonRoot",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "privileged",
    "capabilities",
}


class Unsupported(Exception):
    """A pod setting that podman run cannot be given here."""


def only(keys: set[str], allowed: set[str], where: str) -> None:
    unknown = sorted(keys - allowed)
    if unknown:
        raise Unsupported(f"{where}: {', '.join(unknown)} not reproduced by image_test.py")


def memory(quantity: str) -> str:
    """A Kubernetes memory quantity as podman's --memory value (bytes)."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    m = re.fullmatch(r"(\d+)([KMG]i?)?", quantity)
    if not m:
        raise Unsupported(f"memory limit {quantity!r}")
    return str(int(m.group(1)) * units.get(m.group(2) or "", 1))


def cpus(quantity: str) -> str:
    """A Kubernetes CPU quantity as podman's --cpus value."""
    if quantity.endswith("m"):
        return f"{int(quantity[:-1]) / 1000:g}"
    return f"{float(quantity):g}"


def pod_run_args(cronjob: dict[str, Any], configmap: dict[str, Any], secret_dir: Path,
                 overrides: dict[str, str]) -> tuple[list[str], list[str]]:
    """(podman run options, container args) for the CronJob's pod."""
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    only(set(pod), POD_FIELDS, "pod spec")
    pod_sc = pod.get("securityContext") or {}
    only(set(pod_sc), POD_SECURITY_FIELDS, "pod securityContext")
    [container] = pod["containers"]
    only(set(container), CONTAINER_FIELDS, "container")
    sc = container.get("securityContext") or {}
    only(set(sc), CONTAINER_SECURITY_FIELDS, "container securityContext")

    def effective(field: str) -> Any:
        return sc[field] if field in sc else pod_sc.get(field)

    if effective("runAsNonRoot") is not True or not effective("runAsUser"):
        raise Unsupported("the pod does not run as an explicit non-root user")
    options = ["--rm", "--network=host", "--pull=never"]
    options.append(f"--user={effective('runAsUser')}:{effective('runAsGroup')}")
    if "fsGroup" in pod_sc:
        options.append(f"--group-add={pod_sc['fsGroup']}")
    if sc.get("readOnlyRootFilesystem"):
        # Kubernetes mounts no tmpfs into a read-only root filesystem; podman would.
        options += ["--read-only", "--read-only-tmpfs=false"]
    if sc.get("allowPrivilegeEscalation") is False:
        options.append("--security-opt=no-new-privileges")
    if sc.get("privileged"):
        raise Unsupported("privileged")
    caps = sc.get("capabilities") or {}
    only(set(caps), {"drop"}, "capabilities")
    for cap in caps.get("drop") or []:
        options.append(f"--cap-drop={cap.lower()}")
    seccomp = (effective("seccompProfile") or {}).get("type")
    if seccomp not in (None, "RuntimeDefault"):
        raise Unsupported(f"seccompProfile {seccomp}")  # podman's default is RuntimeDefault
    limits = (container.get("resources") or {}).get("limits") or {}
    only(set(limits), {"cpu", "memory"}, "resources.limits")
    if "memory" in limits:
        options.append(f"--memory={memory(str(limits['memory']))}")
    if "cpu" in limits:
        options.append(f"--cpus={cpus(str(limits['cpu']))}")

    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        only(set(source), {"configMapRef"}, "envFrom")
        if source["configMapRef"]["name"] != configmap["metadata"]["name"]:
            raise Unsupported(f"envFrom {source['configMapRef']['name']}: not the ConfigMap")
        env.update(configmap.get("data") or {})
    for var in container.get("env") or []:
        only(set(var), {"name", "value"}, f"env {var.get('name')}")
        env[var["name"]] = var["value"]
    env.update(overrides)
    options += [f"--env={k}={v}" for k, v in sorted(env.items())]

    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        volume = volumes[mount["name"]]
        only(set(volume), {"name", "secret"}, f"volume {volume['name']}")
        mode = "ro" if mount.get("readOnly") else "rw"
        for item in volume["secret"]["items"]:
            if not (secret_dir / item["path"]).is_file():
                raise Unsupported(f"no file for Secret key {item['key']}")
        options.append(f"--volume={secret_dir}:{mount['mountPath']}:{mode}")
    return options, list(container.get("args") or [])


def write_secret(cronjob: dict[str, Any], secret_dir: Path, values: dict[str, str]) -> None:
    """The Secret volume's files, as the kubelet writes them: defaultMode, group fsGroup."""
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    fs_group = (pod.get("securityContext") or {}).get("fsGroup")
    for volume in pod.get("volumes") or []:
        secret = volume.get("secret")
        if secret is None:
            continue
        mode = secret.get("defaultMode", 0o644)
        for item in secret["items"]:
            path = secret_dir / item["path"]
            path.write_text(values[item["key"]], encoding="utf-8")
            if fs_group is not None:
                os.chown(path, 0, fs_group)
                mode |= 0o040  # the kubelet adds group read for fsGroup
            os.chmod(path, mode)
    os.chmod(secret_dir, 0o755)


def start_emulator(program: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Starts an emulator on a free loopback port; returns it and the VAR=value lines."""
    proc = subprocess.Popen(
        [str(program), "--bind", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    settings: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Press Ctrl-C"):
            return proc, settings
        key, sep, value = line.strip().partition("=")
        if sep:
            settings[key] = value
    raise SystemExit(f"{program} exited before it was ready")


def scim_users(base_url: str, token: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{base_url}/Users?count=1000",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/scim+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return json.load(response).get("Resources", [])


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}")
            if detail:
                print("       " + detail.replace("\n", "\n       "))


def run(image: str, options: list[str], args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", "run", *options, image, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def main() -> int:
    image, rendered, emulator_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    docs = [d for d in yaml.safe_load_all(rendered.read_text(encoding="utf-8")) if d]
    [cronjob] = [d for d in docs if d["kind"] == "CronJob"]
    [configmap] = [d for d in docs if d["kind"] == "ConfigMap"]
    report = Report()
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    rendered_image = pod["containers"][0]["image"]
    report.check(
        f"the rendered CronJob runs the image pinned by digest: {rendered_image}",
        rendered_image == image and "@sha256:" in image,
        f"expected {image}",
    )

    activate, activate_env = start_emulator(emulator_dir / "activate-emulator")
    scim, scim_env = start_emulator(emulator_dir / "scim-emulator")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            secret_dir = Path(tmp) / "secret"
            secret_dir.mkdir()
            write_secret(
                cronjob,
                secret_dir,
                {
                    "activate-api-key": activate_env["ACTIVATE_API_KEY"],
                    "cw-scim-bearer-token": scim_env["CW_SCIM_BEARER_TOKEN"],
                },
            )
            overrides = {
                "ACTIVATE_API_URL": activate_env["ACTIVATE_API_URL"],
                "CW_SCIM_BASE_URL": scim_env["CW_SCIM_BASE_URL"],
                "DRY_RUN": "false",
                "OUTPUT": "json",
            }
            options, args = pod_run_args(cronjob, configmap, secret_dir, overrides)
            shown = [o for o in options if not o.startswith("--env=")]
            env_count = len(options) - len(shown)
            print(f"podman run {' '.join(shown)} <{env_count} --env> {image} {' '.join(args)}")
            print(
                "  test overrides of the ConfigMap: "
                + ", ".join(f"{k}={v}" for k, v in overrides.items())
            )

            first = run(image, options, args)
            report.check("first run exits 0", first.returncode == 0,
                         f"exit {first.returncode}\n{first.stderr[-3000:]}")
            result = json.loads(first.stdout) if first.returncode == 0 else {}
            summary = (result.get("plan") or {}).get("summary") or {}
            counts = (result.get("result") or {}).get("counts") or {}
            applied = sum(c.get("applied", 0) for c in counts.values())
            failed = sum(c.get("failed", 0) for c in counts.values())
            report.check(
                f"first run writes the example organization: {summary.get('create_users')} "
                f"users created, {applied} operations applied, {failed} failed",
                summary.get("create_users") == EXPECTED_CREATED_USERS
                and applied == EXPECTED_APPLIED and failed == 0,
                json.dumps(summary),
            )
            users = scim_users(scim_env["CW_SCIM_BASE_URL"], scim_env["CW_SCIM_BEARER_TOKEN"])
            owned = [u for u in users if str(u.get("externalId", "")).startswith("pw-activate:")]
            report.check(
                f"the SCIM emulator holds {len(owned)} users the tool owns",
                len(owned) == EXPECTED_CREATED_USERS,
                ", ".join(sorted(u.get("userName", "?") for u in owned)),
            )

            second = run(image, options, args)
            report.check("second run exits 0", second.returncode == 0,
                         f"exit {second.returncode}\n{second.stderr[-3000:]}")
            result = json.loads(second.stdout) if second.returncode == 0 else {}
            operations = (result.get("plan") or {}).get("operations")
            scim_statuses = set(((result.get("requests") or {}).get("scim") or {}).keys())
            report.check(
                "second run plans nothing and writes nothing "
                f"(SCIM answers: {sorted(scim_statuses)})",
                operations == [] and not (scim_statuses & SCIM_WRITE_STATUSES)
                and "200" in scim_statuses,
                json.dumps(result.get("plan", {}).get("summary")),
            )

            demo = run(image, ["--rm", "--network=none", "--pull=never"], ["demo"])
            report.check(
                "`demo` is not in the image, and says so (exit 2)",
                demo.returncode == 2 and "`demo` is not in this build" in demo.stderr,
                f"exit {demo.returncode}\n{demo.stderr}",
            )
            if demo.stderr:
                print("  " + demo.stderr.strip())
    finally:
        for proc in (activate, scim):
            proc.terminate()
            proc.wait(timeout=30)

    print(f"image-test: {report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Unsupported as e:
        print(f"image-test: the CronJob has a setting this test cannot reproduce: {e}")
        sys.exit(1)
