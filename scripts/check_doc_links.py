#!/usr/bin/env python3
"""Every file, function and heading the docs point to exists.

Reads README.md and docs/**/*.md and checks:
  * markdown links and images [text](target): the file exists (relative to the page), and a
    #heading anchor names a heading of that page (GitHub's slugs);
  * backticked repository paths such as `ops/conv.cpp` or `nn/blocks/se.{h,cpp}`: they exist;
  * backticked functions `Type::member`: the type is defined and the member named in a source;
  * docs/api.md lists every public header (ops/dnnl and ops/reference are kernels, not API).
  * nothing cites a file outside the repository: every `.md` name in the docs and in the
    comments of the sources exists here (relative to the citing file, the root or docs/, or by
    name under docs/), and no relative path climbs out of the root (e.g. ../shared/notes.md).
Build outputs (`build/...`) and http(s) links are not checked. Exit 1 listing every broken one.
Run by ctest (docs:links) from the repository root or with the root as the first argument.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
EXTS = ("cpp", "h", "md", "py", "sh", "json", "safetensors", "svg", "cmake", "txt", "tsv", "png", "jsonl")
SOURCE_DIRS = ("tensor", "autograd", "ops", "nn", "models", "optim", "io", "data", "dist", "apps", "bench", "examples", "tests")


def pages():
    yield os.path.join(ROOT, "README.md")
    for d, _, files in os.walk(os.path.join(ROOT, "docs")):
        for f in sorted(files):
            if f.endswith(".md"):
                yield os.path.join(d, f)


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def headings(path):
    text = strip_code(open(path, encoding="utf-8").read())
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


def strip_code(text):
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def sources():
    out = []
    for d in SOURCE_DIRS:
        for base, _, files in os.walk(os.path.join(ROOT, d)):
            for f in files:
                if f.endswith((".cpp", ".h")):
                    out.append(open(os.path.join(base, f), encoding="utf-8", errors="replace").read())
    return "\n".join(out)


def expand(path):
    m = re.match(r"(.*)\{([^}]*)\}(.*)", path)
    if not m:
        return [path]
    return [m.group(1) + alt + m.group(3) for alt in m.group(2).split(",")]


MD_NAME = re.compile(r"(?<![\w./-])((?:\.\.?/)*[\w./-]*[A-Za-z][\w-]*\.md)\b")
CLIMB = re.compile(r"(?<![\w./-])((?:\.\./)+[\w.-][\w./-]*)")


def citing_texts():
    """(file, text) for every page and for the comments of every source."""
    for page in pages():
        yield page, open(page, encoding="utf-8").read()
    for d in SOURCE_DIRS:
        for base, _, files in os.walk(os.path.join(ROOT, d)):
            for f in files:
                if f.endswith((".cpp", ".h")):
                    path = os.path.join(base, f)
                    text = open(path, encoding="utf-8", errors="replace").read()
                    yield path, "\n".join(m.group(1) for m in re.finditer(r"//(.*)$", text, re.M))


def outside_citations():
    errors = []
    doc_names = set()
    for base, _, files in os.walk(os.path.join(ROOT, "docs")):
        doc_names.update(files)
    for path, text in citing_texts():
        rel = os.path.relpath(path, ROOT)
        here = os.path.dirname(path)
        text = re.sub(r"[a-z]+://\S+", "", text)  # web addresses are not files of ours
        for m in CLIMB.finditer(text):
            target = os.path.normpath(os.path.join(here, m.group(1)))
            if os.path.relpath(target, ROOT).startswith(".."):
                errors.append(f"{rel}: cites {m.group(1)}, a file outside the repository")
        for m in MD_NAME.finditer(text):
            name = m.group(1)
            places = [os.path.join(here, name), os.path.join(ROOT, name), os.path.join(ROOT, "docs", name)]
            if any(os.path.exists(os.path.normpath(p)) for p in places):
                continue
            if "/" not in name and name in doc_names:
                continue
            errors.append(f"{rel}: cites {name}, which is not in the repository (bring it into docs/ or say it inline)")
    return errors


def main():
    errors = []
    code = sources()
    for page in pages():
        rel = os.path.relpath(page, ROOT)
        text = open(page, encoding="utf-8").read()
        prose = strip_code(text)
        for m in re.finditer(r"!?\[[^\]]*\]\(([^)\s]+)\)", prose):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if not os.path.exists(full):
                errors.append(f"{rel}: link to {target}: no such file")
            elif anchor and full.endswith(".md") and anchor not in headings(full):
                errors.append(f"{rel}: link to {target}: no heading '#{anchor}' in {os.path.relpath(full, ROOT)}")
        for m in re.finditer(r"`([^`\n]+)`", prose):
            token = m.group(1).strip()
            first = token.split()[0] if token.split() else ""
            cand = first.rstrip(":,;.")
            if re.fullmatch(r"[\w./{},\-]+\.(%s)(\{[^}]*\})?" % "|".join(EXTS), cand) or re.fullmatch(
                    r"[\w./\-]+\.\{[\w,]+\}", cand):
                top = cand.split("/")[0]
                if cand.startswith(("build/", "runs/", "/")) or "<" in cand or "*" in cand or top.isupper():
                    # build outputs, training runs and placeholders such as DIR/config.json
                    continue
                if "/" not in cand:
                    continue  # a bare file name (e.g. model.safetensors) is an example, not a path
                for p in expand(cand):
                    here = os.path.normpath(os.path.join(os.path.dirname(page), p))
                    if not os.path.exists(os.path.join(ROOT, p)) and not os.path.exists(here):
                        errors.append(f"{rel}: `{token}`: no such file {p}")
            for fm in re.finditer(r"\b([A-Z]\w*)::(\w+)\b", token):
                typ, member = fm.group(1), fm.group(2)
                defined = re.search(r"\b(struct|class)\s+%s\b" % typ, code)
                named = re.search(r"\b%s::%s\b" % (typ, member), code) or re.search(r"\b%s\s*\(" % member, code)
                if not (defined and named):
                    errors.append(f"{rel}: `{token}`: no {typ}::{member} in the sources")
    errors += outside_citations()
    # docs/api.md lists every public header.
    api = open(os.path.join(ROOT, "docs", "api.md"), encoding="utf-8").read()
    for d in ("tensor", "autograd", "ops", "nn", "models", "optim", "io", "data", "dist"):
        for base, dirs, files in os.walk(os.path.join(ROOT, d)):
            dirs[:] = [x for x in dirs if x not in ("dnnl", "reference")]  # kernels behind ops/, not API
            for f in sorted(files):
                if f.endswith(".h"):
                    header = os.path.relpath(os.path.join(base, f), ROOT)
                    if "`%s`" % header not in api:
                        errors.append(f"docs/api.md: the public header {header} is not listed")
    for e in errors:
        print(e)
    print(f"check_doc_links: {len(errors)} broken reference(s)" if errors else "check_doc_links: every reference exists")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
