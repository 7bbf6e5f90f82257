"""Autolabel speed and memory: decode, inference, the pipeline, a naive loop, peak RSS.

Models: cnn4 and vgg19_variation (64 px, seeded untrained weights: speed does not
depend on the weights), exported with `export_module` exactly as `celeba export-onnx`
does, and their int8 copies (`export-onnx --int8`: QDQ, calibrated on 256 of the
benchmark's images), timed in the same rounds. Images: synthetic CelebA (178x218 JPEG),
rendered into a temporary folder unless --images is given.

Targets (issue 6): end-to-end >= 0.85 x min(decode-only, inference-only);
end-to-end >= 2x a naive serial loop (PIL full decode, torch eager, batch 64, models
one after the other); peak RSS of a whole `autolabel` run for 50,000 images <= 1 GB.

Peak memory is measured on a whole `run_autolabel` (scan, store, pipeline, decisions)
in a child process per size (its VmHWM), over a folder of hard links
that repeat the rendered images up to the size; `--memory 50000` runs the full size,
the default measures 5,000 and 20,000 and extrapolates linearly to 50,000.

The naive loop is what the issue defines and nothing slower: PIL full decode
(`Image.open(...).convert("RGB").resize((64, 64), BILINEAR)`, one thread), then each
PyTorch module in turn on the batch of 64 under `torch.no_grad()` with the same thread
count as onnxruntime (`torch.set_num_threads(--threads)`); torch.inference_mode measured
the same within noise.

The compute ceiling section counts each model's FLOPs (torch's FlopCounterMode) and
sets the ensemble's achieved GFLOP/s beside onnxruntime's own large-matrix sgemm on
the same threads: when inference runs at the sgemm rate no session setting can make
it much faster, and inference-only / naive bounds the end-to-end / naive ratio. The
settings section times onnxruntime options on the merged graph, interleaved in rounds
so a shared machine's load falls on all of them alike.

Run: python benchmarks/autolabel.py [--n 2000] [--rounds 3] [--settings-rounds 3] [--memory 5000,20000]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = ("cnn4", "vgg19_variation")
CLASSES = ("left", "center", "right")


def export_models(folder: Path, task: str = "light") -> list[Path]:
    import torch

    from celeba_tui.models.model_io import ImageClassifier
    from celeba_tui.onnx.export import export_module
    from celeba_tui.onnx.metadata import ModelMetadata
    from celeba_tui.plugins import get_architecture

    paths = []
    for name in MODELS:
        arch = get_architecture(name)
        torch.manual_seed(0)
        module = ImageClassifier(arch.build(len(CLASSES))).eval()
        meta = ModelMetadata(
            task, CLASSES, arch.input_size, preprocess=arch.preprocess, architecture=name, run_id=f"bench-{name}"
        )
        path = folder / f"{task}-{name}.onnx"
        export_module(module, arch.input_size, path, meta)
        paths.append(path)
    return paths


def quantize_models(folder: Path, paths: list[Path], root: Path, names: list[str]) -> list[Path]:
    """int8 copies of the models, calibrated on 256 of the benchmark's images, as `export-onnx --int8` does."""
    from celeba_tui.onnx.metadata import read_metadata
    from celeba_tui.onnx.quantize import CALIBRATION_IMAGES, quantize_model_file
    from celeba_tui.onnx.runtime import model_input

    out = []
    for path in paths:
        meta = read_metadata(path)
        calibration = np.stack([model_input(root / name, meta) for name in names[:CALIBRATION_IMAGES]])
        target = path.with_name(path.stem + "-int8.onnx")
        quantize_model_file(path, target, calibration)
        out.append(target)
    return out


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def line(label: str, value: float, unit: str = "img/s", note: str = "") -> None:
    print(f"  {label:<52} {value:>9,.0f} {unit}  {note}")


