# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""Training recipes: YAML files over documented defaults, plus dotted overrides.

A recipe is a nested mapping. Files may name a ``base`` recipe (path relative to the
file) whose values they override; ``--set optim.lr=1e-4`` style overrides come last,
their values parsed as YAML (``1e-4`` is a float, ``[1, 2]`` a list, ``null`` None).
Unknown keys are errors, so a typo never silently trains with a default. The schema
is typed (:class:`Recipe` and its section dataclasses, the documented defaults): a
value of the wrong type is an error naming its key.
"""

import copy
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
import re
from typing import Any, get_args, get_origin, get_type_hints, Optional, Union

import yaml

#: Sources ``data.kind`` can name.
DATA_KINDS = ('synthetic', 'p2ilf', 'l3d', 'colour_labels')
#: Sources read from a folder, where training needs ImageNet encoder weights.
FOLDER_KINDS = ('p2ilf', 'l3d', 'colour_labels')
#: ``loss.class_weights`` modes (Table 4 compares the last three), or a list of four numbers.
CLASS_WEIGHTINGS = ('auto', 'none', 'eq1', 'log', 'proportional')
#: ``model.encoder_weights`` value that declares training from random initialisation.
NO_ENCODER_WEIGHTS = 'none'


@dataclass
class ModelSection:
    """``model``: the network and where its starting weights come from."""

    architecture: str = 'unet'                  # liver_landmarks.model.ARCHITECTURES
    encoder: str = 'resnet34'
    # Local ImageNet weights file (.pth/.pt/.safetensors), or 'none' to train from random
    # initialisation on purpose; null on a real dataset is refused (docs/models.md).
    encoder_weights: Optional[str] = None
    init_checkpoint: Optional[str] = None       # Lightning checkpoint to start from (fine-tuning)
    deep_supervision_weight: float = 0.4        # weight of auxiliary heads' loss, when any


@dataclass
class AugmentSection:
    """``data.augment``: liver_landmarks_training.augment; 0 turns one off."""

    hflip: float = 0.5                          # flip probabilities (the paper: both axes)
    vflip: float = 0.5
    rotate_deg: float = 0                       # extras the paper does not use, off by default
    perspective: float = 0
    brightness_contrast: float = 0


@dataclass
class DataSection:
    """``data``: the training dataset, the validation dataset and the held-out patients."""

    kind: str = 'synthetic'                     # synthetic, p2ilf, l3d, colour_labels
    root: Optional[str] = None                  # dataset folder (p2ilf, l3d, colour_labels)
    train_split: str = 'train'
    val_split: str = 'val'
    # Validation dataset when it differs from the training one (the paper trains on L3D
    # and selects on P2ILF patients 1 and 2); null: the training dataset's val split.
    val_kind: Optional[str] = None
    val_root: Optional[str] = None
    val_patients: list = field(default_factory=lambda: [1, 2])    # P2ILF patients that validate
    test_patients: list = field(default_factory=lambda: [4, 11])  # P2ILF: never trained on
    train_patients: Optional[list] = None       # P2ILF: null = every other patient
    cache_dir: Optional[str] = None             # preprocessed-tensor cache (None: no cache)
    num_workers: int = 0
    crop: Optional[list] = None                 # [height, width] random training crop
    train_count: int = 800                      # synthetic only
    val_count: int = 100                        # synthetic only
    synthetic_seed: int = 0                     # synthetic only: base seed of the frames
    synthetic_size: list = field(default_factory=lambda: [416, 320])  # synthetic: width, height
    augment: AugmentSection = field(default_factory=AugmentSection)


@dataclass
class LossSection:
    """``loss``: the coefficients a, b, c, d of Eq. 2 and the terms' settings."""

    ce: float = 1.0
    dice: float = 0.0
    huber: float = 0.0
    focal_tversky: float = 0.0
    tversky_alpha: float = 0.5
    tversky_beta: float = 0.5
    focal_gamma: float = 1.5
    include_background: bool = False            # Dice/Focal-Tversky also average background
    class_weights: Any = 'auto'                 # CLASS_WEIGHTINGS or a list of 4 numbers
    allow_missing_classes: bool = False


@dataclass
class OptimSection:
    """``optim``: AdamW and the plateau schedule."""

    lr: float = 1.0e-3
    weight_decay: float = 1.0e-2
    batch_size: int = 8
    plateau_factor: float = 0.2
    plateau_patience: int = 3                   # cut after this many stagnant epochs


@dataclass
class TrainerSection:
    """``trainer``: Lightning Trainer settings."""

    max_epochs: int = 50
    max_time: Any = None                        # 'DD:HH:MM:SS' or seconds; None: no cap
    early_stopping_patience: int = 7
    accelerator: str = 'auto'
    devices: Any = 'auto'
    strategy: str = 'auto'                      # e.g. ddp; torchrun also works unchanged
    num_nodes: int = 1
    precision: str = 'auto'                     # auto: bf16/16-mixed on GPU, 32 on CPU
    limit_train_batches: float = 1.0
    limit_val_batches: float = 1.0
    log_every_n_steps: int = 10
    num_sanity_val_steps: int = 2               # validation batches run before training
    progress_bar: bool = True
    deterministic: bool = False


