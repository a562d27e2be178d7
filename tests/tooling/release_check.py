"""The changelog is complete for the version in galaxy.yml (part of `make release-check`).

Everything is found by looking, never from a list kept here: every plugin under plugins/ that has
DOCUMENTATION and every role under roles/ must be in changelogs/changelog.yaml with a version_added that
is a released version; no fragment may wait unreleased; CHANGELOG.rst must be what antsibull-changelog
generates from changelog.yaml. Each problem is printed with what to do; the exit code is the count.
"""

import os
import re
import subprocess
import sys

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VERSION_ADDED = re.compile(r"^version_added:\s*['\"]?([^'\"\s]+)", re.M)
# Plugin folders whose files carry DOCUMENTATION (module_utils, plugin_utils and doc_fragments do not).
NOT_DOCUMENTED = {"module_utils", "plugin_utils", "doc_fragments", "action"}


def _load(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def documented_plugins():
    """(type, name, version_added) of every plugin file with DOCUMENTATION."""
    found = []
    plugins = os.path.join(REPO, "plugins")
    for kind in sorted(os.listdir(plugins)):
        if kind in NOT_DOCUMENTED or not os.path.isdir(os.path.join(plugins, kind)):
            continue
        for name in sorted(os.listdir(os.path.join(plugins, kind))):
            if not name.endswith(".py") or name == "__init__.py":
                continue
            with open(os.path.join(plugins, kind, name), encoding="utf-8") as handle:
                text = handle.read()
            if "DOCUMENTATION" not in text:
                continue
            match = VERSION_ADDED.search(text)
            found.append(("module" if kind == "modules" else kind, name[:-3], match.group(1) if match else None))
    return found


def roles():
    """(name, version_added of its main entry point) of every role."""
    found = []
    for name in sorted(os.listdir(os.path.join(REPO, "roles"))):
        spec_path = os.path.join(REPO, "roles", name, "meta", "argument_specs.yml")
        main = ((_load(spec_path) or {}).get("argument_specs") or {}).get("main") or {} \
            if os.path.exists(spec_path) else {}
        found.append((name, main.get("version_added")))
    return found


def problems():
    version = str(_load("galaxy.yml")["version"])
    releases = (_load("changelogs", "changelog.yaml") or {}).get("releases") or {}
    out = []
    if version not in releases:
        out.append("changelogs/changelog.yaml has no release {0} (galaxy.yml's version): run `make changelog`".format(
            version))
    listed = {}
    for release, data in releases.items():
        for name in (data.get("modules") or []):
            listed[("module", name["name"])] = release
        for kind, entries in (data.get("plugins") or {}).items():
            for entry in entries:
                listed[(kind, entry["name"])] = release
        for kind, entries in (data.get("objects") or {}).items():
            for entry in entries:
                listed[(kind, entry["name"])] = release
    items = [(kind, name, added) for kind, name, added in documented_plugins()]
    items += [("role", name, added) for name, added in roles()]
    for kind, name, added in items:
        if added not in releases:
            out.append("{0} {1}: version_added {2!r} is not a released version (releases: {3}); set it to the "
                       "version that first ships it".format(kind, name, added, ", ".join(sorted(releases)) or "none"))
        elif listed.get((kind, name)) != added:
            out.append("{0} {1}: not listed as new in release {2} of changelogs/changelog.yaml: run `make "
                       "changelog`".format(kind, name, added))
    waiting = sorted(name for name in os.listdir(os.path.join(REPO, "changelogs", "fragments"))
                     if name.endswith((".yml", ".yaml")))
    if waiting:
        out.append("unreleased changelog fragments {0}: run `make changelog`".format(", ".join(waiting)))
    with open(os.path.join(REPO, "CHANGELOG.rst"), encoding="utf-8") as handle:
        before = handle.read()
    subprocess.run(["antsibull-changelog", "generate"], cwd=REPO, check=True)
    with open(os.path.join(REPO, "CHANGELOG.rst"), encoding="utf-8") as handle:
        after = handle.read()
    if before != after:
        out.append("CHANGELOG.rst was not generated from changelogs/changelog.yaml (it is now: commit it)")
    return out


def main():
    found = problems()
    for line in found:
        print("release-check: " + line)
    if not found:
        print("release-check: the changelog is complete for this version")
    return len(found)


if __name__ == "__main__":
    sys.exit(main())
