"""``groovefader train``: train a (fader-)VAE from CLI flags and/or a JSON config file.

Precedence: preset defaults < ``--config FILE`` (TrainConfig fields; a ``"model"`` object
overrides the preset's FaderVAEConfig) < flags given on the command line. ``--resume
RUN_DIR`` takes the saved config of that run and continues after its last finished epoch.
Multi-process: ``torchrun --nproc_per_node N -m app.cli train ...`` (DDP; gloo on CPU).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine.errors import GrooveFaderError


def _bool(text: str) -> bool:
    value = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


def _knob_weights(text: str) -> dict[str, float]:
    """``syncopation=3,density=0.5`` -> ``{"syncopation": 3.0, "density": 0.5}``."""
    out: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if not sep or not name.strip() or not weight >= 0:
            raise argparse.ArgumentTypeError(f"expected NAME=WEIGHT[,NAME=WEIGHT...] with weights "
                                             f">= 0, got {text!r}")
        out[name.strip()] = weight
    return out


# flag -> (TrainConfig field, type, help)
_FLAGS: dict[str, tuple[str, type, str]] = {
    "--run-dir": ("run_dir", str, "output folder (config, logs, checkpoints)"),
    "--preset": ("preset", str, "model preset: fader_2bar (default), tiny, groovae_2bar, fader_4bar_hier"),
    "--cache-dir": ("cache_dir", str, "dataset cache folder"),
    "--synthetic-size": ("synthetic_size", int, "examples when DATA is 'synthetic'"),
    "--epochs": ("epochs", int, "maximum epochs"),
    "--batch-size": ("batch_size", int, "batch size per process"),
    "--lr": ("lr", float, "learning rate"),
    "--lr-decay": ("lr_decay", float, "learning-rate decay per step"),
    "--weight-decay": ("weight_decay", float, "decoupled weight decay (AdamW; 0 = plain Adam)"),
    "--beta-warmup-steps": ("beta_warmup_steps", int, "steps of linear KL warm-up"),
    "--adv-lambda": ("adv_lambda", float, "final adversarial weight (fader)"),
    "--adv-ramp-steps": ("adv_ramp_steps", int, "steps of the adversarial weight ramp"),
    "--control-weight": ("control_weight", float, "weight of the attribute-control loss (fader; 0 = off)"),
    "--monotone-weight": ("monotone_weight", float, "weight of the monotone-knob hinge"),
    "--edit-weight": ("edit_weight", float,
                      "weight of the hits a knob step flips (the hinge pairs; 0 = off)"),
    "--crosstalk-weight": ("crosstalk_weight", float,
                           "weight of how far a knob step moves the other attributes (hinge pairs)"),
    "--select-control-weight": ("select_control_weight", float,
                                "model selection on val loss + this x val control error"),
    "--control-prior-share": ("control_prior_share", float,
                              "share of control decodes from z ~ N(0, I) (else the posterior mean)"),
    "--control-knob-weights": ("control_knob_weights", _knob_weights,
                               "how often each knob is turned in the control rows, e.g. "
                               "syncopation=3 (others 1)"),
    "--control-rows": ("control_rows", int, "rows per batch decoded for the control loss (0 = all)"),
    "--control-start-step": ("control_start_step", int, "no control loss before this step"),
    "--control-ramp-steps": ("control_ramp_steps", int, "steps of the control-loss ramp after its start"),
    "--augment-ride-swap": ("augment_ride_swap", float, "per-row chance of trading hi-hat and ride parts"),
    "--augment-tom-shuffle": ("augment_tom_shuffle", float, "per-row chance of permuting the toms"),
    "--augment-bar-rotate": ("augment_bar_rotate", float, "per-row chance of starting one bar later"),
    "--disc-on-sample": ("disc_on_sample", _bool, "discriminator reads z samples, not means: true | false"),
    "--patience": ("patience", int, "early stopping patience in epochs"),
    "--max-minutes": ("max_minutes", float, "wall-clock budget; 0 = none"),
    "--seed": ("seed", int, "random seed"),
    "--threads": ("threads", int, "torch threads (0 = default)"),
    "--device": ("device", str, "auto | cpu | cuda"),
}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train", help="train a fader-VAE (or the plain-VAE baseline) on a folder of drum MIDI",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="?", help="folder of drum MIDI files (info.csv splits honoured), "
                   "or 'synthetic'")
    p.add_argument("--config", type=Path, help="JSON file of TrainConfig fields")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a killed or stopped run")
    p.add_argument("--smoke-test", action="store_true", help="one batch, write a checkpoint, exit")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a model setting (FaderVAEConfig field), e.g. --set z_dim=64")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    for flag, (dest, typ, text) in _FLAGS.items():
        p.add_argument(flag, dest=dest, type=typ, default=None, help=text)
    p.set_defaults(func=run)


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def build_config(args: argparse.Namespace):
    """The TrainConfig of these arguments (raises GrooveFaderError on a bad file or value)."""
    from training.train import TrainConfig

    values: dict[str, Any] = {}
    if args.resume:
        path = args.resume / "config.json"
        try:
            values = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise GrooveFaderError(f"{path}: cannot read the run's config ({err})") from err
        try:
            return TrainConfig.from_dict(values)
        except (TypeError, ValueError) as err:
            raise GrooveFaderError(f"{path}: {err}") from err
    if args.config:
        try:
            values = json.loads(args.config.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise GrooveFaderError(f"{args.config}: cannot read the config file ({err})") from err
        if not isinstance(values, dict):
            raise GrooveFaderError(f"{args.config}: the config file must hold a JSON object")
    if args.data:
        values["data"] = args.data
    if "data" not in values:
        raise GrooveFaderError("train: give a DATA folder (or 'synthetic'), --config or --resume")
    for dest, _, _ in _FLAGS.values():
        if getattr(args, dest) is not None:
            values[dest] = getattr(args, dest)
    model = dict(values.get("model", {}))
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise GrooveFaderError(f"--set {item!r}: expected NAME=VALUE")
        model[name] = _parse_value(value)
    values["model"] = model
    if args.smoke_test:
        values["smoke_test"] = True
    try:
        return TrainConfig.from_dict(values)
    except (TypeError, ValueError) as err:
        raise GrooveFaderError(f"train: {err}") from err


def run(args: argparse.Namespace) -> int:
    from training.train import train

    cfg = build_config(args)
    if args.resume and str(args.resume) != cfg.run_dir:
        from dataclasses import replace

        cfg = replace(cfg, run_dir=str(args.resume))
    path = train(cfg, resume=bool(args.resume), quiet=args.quiet)
    print(path)
    return 0