@dataclass
class OutputSection:
    """``output``: where runs land (DIR/NAME/version_K)."""

    dir: str = 'runs'  # noqa: A003 (the recipe key is output.dir)


@dataclass
class ExportSection:
    """``export``: model-card text."""

    training_data: Optional[str] = None         # free text; None: from data.kind
    synthetic_only: Optional[bool] = None       # None: true when data.kind is synthetic


@dataclass
class Recipe:
    """A whole training recipe, typed; :func:`load_recipe` returns one.

    The rest of the package passes the plain nested dict (:func:`load_config`),
    which :meth:`from_dict` checks field by field against these types.
    """

    name: str = 'run'
    seed: int = 42
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    loss: LossSection = field(default_factory=LossSection)
    optim: OptimSection = field(default_factory=OptimSection)
    trainer: TrainerSection = field(default_factory=TrainerSection)
    output: OutputSection = field(default_factory=OutputSection)
    export: ExportSection = field(default_factory=ExportSection)

    @classmethod
    def from_dict(cls, config: dict) -> 'Recipe':
        """Build the typed recipe from a nested dict, refusing unknown keys and wrong types."""
        return _section_from_dict(cls, config, '')

    def to_dict(self) -> dict:
        """Return the nested dict form (what YAML files and the trainer use)."""
        return asdict(self)


def _type_matches(value, annotation) -> bool:
    if annotation is Any:
        return True
    if get_origin(annotation) is Union:
        return any(_type_matches(value, option) for option in get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def _type_name(annotation) -> str:
    if get_origin(annotation) is Union:
        return ' or '.join(_type_name(option) for option in get_args(annotation))
    return 'null' if annotation is type(None) else getattr(annotation, '__name__', str(annotation))


def _section_from_dict(cls, values, path: str):
    if not isinstance(values, dict):
        raise ConfigError(f'config key {path.rstrip(".") or "<top>"!r} is a section; '
                          f'got {values!r}')
    hints = get_type_hints(cls)
    known = {item.name for item in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f'unknown config key {path + unknown[0]!r}; known here: '
                          f'{", ".join(sorted(known))}')
    kwargs = {}
    for name, value in values.items():
        annotation = hints[name]
        if is_dataclass(annotation):
            kwargs[name] = _section_from_dict(annotation, value, f'{path}{name}.')
        elif not _type_matches(value, annotation):
            raise ConfigError(f'config key {path + name!r} must be {_type_name(annotation)}, '
                              f'got {value!r}')
        else:
            kwargs[name] = value
    return cls(**kwargs)


#: Every recipe key with its default, from :class:`Recipe`; documented in docs/training.md.
DEFAULTS = Recipe().to_dict()


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


def load_recipe(path=None, overrides=()) -> Recipe:
    """Load a recipe as in :func:`load_config` and return it typed."""
    return Recipe.from_dict(load_config(path, overrides))


def validate(config: dict) -> None:
    """Raise :class:`ConfigError` for values of the wrong type or that cannot train."""
    Recipe.from_dict(config)
    if config['optim']['batch_size'] < 1:
        raise ConfigError('optim.batch_size must be >= 1')
    if config['optim']['lr'] <= 0:
        raise ConfigError('optim.lr must be > 0')
    if config['optim']['plateau_patience'] < 1:
        raise ConfigError('optim.plateau_patience (stagnant epochs before a cut) must be >= 1')
    crop = config['data']['crop']
    if crop is not None and (len(crop) != 2 or min(crop) < 32):
        raise ConfigError(f'data.crop must be [height, width] of at least 32 px, got {crop}')
    from liver_landmarks.model import ARCHITECTURES
    architecture = config['model']['architecture']
    if str(architecture).lower() not in ARCHITECTURES:
        raise ConfigError(f'model.architecture {architecture!r} is not one of '
                          f'{", ".join(ARCHITECTURES)}')
    data = config['data']
    for key in ('kind', 'val_kind'):
        if data[key] is not None and data[key] not in DATA_KINDS:
            raise ConfigError(f'data.{key} {data[key]!r} is not one of {", ".join(DATA_KINDS)}')
    for key, value in data['augment'].items():
        if value < 0:
            raise ConfigError(f'data.augment.{key} must be a number >= 0 (a probability for '
                              f'flips, 0 for off), got {value!r}')
    check_patient_split(data)
    weights = config['loss']['class_weights']
    listed = isinstance(weights, list) and len(weights) == 4
    if not (weights in CLASS_WEIGHTINGS or weights is None or listed):
        raise ConfigError(f'loss.class_weights must be one of {", ".join(CLASS_WEIGHTINGS)} '
                          f'or 4 numbers, got {weights}')


def check_patient_split(data: dict) -> None:
    """Refuse P2ILF patient lists where test patients would be trained or validated on."""
    test = set(data['test_patients'])
    overlaps = {'val_patients': test & set(data['val_patients'])}
    if data['train_patients'] is not None:
        overlaps['train_patients'] = test & set(data['train_patients'])
        both = set(data['train_patients']) & set(data['val_patients'])
        if both:
            raise ConfigError(f'data.train_patients and data.val_patients share patients '
                              f'{sorted(both)}')
    for key, shared in overlaps.items():
        if shared:
            raise ConfigError(f'data.{key} and data.test_patients share patients '
                              f'{sorted(shared)}: test patients are never trained or '
                              f'validated on')


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
