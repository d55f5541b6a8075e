"""Training under `tf.distribute`: strategies and the multi-worker loop.

`MirroredStrategy` (several GPUs, or logical CPU devices) trains through
`model.fit` like a single device. Keras 3's `fit` does not run under
`MultiWorkerMirroredStrategy` (its `PerReplica` outputs fail to convert), so
multi-worker training uses `fit_multi_worker`, a custom loop with the same
loss, optimizer and data that also saves a checkpoint per epoch and resumes
from it, as `BackupAndRestore` does for `fit`.

Workers are configured by the `TF_CONFIG` environment variable, e.g. for
worker 0 of two on one machine:

    TF_CONFIG='{"cluster": {"worker": ["localhost:12345", "localhost:12346"]},
                "task": {"type": "worker", "index": 0}}'
"""

import json
import os

import tensorflow as tf

from tfodevideo._checks import check_choice
from tfodevideo._checks import check_int
from tfodevideo.training.choices import STRATEGIES


def split_cpu(replicas):
    """Splits the CPU into `replicas` logical devices, so that `"mirrored"`
    trains on several replicas without GPUs. Call before TensorFlow has
    initialised its devices (before any op runs)."""
    replicas = check_int("cpu_replicas", replicas, minimum=1)
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * replicas
    )


def make_strategy(name="default"):
    """A `tf.distribute.Strategy` by name.

    Args:
        name: `"default"` (no distribution), `"mirrored"` (every local GPU,
            or every logical CPU device when there is none) or
            `"multi_worker"` (the cluster of `TF_CONFIG`).
    """
    check_choice("strategy", name, STRATEGIES)
    if name == "mirrored":
        # Every GPU; without one, every logical CPU device (one unless the
        # CPU was split with `tf.config.set_logical_device_configuration`).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "`strategy='multi_worker'` needs the cluster in the TF_CONFIG "
                "environment variable. Received: TF_CONFIG unset"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def worker_role(strategy):
    """`(is_chief, task_index)` of this process in `strategy`'s cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True, 0
    index = resolver.task_id or 0
    is_chief = resolver.task_type == "chief" or (
        resolver.task_type == "worker" and index == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )
    return is_chief, index


def worker_dir(workdir, strategy):
    """Where this worker writes: `workdir` for the chief, a subfolder otherwise.

    Every worker must save (saving runs collective ops), but only the
    chief's files are the run's; the others go to `workdir/worker_<i>`.
    """
    is_chief, index = worker_role(strategy)
    path = workdir if is_chief else os.path.join(workdir, f"worker_{index}")
    os.makedirs(path, exist_ok=True)
    return path


def fit_multi_worker(
    model, optimizer, loss, strategy, dataset, epochs, steps_per_epoch,
    validation_data=None, backup_dir=None, verbose=1,
):
    """`model.fit` for `MultiWorkerMirroredStrategy`, as a custom loop.

    Build the model inside `strategy.scope()` before calling. Each
    replica's loss is its clips' loss summed and divided by the global batch
    (`tf.nn.compute_average_loss`), plus the model's own losses divided by
    the number of replicas, so the all-reduced gradient is the single-device
    one.

    Args:
        model: a built Keras model.
        optimizer: a `keras.optimizers.Optimizer`.
        loss: a `keras.losses.Loss` giving one value per clip from `call`.
        strategy: the distribution strategy.
        dataset: `tf.data.Dataset` of `(inputs, targets)` global batches.
        epochs, steps_per_epoch: the schedule.
        validation_data: an optional finite dataset scored after each epoch.
        backup_dir: where a checkpoint is kept after every epoch; a run
            restarted with the same folder goes on from the last one.
        verbose: print one line per epoch when positive.

    Returns:
        A dict `{"epoch": [...], "loss": [...], "val_loss": [...]}` of the
        epochs this call ran.
    """
    with strategy.scope():
        optimizer.build(model.trainable_variables)
        epoch_counter = tf.Variable(0, dtype=tf.int64, trainable=False)
    manager = None
    if backup_dir:
        checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_counter)
        manager = tf.train.CheckpointManager(checkpoint, backup_dir, max_to_keep=1)
        if manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint).expect_partial()
    num_replicas = strategy.num_replicas_in_sync

    def replica_loss(inputs, targets, training):
        predictions = model(inputs, training=training)
        per_clip = loss.call(targets, predictions)
        total = tf.nn.compute_average_loss(per_clip)
        if training and model.losses:
            total += tf.add_n(model.losses) / num_replicas
        return total

    def train_step(inputs, targets):
        with tf.GradientTape() as tape:
            value = replica_loss(inputs, targets, True)
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(value, variables), variables))
        return value

    @tf.function
    def distributed_train(iterator):
        value = strategy.run(train_step, args=next(iterator))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)

    @tf.function
    def distributed_eval(inputs, targets):
        value = strategy.run(replica_loss, args=(inputs, targets, False))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)

    iterator = iter(strategy.experimental_distribute_dataset(dataset))
    history = {"epoch": [], "loss": [], "val_loss": []}
    for epoch in range(int(epoch_counter.numpy()), epochs):
        total = 0.0
        for _ in range(steps_per_epoch):
            total += float(distributed_train(iterator))
        logs = {"loss": total / steps_per_epoch}
        if validation_data is not None:
            values = [
                float(distributed_eval(*batch))
                for batch in strategy.experimental_distribute_dataset(validation_data)
            ]
            logs["val_loss"] = sum(values) / max(len(values), 1)
        epoch_counter.assign(epoch + 1)
        if manager:
            manager.save()
        history["epoch"].append(epoch)
        for key, value in logs.items():
            history[key].append(value)
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs} " + json.dumps(logs), flush=True)
    return history


def replicated_batch_size(per_replica, strategy):
    """The global batch: `per_replica` clips on each replica."""
    return per_replica * strategy.num_replicas_in_sync

