"""Build the lab's Go programs from the Go module proxy, cached per pinned version.

Each component is a small wrapper module (template in `go/<component>/`) built into
`<cache>/<component>-<version>/`; a stamp there records the component version, the Go
version and a hash of the template, and the build is redone only when one of them changes.
`python -m lab build` builds (or confirms) them all ahead of `up`.
"""

import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from lab import paths

GO_TEMPLATES = paths.LAB_DIR / "go"


@dataclasses.dataclass(frozen=True)
class GoComponent:
    name: str
    version: str
    programs: dict  # binary name -> Go package to build
    tags: str = ""
    ldflags: Callable[[str], list] = lambda version: []
    template_vars: Callable[[str], dict] = lambda version: {}

    @property
    def home(self) -> Path:
        return paths.cache_dir() / f"{self.name}-{self.version}"

    def binary(self, program: str) -> Path:
        return self.home / "bin" / program


def _go_env() -> dict:
    env = dict(os.environ)
    # Fail on a go directive newer than the local toolchain instead of downloading one.
    env.update(GOTOOLCHAIN="local", GOFLAGS="-mod=mod", CGO_ENABLED="0")
    return env


def _go(*args, cwd: Path, capture=False) -> str:
    result = subprocess.run(
        ["go", *args], cwd=cwd, env=_go_env(), check=True, text=True,
        stdout=subprocess.PIPE if capture else sys.stderr,
    )
    return result.stdout if capture else ""


def go_version() -> str:
    if shutil.which("go") is None:
        raise RuntimeError("the lab needs Go (>= 1.26) on PATH to build its programs")
    return _go("env", "GOVERSION", cwd=Path.cwd(), capture=True).strip()


def _kubernetes_ldflags(version: str) -> list:
    minor = version.split(".")[1]
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {pkg}.gitVersion=v{version}", f"-X {pkg}.gitMajor=1",
                  f"-X {pkg}.gitMinor={minor}", f"-X {pkg}.gitTreeState=clean"]
    return flags


def _kubernetes_template_vars(version: str) -> dict:
    """Copy the go/godebug lines and derive the staging replaces from the release's own go.mod."""
    paths.cache_dir().mkdir(parents=True, exist_ok=True)
    info = json.loads(_go("mod", "download", "-json", f"k8s.io/kubernetes@v{version}",
                          cwd=paths.cache_dir(), capture=True))
    gomod = Path(info["GoMod"]).read_text()
    staging = sorted(set(re.findall(r"^\s*(k8s\.io/\S+)\s+v0\.0\.0\s*$", gomod, re.M)))
    if not staging:
        raise RuntimeError(f"no v0.0.0 staging requires found in {info['GoMod']}")
    staging_version = "v0." + version.split(".", 1)[1]
    return {
        "go_directive": re.search(r"^go \S+$", gomod, re.M).group(0),
        "godebug": "\n".join(re.findall(r"^godebug .*$", gomod, re.M)),
        "replaces": "\n".join(f"replace {m} => {m} {staging_version}" for m in staging),
    }


COMPONENTS = {c.name: c for c in (
    GoComponent(
        "kubernetes", "1.34.12",
        {"kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
         "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager"},
        tags="selinux,notest,grpcnotrace",
        ldflags=_kubernetes_ldflags,
        template_vars=_kubernetes_template_vars,
    ),
    GoComponent("etcd", "3.6.16", {"etcd": "."}),
    GoComponent("vcsim", "0.56.0", {"vcsim": "."},
                ldflags=lambda version: [f"-X main.version=v{version}"]),
)}


def _template_hash(component: GoComponent) -> str:
    digest = hashlib.sha256()
    for path in sorted((GO_TEMPLATES / component.name).iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _wanted_stamp(component: GoComponent) -> dict:
    return {"component": component.name, "version": component.version,
            "go": go_version(), "template": _template_hash(component)}


def _is_current(component: GoComponent, wanted: dict) -> bool:
    stamp = component.home / "stamp.json"
    if not stamp.exists() or not all(component.binary(p).exists() for p in component.programs):
        return False
    recorded = json.loads(stamp.read_text())
    return {k: recorded.get(k) for k in wanted} == wanted


def _build(component: GoComponent, wanted: dict) -> None:
    src = component.home / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    for path in (GO_TEMPLATES / component.name).iterdir():
        if path.name == "go.mod.in":
            values = {"version": component.version, **component.template_vars(component.version)}
            (src / "go.mod").write_text(string.Template(path.read_text()).substitute(values))
        else:
            shutil.copy(path, src / path.name)
    _go("mod", "tidy", cwd=src)
    timings = {}
    for program, package in component.programs.items():
        started = time.monotonic()
        ldflags = " ".join(["-s", "-w", *component.ldflags(component.version)])
        _go("build", "-trimpath", f"-tags={component.tags}", f"-ldflags={ldflags}",
            "-o", str(component.binary(program)), package, cwd=src)
        timings[program] = round(time.monotonic() - started, 1)
    stamp = {**wanted, "build_seconds": timings, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (component.home / "stamp.json").write_text(json.dumps(stamp, indent=2) + "\n")


def ensure(name: str) -> GoComponent:
    """Return the component with its binaries built for the pinned version."""
    component = COMPONENTS[name]
    component.home.mkdir(parents=True, exist_ok=True)
    wanted = _wanted_stamp(component)
    with open(component.home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two `lab up`s at once build only once
        if not _is_current(component, wanted):
            print(f"lab: building {name} {component.version} with {wanted['go']} "
                  f"into {component.home} (a cold build can take many minutes)", file=sys.stderr)
            started = time.monotonic()
            _build(component, wanted)
            print(f"lab: built {name} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return component


def binary(name: str, program: str) -> Path:
    return ensure(name).binary(program)
