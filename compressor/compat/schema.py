"""The shape of a 1.x ``conf.yaml``: which keys exist where.

``OPEN`` subtrees (dataloaders, datasets, transforms, metrics) are free-form: 2.x takes them as code,
so they are kept verbatim and reported, never validated key by key. ``UNSUPPORTED`` keys are real 1.x
keys this project does not implement: allowed only when switched off (false/empty).
"""

from __future__ import annotations

OPEN = "open"
ANY = "any"
UNSUPPORTED = "unsupported"

DATALOADER = {
    "batch_size": ANY,
    "dataset": OPEN,
    "transform": OPEN,
    "filter": OPEN,
    "last_batch": ANY,
    "shuffle": ANY,
    "distributed": ANY,
}
PERF_CONFIGS = {
    "cores_per_instance": ANY,
    "num_of_instance": ANY,
    "inter_num_of_threads": ANY,
    "intra_num_of_threads": ANY,
    "kmp_blocktime": ANY,
}
TRAIN = {
    "start_epoch": ANY,
    "end_epoch": ANY,
    "epoch": ANY,
    "iteration": ANY,
    "frequency": ANY,
    "execution_mode": ANY,
    "hostfile": UNSUPPORTED,
    "dataloader": DATALOADER,
    "optimizer": {"SGD": OPEN, "Adam": OPEN, "AdamW": OPEN},
    "criterion": {
        "KnowledgeDistillationLoss": OPEN,
        "SelfKnowledgeDistillationLoss": OPEN,
        "IntermediateLayersKnowledgeDistillationLoss": UNSUPPORTED,
        "CrossEntropyLoss": OPEN,
        "SparseCategoricalCrossentropy": OPEN,
    },
}
PRUNER_1X = {
    "start_epoch": ANY,
    "end_epoch": ANY,
    "start_step": ANY,
    "end_step": ANY,
    "prune_type": ANY,
    "names": ANY,
    "excluded_names": ANY,
    "extra_excluded_names": ANY,
    "pattern": ANY,
    "update_frequency": ANY,
    "update_frequency_on_step": ANY,
    "target_sparsity": ANY,
    "prune_domain": ANY,
    "sparsity_decay_type": ANY,
    "max_sparsity_ratio_per_layer": ANY,
    "min_sparsity_ratio_per_layer": ANY,
    "prune_layer_type": ANY,
    "method": ANY,
}
WEIGHT_COMPRESSION = {
    **{k: ANY for k in PRUNER_1X},
    "initial_sparsity": ANY,
    "pruners": ("list", PRUNER_1X),
}
EVAL_ACCURACY = {
    "metric": OPEN,
    "multi_metrics": OPEN,
    "dataloader": DATALOADER,
    "postprocess": OPEN,
    "configs": PERF_CONFIGS,
    "iteration": ANY,
}
EVAL_PERFORMANCE = {
    "warmup": ANY,
    "iteration": ANY,
    "configs": PERF_CONFIGS,
    "dataloader": DATALOADER,
    "postprocess": OPEN,
}

ROOT = {
    "version": ANY,
    "model": {"name": ANY, "framework": ANY, "inputs": ANY, "outputs": ANY},
    "device": ANY,
    "quantization": {
        "approach": ANY,
        "calibration": {"sampling_size": ANY, "dataloader": DATALOADER},
        "recipes": ANY,
        "model_wise": ANY,
        "op_wise": ANY,
        "optype_wise": ANY,
        "train": TRAIN,
    },
    "tuning": {
        "strategy": {
            "name": ANY,
            "sigopt_api_token": UNSUPPORTED,
            "sigopt_project_id": UNSUPPORTED,
            "sigopt_experiment_name": UNSUPPORTED,
        },
        "accuracy_criterion": {"relative": ANY, "absolute": ANY, "higher_is_better": ANY},
        "objective": ANY,
        "multi_objectives": UNSUPPORTED,
        "exit_policy": {"timeout": ANY, "max_trials": ANY, "performance_only": ANY},
        "random_seed": ANY,
        "tensorboard": UNSUPPORTED,
        "diagnosis": UNSUPPORTED,
        "workspace": {"path": ANY, "resume": ANY},
    },
    "pruning": {
        "approach": {
            "weight_compression": WEIGHT_COMPRESSION,
            "weight_compression_pytorch": WEIGHT_COMPRESSION,
        },
        "train": TRAIN,
    },
    "distillation": {"train": TRAIN},
    "mixed_precision": {"precisions": ANY},
    "evaluation": {"accuracy": EVAL_ACCURACY, "performance": EVAL_PERFORMANCE},
    "graph_optimization": UNSUPPORTED,
    "model_conversion": UNSUPPORTED,
    "diagnosis": UNSUPPORTED,
}


def expects_mapping(schema: object) -> bool:
    return isinstance(schema, dict) or schema == OPEN
