"""The names the training commands accept, in a module free of TensorFlow,
so that the command line can list them without starting it."""

# tf.distribute strategies of `train(strategy=)`, see `distributed.py`.
STRATEGIES = ("default", "mirrored", "multi_worker")
# keras-tuner searches of `tune(tuner=)`.
TUNERS = ("random", "bayesian", "hyperband")
# Tuner objectives and their direction.
OBJECTIVES = {"val_psnr": "max", "val_ssim": "max", "val_loss": "min"}
# Test sets of `evaluate(test_set=)`.
TEST_SETS = ("standard", "generated")