def measure_speed(root: Path, names: list[str], paths: list[Path], int8_paths: list[Path], args) -> dict:
    import onnxruntime as ort
    import torch

    from celeba_tui.autolabel.inference import open_ensemble
    from celeba_tui.autolabel.pipeline import BatchDecoder, decode_batches, predict
    from celeba_tui.onnx.metadata import read_metadata
    from celeba_tui.onnx.runtime import session_options

    torch.set_num_threads(args.threads)
    metas = [read_metadata(p) for p in paths]
    session = open_ensemble(paths, metas, provider="cpu", batch_size=args.batch_size, threads=args.threads)
    int8 = open_ensemble(
        int8_paths,
        [read_metadata(p) for p in int8_paths],
        provider="cpu",
        batch_size=args.batch_size,
        threads=args.threads,
    )
    decoder = BatchDecoder(root, session.groups, args.batch_size)
    n = len(names)

    # The naive loop: PIL full decode, torch eager, batch 64, models one after the other.
    from PIL import Image

    from celeba_tui.models.model_io import ImageClassifier
    from celeba_tui.plugins import get_architecture

    torch.manual_seed(0)
    modules = [ImageClassifier(get_architecture(m).build(3)).eval() for m in MODELS]
    naive_names = names[: args.naive_images]
    with torch.no_grad():  # warm, as onnxruntime is: the first call creates oneDNN primitives
        for module in modules:
            module(torch.zeros((64, 64, 64, 3), dtype=torch.uint8))

    def naive() -> int:
        with torch.no_grad():
            for i in range(0, len(naive_names), 64):
                pixels = []
                for name in naive_names[i : i + 64]:
                    with Image.open(root / name) as image:
                        pixels.append(np.asarray(image.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR)))
                batch = torch.from_numpy(np.stack(pixels))
                for module in modules:
                    module(batch)
        return len(naive_names)

    decoded = []

    def decode() -> int:
        decoded[:] = decode_batches(decoder, names, args.workers)
        return n

    def inference_of(ensemble):
        def inference() -> int:
            for batch in decoded:
                ensemble.run(batch.pixels)
            return n

        return inference

    def pipeline_of(ensemble):
        def pipeline() -> int:
            for _ in predict(ensemble, decode_batches(decoder, names, args.workers)):
                pass
            return n

        return pipeline

    warm = BatchDecoder(root, session.groups, args.batch_size)(names[:1]).pixels
    session.run(warm)
    int8.run(warm)
    # Rounds interleave the four measurements so that load from other processes on a
    # shared machine falls on all of them alike; ratios are taken within each round.
    tasks = {
        "decode": decode,
        "inference": inference_of(session),
        "inference_int8": inference_of(int8),
        "pipeline": pipeline_of(session),
        "pipeline_int8": pipeline_of(int8),
        "naive": naive,
        "sgemm": sgemm_task(args.threads),
    }
    rounds = {key: [] for key in tasks}
    for _ in range(args.rounds):
        for key, task in tasks.items():
            start = time.perf_counter()
            rounds[key].append(rate(task(), time.perf_counter() - start))
    decoded.clear()
    results = {key: median(values) for key, values in rounds.items()}
    results["hide_ratio"] = median(
        [p / min(d, i) for d, i, p in zip(rounds["decode"], rounds["inference"], rounds["pipeline"])]
    )
    results["naive_ratio"] = median([p / v for p, v in zip(rounds["pipeline"], rounds["naive"])])
    results["bound_ratio"] = median([i / v for i, v in zip(rounds["inference"], rounds["naive"])])
    results["hide_ratio_int8"] = median(
        [p / min(d, i) for d, i, p in zip(rounds["decode"], rounds["inference_int8"], rounds["pipeline_int8"])]
    )
    results["naive_ratio_int8"] = median([p / v for p, v in zip(rounds["pipeline_int8"], rounds["naive"])])
    # Decode and inference each use every core when timed alone; in the pipeline they
    # share them, so end to end can reach at most 1 / (1/decode + 1/inference) images/s:
    # as a share of min(decode, inference), max/(decode + inference).
    for suffix in ("", "_int8"):
        results["shared_bound" + suffix] = median(
            [max(d, i) / (d + i) for d, i in zip(rounds["decode"], rounds["inference" + suffix])]
        )
    results["sgemm_share"] = median([i * ensemble_gflop() / g for i, g in zip(rounds["inference"], rounds["sgemm"])])
    results["rounds"] = rounds

    # onnxruntime vs torch eager, each model alone, on the same decoded batches.
    sample = [b.pixels[0] for b in list(decode_batches(decoder, names[: 8 * args.batch_size], args.workers))]
    for name, path, module in zip(MODELS, paths, modules):
        single = ort.InferenceSession(str(path), session_options(args.threads), providers=["CPUExecutionProvider"])
        single.run(None, {"pixels": sample[0]})
        start = time.perf_counter()
        for pixels in sample:
            single.run(None, {"pixels": pixels})
        results[f"ort_{name}"] = rate(len(sample) * args.batch_size, time.perf_counter() - start)
        with torch.no_grad():
            module(torch.from_numpy(sample[0]))
            start = time.perf_counter()
            for pixels in sample:
                module(torch.from_numpy(pixels))
        results[f"torch_{name}"] = rate(len(sample) * args.batch_size, time.perf_counter() - start)

    # One merged graph vs two sessions run one after the other (spinning on and off).
    for label, spinning in (("two_sessions_spinning", True), ("two_sessions_no_spinning", False)):
        sessions = [
            ort.InferenceSession(
                str(p), session_options(args.threads, spinning=spinning), providers=["CPUExecutionProvider"]
            )
            for p in paths
        ]
        start = time.perf_counter()
        for pixels in sample:
            for s in sessions:
                s.run(None, {"pixels": pixels})
        results[label] = rate(len(sample) * args.batch_size, time.perf_counter() - start)
    start = time.perf_counter()
    for pixels in sample:
        session.run([pixels])
    results["merged"] = rate(len(sample) * args.batch_size, time.perf_counter() - start)
    results["sample"] = np.concatenate(sample)
    return results


