"""The ``fastnn`` command line (fastnn.cli) and the experiments behind it (fastnn.experiments).

The commands run in-process through ``main([...])`` with tiny settings; one test runs
``python -m fastnn.cli`` in a subprocess to check the module entry point end to end.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import cli, experiments

# tiny networks: one thread is fastest, and --threads changes the process-wide setting
pytestmark = pytest.mark.usefixtures("one_thread")

ALL_ROW_LABELS = ("zero", "small random N(0, 0.01²)", "large random N(0, 1)", "Xavier (normal)", "He (normal)",
                  "none", "L1 (", "L2 (", "dropout (")

TINY_TRAIN = ["--epochs", "2", "--hidden", "8", "--samples", "120", "--verbose", "0"]
TINY_COMPARE = ["--epochs", "2", "--hidden", "8", "--samples", "60", "--seeds", "2", "--verbose", "0"]


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def printed(out, name):
    """A number printed as 'NAME: 0.1234'."""
    match = re.search(rf"{name}: ([0-9.]+)", out)
    assert match, f"no {name!r} in:\n{out}"
    return float(match.group(1))


# -- train ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", experiments.DATASETS)
def test_train_each_dataset(capsys, dataset):
    code, out, err = run(capsys, "train", "--dataset", dataset, *TINY_TRAIN)
    assert code == 0, err
    assert out.startswith(dataset)
    assert 0.0 <= printed(out, "test accuracy") <= 1.0
    assert printed(out, "test loss") > 0
    assert re.search(r"training time: [0-9.]+ s for 2 epochs \([0-9,]+ samples/s\)", out)


def test_train_prints_fit_progress(capsys):
    code, out, _ = run(capsys, "train", "--dataset", "moons", "--epochs", "2", "--hidden", "4,4", "--samples", "100",
                       "--verbose", "2", "--activation", "tanh", "--init", "xavier_uniform", "--optimizer", "rmsprop",
                       "--l1", "1e-4", "--l2", "1e-3", "--dropout", "0.1", "--lr", "0.01")
    assert code == 0
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "val_accuracy" in out
    assert "2 -> 4 tanh -> 4 tanh -> 2 softmax" in out
    assert "init xavier_uniform, l1 0.0001, l2 0.001, dropout 0.1" in out
    assert "rmsprop lr=0.01" in out


def test_train_save_writes_a_loadable_model(capsys, tmp_path):
    path = tmp_path / "model.npz"
    code, out, _ = run(capsys, "train", "--dataset", "circles", *TINY_TRAIN, "--seed", "3", "--save", str(path))
    assert code == 0
    assert f"saved the model to {path}" in out
    model = fastnn.load_model(path)
    x, y = experiments.load_dataset("circles", samples=120, noise=0.1, seed=3)
    _, x_test, _, y_test = experiments.split(x, y, test_size=0.2, seed=3)
    result = model.evaluate(x_test, y_test)
    assert f"test accuracy: {result['accuracy']:.4f}" in out
    assert f"test loss: {result['loss']:.4f}" in out


def test_train_is_reproducible(capsys):
    argv = ("train", "--dataset", "spirals", "--samples", "150", "--epochs", "3", "--hidden", "16", "--verbose", "2",
            "--dropout", "0.2", "--seed", "1")
    first = run(capsys, *argv)[1]
    second = run(capsys, *argv)[1]
    assert printed(first, "test accuracy") == printed(second, "test accuracy")
    assert printed(first, "test loss") == printed(second, "test loss")
    strip_times = re.compile(r" - [0-9.]+s - |training time: .*")
    assert strip_times.sub("", first) == strip_times.sub("", second)  # every epoch's metrics too


def test_train_reports_divergence_without_traceback(capsys, monkeypatch):
    def diverge(*args, **kwargs):
        raise FloatingPointError("The training loss became nan at epoch 1, batch 1")

    monkeypatch.setattr(fastnn.Sequential, "fit", diverge)
    code, _, err = run(capsys, "train", *TINY_TRAIN, "--dataset", "moons")
    assert code == 1
    assert "fastnn train: error: The training loss became nan" in err


# -- compare --------------------------------------------------------------------------------------


def test_compare_prints_one_table_with_all_nine_configurations(capsys):
    code, out, err = run(capsys, "compare", *TINY_COMPARE, "--verbose", "1")
    assert code == 0
    lines = out.splitlines()
    for label in ALL_ROW_LABELS:
        rows = [line for line in lines if line.strip().startswith(label)]
        assert len(rows) == 1, f"row {label!r} in:\n{out}"
        assert rows[0].count("±") == 4
    assert "mean ± std over 2 seeds" in out
    assert "16 training runs" in out  # 8 configurations trained (He without regularization is reused) x 2 seeds
    assert err.count("seed ") == 16  # one progress line per run, on stderr


def test_compare_plot_writes_a_png(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib (pip install fastnn[plot])")
    path = tmp_path / "curves.png"
    code, out, _ = run(capsys, "compare", *TINY_COMPARE, "--plot", str(path))
    assert code == 0
    assert f"wrote the loss curves to {path}" in out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_plot_without_matplotlib_says_how_to_install(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    code, out, err = run(capsys, "compare", *TINY_COMPARE, "--plot", str(tmp_path / "x.png"))
    assert code == 2
    assert "argument --plot" in err and "pip install fastnn[plot]" in err
    assert out == ""  # refused before training anything


# -- the experiment API ---------------------------------------------------------------------------


def test_zero_init_stays_at_chance_while_he_learns_circles():
    result = experiments.compare_initializations_and_regularizers(
        "circles", samples=400, noise=0.1, val_size=0.25, hidden=(16, 16), epochs=30, seeds=2, configs=["zero", "he"])
    assert result.keys() == ["zero", "he"]
    assert result.settings["chance"] == 0.5
    assert np.all(result["zero"].values("val_accuracy") < 0.65)
    assert np.all(result["he"].values("val_accuracy") > 0.9)
    # zero init: every hidden unit computes the same function, so the loss never leaves log(2)
    assert result["zero"].mean("train_loss") == pytest.approx(np.log(2), abs=1e-3)


def test_comparison_structure_and_table():
    seen = []
    result = experiments.compare_initializations_and_regularizers(
        "moons", samples=60, hidden=(4,), epochs=3, seeds=[5, 7], progress=lambda *args: seen.append(args[:2]))
    assert result.keys() == [config.key for config in experiments.CONFIGURATIONS]
    assert seen == [(i, 16) for i in range(1, 17)]
    assert result["he+none"].runs is result["he"].runs  # reused, not trained twice
    for config in result.results:
        assert [run.seed for run in config.runs] == [5, 7]
        for run in config.runs:
            assert not run.diverged
            assert set(run.history) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "objective"}
            assert all(len(values) == 3 for values in run.history.values())
            assert run.final["val_loss"] == run.history["val_loss"][-1]  # measured at inference after the last epoch
        assert config.mean_curve("val_loss").shape == (3,)
    assert result["he+l2"].runs[0].penalty > 0 and result["he"].runs[0].penalty == 0
    table = experiments.format_table(result)
    assert "moons (60 samples, noise 0.2)" in table and "seeds 5, 7" in table
    assert "L1 (0.002)" in table and "L2 (0.005)" in table and "dropout (0.3)" in table


def test_a_diverging_run_is_flagged_not_raised(monkeypatch):
    def diverge(*args, **kwargs):
        raise FloatingPointError("diverged")

    monkeypatch.setattr(fastnn.Sequential, "fit", diverge)
    result = experiments.compare_initializations_and_regularizers(samples=40, hidden=(4,), epochs=1, seeds=1,
                                                                  configs=["large"])
    assert result["large"].diverged == 1
    assert "diverged in 1/1 runs" in experiments.format_table(result)


def test_unknown_configuration_is_rejected():
    with pytest.raises(ValueError, match="configs"):
        experiments.compare_initializations_and_regularizers(configs=["lecun"])


# -- info, version, bad arguments ------------------------------------------------------------------


def test_info_reports_the_isa_and_passes_its_self_check(capsys):
    code, out, _ = run(capsys, "info")
    assert code == 0
    assert f"kernels: {fastnn.cpu_info()['isa']}" in out
    assert "self-check" in out and "ok" in out


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"fastnn {fastnn.__version__}"


@pytest.mark.parametrize("argv, option", [
    (["train", "--epochs", "-1"], "--epochs"),
    (["train", "--epochs", "two"], "--epochs"),
    (["train", "--hidden", "12,x"], "--hidden"),
    (["train", "--hidden", "0"], "--hidden"),
    (["train", "--hidden", ""], "--hidden"),
    (["train", "--dataset", "mnist"], "--dataset"),
    (["train", "--dropout", "1"], "--dropout"),
    (["train", "--dropout", "-0.1"], "--dropout"),
    (["train", "--init", "glorious"], "--init"),
    (["train", "--activation", "gelu"], "--activation"),
    (["train", "--optimizer", "lbfgs"], "--optimizer"),
    (["train", "--lr", "0"], "--lr"),
    (["train", "--lr", "nan"], "--lr"),
    (["train", "--l2", "-1"], "--l2"),
    (["train", "--test-size", "1"], "--test-size"),
    (["train", "--validation-split", "1"], "--validation-split"),
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--seed", "-3"], "--seed"),
    (["train", "--seed", "x"], "--seed"),
    (["train", "--seed", "9" * 400], "--seed"),  # an int too large for a float
    (["train", "--threads", "0"], "--threads"),
    (["train", "--verbose", "3"], "--verbose"),
    (["train", "--noise", "-0.1"], "--noise"),
    (["train", "--save", "/no/such/folder/model.npz"], "--save"),
    (["train", "--dataset", "circles", "--samples", "5"], "--validation-split"),
    (["compare", "--seeds", "0"], "--seeds"),
    (["compare", "--dataset", "iris"], "--dataset"),
    (["compare", "--dropout", "1.5"], "--dropout"),
    (["compare", "--hidden", "64,,64"], "--hidden"),
    (["compare", "--val-size", "0"], "--val-size"),
    (["compare", "--plot", "/no/such/folder/curves.png"], "--plot"),
    (["fit"], "COMMAND"),
    ([], "COMMAND"),
])
def test_bad_arguments_exit_2_naming_the_option(capsys, argv, option):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert f"argument {option}" in err or (option == "COMMAND" and "required: COMMAND" in err), err
    assert "error:" in err and "Traceback" not in err
    assert err.count("received") <= 1, err  # the value is quoted once
    assert out == ""


def test_a_sample_count_the_library_rejects_is_an_argument_error(capsys):
    code, _, err = run(capsys, "train", "--dataset", "moons", "--samples", "1", "--verbose", "0")
    assert code == 2
    assert "fastnn train: error:" in err and "Traceback" not in err


def test_module_entry_point_end_to_end():
    package_root = os.path.dirname(os.path.dirname(fastnn.__file__))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    completed = subprocess.run(
        [sys.executable, "-m", "fastnn.cli", "train", "--epochs", "1", "--hidden", "8", "--verbose", "2"],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "Epoch 1/1" in completed.stdout
    assert "test accuracy: " in completed.stdout


# -- the convolutional chapter: train --model cnn, compare --model cnn, compare --depth -----------

TINY_CNN = ["--model", "cnn", "--epochs", "1", "--filters", "4,8", "--verbose", "0"]


def test_train_cnn_reports_accuracies_and_time(capsys, tmp_path):
    path = tmp_path / "cnn.npz"
    code, out, err = run(capsys, "train", *TINY_CNN, "--dropout", "0.1", "--save", str(path))
    assert code == 0, err
    assert out.startswith("digits: 8x8x1 images, 10 classes")
    assert "CNN 8x8x1 -> augment -> conv4-bn-relu -> conv8-bn-relu -> maxpool -> residual" in out
    assert "dropout 0.1 -> 10 softmax" in out and "bn momentum 0.9" in out
    assert re.search(r"re-estimated on the \d+ clean training images: train accuracy [0-9.]+, validation accuracy", out)
    assert 0.0 <= printed(out, "test accuracy") <= 1.0
    assert re.search(r"training time: [0-9.]+ s for 1 epochs", out)
    model = fastnn.load_model(path)
    assert model.input_shape == (8, 8, 1)


def test_train_cnn_without_batch_norm_or_augmentation(capsys):
    code, out, _ = run(capsys, "train", *TINY_CNN, "--no-batch-norm", "--no-augmentation", "--init", "xavier_normal")
    assert code == 0
    assert "CNN 8x8x1 -> conv4-relu -> conv8-relu -> maxpool -> residual(conv8-relu, conv8)" in out
    assert "re-estimated" not in out and "augmentation:" not in out


def test_compare_cnn_prints_one_table_of_twenty_rows(capsys):
    code, out, err = run(capsys, "compare", "--model", "cnn", "--epochs", "1", "--filters", "2,4", "--seeds", "1",
                         "--val-size", "0.9", "--verbose", "1")
    assert code == 0, err
    for group in ("zero", "small random N(0, 0.01²)", "Xavier (normal)", "He (normal)"):
        assert f"\n{group}\n" in out
    for label in ("plain", "+ batch norm", "+ augmentation", "+ dropout (0.3)", "all three"):
        assert sum(line.strip().startswith(label) for line in out.splitlines()) == 4, label
    assert "20 training runs" in out and err.count("seed 0") == 20


def test_compare_depth_prints_the_scales(capsys):
    code, out, _ = run(capsys, "compare", "--depth", "4,6", "--width", "8")
    assert code == 0
    rows = [line for line in out.splitlines() if re.match(r"[46] +(plain|residual), (Xavier|He)", line)]
    assert len(rows) == 8
    assert "8 stacks measured" in out


@pytest.mark.parametrize("argv", [["compare", "--model", "cnn", "--epochs", "1", "--filters", "2,2", "--seeds", "1",
                                   "--val-size", "0.95", "--verbose", "0"],
                                  ["compare", "--depth", "4", "--width", "8"]])
def test_compare_cnn_and_depth_plot_a_png(capsys, tmp_path, argv):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib (pip install fastnn[plot])")
    path = tmp_path / "plot.png"
    code, out, _ = run(capsys, *argv, "--plot", str(path))
    assert code == 0
    assert f"to {path}" in out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv", [["compare", "--epochs", "1", *TINY_COMPARE[2:]],
                                  ["compare", "--model", "cnn", "--epochs", "1", "--filters", "2,2", "--seeds", "1",
                                   "--val-size", "0.95", "--verbose", "0"]])
def test_one_epoch_curves_are_drawn_as_points(capsys, tmp_path, monkeypatch, argv):
    """One epoch gives each curve a single point, which a line without markers leaves invisible."""
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib (pip install fastnn[plot])")
    from matplotlib.figure import Figure

    figures, savefig = [], Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *args, **kwargs: (figures.append(self),
                                                                          savefig(self, *args, **kwargs))[1])
    code, _, _ = run(capsys, *argv, "--plot", str(tmp_path / "plot.png"))
    assert code == 0 and len(figures) == 1
    curves = [line for ax in figures[0].axes for line in ax.get_lines()]
    assert curves and all(len(line.get_xdata()) == 1 for line in curves)
    assert all(line.get_marker() not in (None, "None", "") for line in curves)


@pytest.mark.parametrize("argv, option", [
    (["train", "--model", "rnn"], "--model"),
    (["train", "--model", "cnn", "--dataset", "moons"], "--dataset"),
    (["train", "--model", "cnn", "--hidden", "8"], "--hidden"),
    (["train", "--model", "cnn", "--l2", "0.1"], "--l2"),
    (["train", "--filters", "8,8"], "--filters"),
    (["train", "--no-augmentation"], "--no-augmentation"),
    (["train", "--model", "cnn", "--filters", "16"], "--filters"),
    (["compare", "--depth", "3"], "--depth"),
    (["compare", "--depth", "20,x"], "--depth"),
    (["compare", "--depth", "20", "--model", "cnn"], "--depth"),
    (["compare", "--model", "cnn", "--dataset", "moons"], "--dataset"),
    (["compare", "--width", "0"], "--width"),
    (["compare", "--width", "8"], "--width"),                          # only for --depth
    (["compare", "--depth", "4", "--epochs", "3"], "--epochs"),        # options a mode ignores are errors
    (["compare", "--depth", "4", "--dataset", "moons"], "--dataset"),
    (["compare", "--depth", "4", "--l2", "0.1"], "--l2"),
    (["compare", "--model", "cnn", "--hidden", "8"], "--hidden"),
    (["compare", "--model", "cnn", "--samples", "100"], "--samples"),
])
def test_bad_cnn_arguments_exit_2_naming_the_option(capsys, argv, option):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert f"argument {option}" in err and "Traceback" not in err
    assert out == ""
