#!/usr/bin/python3
"""cardinal against PyTorch on the same networks, side by side in one run.

For each workload (model, inference or training step, batch, input size):
  1. check: the network is built in PyTorch from cardinal's own config (`cardinal models --json`,
     bench/torch_resnet.py), given random weights (BatchNorm statistics calibrated on random data
     so every branch carries signal), written as safetensors; `cardinal infer` runs those weights
     on an input batch and its float32 logits must match PyTorch's float64 logits;
  2. timing: R rounds, each running `cardinal bench` and then every PyTorch variant, each in its
     own process (so peak memory, ru_maxrss / VmHWM, is per variant), order reversed every other
     round. A process reports the median of its timed iterations; a side's figure is the minimum
     over rounds (other jobs on the machine can only add time).
     PyTorch variants: inference eager NCHW, eager channels_last, TorchScript-frozen (traced,
     channels_last); training eager channels_last with
     GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824
     (glibc keeps freed activations instead of returning them to the OS every step).
  ratio = best PyTorch ms / cardinal ms: above 1 means cardinal is faster.
`cardinal bench --peak` (dnnl_sgemm 2048^3) runs once per round: cardinal's GFLOP/s is also shown
as a share of the best peak of the run.

Workloads: the 12 of the tables (resnext50_32x4d, seresnext50_32x4d, skresnext50_32x4d,
resnest50d x infer b1 224, infer b16 224, train b16 128) plus `fmnist` (the Fashion-MNIST step of
the default model: resnest_small, train, batch 128, 28x28, 1 channel). --workloads takes a comma
list of ids (MODEL:MODE:bBATCH:SIZE, any registered model), globs over the default ids, or fmnist.

Needs Debian's python3-torch (run with /usr/bin/python3) and a built cardinal; the library and
its tests never need it.

    /usr/bin/python3 bench/compare_torch.py --threads 2 --rounds 2 --iters 10 --markdown --bf16
    /usr/bin/python3 bench/compare_torch.py --workloads resnest_small:infer:b1:28 --iters 2
"""
import argparse
import fnmatch
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

MALLOC_TUNED = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824"
TABLE_MODELS = ["resnext50_32x4d", "seresnext50_32x4d", "skresnext50_32x4d", "resnest50d"]
TABLE_KINDS = [("infer", 1, "224"), ("infer", 16, "224"), ("train", 16, "128")]
FMNIST = "resnest_small:train:b128:28"
INFER_VARIANTS = ["nchw", "channels_last", "frozen"]
TRAIN_VARIANTS = ["channels_last"]
TRAIN_MODES = ["nchw", "channels_last"]  # what --train-variants may name
CHECK_BATCH = 2
# Errors are max |logits - PyTorch float64 logits| / max(1, max |logit|). float64 must agree to
# rounding; float32 within 1e-3, or within 10x PyTorch's own float32 error where random BatchNorm
# statistics make the network ill-conditioned (deep nets at 224x224).
CHECK_TOLERANCE_F64 = 1e-9
CHECK_TOLERANCE = 1e-3
CHECK_F32_FACTOR = 10.0


def workload_id(model, mode, batch, size):
    return f"{model}:{mode}:b{batch}:{size}"


DEFAULT_WORKLOADS = [workload_id(m, *k) for k in TABLE_KINDS for m in TABLE_MODELS] + [FMNIST]
WORKLOAD_RE = re.compile(r"^([A-Za-z0-9_]+):(infer|train):b([0-9]+):([0-9]+(?:x[0-9]+)?)$")


def parse_size(size):
    h, _, w = size.partition("x")
    return int(h), int(w or h)


class Workload:
    def __init__(self, wid):
        m = WORKLOAD_RE.match(wid)
        if not m:
            raise ValueError(f"workload {wid!r}: expected MODEL:MODE:bBATCH:SIZE "
                             f"(e.g. resnext50_32x4d:infer:b1:224)")
        self.id = wid
        self.model, self.mode, self.batch, self.size = m[1], m[2], int(m[3]), m[4]
        self.height, self.width = parse_size(self.size)
        if self.batch < 1 or self.height < 1 or self.width < 1:
            raise ValueError(f"workload {wid!r}: batch and size must be positive")
        self.label = "Fashion-MNIST step" if wid == FMNIST else wid


