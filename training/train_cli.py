"""``groovefader train``: train a (fader-)VAE from CLI flags and/or a JSON config file.

Precedence: preset defaults < ``--config FILE`` (TrainConfig fields; a ``"model"`` object
overrides the preset's FaderVAEConfig; a checkpoint's .json metadata gives the config of the
run that made it) < flags given on the command line. There is one flag per TrainConfig
field; the model's settings are ``--set NAME=VALUE``. The shipped model's recipe:
``groovefader train --config checkpoints/default.train.json DATA``. ``--resume
RUN_DIR`` takes the saved config of that run and continues after its last finished epoch.
Multi-process: ``torchrun --nproc_per_node N -m app.cli train ...`` (DDP; gloo on CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.errors import GrooveFaderError

# Fields without a flag of their own: DATA is the positional argument; the model's settings
# are --set NAME=VALUE (FaderVAEConfig fields).
_NO_FLAG = ("data", "model")


def _flag_type(hint: Any, name: str) -> Callable[[str], Any]:
    """An argparse ``type=`` that parses a word as the field's type (models.config.parse_text)."""
    from models.config import parse_text

    def parse(text: str) -> Any:
        try:
            return parse_text(hint, text, "")  # argparse names the flag itself
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from err
    parse.__name__ = name  # argparse names the type in some messages
    return parse


def add_config_flags(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> list[str]:
    """One ``--kebab-name`` flag per field of the config dataclass ``cls`` (type from the
    annotation, help from the field's ``metadata["help"]``, the default shown), each defaulting to
    None so that only the flags given override a config file. Returns the fields' names."""
    from models.config import field_types

    types = field_types(cls)
    names = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        hint = types[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        text = f.metadata.get("help", "") + ("" if default is None else f" (default: {default!r})")
        kwargs: dict[str, Any] = {"dest": f.name, "default": None, "type": _flag_type(hint, f.name),
                                  "metavar": f.name.upper(), "help": text}
        if hint is bool:  # --flag alone means true; --flag true|false also works
            kwargs.update(nargs="?", const=True, metavar="true|false")
        parser.add_argument("--" + f.name.replace("_", "-"), **kwargs)
        names.append(f.name)
    return names


def register(subparsers: Any) -> None:
    from training.config import TrainConfig

    p = subparsers.add_parser(
        "train", help="train a fader-VAE (or the plain-VAE baseline) on a folder of drum MIDI",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="?", help="folder of drum MIDI files (info.csv splits honoured), "
                   "or 'synthetic'")
    p.add_argument("--config", type=Path, help="JSON file of TrainConfig fields (e.g. "
                   "checkpoints/default.train.json), or a checkpoint's .json metadata")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a killed or stopped run")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a model setting (FaderVAEConfig field), e.g. --set z_dim=64")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_flags(p, TrainConfig, skip=_NO_FLAG)
    p.set_defaults(func=run)


def read_config_file(path: Path) -> dict[str, Any]:
    """TrainConfig fields from a JSON file: a training config, or a checkpoint's metadata
    (``<checkpoint>.json``), whose ``training.config`` is the run that made it."""
    try:
        values = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise GrooveFaderError(f"{path}: cannot read the config file ({err})") from err
    if not isinstance(values, dict):
        raise GrooveFaderError(f"{path}: the config file must hold a JSON object")
    if "format_version" in values:  # checkpoint metadata
        training = values.get("training")
        if not isinstance(training, dict) or not isinstance(training.get("config"), dict):
            raise GrooveFaderError(f"{path}: this checkpoint's metadata holds no training config")
        values = dict(training["config"])
    return values


def build_config(args: argparse.Namespace):
    """The TrainConfig of these arguments (raises GrooveFaderError on a bad file or value)."""
    from models.config import FaderVAEConfig, field_types, parse_text
    from training.config import TrainConfig

    values: dict[str, Any] = {}
    if args.resume:
        given = [f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(TrainConfig)
                 if f.name not in _NO_FLAG and getattr(args, f.name, None) is not None]
        others = (("DATA", args.data), ("--config", args.config), ("--set", args.set))
        given += [flag for flag, on in others if on]
        if given:  # they would be ignored: the run goes on as it was configured
            raise GrooveFaderError(f"--resume continues {args.resume} as it was configured; drop "
                                   f"{', '.join(given)} (or start a new run)")
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
        values = read_config_file(args.config)
    if args.data:
        values["data"] = args.data
    if "data" not in values:
        raise GrooveFaderError("train: give a DATA folder (or 'synthetic'), --config or --resume")
    for f in dataclasses.fields(TrainConfig):
        if f.name not in _NO_FLAG and getattr(args, f.name) is not None:
            values[f.name] = getattr(args, f.name)
    model = values.get("model", {})
    if not isinstance(model, dict):
        raise GrooveFaderError(f"train: model takes an object of NAME: VALUE, got {model!r}")
    model = dict(model)
    model_types = field_types(FaderVAEConfig)
    for item in args.set:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise GrooveFaderError(f"--set {item!r}: expected NAME=VALUE")
        if name not in model_types:
            raise GrooveFaderError(f"--set {item!r}: unknown model setting {name!r}")
        try:
            model[name] = parse_text(model_types[name], value.strip(), f"--set {name}")
        except ValueError as err:
            raise GrooveFaderError(str(err)) from err
    values["model"] = model
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
