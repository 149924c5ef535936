"""Which Debian packages provide the shared libraries of a binary, and whether a
set of packages (with everything they depend on) covers them. Reads the dpkg
database of this machine, so the answers hold for Debian bookworm as installed
here; a Dockerfile's runtime stage is read for the packages it installs."""

import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field


def ldd_libraries(binary):
    """Paths of the shared libraries `ldd` resolves for binary (the vDSO has none).
    Raises AssertionError when one is "not found"."""
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        line = line.strip()
        if "not found" in line:
            raise AssertionError(f"ldd {binary}: {line}")
        m = re.match(r"^(\S+) => (\S+) \(0x[0-9a-f]+\)$", line) or re.match(
            r"^(/\S+) \(0x[0-9a-f]+\)$", line)
        if m:
            libs.append(m.group(m.lastindex))
    return libs


def _path_variants(path):
    """path, its real path, and each with and without the /usr prefix (merged /usr:
    ldd says /lib/..., dpkg may know /usr/lib/... or the other way round)."""
    variants = []
    for p in (path, os.path.realpath(path)):
        variants.append(p)
        variants.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    return list(dict.fromkeys(variants))


def owning_packages(paths):
    """{path: the installed package that ships it, or None}, in one dpkg-query."""
    variants = {p: _path_variants(p) for p in paths}
    every = sorted({v for vs in variants.values() for v in vs})
    res = subprocess.run(["dpkg-query", "-S"] + every, capture_output=True, text=True)
    owner_of = {}
    for line in res.stdout.splitlines():
        if line.startswith("diversion by"):
            continue
        owners, _, owned = line.partition(": ")
        owner_of[owned] = owners.split(",")[0].strip().split(":")[0]
    return {p: next((owner_of[v] for v in vs if v in owner_of), None)
            for p, vs in variants.items()}


def parse_relation(text):
    """A Depends-style field as a list of alternatives lists of package names
    (versions and architecture qualifiers dropped)."""
    groups = []
    for group in text.split(","):
        names = []
        for alt in group.split("|"):
            alt = re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", alt).strip()
            if alt:
                names.append(alt.split(":")[0])
        if names:
            groups.append(names)
    return groups


class InstalledPackages:
    """The relations of every installed package, from the dpkg database."""

    def __init__(self):
        out = subprocess.run(
            ["dpkg-query", "-W", "-f",
             "${Package}\t${db:Status-Abbrev}\t${Pre-Depends}\t${Depends}\t${Provides}\n"],
            check=True, capture_output=True, text=True).stdout
        self.depends = {}
        self.providers = {}
        for line in out.splitlines():
            name, status, pre, dep, provides = (line.split("\t") + [""] * 5)[:5]
            if not status.startswith("ii"):
                continue
            self.depends[name] = parse_relation(pre) + parse_relation(dep)
            for group in parse_relation(provides):
                for virtual in group:
                    self.providers.setdefault(virtual, []).append(name)

    def resolve(self, name):
        """The installed packages that satisfy a relation on name."""
        if name in self.depends:
            return [name]
        return self.providers.get(name, [])

    def closure(self, relations):
        """Every installed package reached from relations (lists of
        alternatives) through Pre-Depends and Depends; in each alternatives
        list the first one installed here counts, as apt would pick it."""
        seen = set()
        todo = [group for group in relations]
        while todo:
            group = todo.pop()
            for alt in group:
                resolved = self.resolve(alt)
                if resolved:
                    for pkg in resolved:
                        if pkg not in seen:
                            seen.add(pkg)
                            todo.extend(self.depends[pkg])
                    break
        return seen


def uncovered_libraries(binary, relations, installed=None):
    """{library path: owning package or None} for each library of binary whose
    package is not reached from relations."""
    installed = installed or InstalledPackages()
    covered = installed.closure(relations)
    owners = owning_packages(ldd_libraries(binary))
    return {lib: owner for lib, owner in owners.items() if owner is None or owner not in covered}


@dataclass
class RuntimeStage:
    """What the last stage of a Dockerfile installs and runs."""
    packages: list = field(default_factory=list)   # names given to apt-get install
    debs: list = field(default_factory=list)       # .deb paths given to apt-get install
    copies: list = field(default_factory=list)     # (from_stage or None, sources, dest)
    entrypoint: list = field(default_factory=list)
    build_stage_runs: list = field(default_factory=list)  # RUN lines of earlier stages


def _instructions(text):
    """(KEYWORD, arguments) of a Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _apt_installs(run):
    """The arguments of each `apt-get install` / `apt install` in a RUN line."""
    args = []
    for command in re.split(r"&&|;|\|\|", run):
        words = shlex.split(command)
        words = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
        if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
            after = words[words.index("install") + 1:]
            args.extend(w for w in after if not w.startswith("-"))
    return args


def read_runtime_stage(text):
    """The runtime (last) stage of the Dockerfile text."""
    stages = []
    for keyword, rest in _instructions(text):
        if keyword == "FROM":
            stages.append([])
        elif stages:
            stages[-1].append((keyword, rest))
    if not stages:
        raise AssertionError("no FROM in the Dockerfile")
    stage = RuntimeStage()
    for earlier in stages[:-1]:
        stage.build_stage_runs += [rest for keyword, rest in earlier if keyword == "RUN"]
    for keyword, rest in stages[-1]:
        if keyword == "RUN":
            for arg in _apt_installs(rest):
                (stage.debs if arg.endswith(".deb") else stage.packages).append(arg)
        elif keyword in ("COPY", "ADD"):
            words = shlex.split(rest)
            source_stage = None
            paths = []
            for w in words:
                if w.startswith("--from="):
                    source_stage = w[len("--from="):]
                elif not w.startswith("--"):
                    paths.append(w)
            stage.copies.append((source_stage, paths[:-1], paths[-1]))
        elif keyword == "ENTRYPOINT":
            rest = rest.strip()
            stage.entrypoint = (json.loads(rest) if rest.startswith("[")  # exec form
                                else shlex.split(rest))
    return stage