def select_workloads(spec):
    if not spec:
        return [Workload(w) for w in DEFAULT_WORKLOADS]
    chosen = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if item == "fmnist":
            matches = [FMNIST]
        elif WORKLOAD_RE.match(item):
            matches = [item]
        else:
            matches = fnmatch.filter(DEFAULT_WORKLOADS, item)
            if not matches:
                raise ValueError(f"--workloads {item!r} matches none of: "
                                 + ", ".join(DEFAULT_WORKLOADS + ["fmnist"]))
        chosen += [w for w in matches if w not in chosen]
    return [Workload(w) for w in chosen]


# ---------------------------------------------------------------- cardinal side

def run(cmd, env=None, what=""):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{what or cmd[0]} failed (exit {p.returncode}): "
                           f"{' '.join(cmd)}\n{p.stderr.strip()}")
    return p.stdout


def cardinal_configs(cardinal):
    configs = {}
    # one JSON object per model: {"name": ..., "config": {ResNetConfig kwargs}, ...}
    for line in run([cardinal, "models", "--json"], what="cardinal models").splitlines():
        if line.startswith("{"):
            model = json.loads(line)
            configs[model["name"]] = model["config"]
    return configs


def last_json_line(text, what):
    lines = [l for l in text.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"{what}: no JSON line in its output:\n{text}")
    return json.loads(lines[-1])


def cardinal_bench(args, w, dtype="float32"):
    cmd = [args.cardinal, "bench", "--model", w.model, "--mode", w.mode, "--batch", str(w.batch),
           "--size", w.size, "--threads", str(args.threads), "--iters", str(args.iters),
           "--warmup", str(args.warmup), "--dtype", dtype]
    return last_json_line(run(cmd, what="cardinal bench"), "cardinal bench")


# cardinal's own sides of a workload; every other side is a PyTorch variant
CARDINAL_SIDES = ("cardinal", "cardinal_bf16")


def cardinal_peak(args):
    cmd = [args.cardinal, "bench", "--peak", "--threads", str(args.threads), "--iters", "5"]
    return last_json_line(run(cmd, what="cardinal bench --peak"), "cardinal bench --peak")


# ---------------------------------------------------------------- PyTorch side

def torch_model(kw):
    import torch
    from torch_resnet import ResNet
    torch.manual_seed(0)
    return ResNet(kw)


def randomize_for_check(model, in_chans, height, width):
    """Random BN affine parameters, then running statistics from one training-mode pass of
    random data (cumulative average), so no branch is zero and no activation explodes."""
    import torch
    g = torch.Generator().manual_seed(1)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(0.5 + torch.rand(bn.weight.shape, generator=g))
            bn.bias.copy_(0.1 * torch.randn(bn.bias.shape, generator=g))
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        model(torch.randn(4, in_chans, height, width, generator=g))
        for bn in bns:
            bn.momentum = 0.1
    model.eval()