def ensemble_gflop() -> float:
    return sum(model_gflop(name) for name in MODELS)


@functools.cache
def model_gflop(name: str) -> float:
    """GFLOP (2 per multiply-add) for one 64 px image through `name`, counted by PyTorch."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from celeba_tui.models.model_io import ImageClassifier
    from celeba_tui.plugins import get_architecture

    arch = get_architecture(name)
    module = ImageClassifier(arch.build(len(CLASSES))).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(torch.zeros((1, arch.input_size, arch.input_size, 3), dtype=torch.uint8))
    return counter.get_total_flops() / 1e9


def sgemm_task(threads: int, n: int = 2048, repeats: int = 3):
    """onnxruntime's (MLAS) float32 n x n matrix product on `threads` threads, as a task that
    returns the GFLOP it did: this CPU's practical peak, for the compute ceiling."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from celeba_tui.onnx.runtime import session_options

    spec = [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ABC"]
    graph = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["C"])], "sgemm", spec[:2], spec[2:])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = ort.InferenceSession(
        model.SerializeToString(), session_options(threads), providers=["CPUExecutionProvider"]
    )
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    session.run(None, {"A": a, "B": a})

    def task() -> float:
        for _ in range(repeats):
            session.run(None, {"A": a, "B": a})
        return repeats * 2 * n**3 / 1e9

    return task


