"""`celeba cycle`: train, export, auto-label and name the next queue, reusing what is already done;
and `celeba autolabel` taking runs, exported into <workspace>/models/ once."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app

runner = CliRunner()


def cli(workspace, *args):
    result = runner.invoke(app, [*args, "-w", str(workspace.path)])
    return result


def json_of(result) -> dict:
    return json.loads(result.stdout[result.stdout.index("{") :])


@pytest.mark.slow
def test_cycle_trains_exports_labels_then_reuses(labelled_workspace, tiny_architecture, one_thread):
    workspace, arch = labelled_workspace, tiny_architecture
    result = cli(workspace, "cycle", "-t", "light", "-p", arch, "--epochs", "1", "--force", "--json")
    assert result.exit_code == 0, result.output
    first = json_of(result)
    assert [step["action"] for step in first["plan"]["steps"]] == ["train"]
    assert first["runs"][0]["action"] == "train" and first["models"][0]["action"] == "exported"
    assert first["autolabel"]["tasks"][0]["task"] == "light" and (workspace.path / "models").is_dir()
    # Nothing changed: the run and its export are reused, nothing is trained or exported again.
    again = cli(workspace, "cycle", "-t", "light", "-p", arch, "--epochs", "1", "--force", "--json")
    assert again.exit_code == 0, again.output
    second = json_of(again)
    assert second["runs"] == [{**first["runs"][0], "action": "reuse"}]
    assert second["models"][0]["action"] == "reused" and second["models"][0]["path"] == first["models"][0]["path"]
    assert len(list(workspace.runs_dir.iterdir())) == 1
    # (--force: a run of one epoch on these few labels may score what guessing scores.)
    # In words: the plan first, the architectures of the earlier runs, the next queue's command.
    result = cli(workspace, "cycle", "-t", "light", "--epochs", "1", "--force")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("cycle for task light") < out.index("reused ")
    assert "reuse run light-tiny_test-" in out and "earlier light runs" in out
    # What to run next on stderr, as every command's Next: (the CLI review of 2026-12-07).
    hints = result.stderr
    assert "celeba label --queue" in hints or "nothing for people to label in light" in hints
    assert "Next:" not in out and "nothing for people" not in out
    # The next command as this one was typed (found by attack pass 21: its -w was dropped).
    assert "nothing for people to label" in hints or f"-w {workspace.path}" in hints
    # autolabel takes runs too, and reuses their export.
    result = cli(workspace, "autolabel", "-m", f"best:{arch}", "-t", "light", "--json", "--force")
    assert result.exit_code == 0, result.output
    (model,) = json_of(result)["model_files"]
    assert model["action"] == "reused" and model["path"] == first["models"][0]["path"]
    # Other settings or new labels: the plan trains again (shown, not run, with --dry-run).
    plan = cli(workspace, "cycle", "-t", "light", "-p", arch, "--epochs", "2", "--dry-run")
    assert plan.exit_code == 0 and "1. train tiny_test" in plan.stdout
    with workspace.open_store() as store:
        row = {"image": "000001.jpg", "task": "light", "label": "right", "annotator": "bob", "source": "human"}
        store.add_labels(pd.DataFrame([row]))
    plan = cli(workspace, "cycle", "-t", "light", "-p", arch, "--epochs", "1", "--force", "--dry-run", "--json")
    assert json_of(plan)["plan"]["steps"][0]["action"] == "train"


def test_a_run_stretched_for_few_labels_is_reused(labelled_workspace, tiny_architecture, one_thread):
    # The plan says the schedule it shows will stretch, before any run says how.
    plan = cli(labelled_workspace, "cycle", "-t", "light", "-p", tiny_architecture, "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert "few labels: the recipe wants 400 optimiser steps" in plan.stdout
    enough = cli(labelled_workspace, "cycle", "-t", "light", "-p", tiny_architecture, "--epochs", "400", "--dry-run")
    assert enough.exit_code == 0 and "few labels" not in enough.stdout
    first = cli(labelled_workspace, "cycle", "-t", "light", "-p", tiny_architecture, "--json")
    assert first.exit_code == 0, first.output
    (run_dir,) = labelled_workspace.runs_dir.iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    # The architecture asks for 2 epochs; the recipe's minimum of optimiser steps took more.
    assert config["asked_schedule"]["epochs"] == 2 and config["epochs"] > 2
    again = cli(labelled_workspace, "cycle", "-t", "light", "-p", tiny_architecture, "--json")
    assert again.exit_code == 0, again.output
    assert json_of(again)["runs"][0]["action"] == "reuse"
    # A hostile asked_schedule is no reason to crash, and speaks for the schedule only: the run is not reused.
    for asked in ([1, 2], {**config["asked_schedule"], "seed": 5, "recipe": "study"}):
        (run_dir / "config.json").write_text(json.dumps({**config, "seed": 5, "asked_schedule": asked}))
        plan = cli(labelled_workspace, "cycle", "-t", "light", "-p", tiny_architecture, "--dry-run", "--json")
        assert plan.exit_code == 0, plan.output
        assert json_of(plan)["plan"]["steps"][0]["action"] == "train"


def test_a_run_asked_to_learn_otherwise_is_not_reused(labelled_workspace, tiny_architecture, one_thread):
    # `celeba train` takes what the cycle does not: hard targets, landmark cues, balanced classes.
    # (--force: one epoch of the tiny network scores what guessing scores, which a cycle refuses to reuse.)
    base = ["-t", "light", "-p", tiny_architecture, "--epochs", "1"]
    for other, why in (
        (["--hard-targets"], "target_kind hard, now dawid-skene"),
        (["--balance-classes"], "balance_classes yes, now no"),
        (["--soft-targets-from", "votes"], "target_kind votes, now dawid-skene"),
    ):
        trained = cli(labelled_workspace, "train", *base, *other)
        assert trained.exit_code == 0, trained.output
        plan = cli(labelled_workspace, "cycle", *base, "--force", "--dry-run", "--json")
        step = json_of(plan)["plan"]["steps"][0]
        assert step["action"] == "train", other
        # Says why the latest run is not reused (helper-68: the demo's run was trained again without a word).
        assert step["not_reused"]["because"] == [why], step["not_reused"]
        said = cli(labelled_workspace, "cycle", *base, "--force", "--dry-run").output
        assert f"not reusing run {step['not_reused']['run']}: {why}" in " ".join(said.split())
    # The cycle asks for vote shares too: then that run is the one it reuses.
    plan = cli(labelled_workspace, "cycle", *base, "--force", "--soft-targets-from", "votes", "--dry-run", "--json")
    assert json_of(plan)["plan"]["steps"][0]["action"] == "reuse"
    bad = cli(labelled_workspace, "cycle", *base, "--force", "--soft-targets-from", "majority", "--dry-run")
    assert bad.exit_code == 2 and "--soft-targets-from 'majority'" in bad.output
    # helper-72: a task whose mirror is no example of a class had no way through the loop
    # without flips (train took --augment, the cycle did not; nor autolabel's --tta).
    assert cli(labelled_workspace, "train", *base, "--augment", "none").exit_code == 0
    plan = cli(
        labelled_workspace, "cycle", *base, "--force", "--augment", "none", "--tta", "none", "--dry-run", "--json"
    )
    assert json_of(plan)["plan"]["steps"][0]["action"] == "reuse"
    assert json_of(plan)["plan"]["autolabel"]["tta"] == "none"  # attack pass 36: in the words only
    said = " ".join(
        cli(
            labelled_workspace, "cycle", *base, "--force", "--augment", "none", "--tta", "none", "--dry-run"
        ).output.split()
    )
    assert "autolabel light (one model: it labels at >= high; high 0.9; no flip test-time augmentation)" in said, said
    for option in ("--augment", "--tta"):
        bad = cli(labelled_workspace, "cycle", *base, "--force", option, "flop", "--dry-run")
        assert bad.exit_code == 2 and "flop" in bad.output
    # Asked as the cycle would ask, the run is reused; so is one trained before runs recorded it.
    assert cli(labelled_workspace, "train", *base).exit_code == 0
    plan = cli(labelled_workspace, "cycle", *base, "--force", "--dry-run", "--json")
    reused = json_of(plan)["plan"]["steps"][0]
    assert reused["action"] == "reuse"
    config_path = labelled_workspace.runs_dir / reused["run"] / "config.json"
    config = json.loads(config_path.read_text())
    assert config["target_kind"] == "dawid-skene" and config["landmark_cue_mode"] == "where they help"
    older = {k: v for k, v in config.items() if k not in ("target_kind", "landmark_cue_mode")}
    config_path.write_text(json.dumps(older))
    plan = cli(labelled_workspace, "cycle", *base, "--force", "--dry-run", "--json")
    assert json_of(plan)["plan"]["steps"][0]["action"] == "reuse"


def test_cycle_refuses_before_any_work(labelled_workspace, tiny_architecture):
    result = cli(labelled_workspace, "cycle", "-t", "light")
    assert result.exit_code == 2 and "no architectures to train" in result.output and "--plugin" in result.output
    result = cli(labelled_workspace, "cycle", "-t", "mood", "-p", tiny_architecture)
    assert result.exit_code == 2 and "unknown task" in result.output
    result = cli(labelled_workspace, "cycle", "-t", "light", "-p", "nonesuch")
    assert result.exit_code == 2 and "nonesuch" in result.output
    result = cli(labelled_workspace, "cycle", "-t", "light", "-p", tiny_architecture, "--high", "2")
    assert result.exit_code == 2
    # --target-precision chooses the thresholds: beside --high or --low one was ignored
    # without a word (the model-side walkthrough of 2026-12-07).
    for typed in (["--high", "0.95"], ["--low", "0.3"]):
        for command in (["cycle", "-t", "light", "-p", tiny_architecture, "--dry-run"], ["autolabel", "-m", "x.onnx"]):
            result = cli(labelled_workspace, *command, *typed, "--target-precision", "0.9")
            assert result.exit_code == 2 and "give either it or them, not both" in result.output, result.output
    result = cli(
        labelled_workspace, "cycle", "-t", "light", "-p", tiny_architecture, "--device", "cuda:99", "--dry-run"
    )
    assert result.exit_code == 2 and "unknown device 'cuda:99'" in result.output
    config = labelled_workspace.config_path
    config.write_text(config.read_text() + "\n[train]\narchitectures = 3\n")
    result = cli(labelled_workspace, "cycle", "-t", "light")
    assert result.exit_code == 2 and "[train] architectures must be" in result.output
    assert not labelled_workspace.runs_dir.exists() or not any(labelled_workspace.runs_dir.iterdir())


def test_cycle_reads_configured_architectures(labelled_workspace, tiny_architecture):
    config = labelled_workspace.config_path
    config.write_text(config.read_text() + f'\n[train]\narchitectures = ["{tiny_architecture}"]\n')
    result = cli(labelled_workspace, "cycle", "-t", "light", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json_of(result)["plan"]
    assert plan["architectures_from"].startswith("[train] architectures") and plan["labels"]["images"] == 40
    # In words, the count is what the run will learn from: --max-images caps it.
    words = cli(labelled_workspace, "cycle", "-t", "light", "--dry-run", "--max-images", "25")
    assert words.exit_code == 0, words.output
    assert "25 labelled images to learn from (a sample of the 40)" in words.stdout
    # As `celeba train` does, the plan refuses a cap of nothing.
    none = cli(labelled_workspace, "cycle", "-t", "light", "--dry-run", "--max-images", "0")
    assert none.exit_code == 2 and "--max-images must be at least 1" in none.output
    negative = cli(labelled_workspace, "cycle", "-t", "light", "--dry-run", "--seed", "-1")
    assert negative.exit_code == 2 and "--seed -1: must be between 0 and" in negative.output


def test_few_labels_compares_the_schedule_with_the_recipes_minimum_over_the_train_share():
    from celeba_tui.autolabel.cycle import few_labels

    settings = {"batch_size": 64, "epochs": 25, "lr": 3e-3, "min_steps": 400}
    # 1,500 labelled: ~1,050 training images, 17 steps an epoch, 425 in all.
    assert few_labels(settings, 1500) is None
    likely = few_labels(settings, 700)  # ~490: 8 steps an epoch, 200 in all
    assert likely is not None and likely.steps(490) >= 400 and likely.batch_size < settings["batch_size"]
    assert few_labels({**settings, "min_steps": 0}, 700) is None  # the study recipe has no minimum
    # --epochs is kept (the walkthrough of 2026-12-07: the plan promised "more epochs" the run never took).
    assert few_labels(settings, 700, {"epochs"}).epochs == settings["epochs"]


def test_the_plan_shows_a_steps_settings_a_line_per_kind():
    from celeba_tui.autolabel.cycle import settings_lines

    settings = {
        "epochs": 25, "batch_size": 64, "lr": 0.003, "seed": 0, "recipe": "noisy-labels", "augment": "flip",
        "preprocess": "resize:64", "max_images": None, "min_steps": 400, "pseudo_labels": False,
        "target_kind": "dawid-skene", "a_new_setting": 7, "started_from": {"run": "/ws/runs/light-a", "weights": "x"},
    }  # fmt: skip
    assert settings_lines(settings) == [
        "schedule: epochs 25, batch_size 64, lr 0.003, min_steps 400, seed 0",
        "targets: target_kind dawid-skene, pseudo_labels no",
        "input: preprocess resize:64, augment flip, a_new_setting 7",  # a setting of no kind joins the last
        "starts from run light-a",
    ]
    assert settings_lines({"seed": 1, "started_from": None}) == ["schedule: seed 1"]


def test_a_demo_plans_augmentations_reach_its_self_training_round():
    # A plan that trains with other augmentations (a benchmark variant) trains its
    # self-training round alike, and the cycle compares runs by what it would record.
    from dataclasses import replace

    from celeba_tui.autolabel.cycle import wanted_settings
    from celeba_tui.demo import DemoPlan, self_training_options

    plan = replace(DemoPlan.for_mode(False), augment="flip")
    options = self_training_options(plan, "orientation", 0)
    assert options.augment == "flip"
    assert wanted_settings(options, "small_resnet")["augment"] == "flip"
    default = self_training_options(DemoPlan.for_mode(False), "orientation", 0)
    assert wanted_settings(default, "small_resnet")["augment"] == "flip,geometry,photometric,noise"


def test_runs_of_classes_since_reordered_are_neither_reused_nor_exported(
    labelled_workspace, tiny_architecture, one_thread
):
    # Found by attack pass 13: the plan reused such a run, then failed at every rerun; autolabel
    # exported it into models/ first and refused afterwards.
    base = ["-t", "light", "-p", tiny_architecture, "--epochs", "1"]
    assert cli(labelled_workspace, "train", *base).exit_code == 0
    model = labelled_workspace.path.parent / "light.onnx"
    exported = cli(labelled_workspace, "export-onnx", "latest", "-t", "light", "-o", str(model))
    assert exported.exit_code == 0, exported.output
    toml = labelled_workspace.path / "celeba.toml"
    text = toml.read_text()
    assert '["left", "center", "right"]' in text
    toml.write_text(text.replace('["left", "center", "right"]', '["center", "left", "right"]', 1))
    plan = cli(labelled_workspace, "cycle", *base, "--dry-run", "--json")
    assert json_of(plan)["plan"]["steps"][0]["action"] == "train"
    refused = cli(labelled_workspace, "autolabel", "-m", f"latest:{tiny_architecture}", "-t", "light")
    assert refused.exit_code == 2 and "learnt light as left, center, right" in refused.output, refused.output
    assert not (labelled_workspace.path / "models").exists()
    # A model file of another task than -t asks for is refused too (it labelled light before).
    other = cli(labelled_workspace, "autolabel", "-m", str(model), "-t", "orientation")
    assert other.exit_code == 2 and f"{model}: a model of task 'light', not of -t orientation" in other.output
    # A folder of models is not one: the error says how to name them (it said "not a training run").
    folder = cli(labelled_workspace, "autolabel", "-m", str(model.parent), "-t", "light")
    assert folder.exit_code == 2 and "a folder of 1 .onnx file, not a model or a run" in folder.output
    assert f"-m {model.parent / '*.onnx'}" in folder.output


def test_held_out_labels_leave_out_what_a_model_trained_on_whatever_the_split_became(
    labelled_workspace, tiny_architecture, one_thread
):
    # Found by attack pass 13: after `train --new-split`, autolabel of the first run measured
    # precision on a "validation split" 37 of whose 49 images that run had trained on.
    from celeba_tui.training.split import stored_split

    base = ["-t", "light", "-p", tiny_architecture, "--epochs", "1"]
    assert cli(labelled_workspace, "train", *base).exit_code == 0
    (first,) = labelled_workspace.runs_dir.iterdir()
    split = stored_split(labelled_workspace.splits_dir, "light")
    recorded = json.loads((first / "trained-on.json").read_text())["images"]
    assert recorded == sorted(split.loc[split["split"] == "train", "image"])
    assert cli(labelled_workspace, "train", *base, "--new-split", "--seed", "1").exit_code == 0
    now = stored_split(labelled_workspace.splits_dir, "light")
    overlap = set(now.loc[now["split"] == "val", "image"]) & set(recorded)
    assert overlap  # the new validation split holds images the first run trained on
    result = cli(labelled_workspace, "autolabel", "-m", first.name, "--target-precision", "0.5", "--json", "--force")
    assert result.exit_code == 0, result.output
    (task,) = json_of(result)["tasks"]
    source = json.dumps(task)
    assert f"{len(overlap)} images a model trained on left out" in source, source


def test_a_run_records_the_split_it_read_not_the_one_a_later_new_split_wrote(
    labelled_workspace, tiny_architecture, one_thread, monkeypatch
):
    # Found by attack pass 15: a `train --new-split` finishing while another run trained
    # made the first run say it learnt from the new split, and `cycle` reused it.
    from celeba_tui.training import fit as fit_module
    from celeba_tui.training.split import split_path

    base = ["-t", "light", "-p", tiny_architecture, "--epochs", "1"]
    split = split_path(labelled_workspace.splits_dir, "light")
    real_fit = fit_module.fit

    def another_run_replaces_the_split(*args, **kwargs):
        lines = split.read_text().splitlines()
        flipped = [line.replace(",train", ",VAL").replace(",val", ",train").replace(",VAL", ",val") for line in lines]
        split.write_text("\n".join(flipped) + "\n")
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(fit_module, "fit", another_run_replaces_the_split)
    trained = cli(labelled_workspace, "train", *base)
    assert trained.exit_code == 0, trained.output
    monkeypatch.undo()
    (run_dir,) = labelled_workspace.runs_dir.iterdir()
    recorded = json.loads((run_dir / "labels.json").read_text())["split"]
    assert recorded == json.loads((run_dir / "config.json").read_text())["split_sha256"]
    plan = cli(labelled_workspace, "cycle", *base, "--dry-run", "--json")
    assert json_of(plan)["plan"]["steps"][0]["action"] == "train"


def test_renaming_an_annotator_changes_no_label_so_the_run_is_reused(labelled_workspace):
    # Found by attack pass 15: `annotators rename` made `cycle` train again.
    from dataclasses import replace

    from celeba_tui.training.run_labels import LabelsFingerprint, current_fingerprint

    with labelled_workspace.open_store() as store:
        name = store.live_labels(task="light", sources=["human"])["annotator"].iloc[0]
    before = current_fingerprint(labelled_workspace, "light")
    # A run recorded before annotators were keyed by id (labels.json without keyed_by) is recognised too.
    legacy = LabelsFingerprint(before.by_name, before.images, before.split, keyed_by="name")
    assert legacy.same_labels(before) and not legacy.same_labels(replace(before, by_name="other"))
    renamed = cli(labelled_workspace, "annotators", "rename", name, "someone-else")
    assert renamed.exit_code == 0, renamed.output
    after = current_fingerprint(labelled_workspace, "light")
    assert after.same_labels(before) and LabelsFingerprint(before.labels, before.images).same_labels(after)
    with labelled_workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "right", "someone-else")
    assert current_fingerprint(labelled_workspace, "light").labels != before.labels


def test_a_missing_task_or_model_says_what_it_takes_here(labelled_workspace):
    # helper-68: `celeba cycle` said only "Missing option '--task' / '-t'".
    cycle = cli(labelled_workspace, "cycle", "--dry-run")
    assert cycle.exit_code == 2
    assert "Missing option '--task' / '-t': the tasks here are light, orientation" in cycle.output
    autolabel = cli(labelled_workspace, "autolabel", "--dry-run")
    assert autolabel.exit_code == 2 and "e.g. -m latest" in autolabel.output
    # The workspace named before the command is the one whose tasks are named (attack pass 34).
    config = labelled_workspace.path / "celeba.toml"
    config.write_text(config.read_text().replace('name = "light"', 'name = "zzz"'))
    grouped = runner.invoke(app, ["-w", str(labelled_workspace.path), "cycle"])
    assert "the tasks here are zzz, orientation" in grouped.output, grouped.output


def test_why_a_run_is_not_reused_in_words(tmp_path):
    import json as json_module

    from celeba_tui.autolabel.cycle import reuse_differences
    from celeba_tui.models.run_files import Run
    from celeba_tui.training.run_labels import LabelsFingerprint

    run = Run(tmp_path, {"run_id": "r", "architecture": "a", "epochs": 14, "lr": 0.001}, {})
    now = LabelsFingerprint("new", 700, "split")
    assert reuse_differences(run, {"epochs": 25, "lr": 0.001}, now) == [
        "it recorded no labels it learnt from", "epochs 14, now 25",
    ]  # fmt: skip
    (tmp_path / "labels.json").write_text(json_module.dumps({"labels": "old", "images": 700, "split": "split", "keyed_by": "id"}))  # fmt: skip
    # Attack pass 34: "(it learnt from 700 images, now 700)" hid what changed.
    assert reuse_differences(run, {"epochs": 14}, now) == [
        "the labels changed since (as many images, 700, some labelled otherwise)"
    ]
    assert reuse_differences(run, {"epochs": 14}, LabelsFingerprint("old", 700, "other")) == [
        "the validation split changed since"
    ]
    assert reuse_differences(run, {"epochs": 14, "lr": 0.001}, LabelsFingerprint("old", 700, "split")) == []


def test_a_cycle_that_would_reuse_only_guessing_runs_is_refused_before_any_export(
    labelled_workspace, tiny_architecture, one_thread
):
    # helper-76: the dry run planned it without a word; the real cycle exported, then refused.
    base = ["-t", "light", "-p", tiny_architecture, "--epochs", "1"]
    assert cli(labelled_workspace, "train", *base).exit_code == 0
    run = next(labelled_workspace.runs_dir.iterdir())
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "val_balanced_acc": 1 / 3}))
    for dry in (["--dry-run"], []):
        refused = cli(labelled_workspace, "cycle", *base, *dry)
        assert refused.exit_code == 2 and "at what guessing scores" in refused.stderr and "--force" in refused.stderr
    assert not (labelled_workspace.path / "models").exists()
    assert (
        json_of(cli(labelled_workspace, "cycle", *base, "--force", "--dry-run", "--json"))["plan"]["steps"][0]["action"]
        == "reuse"
    )
