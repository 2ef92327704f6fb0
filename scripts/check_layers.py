#!/usr/bin/env python3
"""Checks every #include of every layer against the layers it may use.

The allowance is the build's own: the cardinal_add_layer(<layer> USES ... MAY_ALSO_USE ...
PUBLIC_LINK ... PRIVATE_LINK ...) calls in CMakeLists.txt (cmake/layers.cmake). A file in
<layer>/ may include
  - "<x>/..." only for x = the layer itself or a layer it USES (or MAY_ALSO_USE),
  - oneDNN, Eigen or MPI headers only if the layer itself links DNNL::dnnl, Eigen3::Eigen or
    MPI::MPI_CXX (so they stay inside tensor/, ops/ and dist/),
and never a relative path out of its folder ("../x.h"), which would get round the include
paths the build gives each layer. Prints one line per violation (file:line, what it includes,
what the layer may use) and exits 1 if there is any; prints a summary per layer and exits 0
otherwise. Usage: scripts/check_layers.py [repository root]
"""
import os
import re
import sys

# Headers of the libraries only some layers may see, by the CMake target that provides them.
GUARDED = [
    (re.compile(r"^(oneapi/dnnl/|dnnl[._])"), "DNNL::dnnl", "oneDNN"),
    (re.compile(r"^(Eigen/|unsupported/Eigen/)"), "Eigen3::Eigen", "Eigen"),
    (re.compile(r"^mpi\.h$"), "MPI::MPI_CXX", "MPI"),
]
KEYWORDS = {"USES", "MAY_ALSO_USE", "PUBLIC_LINK", "PRIVATE_LINK", "SOURCES", "EXCLUDE_REGEX",
            "NOT_INSTALLED"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def read_layers(root):
    """{layer: {"uses": set, "links": set}} from the cardinal_add_layer calls in CMakeLists.txt."""
    text = open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8").read()
    text = re.sub(r"#[^\n]*", "", text)  # CMake comments
    layers = {}
    for m in re.finditer(r"\bcardinal_add_layer\s*\(([^)]*)\)", text):
        tokens = m.group(1).split()
        layer, section = tokens[0], None
        entry = layers.setdefault(layer, {"uses": set(), "links": set()})
        for tok in tokens[1:]:
            if tok in KEYWORDS:
                section = tok
            elif section in ("USES", "MAY_ALSO_USE"):
                entry["uses"].add(tok)
            elif section in ("PUBLIC_LINK", "PRIVATE_LINK"):
                entry["links"].add(tok)
    return layers


def check(root):
    layers = read_layers(root)
    if not layers:
        print(f"check_layers: expected cardinal_add_layer(...) calls in {root}/CMakeLists.txt, found none")
        return 1
    violations, summary = [], []
    for layer in sorted(layers):
        allowed = layers[layer]["uses"] | {layer}
        folder = os.path.join(root, layer)
        seen, files = set(), 0
        for dirpath, _, names in os.walk(folder):
            for name in sorted(names):
                if not name.endswith((".h", ".hpp", ".cpp")):
                    continue
                files += 1
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                for lineno, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    quote, target = m.groups()
                    where = f"{rel}:{lineno}"
                    if quote == '"':
                        if target.startswith("../") or "/../" in target:
                            violations.append(f"{where}: includes \"{target}\", a relative path out of "
                                              f"{layer}/; expected \"<layer>/...\"")
                            continue
                        first = target.split("/")[0] if "/" in target else None
                        if first is None:
                            continue  # same folder
                        if first in layers or os.path.isdir(os.path.join(root, first)):
                            seen.add(first)
                            if first not in allowed:
                                violations.append(
                                    f"{where}: includes \"{target}\", but {layer}/ may use only "
                                    f"{', '.join(sorted(allowed))}")
                        continue
                    for pattern, cmake_target, what in GUARDED:
                        if pattern.search(target) and cmake_target not in layers[layer]["links"]:
                            violations.append(
                                f"{where}: includes <{target}> ({what}), but {layer}/ does not link "
                                f"{cmake_target}; {what} stays inside the layers that do "
                                f"({', '.join(sorted(l for l in layers if cmake_target in layers[l]['links']))})")
        if files == 0:
            violations.append(f"{layer}/: expected the layer's sources, found no .h or .cpp file")
        others = sorted(seen - {layer})
        summary.append(f"{layer}: {files} files include {', '.join(others) if others else 'only itself'}"
                       f" (may use: {', '.join(sorted(allowed - {layer})) or 'nothing'})")
    for v in violations:
        print(v)
    if violations:
        print(f"check_layers: {len(violations)} include(s) break the layering")
        return 1
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(check(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")))
