# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Training recipes: YAML files over documented defaults, plus dotted overrides.

A recipe is a nested mapping. Files may name a ``base`` recipe (path relative to the
file) whose values they override; ``--set optim.lr=1e-4`` style overrides come last,
their values parsed as YAML (``1e-4`` is a float, ``[1, 2]`` a list, ``null`` None).
Unknown keys are errors, so a typo never silently trains with a default.
"""

import copy
from pathlib import Path
import re

import yaml

#: Sources ``data.kind`` can name.
DATA_KINDS = ('synthetic', 'p2ilf', 'l3d', 'colour_labels')

#: Every recipe key with its default. Sections and keys are documented in docs/training.md.
DEFAULTS = {
    'name': 'run',
    'seed': 42,
    'model': {
        'architecture': 'unet',          # liver_landmarks.model.ARCHITECTURES
        'encoder': 'resnet34',
        'encoder_weights': None,         # local ImageNet weights file (.pth/.pt/.safetensors)
        'init_checkpoint': None,         # Lightning checkpoint to start from (fine-tuning)
        'deep_supervision_weight': 0.4,  # weight of auxiliary heads' loss, when the model has any
    },
    'data': {
        'kind': 'synthetic',             # synthetic, p2ilf, l3d, colour_labels
        'root': None,                    # dataset folder (p2ilf, l3d, colour_labels)
        'train_split': 'train',
        'val_split': 'val',
        'val_patients': [1, 2],          # P2ILF: the paper validates on patients 1 and 2
        'cache_dir': None,               # preprocessed-tensor cache (None: no cache)
        'num_workers': 0,
        'crop': None,                    # [height, width] random training crop, None: full frame
        'train_count': 800,              # synthetic only
        'val_count': 100,                # synthetic only
        'synthetic_seed': 0,             # synthetic only: base seed of the rendered frames
        'synthetic_size': [416, 320],    # synthetic only: rendered width, height (then resized)
        'augment': {                     # liver_landmarks_training.augment; 0 turns one off
            'hflip': 0.5,                # flip probabilities (the paper: both axes)
            'vflip': 0.5,
            'rotate_deg': 0,             # the authors' fine-tuning extras, off by default
            'perspective': 0,
            'brightness_contrast': 0,
        },
    },
    'loss': {
        'ce': 1.0,
        'dice': 0.0,
        'huber': 0.0,
        'focal_tversky': 0.0,
        'tversky_alpha': 0.5,
        'tversky_beta': 0.5,
        'focal_gamma': 1.5,
        'class_weights': 'auto',         # 'auto' (from training masks), 'none' or a list of 4
        'allow_missing_classes': False,
    },
    'optim': {
        'lr': 1.0e-3,
        'weight_decay': 1.0e-2,
        'batch_size': 8,
        'plateau_factor': 0.2,
        'plateau_patience': 3,
    },
    'trainer': {
        'max_epochs': 50,
        'max_time': None,                # 'DD:HH:MM:SS' wall-clock cap, None: no cap
        'early_stopping_patience': 7,
        'accelerator': 'auto',
        'devices': 'auto',
        'strategy': 'auto',              # e.g. ddp; torchrun also works unchanged
        'num_nodes': 1,
        'precision': 'auto',             # auto: bf16/16-mixed on GPU, 32 on CPU
        'limit_train_batches': 1.0,
        'limit_val_batches': 1.0,
        'log_every_n_steps': 10,
        'progress_bar': True,
        'deterministic': False,
    },
    'output': {
        'dir': 'runs',                   # runs land in DIR/NAME/version_K
    },
    'export': {
        'training_data': None,           # free text for the model card; None: from data.kind
        'synthetic_only': None,          # None: true when data.kind is synthetic
    },
}


class _RecipeLoader(yaml.SafeLoader):
    """PyYAML's safe loader, also reading ``1e-4`` (no dot) as a float, as people write it."""


_RecipeLoader.add_implicit_resolver(
    'tag:yaml.org,2002:float',
    re.compile(r'^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$'),
    list('-+0123456789'))


def _load_yaml(text_or_stream):
    return yaml.load(text_or_stream, Loader=_RecipeLoader)  # noqa: S506 (a SafeLoader)


class ConfigError(ValueError):
    """A recipe file or override is malformed or names an unknown key."""