def decode_once_check(root: Path, names: list[str]) -> tuple[float, int]:
    """How far a 64 px image resized from the 128 px decode is from decode_resized(path, 64)."""
    from PIL import Image

    from celeba_tui.images import decode_resized

    diffs = []
    for name in names:
        direct = decode_resized(root / name, 64).astype(np.int16)
        via = np.asarray(Image.fromarray(decode_resized(root / name, 128)).resize((64, 64), Image.Resampling.BILINEAR))
        diffs.append(np.abs(direct - via.astype(np.int16)))
    stacked = np.stack(diffs)
    return float(stacked.mean()), int(stacked.max())


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not ru_maxrss: on Linux that keeps the peak
    of the forked parent's pages across exec, so a child would report the benchmark's own size."""
    try:
        for row in Path("/proc/self/status").read_text().splitlines():
            if row.startswith("VmHWM:"):
                return int(row.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, kB elsewhere


def memory_child(args) -> None:
    """Run a whole autolabel on `args.memory_child` hard-linked images; print this process's peak RSS."""
    from celeba_tui.autolabel.run import AutolabelOptions, run_autolabel
    from celeba_tui.workspace import create_workspace

    work = Path(args.work)
    root = work / f"links-{args.memory_child}"
    sources = sorted((Path(args.images_dir)).glob("*.jpg"))
    root.mkdir(exist_ok=True)
    for i in range(args.memory_child):
        link = root / f"{i:06d}.jpg"
        if not link.exists():
            os.link(sources[i % len(sources)], link)
    ws = create_workspace(work / f"ws-{args.memory_child}", root)
    ws.open_store(create=True).close()
    paths = [Path(p) for p in args.models.split(",")]
    report = run_autolabel(
        ws, paths, AutolabelOptions(batch_size=args.batch_size, workers=args.workers, threads=args.threads, force=True)
    )
    peak_mb = peak_rss_mb()
    print(
        json.dumps(
            {
                "n": args.memory_child,
                "peak_mb": peak_mb,
                "images_per_s": report.images_per_s,
                "seconds": report.seconds,
            }
        )
    )


