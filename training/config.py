"""The one frozen config of a training run, and the record a checkpoint keeps of it.

:class:`TrainConfig` holds everything that defines a run; ``groovefader train`` builds one
flag per field (type from the annotation, help from the field's metadata). Every checkpoint
stores ``training_record(cfg)``: the config and the code revision, so a shipped model can be
trained again (``groovefader train --config checkpoints/default.train.json DATA``).
Kept free of torch so that the command line starts at once.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.config import PRESETS, FaderVAEConfig, checked_fields

REPO_ROOT = Path(__file__).resolve().parents[1]
CODE_DIRS = ("engine", "models", "training")  # the code a trained model depends on


def setting(default: Any, help: str) -> Any:
    """A TrainConfig field and its help: ``groovefader train`` builds one flag per field."""
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved as run_dir/config.json and in every
    checkpoint's ``training.config``)."""

    data: str = setting("synthetic", "a folder of drum MIDI (with info.csv splits), or 'synthetic'")
    run_dir: str = setting("runs/fader_2bar", "output folder (config, logs, checkpoints)")
    preset: str = setting("fader_2bar", "model preset: " + ", ".join(PRESETS))
    model: dict[str, Any] = setting({}, "FaderVAEConfig overrides of the preset (--set NAME=VALUE)")
    cache_dir: str | None = setting(None, "dataset cache folder (default: the dataset builder's)")
    synthetic_size: int = setting(512, "examples when DATA is 'synthetic'")
    epochs: int = setting(100, "maximum epochs")
    batch_size: int = setting(256, "batch size per process")
    lr: float = setting(1e-3, "learning rate")
    lr_decay: float = setting(0.9999, "learning-rate decay per optimiser step (MusicVAE), "
                                      "floored at min_lr")
    min_lr: float = setting(1e-5, "floor of the decaying learning rate")
    weight_decay: float = setting(0.0, "decoupled weight decay (AdamW, Loshchilov & Hutter 2019) on "
                                       "the VAE's weights; 0 = plain Adam")
    grad_clip: float = setting(1.0, "gradient-norm clipping of the VAE's weights (0 = none)")
    beta_warmup_steps: int = setting(5000, "steps of linear KL warm-up from 0 to the model's beta")
    adv_lambda: float = setting(1.0, "final weight of the encoder's adversarial term (fader)")
    adv_ramp_steps: int = setting(10000, "steps of the linear ramp of the adversarial weight from 0")
    disc_lr: float = setting(1e-3, "learning rate of the latent discriminator")
    disc_on_sample: bool = setting(
        False, "the discriminator and the encoder's adversarial term read a posterior sample z "
               "instead of its mean: the noise keeps it from memorising the training latents")
    control_weight: float = setting(
        0.0, "weight of the attribute-control loss (fader): squared error between requested and "
             "produced attributes when decoding under changed knobs; 0 = off")
    control_prior_share: float = setting(
        0.5, "share of the control decodes from z ~ N(0, I), else from the posterior mean")
    control_rows: int = setting(
        0, "rows of each batch also decoded for the control loss and hinge (0 = all): the "
           "control decodes cost more than the training pass itself")
    control_start_step: int = setting(
        0, "no control decodes before this step (reconstruction first: the control loss slows "
           "hit learning)")
    control_ramp_steps: int = setting(
        0, "steps over which the control weights ramp linearly from 0 after the start")
    monotone_weight: float = setting(
        0.0, "weight of the hinge penalising a knob turned up that does not raise its attribute "
             "by half the step; needs control_weight > 0")
    control_knob_weights: dict[str, float] = setting(
        {}, "how often each knob is the one turned in the control and hinge rows, by attribute "
            "name, e.g. syncopation=3 (unnamed knobs weigh 1; none = uniform)")
    edit_weight: float = setting(
        0.0, "weight of the hit probabilities a knob step flips on the hinge pairs "
             "(models.losses.knob_edit); needs monotone_weight > 0")
    crosstalk_weight: float = setting(
        0.0, "weight of how far a knob step moves the other attributes, per share of its range "
             "(models.losses.knob_crosstalk); needs monotone_weight > 0")
    select_control_weight: float = setting(
        0.0, "model selection and early stopping on validation loss + this x the validation "
             "control error: on reconstruction alone, a control loss that costs reconstruction "
             "makes selection pick epochs before the knobs have formed; 0 = reconstruction alone")
    augment_ride_swap: float = setting(0.0, "per-row chance of trading the closed hi-hat and ride parts")
    augment_tom_shuffle: float = setting(0.0, "per-row chance of permuting the toms")
    augment_bar_rotate: float = setting(0.0, "per-row chance of starting one bar later")
    patience: int = setting(10, "early stopping: epochs without validation improvement")
    max_minutes: float = setting(0.0, "wall-clock budget in minutes (0 = none): stop before an "
                                      "epoch would cross it")
    seed: int = setting(0, "random seed")
    threads: int = setting(0, "torch threads (0 = torch default)")
    device: str = setting("auto", "auto | cpu | cuda")
    smoke_test: bool = setting(False, "one batch of training and validation, then write and exit")

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; known: {sorted(PRESETS)}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size and lr must be positive")
        if self.weight_decay < 0:
            raise ValueError("weight_decay must be >= 0")
        if not all(0 <= p <= 1 for p in (self.augment_ride_swap, self.augment_tom_shuffle,
                                         self.augment_bar_rotate)):
            raise ValueError("augment_ride_swap, augment_tom_shuffle and augment_bar_rotate are "
                             "probabilities in [0, 1]")
        if not 0 <= self.control_prior_share <= 1:
            raise ValueError("control_prior_share is a share in [0, 1]")
        if self.select_control_weight < 0:
            raise ValueError("select_control_weight must be >= 0")
        if not isinstance(self.control_knob_weights, dict) or any(
                not isinstance(w, (int, float)) or w < 0 or not math.isfinite(w)
                for w in self.control_knob_weights.values()):
            raise ValueError("control_knob_weights maps knob names to finite weights >= 0")
        for pair_penalty in ("edit_weight", "crosstalk_weight"):  # both measured on hinge pairs
            w = getattr(self, pair_penalty)
            if w < 0 or (w > 0 and self.monotone_weight <= 0):
                raise ValueError(f"{pair_penalty} must be >= 0 and needs monotone_weight > 0 "
                                 "(its pairs)")
        if min(self.control_rows, self.control_start_step, self.control_ramp_steps) < 0:
            raise ValueError("control_rows, control_start_step and control_ramp_steps must be >= 0")
        self.model_config()  # validates the overrides

    def model_config(self) -> FaderVAEConfig:
        base = PRESETS[self.preset]
        unknown = set(self.model) - {f.name for f in dataclasses.fields(FaderVAEConfig)}
        if unknown:
            raise ValueError(f"unknown model setting(s) {sorted(unknown)}")
        return dataclasses.replace(base, **checked_fields(FaderVAEConfig, self.model))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; fields left out take their defaults. Raises
        ``ValueError`` (one line) for an unknown field or a value of the wrong type."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown training setting(s) {sorted(unknown)}")
        return cls(**checked_fields(cls, data))


def code_revision(repo: Path = REPO_ROOT) -> tuple[str, bool | None]:
    """``(git commit of HEAD, dirty)`` of the code that trains, or ``("unknown", None)`` outside a
    git checkout. ``dirty``: tracked files under engine/, models/ or training/ differ from HEAD
    (the code a model depends on; documentation edits do not count)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=30,
                              check=True).stdout.strip()
    try:
        head = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", *CODE_DIRS))
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
    return head, dirty


def training_record(cfg: TrainConfig) -> dict[str, Any]:
    """The checkpoint's ``training`` metadata: the full TrainConfig (its ``preset`` + ``model``
    give the model config) and the code revision that ran it."""
    revision, dirty = code_revision()
    return {"config": cfg.to_dict(), "code_revision": revision, "dirty": dirty}