def deep_merge(base: dict, update: dict, path: str = '', strict: bool = True) -> dict:
    """Return ``base`` with ``update`` merged in, recursing into mappings."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        dotted = f'{path}{key}'
        if strict and key not in merged:
            raise ConfigError(f'unknown config key {dotted!r}; known here: '
                              f'{", ".join(sorted(merged))}')
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = deep_merge(merged[key], value, dotted + '.', strict)
        elif isinstance(merged.get(key), dict) and value is not None:
            raise ConfigError(f'config key {dotted!r} is a section; got {value!r}')
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_override(text: str) -> tuple[list[str], object]:
    """Split ``a.b.c=value`` into its key path and YAML-parsed value."""
    if '=' not in text:
        raise ConfigError(f'override {text!r} is not of the form key.path=value')
    key, raw = text.split('=', 1)
    keys = [part for part in key.strip().split('.') if part]
    if not keys:
        raise ConfigError(f'override {text!r} has an empty key')
    try:
        value = _load_yaml(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        raise ConfigError(f'override {text!r}: value is not valid YAML ({error})') from None
    return keys, value


def nested_update(keys: list[str], value) -> dict:
    """Return ``{'a': {'b': value}}`` for keys ``['a', 'b']``."""
    update = value
    for key in reversed(keys):
        update = {key: update}
    return update


def apply_overrides(config: dict, overrides=()) -> dict:
    """Return ``config`` with dotted ``key=value`` overrides applied in order."""
    for text in overrides:
        keys, value = parse_override(text)
        config = deep_merge(config, nested_update(keys, value))
    return config


def read_recipe(path: Path, seen: tuple = ()) -> dict:
    """Read a recipe file, resolving its ``base`` chain (without defaults or checks)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'config file not found: {path}')
    if path.resolve() in seen:
        raise ConfigError(f'config {path} includes itself through "base"')
    with open(path, encoding='utf-8') as stream:
        try:
            recipe = _load_yaml(stream) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f'config {path} is not valid YAML: {error}') from None
    if not isinstance(recipe, dict):
        raise ConfigError(f'config {path} must hold a mapping at the top level')
    base = recipe.pop('base', None)
    if base is None:
        return recipe
    parent = read_recipe(path.parent / base, seen + (path.resolve(),))
    return deep_merge(parent, recipe, strict=False)


def load_config(path=None, overrides=()) -> dict:
    """Load a recipe (or only the defaults when ``path`` is None) and apply overrides.

    Relative dataset and weight paths in a file stay relative to the working
    directory, as a user types them on the command line.
    """
    config = copy.deepcopy(DEFAULTS)
    if path is not None:
        config = deep_merge(config, read_recipe(Path(path)))
    config = apply_overrides(config, overrides)
    validate(config)
    return config


def validate(config: dict) -> None:
    """Raise :class:`ConfigError` for values that cannot train."""
    if config['optim']['batch_size'] < 1:
        raise ConfigError('optim.batch_size must be >= 1')
    if config['optim']['lr'] <= 0:
        raise ConfigError('optim.lr must be > 0')
    crop = config['data']['crop']
    if crop is not None and (len(crop) != 2 or min(crop) < 32):
        raise ConfigError(f'data.crop must be [height, width] of at least 32 px, got {crop}')
    from liver_landmarks.model import ARCHITECTURES
    architecture = config['model']['architecture']
    if str(architecture).lower() not in ARCHITECTURES:
        raise ConfigError(f'model.architecture {architecture!r} is not one of '
                          f'{", ".join(ARCHITECTURES)}')
    if config['data']['kind'] not in DATA_KINDS:
        raise ConfigError(f'data.kind {config["data"]["kind"]!r} is not one of '
                          f'{", ".join(DATA_KINDS)}')
    for key, value in config['data']['augment'].items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f'data.augment.{key} must be a number >= 0 (a probability for '
                              f'flips, 0 for off), got {value!r}')
    weights = config['loss']['class_weights']
    listed = isinstance(weights, list) and len(weights) == 4
    if not (weights in ('auto', 'none', None) or listed):
        raise ConfigError(f"loss.class_weights must be 'auto', 'none' or 4 numbers, got {weights}")


def dump_config(config: dict, path) -> None:
    """Write a resolved recipe as YAML (saved next to every run)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w', encoding='utf-8') as stream:
        yaml.safe_dump(config, stream, sort_keys=False)


def get_dotted(config: dict, key: str):
    """Return ``config['a']['b']`` for ``'a.b'``."""
    value = config
    for part in key.split('.'):
        value = value[part]
    return value
