# Copyright 2026 The liver_landmarks authors
# SPDX-License-Identifier: Apache-2.0
"""A training checkpoint to the deployable artifact: ``STEM.safetensors`` + ``STEM.json``.

The model card records the architecture and encoder, what the network was trained
on and with which recipe, its validation scores (from the run's ``summary.json``)
and any evaluation results passed in, e.g. ``evaluate``'s ``results.json`` on a
held-out set. A network trained on synthetic frames only says so in plain words.
"""

import json
from pathlib import Path

from liver_landmarks.model import load_artifact, ModelCard, save_artifact
from liver_landmarks_training.lightning_module import network_from_checkpoint

SYNTHETIC_STATEMENT = ('Trained on synthetic data only; a demonstration, not for clinical use.')
_RECIPE_KEYS = {'optim': ('lr', 'weight_decay', 'batch_size'),
                'loss': ('ce', 'dice', 'huber', 'focal_tversky', 'tversky_alpha',
                         'tversky_beta', 'focal_gamma'),
                'data': ('kind', 'root', 'train_split', 'val_split', 'crop', 'train_count',
                         'val_count', 'augment')}


def read_run_summary(checkpoint_path) -> dict:
    """Return the ``summary.json`` of the run a checkpoint belongs to ({} if there is none)."""
    summary_path = Path(checkpoint_path).resolve().parent.parent / 'summary.json'
    if not summary_path.is_file():
        return {}
    with open(summary_path, encoding='utf-8') as stream:
        return json.load(stream)


def is_synthetic_only(config: dict) -> bool:
    """Whether the card must carry the synthetic-data statement."""
    flag = config['export']['synthetic_only']
    return config['data']['kind'] == 'synthetic' if flag is None else bool(flag)


def training_section(config: dict, summary: dict, checkpoint_path) -> dict:
    """Return the card's ``training`` object: data, recipe, selection and run facts."""
    data = config['data']
    description = config['export']['training_data']
    if description is None:
        description = ('synthetic generator (liver_landmarks_training.synthetic), '
                       f"{data['train_count']} training / {data['val_count']} validation "
                       f"frames, seed {data['synthetic_seed']}"
                       if data['kind'] == 'synthetic' else f"{data['kind']} dataset at "
                       f"{data['root']} (split {data['train_split']})")
    section = {
        'training_data': description,
        'synthetic_only': is_synthetic_only(config),
        'recipe': config['name'],
        'architecture': config['model']['architecture'],
        'encoder': config['model']['encoder'],
        'seed': config['seed'],
        'selection': 'best validation mean precision + mean Dice',
        'checkpoint': Path(checkpoint_path).name,
    }
    for group, keys in _RECIPE_KEYS.items():
        section[group] = {key: config[group][key] for key in keys}
    for key in ('epochs', 'seconds', 'class_weights'):
        if key in summary:
            section[key] = summary[key]
    if summary.get('best_metrics'):
        section['best_epoch'] = summary['best_metrics'].get('epoch')
    return section


def validation_metrics(summary: dict) -> dict:
    """Return the best epoch's validation scores as a nested dict (mean and per landmark)."""
    nested = {}
    for name, value in summary.get('best_metrics', {}).items():
        if not name.startswith('val/'):
            continue
        parts = name.split('/')[1:]
        if len(parts) == 1:
            nested.setdefault('mean', {})[parts[0]] = value
        else:
            nested.setdefault(parts[0], {})[parts[1]] = value
    return nested


def export_checkpoint(checkpoint_path, directory, stem: str, fp16: bool = False,
                      extra_metrics: dict | None = None, name: str = '',
                      description: str = '') -> Path:
    """Write the artifact for a Lightning checkpoint; return the model card's path.

    ``extra_metrics`` maps a label (e.g. ``'synthetic_test'``) to results stored
    under that label in the card's ``metrics``. The artifact is loaded back before
    returning, so a card that does not load is never left behind silently.
    """
    checkpoint_path = Path(checkpoint_path).expanduser()
    if not checkpoint_path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {checkpoint_path}')
    network, config = network_from_checkpoint(checkpoint_path)
    summary = read_run_summary(checkpoint_path)
    metrics = {}
    validation = validation_metrics(summary)
    if validation:
        metrics['validation'] = validation
    metrics.update(extra_metrics or {})
    statement = SYNTHETIC_STATEMENT if is_synthetic_only(config) else ''
    card = ModelCard(
        architecture=config['model']['architecture'], encoder=config['model']['encoder'],
        training=training_section(config, summary, checkpoint_path), metrics=metrics,
        name=name or stem,
        description=' '.join(part for part in (statement, description) if part))
    card_path = save_artifact(network, card, directory, stem,
                              dtype='float16' if fp16 else None)
    load_artifact(card_path)
    return card_path


def read_metrics_files(assignments) -> dict:
    """Parse ``LABEL=PATH`` pairs into ``{label: JSON content of PATH}``."""
    metrics = {}
    for assignment in assignments or ():
        if '=' not in assignment:
            raise ValueError(f'--metrics takes LABEL=PATH, got {assignment!r}')
        label, path = assignment.split('=', 1)
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f'metrics file not found: {path}')
        with open(path, encoding='utf-8') as stream:
            metrics[label] = json.load(stream)
    return metrics
