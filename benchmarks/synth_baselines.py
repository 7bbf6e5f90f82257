"""Is the synthetic CelebA learnable but not trivial? Cheap baselines next to CNN4, per task.

Renders a seeded synthetic dataset, splits it 70/30 (stratified, seeded) per task and
reports validation accuracy of: the majority class; logistic regression on 8x8 grey
pixels; one hand-made feature per task (left-minus-right brightness for light, the
grey column profile for orientation) with logistic regression; and CNN4 (the project's
plugin) trained a few epochs with Adam on 64x64 pixels, flips as augmentation.

    python benchmarks/synth_baselines.py                 # 3000 images, 10 epochs
    python benchmarks/synth_baselines.py -n 1000 --epochs 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from celeba_tui.synth.truth import CLASSES

TASKS = ("light", "orientation")


def load_pixels(out: Path, names, size: int = 64) -> np.ndarray:
    from celeba_tui.images import decode_resized

    return np.stack([decode_resized(out / "img_align_celeba" / name, size) for name in names])


def grey(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def pooled(grey_images: np.ndarray, side: int) -> np.ndarray:
    n, h, w = grey_images.shape
    return grey_images.reshape(n, side, h // side, side, w // side).mean(axis=(2, 4)).reshape(n, -1)


def brightness_difference(grey_images: np.ndarray) -> np.ndarray:
    """Left half minus right half of the face box (cheeks, nose; aligned crops), over its mean."""
    face = grey_images[:, 24:44, 20:44]
    left, right = face[:, :, :12].mean(axis=(1, 2)), face[:, :, 12:].mean(axis=(1, 2))
    return ((left - right) / (face.mean(axis=(1, 2)) + 1))[:, None]


def column_profile(grey_images: np.ndarray) -> np.ndarray:
    """Mean grey of 16 column bands over the face rows, normalised per image."""
    rows = grey_images[:, 12:56, :]
    profile = rows.reshape(len(rows), rows.shape[1], 16, -1).mean(axis=(1, 3))
    return (profile - profile.mean(axis=1, keepdims=True)) / (profile.std(axis=1, keepdims=True) + 1)


def logistic(train_x, train_y, val_x, val_y) -> float:
    """Validation accuracy of a standardised logistic regression, C chosen by 3-fold CV."""
    import warnings

    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=[0.01, 0.1, 1, 10], cv=3, max_iter=3000))
    with warnings.catch_warnings():
        # scikit-learn 1.9 announces default changes of LogisticRegressionCV; the fit is the same.
        warnings.simplefilter("ignore", FutureWarning)
        model.fit(train_x, train_y)
    return float((model.predict(val_x) == val_y).mean())


def train_cnn(train_images, train_y, val_images, val_y, epochs: int, seed: int) -> tuple[float, float]:
    """CNN4 trained with Adam 1e-3, batch 32, random flips (swapping left and right)."""
    import torch
    import torch.nn.functional as F

    from celeba_tui.plugins import get_architecture

    torch.manual_seed(seed)
    model = get_architecture("cnn4").build(3)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_train = torch.from_numpy(train_images).permute(0, 3, 1, 2).contiguous()
    x_val = torch.from_numpy(val_images).permute(0, 3, 1, 2).float().div(255)
    y_train = torch.from_numpy(train_y)
    swap = torch.tensor([2, 1, 0])
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    best = 0.0
    for _ in range(epochs):
        model.train()
        for batch in np.array_split(rng.permutation(len(x_train)), max(1, len(x_train) // 32)):
            images, labels = x_train[batch].float().div(255), y_train[batch]
            flip = torch.from_numpy(rng.random(len(batch)) < 0.5)
            images[flip] = images[flip].flip(-1)
            labels = torch.where(flip, swap[labels], labels)
            optimiser.zero_grad()
            F.cross_entropy(model(images), labels).backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            predicted = torch.cat([model(chunk).argmax(1) for chunk in x_val.split(256)]).numpy()
        best = max(best, float((predicted == val_y).mean()))
    return best, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="dataset folder (reused if it has ground_truth.csv)")
    parser.add_argument("--no-cnn", action="store_true")
    args = parser.parse_args()

    import torch
    from sklearn.model_selection import train_test_split

    from celeba_tui.synth.dataset import SynthSpec, read_ground_truth, write_dataset

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        if not (out / "ground_truth.csv").is_file():
            started = time.perf_counter()
            write_dataset(out, args.n, SynthSpec(seed=args.seed), workers=args.workers)
            print(f"rendered {args.n} images in {time.perf_counter() - started:.1f} s")
        truth = read_ground_truth(out)
        images = load_pixels(out, truth["image"])
    grey64 = grey(images)
    features = {"logreg 8x8 grey": pooled(grey64, 8)}
    simple = {
        "light": ("brightness L-R", brightness_difference(grey64)),
        "orientation": ("column profile", column_profile(grey64)),
    }
    rows = []
    for task in TASKS:
        y = truth[task].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()
        train, val = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=args.seed)
        result = {"task": task, "mix": " ".join(f"{(y == i).mean():.2f}" for i in range(3))}
        result["majority"] = float((y[val] == np.bincount(y[train]).argmax()).mean())
        result["logreg 8x8"] = logistic(
            features["logreg 8x8 grey"][train], y[train], features["logreg 8x8 grey"][val], y[val]
        )
        name, feature = simple[task]
        result["simple feature"] = f"{logistic(feature[train], y[train], feature[val], y[val]):.3f} ({name})"
        if not args.no_cnn:
            accuracy, seconds = train_cnn(images[train], y[train], images[val], y[val], args.epochs, args.seed)
            result["cnn4"] = accuracy
            result["cnn4 s"] = seconds
        rows.append(result)
        print(_format(result), flush=True)
    print(
        f"\n{len(truth)} images, 70/30 stratified split (seed {args.seed}); validation accuracy, CNN4 best of {args.epochs} epochs"
    )


def _format(result: dict) -> str:
    return "  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items())


if __name__ == "__main__":
    main()
