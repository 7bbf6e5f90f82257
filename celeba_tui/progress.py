"""How training shows its progress: silently (tests, other ranks) or with rich bars on stderr."""

from __future__ import annotations

from collections.abc import Callable


class SilentReporter:
    """Receives training events and shows nothing."""

    def message(self, text: str) -> None:
        pass

    def start_stage(self, description: str, total: int) -> Callable[[int], None]:
        """Begin a counted stage (e.g. decoding); returns the function that advances it."""
        return lambda n: None

    def end_stage(self) -> None:
        pass

    def epoch_start(self, epoch: int, epochs: int, images: int) -> None:
        pass

    def advance(self, images: int) -> None:
        pass

    def epoch_end(self, record: dict, is_best: bool, stop_reason: str) -> None:
        pass

    def close(self) -> None:
        pass


class RichReporter(SilentReporter):
    """A rich progress bar per stage and per epoch (images done, images/s, ETA) on stderr."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from celeba_tui.console import output_console

        self.console = output_console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self._task = None
        self._started = False  # started on first use: torchrun ranks other than 0 never show it
        self._epochs = 0  # the run's epochs, as the last epoch_start said
        self._epoch_seconds: list[float] = []

    def _start(self) -> None:
        if not self._started:
            self.progress.start()
            self._started = True

    def message(self, text: str) -> None:
        self._start()
        # Plain text: `celeba-tui[gpu]` in a hint, or a name in brackets, is not markup.
        self.progress.console.print(text, highlight=False, markup=False)

    def _begin(self, description: str, total: int) -> None:
        self._start()
        self._end()
        self._task = self.progress.add_task(description, total=total, rate="")

    def _end(self) -> None:
        if self._task is not None:
            self.progress.remove_task(self._task)
            self._task = None

    def _advance(self, n: int) -> None:
        if self._task is None:
            return
        self.progress.advance(self._task, n)
        speed = next((t.speed for t in self.progress.tasks if t.id == self._task), None)
        if speed:
            self.progress.update(self._task, rate=f"{speed:,.0f} img/s")

    def start_stage(self, description: str, total: int) -> Callable[[int], None]:
        self._begin(description, total)
        return self._advance

    def end_stage(self) -> None:
        self._end()

    def epoch_start(self, epoch: int, epochs: int, images: int) -> None:
        self._epochs = epochs
        self._begin(f"epoch {epoch}/{epochs}", images)

    def advance(self, images: int) -> None:
        self._advance(images)

    def epoch_end(self, record: dict, is_best: bool, stop_reason: str) -> None:
        self._end()
        self._epoch_seconds.append(record["seconds"])
        left = self._epochs - record["epoch"]
        # How long the rest takes at this run's pace (helper-91: a log without a bar told
        # a 14-epoch run from a 25-epoch one by nothing).
        eta = sum(self._epoch_seconds) / len(self._epoch_seconds) * left if left > 0 and not stop_reason else None
        self.message(format_epoch(record, self._epochs, eta) + ("  *best" if is_best else ""))
        if stop_reason:
            self.message(f"early stop: {stop_reason}")

    def close(self) -> None:
        self._end()
        if self._started:
            self.progress.stop()
            self._started = False


def format_epoch(record: dict, epochs: int | None = None, seconds_left: float | None = None) -> str:
    """One line per epoch, in the order of the study's figures: accuracy and loss, train and
    val; of how many epochs and, where given, the time the rest takes."""
    from celeba_tui.console import duration_text

    number = f"{record['epoch']:>3}" + (f"/{epochs}" if epochs else "")
    left = f"  {duration_text(seconds_left / 60)} left" if seconds_left is not None else ""
    return (
        f"epoch {number}  train loss {record['train_loss']:.4f} acc {record['train_acc']:.3f}  "
        f"val loss {record['val_loss']:.4f} acc {record['val_acc']:.3f} bal {record['val_balanced_acc']:.3f}  "
        f"{record['seconds']:.1f} s  {record['images_per_s']:,.0f} img/s{left}"
    )
