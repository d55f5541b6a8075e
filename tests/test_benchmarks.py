"""The benchmark scripts keep running and report every field (not their figures)."""

import json

import keras
import numpy as np
import pytest

from benchmarks import data_throughput


def test_data_throughput_small_mode(tmp_path):
    out = tmp_path / "result.json"
    assert data_throughput.main(["--small", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result) >= {
        "dataset", "batch_size", "sequences_per_second_median", "cpu_cores", "tensorflow",
    }
    assert result["sequences_per_second_median"] > 0


def test_ode_speed_small_mode(tmp_path):
    from benchmarks import ode_speed

    out = tmp_path / "ode.json"
    assert ode_speed.main(["--small", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert {row["method"] for row in rows} == {"dopri5", "rk4"}
    for row in rows:
        assert row["forward_nfe"] > 0
        # The adjoint solves again backwards; rk4 backpropagates through its steps.
        more = row["forward_backward_nfe"] - row["forward_nfe"]
        assert more > 0 if row["method"] == "dopri5" else more == 0
        assert row["forward_ms"] > 0 and row["forward_backward_ms"] > 0


def test_speed_small_mode(tmp_path):
    from benchmarks import speed

    out = tmp_path / "speed.json"
    assert speed.main(["--small", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["matmul_peak_flops_per_s"] > 0
    ode, convlstm = result["rows"]
    for row in (ode, convlstm):
        assert row["train_sequences_per_s"] > 0 and row["latency_ms_batch1"] > 0
        assert row["predict_frames_per_s_batch1"] > 0 and row["predict_frames_per_s_batch4"] > 0
        assert row["flops_per_sequence"] > 0
        for key in ("", "_batch1"):
            assert row[f"fraction_of_matmul_peak{key}"] > 0
        assert row["train_fraction_of_matmul_peak_est"] > 0
    assert set(ode["split_seconds"]) == {"encoder", "ode", "decoder"} and ode["ode_nfe"] > 0
    assert [row["frames"] for row in ode["scaling"]] == [18, 100]
    cost = ode["tolerance_cost"]
    loose, tight = cost["training_tolerance"], cost["inference_tolerance"]
    assert tight["rtol_atol"][0] < loose["rtol_atol"][0] and tight["nfe"] >= loose["nfe"] > 0
    assert tight["max_batch_dependence"] <= loose["max_batch_dependence"] + 1e-5


def test_precision_small_mode(tmp_path):
    from benchmarks import precision

    out = tmp_path / "precision.json"
    # One decoder (test_model_layers.py counts the cheaper ones' FLOPs).
    assert precision.main(["--small", "--presets", "ball_latent_ode", "--decoders",
                           "subpixel4_shallow", "--rounds", "2", "--baselines",
                           "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["matmul_flops_per_s"]) == {"float32", "bfloat16"}
    rows = {(row["decoder"], row["precision"], row["batch_norm"]): row
            for row in result["rows"]}
    # The library's batch norm by default (test_model_layers.py holds Keras'
    # layer to no fused op; building each variant both ways doubles this test).
    assert set(rows) == {("subpixel4_shallow", p, "fused") for p in ("float32", "mixed_bfloat16")}
    for (decoder, precision_name, batch_norm), row in rows.items():
        assert row["step_profile"]["fused_batch_norm_ops"] > 0
        assert row["train_sequences_per_s"] > 0 and row["predict_frames_per_s"] > 0
        # One timing per alternating round, the figure their median.
        timings = row["train_sequences_per_s_rounds"]
        assert len(timings) == 2 and min(timings) <= row["train_sequences_per_s"] <= max(timings)
        # The profile finds the products the policy moved to bfloat16, and
        # only under the mixed policy.
        low = sum(n for key, n in row["step_profile"]["products"].items()
                  if key.endswith("bfloat16"))
        assert (low > 0) == (precision_name == "mixed_bfloat16"), row["step_profile"]
        assert row["decoder_flops_per_frame"] > 0
        # The profiler's op time, split by kind: every op counted once.
        kinds = row["time_profile"]["kinds"]
        assert sum(k["share"] for k in kinds.values()) == pytest.approx(1.0)
        assert kinds["products"]["seconds_per_step"] > 0
        assert (kinds["casts"]["seconds_per_step"] > 0) or precision_name == "float32"
    # The speed-up of each row over its float32 twin, round by round.
    ups = {(row["decoder"], row["precision"]): up
           for row, up in zip(result["rows"], result["speedups"])}
    assert ups["subpixel4_shallow", "float32"] == {"median": 1.0, "min": 1.0, "max": 1.0}
    mixed = ups["subpixel4_shallow", "mixed_bfloat16"]
    assert 0 < mixed["min"] <= mixed["median"] <= mixed["max"]
    assert [row["speedup_over_float32"] for row in result["rows"]] == result["speedups"]
    assert result["quality"] == [] and result["finished"] is True
    # Black frames' validation PSNR, as fit logs it: the mean per-frame PSNR
    # (peak 1) of the validation targets against zeros.
    from tfodevideo.training.presets import resolve
    from tfodevideo.training.trainer import make_data

    scored = {row["predictor"]: row for row in result["quality_baselines"]}
    assert set(scored) == {"black_frames", "copy_last"}
    _, validation = make_data(resolve("ball_latent_ode", quick=True,
                                      overrides=precision.variant_overrides(
                                          "float32", "default", small=True)))
    targets = np.concatenate([t.numpy() for _, t in validation])
    expected = np.mean(10 * np.log10(1 / np.mean(targets**2, axis=(-3, -2, -1))))
    assert scored["black_frames"]["val_psnr"] == pytest.approx(expected, abs=1e-3)
    assert scored["copy_last"]["val_psnr"] != scored["black_frames"]["val_psnr"]


def test_centroids_find_the_true_ball_centre_through_haze_and_noise():
    from tfodevideo.metrics import centroids
    from tfodevideo.data import GaussianBall

    clips = GaussianBall(num_frames=6).generate(16, seed=3)
    frames, truth = clips["frames"].numpy(), clips["positions"].numpy()
    error = np.linalg.norm(centroids(frames) - truth, axis=-1)
    assert error.max() < 0.05
    rng = np.random.default_rng(0)
    for haze, noise in ((0.2, 0.0), (0.0, 0.03), (0.2, 0.03)):
        murky = np.clip(frames + haze + rng.normal(0, noise, frames.shape), 0, 1)
        error = np.linalg.norm(centroids(murky) - truth, axis=-1)
        assert error.max() < 0.2, (haze, noise, error.max())
        # Without the background correction the haze pulls it to the middle.
        total = murky[..., 0].sum(axis=(-2, -1))
        naive = (murky[..., 0] * np.arange(28)).sum(axis=(-2, -1)) / total
        assert np.abs(naive - truth[..., 0]).max() > 1.0
    assert np.isnan(centroids(np.zeros((1, 8, 8, 1)))).all()


def test_widths_follow_a_growing_ball_and_tell_it_from_a_shrinking_one():
    from tfodevideo.metrics import widths
    from tfodevideo.data import GaussianBall

    clips = GaussianBall(num_frames=20, sigma=(1.0, 1.5), sigma_rate=(-0.25, 0.25)).generate(
        16, seed=5)
    found, truth = widths(clips["frames"].numpy()), clips["sigmas"].numpy()
    # Pixel sampling adds a little to a narrow blob's variance: 0.08 px at
    # sigma 0.7, the narrowest this range draws.
    assert np.abs(found - truth).max() < 0.1
    growth = found[:, -1] - found[:, 0]
    rates = clips["sigmas"].numpy()[:, -1] - clips["sigmas"].numpy()[:, 0]
    assert (np.sign(growth) == np.sign(rates)).all()
    assert np.isnan(widths(np.zeros((1, 8, 8, 1)))).all()


def _quality_argv(workdir, *extra):
    return ["--small", "--budget-minutes", "0.05", "--workdir", str(workdir), *extra]


def test_quality_small_mode_sweeps_widths_and_repeats_seeds(tmp_path):
    from benchmarks import quality

    workdir = tmp_path / "quality"
    # Two families keep the suite short; the third runs in the next test.
    argv = _quality_argv(workdir, "--sweep-minutes", "0.03", "--widths", "small", "medium",
                         "--seeds", "0", "1", "--settings", "mmnist2_10to10",
                         "--contestants", "tfodevideo", "simvp")
    assert quality.main(argv) == 0
    result = json.loads((workdir / "quality.json").read_text())
    sweep = result["sweeps"]["mmnist2_10to10"]
    assert sweep["widths"] == ["small", "medium"] and sweep["validation_seed"] == 1789
    assert set(sweep["scores"]) == {"tfodevideo", "simvp"}
    for family in ("tfodevideo", "simvp"):
        assert set(sweep["scores"][family]) == {"small", "medium"}
        scores = sweep["scores"][family]
        assert sweep["chosen"][family] == min(scores, key=lambda w: scores[w]["mse_frame"])
    scored = result["results"]["mmnist2_10to10"]
    assert scored["seeds"] == [0, 1] and scored["table_sequences"] == 8
    assert set(scored["table"]) == {"tfodevideo", "simvp", "black_frames", "copy_last"}
    for family in ("tfodevideo", "simvp"):
        psnr = scored["table"][family]["psnr"]
        assert len(psnr["per_seed"]) == 2
        assert psnr["mean"] == pytest.approx(np.mean(psnr["per_seed"]))
        assert psnr["std"] == pytest.approx(np.std(psnr["per_seed"], ddof=1))
        for seed in (0, 1):
            record = result["training"]["mmnist2_10to10"][
                f"{family}-{sweep['chosen'][family]}-seed{seed}"]
            assert record["steps"] > 0 and record["seed"] == seed and record["clock"] == "cpu"
            assert record["seconds"] >= 60 * 0.05
    assert set(scored["table"]["black_frames"]) == {
        "mse_frame", "mae_frame", "psnr", "ssim", "ssim_paper"}
    assert all(len(c["psnr"]) == 90 for c in scored["curves"].values())
    beyond = scored["beyond_horizon"]
    assert beyond["black_frames"]["psnr_mean"] == pytest.approx(
        np.mean(scored["curves"]["black_frames"]["psnr"][10:]))
    for family in ("tfodevideo", "simvp"):  # Each seed's own mean, not the mean curve's.
        seeds = beyond[family]["psnr_mean"]["per_seed"]
        assert len(seeds) == 2 and len(beyond[family]["lowest_margin_over_black"]
                                       ["per_seed"]) == 2
        assert np.mean(seeds) == pytest.approx(beyond[family]["psnr_mean"]["mean"])
    for picture in ("frames.png", "curves.png", "per_frame.csv", "sweep.json"):
        assert (workdir / "mmnist2_10to10" / picture).stat().st_size > 0
    assert len(result["targets"]) == 3 * 3 + 1  # Three peers x three metrics, and PSNR.
    assert {t["rule"] for t in result["targets"]} <= {"every seed", "2 pooled sd", "not met"}


def test_quality_small_mode_resumes_and_refuses_mixed_runs(tmp_path):
    from benchmarks import quality

    workdir = tmp_path / "quality"
    argv = _quality_argv(workdir, "--widths", "medium", "--seeds", "0",
                         "--settings", "ball_2to18", "--contestants", "tfodevideo", "convlstm")
    assert quality.main(argv) == 0
    result = json.loads((workdir / "quality.json").read_text())
    assert result["sweeps"]["ball_2to18"]["scores"] == {}  # One width: nothing to sweep.
    centre = result["results"]["ball_2to18"]["centre_error_px"]
    assert centre["black_frames"] is None and centre["ground_truth"]["at_2x"] < 0.05
    if centre["tfodevideo"] is not None:
        assert set(centre["tfodevideo"]) == {"at_1x", "at_2x", "mean_1x", "mean_beyond_1x"}

    # A rerun finds every job trained and only scores again.
    models = sorted(workdir.glob("*/runs/*.keras"))
    assert len(models) == 2
    stamps = [path.stat().st_mtime_ns for path in models]
    assert quality.main(argv) == 0
    assert [path.stat().st_mtime_ns for path in models] == stamps
    # Another budget in the same folder would mix runs: refused, named.
    with pytest.raises(ValueError, match="budget_minutes="):
        quality.main(_quality_argv(workdir, "--widths", "medium", "--seeds", "0",
                                   "--settings", "ball_2to18", "--side-budget-minutes", "0.2",
                                   "--contestants", "tfodevideo", "convlstm"))
    # So would records made with other core counts.
    record_path = workdir / "ball_2to18" / "runs" / "convlstm-medium-seed0.json"
    record = json.loads(record_path.read_text())
    record["cores"] = list(range(len(record["cores"] or []) + 3))
    record_path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="cores"):
        quality.main(argv)


def test_design_race_scores_every_design_and_seed_on_validation(tmp_path, capsys):
    from benchmarks import designs

    workdir, out = tmp_path / "designs", tmp_path / "designs.json"
    names = ["mmnist2_10to10_map", "mmnist2_10to10_rules"]
    argv = ["--presets", *names, "--minutes", "0.03", "--seeds", "0", "1", "--clips", "4",
            "--long-horizon", "12", "--long-clips", "2", "--batch-size", "4",
            "--workdir", str(workdir), "--json", str(out), "--small"]
    assert designs.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["split"] == "validation" and result["validation_seed"] == 1789
    assert (result["clips"], result["long_clips"]) == (4, 2)
    assert set(result["table"]) == {*names, "black_frames", "copy_last"}
    for name in names:
        row = result["table"][name]
        assert len(row["psnr"]["per_seed"]) == 2 and len(row["psnr_beyond"]["per_seed"]) == 2
        assert row["psnr"]["mean"] == pytest.approx(np.mean(row["psnr"]["per_seed"]))
        assert all(r["steps"] > 0 for r in result["training"][name].values())
    assert result["winner"] == max(names, key=lambda n: result["table"][n]["psnr"]["mean"])
    # Black frames past the horizon: their frames 11-12 alone, not the first ten.
    black = result["table"]["black_frames"]
    assert black["psnr_beyond"] != pytest.approx(black["psnr"], abs=1e-9)

    # A rerun trains nothing again; designs of other frames are refused, named.
    models = sorted(workdir.glob("*/*.keras"))
    stamps = [path.stat().st_mtime_ns for path in models]
    assert len(models) == 4 and designs.main(argv) == 0
    assert [path.stat().st_mtime_ns for path in models] == stamps
    with pytest.raises(SystemExit):
        designs.main(["--presets", "mmnist2_10to10_cpu", "mmnist2_2to18_lattice",
                      "--minutes", "1", "--json", str(out)])
    assert "--presets" in capsys.readouterr().err.splitlines()[-1]


def test_swap_benchmark_writes_scores_probes_and_picture(tmp_path):
    from benchmarks import swap
    from tfodevideo.models import VideoODE

    model = VideoODE(image_size=(28, 28), num_context=2, dynamics_dim=2, appearance_dim=3,
                     encoder_channels=(4, 8), field_units=8, field_depth=1)
    model.build(None)
    model.save(str(tmp_path / "m.keras"))
    out = tmp_path / "swap" / "ball.json"
    assert swap.main(["--model", str(tmp_path / "m.keras"), "--dataset", "ball_looks",
                      "--pairs", "3", "--probe-clips", "8", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["swap"]["num_pairs"] == 3 and result["probes"]["num_clips"] == 8
    assert result["swap"]["split"] == "validation" and "cpu_cores" in result["machine"]
    assert "targets" not in result  # A ball has no digit class to probe.
    assert (tmp_path / "swap" / "ball_grid.png").stat().st_size > 0


def test_appearance_ode_benchmark_scores_groups_of_seeds_and_the_ball_width(tmp_path):
    from benchmarks import appearance_ode
    from tfodevideo.models import VideoODE

    paths = []
    for seed, moving in ((0, True), (1, True), (0, False)):
        keras.utils.set_random_seed(seed)
        model = VideoODE(image_size=(28, 28), num_context=2, latent="slots", decoder="glyph",
                         dynamics_dim=2, appearance_dim=3, encoder_channels=(4, 8),
                         field_units=8, field_depth=1, appearance_ode=moving)
        model.build(None)
        paths.append(str(tmp_path / f"m{seed}_{moving}.keras"))
        model.save(paths[-1])
    out = tmp_path / "ode" / "growing.json"
    assert appearance_ode.main(["--group", "ode", paths[0], paths[1], "--group", "fixed",
                                paths[2], "--clips", "4", "--horizon", "6",
                                "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["groups"]) == {"ode", "fixed"} and result["split"] == "validation"
    ode = result["groups"]["ode"]
    assert len(ode["psnr"]["values"]) == 2 and ode["psnr"]["std"] > 0  # Two seeds differ.
    assert result["groups"]["fixed"]["psnr"]["std"] == 0.0
    assert len(result["models"][paths[0]]["width_error_px"]["per_frame"]) == 6
    assert set(result["references"]) == {"black_frames", "copy_last"}
    # The growing ball's width does change after the inputs.
    assert result["width_error_if_held_px"]["last_frame"] > 0.05


def test_width_following_tells_a_look_that_changes_from_a_fixed_one():
    from benchmarks.appearance_ode import width_following

    truth = 1.0 + np.outer(np.linspace(-0.3, 0.3, 8), np.linspace(0, 1, 6))  # (clips, T)
    follows = width_following(truth.copy(), truth)
    assert follows["change_slope"] == pytest.approx(1.0)
    assert follows["change_corr"] == pytest.approx(1.0)
    fixed = width_following(np.full_like(truth, 1.2) + 0.01 * truth[:, :1], truth)
    assert fixed["change_slope"] == pytest.approx(0.0, abs=1e-9)
    blank = truth.copy()
    blank[:6, -1] = np.nan  # Clips without a ball in a frame are left out.
    assert width_following(blank, truth) == {"clips": 2}


def test_seeds_gathers_figures_by_setting_and_tells_a_difference_from_seed_noise(tmp_path):
    from benchmarks import seeds

    def record(name, value):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"swap": {"psnr": value}, "probe": {"acc": 0.5},
                                    "rows": [{"psnr": 0.0}, {"psnr": value + 1}]}))
        return str(path)

    out = tmp_path / "seeds" / "out.json"
    assert seeds.main(["--group", "a", record("a0", 20.0), record("a1", 21.0),
                       "--group", "b", record("b0", 25.0), record("b1", 26.0),
                       "--field", "psnr=swap.psnr", "--field", "acc=probe.acc",
                       "--field", "second=rows.1.psnr", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["groups"]["a"]["psnr"] == {"mean": 20.5, "std": pytest.approx(0.7071, abs=1e-4),
                                             "values": [20.0, 21.0]}
    assert result["groups"]["b"]["second"]["values"] == [26.0, 27.0]  # A list's item.
    difference = result["difference"]
    assert difference["psnr"]["mean_difference"] == 5.0 and difference["psnr"]["beyond_seed_noise"]
    assert not difference["acc"]["beyond_seed_noise"]  # Equal means.
    for missing in ("swap.ssim", "rows.2.psnr"):
        with pytest.raises(KeyError, match=missing):
            seeds.main(["--group", "a", record("a0", 1.0), "--field", f"s={missing}",
                        "--json", str(out)])


def test_motion_rules_scores_a_cutout_model_under_other_rules_and_blurs(tmp_path):
    from benchmarks import motion_rules
    from tfodevideo.models import VideoODE

    model = VideoODE(image_size=(28, 28), num_context=3, dynamics_dim=2, appearance_dim=36,
                     latent="slots", slot_appearance="cutout", decoder="glyph",
                     encoder_channels=(4, 8), field_units=8, field_depth=1,
                     field_zero_start=True, walls=0.5,
                     decoder_options={"glyph_size": 6, "uncertainty": True})
    model.build(None)
    model.save(str(tmp_path / "m.keras"))
    out = tmp_path / "rules" / "ball.json"
    assert motion_rules.main([
        "--model", str(tmp_path / "m.keras"), "--dataset", "ball", "--clips", "2",
        "--horizon", "12", "--speed-clips", "4", "--rate-scales", "0.5",
        "--variants", "elastic_line", "clamp_lattice_shared_speed", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["psnr_mean"]) == {
        "black_frames", "copy_last", "as_trained", "elastic_line",
        "clamp_lattice_shared_speed", "as_trained_rate_x0.5"}
    assert set(result["psnr_mean"]["as_trained"]) == {
        "frames_1_10", "frames_1_12", "frames_11_12"}
    assert result["split"] == "validation" and result["num_clips"] == 2
    assert result["shared_speed_pixels_per_frame"]["clamp_lattice_shared_speed"] > 0


def test_motion_rules_draws_a_lattice_model_at_several_motions(tmp_path):
    """`--hypotheses`: the weights carried over, so one hypothesis of a
    model whose field is zero is the model itself."""
    from benchmarks import motion_rules
    from tfodevideo.data.registry import held_out_batches
    from tfodevideo.models import VideoODE

    model = VideoODE(image_size=(28, 28), num_context=2, dynamics_dim=2, appearance_dim=36,
                     latent="slots", slot_appearance="cutout", decoder="glyph",
                     encoder_channels=(4, 8), field_units=8, field_depth=1,
                     field_zero_start=True, velocity_fit="lattice", shared_speed=True,
                     walls={"extent": 0.5, "rule": "clamp", "step_time": 0.1},
                     decoder_options={"glyph_size": 6, "uncertainty": True,
                                      "whole_pixels": True})
    inputs, _, _ = next(held_out_batches("ball", 2, 6, 4, 4, "validation"))
    model(inputs, training=True)  # A shared speed, so that two motions differ.
    one, two = motion_rules.with_hypotheses(model, 1), motion_rules.with_hypotheses(model, 2)
    np.testing.assert_allclose(one(inputs, training=False), model(inputs, training=False),
                               atol=1e-6)
    assert two.decoder.hypotheses == 2 and float(two.head.speed) == float(model.head.speed)
    model.save(str(tmp_path / "m.keras"))
    out = tmp_path / "rules" / "ball.json"
    assert motion_rules.main([
        "--model", str(tmp_path / "m.keras"), "--dataset", "ball", "--clips", "2",
        "--horizon", "6", "--rate-scales", "2", "--variants", "--hypotheses", "1", "2",
        "--json", str(out)]) == 0
    assert set(json.loads(out.read_text())["psnr_mean"]) == {
        "black_frames", "copy_last", "as_trained", "as_trained_rate_x2", "hypotheses_1",
        "hypotheses_2", "hypotheses_1_rate_x2", "hypotheses_2_rate_x2"}


def test_quality_races_another_preset_of_the_same_frames_and_keeps_presets_apart(tmp_path):
    """`--preset` puts the what/where cut-out model in a setting's place;
    a preset of other frames, or another preset's runs in the workdir, are
    refused."""
    from benchmarks import quality

    workdir = tmp_path / "quality"
    argv = _quality_argv(workdir, "--widths", "medium", "--seeds", "0", "--settings",
                         "mmnist2_10to10", "--contestants", "tfodevideo",
                         "--preset", "mmnist2_10to10=mmnist2_10to10_cutout")
    assert quality.main(argv) == 0
    result = json.loads((workdir / "quality.json").read_text())
    assert result["presets"] == {"mmnist2_10to10": "mmnist2_10to10_cutout"}
    record = result["training"]["mmnist2_10to10"]["tfodevideo-medium-seed0"]
    assert record["preset"] == "mmnist2_10to10_cutout" and record["steps"] > 0
    assert set(result["results"]["mmnist2_10to10"]["table"]) == {
        "tfodevideo", "black_frames", "copy_last"}
    with pytest.raises(SystemExit):  # One digit, 2 -> 18: not the setting's frames.
        quality.main(_quality_argv(workdir, "--preset", "mmnist2_10to10=mmnist1_2to18_cutout"))
    with pytest.raises(ValueError, match="preset=mmnist2_10to10_cutout"):
        quality.main(argv[:-2])  # The setting's own preset over the cut-out model's runs.