def measure_memory(sizes: list[int], images_dir: Path, paths: list[Path], work: Path, args) -> list[dict]:
    out = []
    for n in sizes:
        cmd = [
            sys.executable,
            __file__,
            "--memory-child",
            str(n),
            "--images-dir",
            str(images_dir),
            "--work",
            str(work),
            "--models",
            ",".join(map(str, paths)),
            "--batch-size",
            str(args.batch_size),
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="a folder of 178x218 JPEGs (default: render synthetic ones)")
    parser.add_argument("--n", type=int, default=2000, help="images for the speed figures")
    parser.add_argument("--naive-images", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds of decode, inference, pipeline, naive"
    )
    parser.add_argument(
        "--settings-rounds", type=int, default=1, help="rounds of the onnxruntime settings table (0 to skip)"
    )
    parser.add_argument("--memory", default="5000,20000", help="image counts for the peak-RSS runs ('' to skip)")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--images-dir", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--models", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = args.images
        if root is None:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "celeba_tui",
                    "synth",
                    "--out",
                    str(tmp / "synth"),
                    "-n",
                    str(args.n),
                    "--seed",
                    "0",
                    "--workers",
                    str(args.workers),
                ],
                check=True,
                capture_output=True,
            )
            root = tmp / "synth" / "img_align_celeba"
        names = sorted(p.name for p in root.glob("*.jpg"))[: args.n]
        paths = export_models(tmp)
        int8_paths = quantize_models(tmp, paths, root, names)
        print(f"load average before: {os.getloadavg()[0]:.2f} (a shared machine: compare ratios within one run)")
        print(
            f"{len(names):,} images of {root}, models {' + '.join(MODELS)} (64 px), batch {args.batch_size}, "
            f"{args.workers} decode threads, {args.threads} onnxruntime threads, {os.cpu_count()} CPUs"
        )
        r = measure_speed(root, names, paths, int8_paths, args)
        print(f"speed (CPUExecutionProvider; median of {args.rounds} interleaved rounds, ratios within each round)")
        line("decode only (simplejpeg DCT-scaled + PIL bilinear)", r["decode"])
        line("inference only (merged ensemble, both models)", r["inference"])
        line(
            "end to end (threads decode while onnxruntime runs)",
            r["pipeline"],
            note=f"{r['hide_ratio']:.2f}x min(decode, inference) (target >= 0.85; "
            f"{r['shared_bound']:.2f}x if they shared the cores perfectly)",
        )
        line("naive serial loop (PIL full decode, torch eager)", r["naive"])
        print(f"  {'end to end / naive':<52} {r['naive_ratio']:>9.2f}x      (target >= 2)")
        print(f"  {'inference only / naive (bound on the line above)':<52} {r['bound_ratio']:>9.2f}x")
        print("the same models exported with --int8 (calibrated on 256 of these images)")
        line("inference only (merged int8 ensemble)", r["inference_int8"])
        line(
            "end to end, int8",
            r["pipeline_int8"],
            note=f"{r['hide_ratio_int8']:.2f}x min(decode, inference) (target >= 0.85; "
            f"{r['shared_bound_int8']:.2f}x if they shared the cores perfectly)",
        )
        print(f"  {'end to end int8 / naive':<52} {r['naive_ratio_int8']:>9.2f}x      (target >= 2)")
        for key, values in r["rounds"].items():
            unit = "GFLOP/s" if key == "sgemm" else "img/s"
            print(f"    rounds, {key}: {', '.join(f'{v:,.0f}' for v in values)} {unit}")
        print("onnxruntime vs torch eager, one model, same batches")
        for name in MODELS:
            ratio = r[f"ort_{name}"] / r[f"torch_{name}"]
            line(f"{name}: onnxruntime", r[f"ort_{name}"])
            line(f"{name}: torch eager", r[f"torch_{name}"], note=f"onnxruntime {ratio:.2f}x torch")
        print("ensemble: one merged graph vs two sessions")
        line("merged graph, one session", r["merged"])
        line("two sessions, spinning thread pools", r["two_sessions_spinning"])
        line("two sessions, spinning disabled", r["two_sessions_no_spinning"])
        gflop = {name: model_gflop(name) for name in MODELS}
        total = sum(gflop.values())
        peak = r["sgemm"]
        print(f"compute ceiling ({args.threads} threads; sgemm timed in the same rounds)")
        print(
            f"  {'GFLOP per image: ' + ' + '.join(f'{name} {g:.3f}' for name, g in gflop.items()):<52} {total:>9.3f} GFLOP"
        )
        line(
            "merged ensemble inference",
            r["inference"] * total,
            "GFLOP/s",
            f"({r['sgemm_share']:.0%} of onnxruntime's sgemm)",
        )
        line("onnxruntime sgemm 2048x2048 (practical peak)", peak, "GFLOP/s")
        line("ensemble at the sgemm rate (fp32 inference ceiling)", peak / total)
        print(f"  {'sgemm-rate ceiling / naive':<52} {peak / total / r['naive']:>9.2f}x")
        if args.settings_rounds:
            from autolabel_settings import measure_settings

            settings = measure_settings(paths, r["sample"], args.threads, args.settings_rounds)
            first = next(iter(settings.values()))
            print(
                f"onnxruntime settings, merged ensemble, inference only ({len(r['sample'])} images, "
                f"median of {args.settings_rounds} interleaved rounds)"
            )
            for label, value in settings.items():
                line(label, value, note=f"{value / first:.2f}x")
        mean_diff, max_diff = decode_once_check(root, names[:200])
        print("decode once at 128 px and resize to 64 vs decode_resized(path, 64), 200 images:")
        print(
            f"  mean |difference| {mean_diff:.2f} grey levels, max {max_diff}  (so each size is decoded from the file)"
        )
        sizes = [int(s) for s in args.memory.split(",") if s.strip()]
        if sizes:
            print("peak RSS of a whole autolabel run (child process, hard-linked images)")
            runs = measure_memory(sizes, root, paths, tmp, args)
            for run in runs:
                line(f"{run['n']:,} images ({run['images_per_s']:,.0f} img/s in the pipeline)", run["peak_mb"], "MB")
            if runs[-1]["n"] < 50_000 and len(runs) >= 2:
                a, b = runs[-2], runs[-1]
                slope = (b["peak_mb"] - a["peak_mb"]) / (b["n"] - a["n"])
                estimate = b["peak_mb"] + slope * (50_000 - b["n"])
                line(
                    "50,000 images, linear extrapolation",
                    estimate,
                    "MB",
                    f"({slope * 1000:.2f} MB per 1,000 images; target <= 1024)",
                )
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