def check_logits(args, w, kw, workdir):
    """Runs `cardinal infer` on PyTorch's weights and input, in float64 (the architecture and the
    weights must be the same: agreement to rounding) and in float32 (the benchmarked path: its
    error is shown beside PyTorch's own float32 error)."""
    import numpy as np
    import torch
    import safetensors_io
    model = torch_model(kw)
    in_chans = kw.get("in_chans", 3)
    randomize_for_check(model, in_chans, w.height, w.width)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(CHECK_BATCH, in_chans, w.height, w.width, generator=g)
    weights = os.path.join(workdir, f"{w.model}.weights.safetensors")
    inputs = os.path.join(workdir, f"{w.model}.input.safetensors")
    outputs = os.path.join(workdir, f"{w.model}.out.safetensors")
    safetensors_io.save(weights, list(model.state_dict().items()),
                        {"producer": "bench/compare_torch.py"})
    safetensors_io.save(inputs, [("input", x)])
    ours = {}
    for dtype in ("float32", "float64"):
        run([args.cardinal, "infer", "--model", w.model, "--weights", weights, "--input", inputs,
             "--output", outputs, "--threads", str(args.threads), "--topk", "1", "--dtype", dtype],
            what="cardinal infer")
        ours[dtype] = safetensors_io.load(outputs)["logits"].astype(np.float64)
    with torch.no_grad():
        torch32 = model(x).numpy().astype(np.float64)
        ref = model.double()(x.double()).numpy()
    for path in (weights, inputs, outputs):
        os.remove(path)
    error = lambda a: float(np.abs(a - ref).max() / max(1.0, float(np.abs(ref).max())))
    err64, err32, torch_err32 = error(ours["float64"]), error(ours["float32"]), error(torch32)
    top1 = int((ours["float32"].argmax(1) == ref.argmax(1)).sum())
    return {"model": w.model, "size": w.size, "batch": CHECK_BATCH, "rel_error_f64": err64,
            "rel_error": err32, "torch_rel_error": torch_err32,
            "top1_agree": f"{top1}/{CHECK_BATCH}",
            "ok": err64 <= CHECK_TOLERANCE_F64
            and err32 <= max(CHECK_TOLERANCE, CHECK_F32_FACTOR * torch_err32)}


def loaded_blas():
    """The BLAS library this process mapped (PyTorch's fc, and some convolutions, run on it)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower()}
    except OSError:
        return "unknown"
    return ", ".join(sorted(p for p in paths if p.startswith("/"))) or "none"


def torch_worker(spec):
    """One PyTorch variant of one workload in this process; prints one JSON line."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(spec["threads"])
    rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    model = torch_model(spec["kw"])
    variant, train = spec["variant"], spec["mode"] == "train"
    fmt = torch.contiguous_format if variant == "nchw" else torch.channels_last
    model = model.to(memory_format=fmt)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(spec["batch"], spec["kw"].get("in_chans", 3), spec["height"], spec["width"],
                    generator=g).contiguous(memory_format=fmt)
    if train:
        y = torch.randint(0, model.num_classes, (spec["batch"],), generator=g)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        model.train()

        def step():
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    else:
        model.eval()
        if variant == "frozen":
            with torch.no_grad():
                model = torch.jit.freeze(torch.jit.trace(model, x))

        def step():
            with torch.no_grad():
                model(x)
    for _ in range(spec["warmup"]):
        step()
    ms = []
    for _ in range(spec["iters"]):
        start = time.perf_counter()
        step()
        ms.append((time.perf_counter() - start) * 1e3)
    ms.sort()
    n = len(ms)
    median = ms[n // 2] if n % 2 else 0.5 * (ms[n // 2 - 1] + ms[n // 2])
    print(json.dumps({"variant": variant, "ms_median": median, "ms_min": ms[0],
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      "rss_after_import_mb": rss_import, "torch": torch.__version__,
                      "blas": loaded_blas()}))


def torch_bench(args, w, kw, variant):
    spec = {"kw": kw, "variant": variant, "mode": w.mode, "batch": w.batch, "height": w.height,
            "width": w.width, "threads": args.threads, "iters": args.iters,
            "warmup": args.warmup}
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    if w.mode == "train":
        env["GLIBC_TUNABLES"] = MALLOC_TUNED
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker"],
                       input=json.dumps(spec), capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"PyTorch {variant} on {w.id} failed (exit {p.returncode}):\n"
                           f"{p.stderr.strip()}")
    return last_json_line(p.stdout, f"PyTorch {variant} on {w.id}")


# ---------------------------------------------------------------- the run

