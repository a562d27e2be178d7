"""Start, describe and stop a lab: the components of `lab.components`, in order, detached."""

import os
import shutil
import sys
import time
from pathlib import Path

from lab import build, components, paths, pki, procs
from lab.state import Lab


def _process_env() -> dict:
    env = dict(os.environ)
    tests_dir = str(paths.LAB_DIR.parent)  # so `python -m lab.<part>` finds this package
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [tests_dir, env.get("PYTHONPATH")]))
    return env


def _start_components(lab: Lab) -> None:
    env = _process_env()
    for component in components.COMPONENTS:
        if not component.enabled():
            continue
        started = time.monotonic()
        if isinstance(component, components.Step):
            component.run(lab)
        else:
            proc = procs.spawn(component.name, component.command(lab),
                               lab.path(f"{component.name}.log"), env)
            lab.processes.append(proc)
            lab.save()  # so that `down` finds it even if the start fails from here on
            procs.wait_until(lambda: component.ready(lab), f"{component.name} to be ready", proc)
            lab.vars.update(component.vars(lab))
        print(f"lab: {component.name} ready in {time.monotonic() - started:.1f} s",
              file=sys.stderr)


def restart(lab: Lab, name: str) -> float:
    """Stop the lab's process `name` and start it again as it was started; the seconds until it is ready again.

    What a cluster does to its clients when an API server or a controller manager restarts (an upgrade, a crash).
    """
    component = next(c for c in components.COMPONENTS if c.name == name)
    old = next(p for p in lab.processes if p.name == name)
    started = time.monotonic()
    procs.stop(old)
    proc = procs.spawn(name, old.command, Path(old.log), _process_env())
    lab.processes[lab.processes.index(old)] = proc
    lab.save()
    procs.wait_until(lambda: component.ready(lab), f"{name} to be ready again", proc)
    return time.monotonic() - started


def start(reuse: bool = False, state_dir: Path = None) -> Lab:
    """Start a lab in `state_dir` (default `$LAB_STATE_DIR` or `<repo>/.lab`).

    With `reuse`, a lab already running there is returned as it is; without, finding one
    is an error (it may be someone's `make lab-up`).
    """
    state_dir = Path(state_dir or paths.state_dir())
    existing = Lab.load(state_dir)
    if existing and any(p.alive() for p in existing.processes):
        if reuse and existing.running():
            return existing
        partly = "" if existing.running() else " (some of its processes died)"
        raise RuntimeError(f"a lab already runs in {state_dir}{partly}: reuse it or stop it "
                           "first (python -m lab down)")
    stop(state_dir)  # leftovers of a lab that died

    for name in build.COMPONENTS:  # build before any start timeout begins
        build.ensure(name)

    state_dir.mkdir(parents=True)
    lab = Lab(state_dir)
    lab.save()
    pki.CA.create(lab.path("pki"))
    try:
        _start_components(lab)
    except BaseException:
        for proc in reversed(lab.processes):  # keep the state dir: its logs say what went wrong
            procs.stop(proc)
        raise
    lab.save()
    lab.write_ansible_files()
    return lab


def stop(state_dir: Path = None) -> None:
    """Stop every process of the lab in `state_dir`, last started first, and remove the dir."""
    state_dir = Path(state_dir or paths.state_dir())
    lab = Lab.load(state_dir)
    if lab is None:
        if state_dir.exists() and any(state_dir.iterdir()):
            raise RuntimeError(f"{state_dir} has no lab.json: not removing what no lab made")
        shutil.rmtree(state_dir, ignore_errors=True)
        return
    for proc in reversed(lab.processes):
        procs.stop(proc)
    shutil.rmtree(state_dir)


def status(state_dir: Path = None) -> str:
    state_dir = Path(state_dir or paths.state_dir())
    lab = Lab.load(state_dir)
    if lab is None:
        return f"no lab in {state_dir}"
    lines = [f"lab in {state_dir}", f"  api:        {lab.api_url}",
             f"  kubeconfig: {lab.kubeconfig}", f"  inventory:  {lab.path('inventory.yml')}"]
    for proc in lab.processes:
        alive = proc.alive()
        where = ", ".join(f"{ip}:{port}" for ip, port in procs.listeners(proc.pid)) if alive else ""
        lines.append(f"  {proc.name:<24} pid {proc.pid:<8} {'running' if alive else 'STOPPED':<8}"
                     f" {where or '-'}  log {proc.log}")
    return "\n".join(lines)