def measure(args, workloads, configs, log):
    results, checks, peaks = [], {}, []
    with tempfile.TemporaryDirectory(prefix="cardinal_compare_") as workdir:
        for w in workloads:
            if not args.no_check and w.model not in checks:
                log(f"check {w.model} at {w.size} ...")
                checks[w.model] = check_logits(args, w, configs[w.model], workdir)
                c = checks[w.model]
                log(f"  logits rel error float64 {c['rel_error_f64']:.1e}, float32 "
                    f"{c['rel_error']:.1e} (PyTorch float32 {c['torch_rel_error']:.1e}), top-1 "
                    f"agree {c['top1_agree']}: {'ok' if c['ok'] else 'MISMATCH'}")
    if args.check_only:
        return {"checks": list(checks.values())}
    variants = lambda w: args.train_variants if w.mode == "train" else args.infer_variants
    ours = lambda w: ["cardinal"] + (["cardinal_bf16"] if args.bf16 and w.mode == "infer" else [])
    runs = {w.id: {**{s: [] for s in ours(w)}, **{v: [] for v in variants(w)}} for w in workloads}
    for r in range(args.rounds):
        peaks.append(cardinal_peak(args))
        log(f"round {r + 1}/{args.rounds}: sgemm peak {peaks[-1]['gflop_s']:.0f} GFLOP/s")
        for w in workloads:
            sides = ours(w) + variants(w)
            for side in (sides if r % 2 == 0 else sides[::-1]):
                out = (cardinal_bench(args, w) if side == "cardinal"
                       else cardinal_bench(args, w, "bfloat16") if side == "cardinal_bf16"
                       else torch_bench(args, w, configs[w.model], side))
                runs[w.id][side].append(out)
                log(f"  {w.id:34s} {side:14s} {out['ms_median']:9.2f} ms  "
                    f"{out['peak_rss_mb']:7.0f} MB")
    for w in workloads:
        res = {"workload": w.id, "label": w.label, "model": w.model, "mode": w.mode,
               "batch": w.batch, "size": w.size, "sides": {}}
        for side, outs in runs[w.id].items():
            best = min(outs, key=lambda o: o["ms_median"])
            res["sides"][side] = {"ms": best["ms_median"],
                                  "peak_rss_mb": max(o["peak_rss_mb"] for o in outs),
                                  "rounds_ms": [o["ms_median"] for o in outs]}
        c = min(runs[w.id]["cardinal"], key=lambda o: o["ms_median"])
        res["sides"]["cardinal"].update(gflop_s=c["gflop_s"],
                                        reorders_per_iter=c["reorders_per_iter"])
        if runs[w.id].get("cardinal_bf16"):
            b = min(runs[w.id]["cardinal_bf16"], key=lambda o: o["ms_median"])
            res["sides"]["cardinal_bf16"].update(
                top1_agreement=b["top1_agreement"], logit_max_rel_err=b["logit_max_rel_err"])
        torch_sides = {k: v for k, v in res["sides"].items() if k not in CARDINAL_SIDES}
        best_variant = min(torch_sides, key=lambda k: torch_sides[k]["ms"])
        res["torch_best"] = best_variant
        res["ratio"] = torch_sides[best_variant]["ms"] / res["sides"]["cardinal"]["ms"]
        res["memory_ratio"] = (res["sides"]["cardinal"]["peak_rss_mb"]
                               / torch_sides[best_variant]["peak_rss_mb"])
        results.append(res)
    torch_runs = [o for w in workloads for k, v in runs[w.id].items() if k not in CARDINAL_SIDES
                  for o in v]
    return {"threads": args.threads, "rounds": args.rounds, "iters": args.iters,
            "torch": torch_runs[0]["torch"], "torch_blas": torch_runs[0]["blas"],
            "warmup": args.warmup, "sgemm_peak_gflop_s": max(p["gflop_s"] for p in peaks),
            "checks": list(checks.values()), "workloads": results}


# ---------------------------------------------------------------- tables

def table(headers, rows, markdown):
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    fmt = lambda cells: "  ".join(c.ljust(widths[i]) for i, c in enumerate(cells)).rstrip()
    return "\n".join([fmt(headers), fmt(["-" * n for n in widths])] + [fmt(r) for r in rows])


def report(summary, markdown):
    out = []
    if "workloads" not in summary:  # --check-only
        return check_table(summary, markdown)
    peak = summary["sgemm_peak_gflop_s"]
    out.append(f"threads {summary['threads']}, {summary['rounds']} alternating rounds of "
               f"{summary['iters']} timed iterations ({summary['warmup']} warm-up), best round; "
               f"dnnl_sgemm 2048^3 peak in this run: {peak:.0f} GFLOP/s; PyTorch "
               f"{summary['torch']} with BLAS {summary['torch_blas']}")
    if "/blas/libblas" in summary["torch_blas"]:
        out.append("note: PyTorch runs its fc (and, on 1 thread, batch-1 1x1 convolutions) on "
                   "the reference BLAS here; install libopenblas0 for PyTorch at its best")
    by_id = {r["workload"]: r for r in summary["workloads"]}
    grid = []
    for mode, batch, size in TABLE_KINDS:
        cells = [by_id.get(workload_id(m, mode, batch, size)) for m in TABLE_MODELS]
        if any(cells):
            name = f"{'infer' if mode == 'infer' else 'train step'}, batch {batch}, {size}x{size}"
            grid.append([name] + [f"{c['ratio']:.2f}" if c else "-" for c in cells])
    if grid:
        out += ["", "Ratio = PyTorch best ms / cardinal ms (above 1: cardinal is faster)", ""]
        out.append(table(["workload"] + TABLE_MODELS, grid, markdown))
    if FMNIST in by_id:
        f = by_id[FMNIST]
        out += ["", f"Fashion-MNIST training step (resnest_small, batch 128, 28x28, 1 channel): "
                    f"cardinal {f['sides']['cardinal']['ms']:.1f} ms, PyTorch {f['torch_best']} "
                    f"{f['sides'][f['torch_best']]['ms']:.1f} ms, ratio {f['ratio']:.2f}"]
    rows = []
    for r in summary["workloads"]:
        s = r["sides"]
        c = s["cardinal"]
        cell = lambda v: f"{s[v]['ms']:.1f}" if v in s else "-"
        rows.append([r["label"] if r["workload"] != FMNIST else f"{r['label']} ({FMNIST})",
                     f"{c['ms']:.1f}", cell("nchw"), cell("channels_last"), cell("frozen"),
                     f"**{r['ratio']:.2f}**" if markdown else f"{r['ratio']:.2f}",
                     f"{c['gflop_s']:.0f} ({100 * c['gflop_s'] / peak:.0f} %)",
                     f"{c['reorders_per_iter']:.0f}",
                     f"{c['peak_rss_mb']:.0f}", f"{s[r['torch_best']]['peak_rss_mb']:.0f}",
                     f"{r['memory_ratio']:.2f}"])
    out += ["", "Milliseconds per iteration (best round's median); memory = peak RSS in MB "
                "(PyTorch: its fastest variant)", ""]
    out.append(table(["workload", "cardinal ms", "PyTorch NCHW", "channels_last", "frozen",
                      "ratio", "cardinal GFLOP/s (of peak)", "reorders/iter", "cardinal MB",
                      "PyTorch MB", "memory ratio"], rows, markdown))
    bf16 = [r for r in summary["workloads"] if "cardinal_bf16" in r["sides"]]
    if bf16:
        rows = []
        for r in bf16:
            s = r["sides"]
            b, f = s["cardinal_bf16"], s["cardinal"]
            rows.append([r["label"], f"{f['ms']:.1f}", f"{b['ms']:.1f}",
                         f"**{f['ms'] / b['ms']:.2f}**" if markdown else f"{f['ms'] / b['ms']:.2f}",
                         f"{s[r['torch_best']]['ms'] / b['ms']:.2f}",
                         f"{b['top1_agreement']:.2f}", f"{b['logit_max_rel_err']:.1e}",
                         f"{b['peak_rss_mb']:.0f}"])
        out += ["", "bfloat16 inference (`cardinal bench --dtype bfloat16`: bf16 convolutions, "
                    "float32 elsewhere); agreement and error of its last batch against the same "
                    "batch in float32", ""]
        out.append(table(["workload", "float32 ms", "bfloat16 ms", "speed-up", "vs PyTorch best",
                          "top-1 agreement", "max rel logit error", "bf16 MB"], rows, markdown))
    if summary["checks"]:
        out += ["", check_table(summary, markdown)]
    return "\n".join(out)


def check_table(summary, markdown):
    rows = [[c["model"], f"batch {c['batch']}, {c['size']}", f"{c['rel_error_f64']:.1e}",
             f"{c['rel_error']:.1e}", f"{c['torch_rel_error']:.1e}", c["top1_agree"],
             "yes" if c["ok"] else "**NO**"] for c in summary["checks"]]
    return ("Logit check: cardinal and PyTorch float32 against PyTorch float64, same weights and "
            "input; error = max |difference| / max(1, max |logit|)\n\n"
            + table(["model", "input", "cardinal f64", "cardinal f32", "PyTorch f32",
                     "top-1 agree (f32)", "ok"], rows, markdown))


def positive(text):
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--worker":
        torch_worker(json.load(sys.stdin))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default="",
                    help="comma list: ids MODEL:MODE:bBATCH:SIZE, globs over the defaults, fmnist")
    ap.add_argument("--rounds", type=positive, default=2)
    ap.add_argument("--iters", type=positive, default=10, help="timed iterations per process")
    ap.add_argument("--warmup", type=int, default=3, help="untimed iterations per process")
    ap.add_argument("--threads", type=positive, default=2)
    ap.add_argument("--cardinal", default=os.path.join(os.path.dirname(HERE), "build",
                                                        "cardinal"))
    ap.add_argument("--infer-variants", default=",".join(INFER_VARIANTS),
                    help=f"PyTorch variants timed for inference (of {', '.join(INFER_VARIANTS)})")
    ap.add_argument("--train-variants", default=",".join(TRAIN_VARIANTS),
                    help="PyTorch variants timed for training (nchw, channels_last)")
    ap.add_argument("--markdown", action="store_true", help="tables for docs/performance.md")
    ap.add_argument("--json", metavar="FILE", help="also write every measurement here")
    ap.add_argument("--no-check", action="store_true", help="skip the logit check")
    ap.add_argument("--bf16", action="store_true",
                    help="also time cardinal bfloat16 inference (infer workloads)")
    ap.add_argument("--check-only", action="store_true", help="only the logit check, no timing")
    ap.add_argument("--list", action="store_true", help="print the default workload ids")
    args = ap.parse_args()
    if args.list:
        print("\n".join(DEFAULT_WORKLOADS))
        return 0
    if args.warmup < 0:
        ap.error(f"--warmup must be 0 or more, got {args.warmup}")
    if not os.access(args.cardinal, os.X_OK):
        ap.error(f"--cardinal {args.cardinal}: not an executable (build it: "
                 f"cmake --build build --target cardinal)")
    args.infer_variants = [v for v in args.infer_variants.split(",") if v]
    args.train_variants = [v for v in args.train_variants.split(",") if v]
    for flag, chosen, allowed in (("--infer-variants", args.infer_variants, INFER_VARIANTS),
                                  ("--train-variants", args.train_variants, TRAIN_MODES)):
        bad = [v for v in chosen if v not in allowed]
        if bad or not chosen:
            ap.error(f"{flag}: expected a comma list of {', '.join(allowed)}, got "
                     f"{','.join(chosen) or 'nothing'}")
    try:
        workloads = select_workloads(args.workloads)
    except ValueError as e:
        ap.error(str(e))
    if not workloads:
        ap.error("--workloads selects nothing")
    configs = cardinal_configs(args.cardinal)
    unknown = sorted({w.model for w in workloads if w.model not in configs})
    if unknown:
        ap.error(f"--workloads: unknown model {', '.join(unknown)} (known: {', '.join(configs)})")
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    summary = measure(args, workloads, configs, log)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    print(report(summary, args.markdown))
    failed = [c["model"] for c in summary["checks"] if not c["ok"]]
    if failed:
        log(f"logits disagree for: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
