"""One CLI: the same flag means the same thing in every command."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import pytest

from ssr.cli import COMMANDS, main

LONG_RUNNING = ("demo", "render", "make-dataset", "train", "denoise", "eval", "import", "bench")


def _parser(command: str) -> argparse.ArgumentParser:
    module = importlib.import_module(COMMANDS[command][0])
    parser = argparse.ArgumentParser(prog=f"ssr {command}")
    module.add_arguments(parser)
    return parser


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return next((a for a in parser._actions if flag in a.option_strings), None)


def _leaf_parsers(command: str) -> list[tuple[str, argparse.ArgumentParser]]:
    """The parsers that take a command's flags: the command's own, or each of its
    subcommands' (``ssr bench fps``, ...)."""
    parser = _parser(command)
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        return [(command, parser)]
    return [(f"{command} {name}", sub) for action in subparsers for name, sub in action.choices.items()]


ALLOWED_POSITIONALS = {"import": ["src"]}
"""Leaf commands with a positional argument: ``ssr import``'s SRC, a foreign renderer's dump (not ssr-seq)."""


def _is_positional(action: argparse.Action) -> bool:
    """A positional argument: no option strings, not a subcommand choice, not help."""
    return (not action.option_strings and not isinstance(action, argparse._SubParsersAction)
            and not isinstance(action, argparse._HelpAction))


def test_the_only_positionals_are_import_src_and_the_bench_harness() -> None:
    """Top-level parsers too: ``ssr bench``'s harness is a subparsers action, ``ssr import``'s SRC
    the one plain positional; the rule above sees every positional of every leaf parser."""
    found = {command: [a.dest for a in _parser(command)._actions if not a.option_strings
                       and not isinstance(a, argparse._HelpAction)] for command in COMMANDS}
    assert {c: d for c, d in found.items() if d} == {"import": ["src"], "bench": ["harness"]}
    assert isinstance(next(a for a in _parser("bench")._actions if a.dest == "harness"), argparse._SubParsersAction)
    probe = argparse.ArgumentParser()
    probe.add_argument("path")
    probe.add_argument("--data")
    assert [a.dest for a in probe._actions if _is_positional(a)] == ["path"]  # the rule can fail


@pytest.mark.parametrize("args", [["check", "somepath"], ["preview", "somepath", "--out", "x"],
                                  ["import", "--from", "blender", "a", "b"]])
def test_old_positional_forms_exit_2_naming_the_flag(args: list[str], capsys) -> None:
    """`ssr check PATH`, `ssr preview PATH` and `ssr import SRC DST` are refused: --data / --out."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    flag = "--out" if args[0] == "import" else "--data"
    assert "required" in err and flag in err, err


LONG_RUNNING_HARNESSES = ("bench quality",)
"""Subcommands that stream sequences (a progress bar per sequence)."""


@pytest.mark.parametrize("command", [name for command in COMMANDS for name, _ in _leaf_parsers(command)])
def test_shared_flags_mean_the_same_everywhere(command: str) -> None:
    top, _, sub = command.partition(" ")
    parser = dict(_leaf_parsers(top))[command]
    width = _option(parser, "--width")
    if width is not None:  # pixels, never a preset name
        assert width.type is int and width.choices is None, command
    device = _option(parser, "--device")
    if device is not None:  # any torch device string, not a fixed list; auto everywhere by default
        assert device.choices is None and device.default == "auto", command
    threads = _option(parser, "--threads")
    if threads is not None:  # worker threads, the runtime's choice unless given
        assert threads.type is int and threads.default is None, command
    assert _option(parser, "--ort-threads") is None and _option(parser, "--reference-spp") is None, command
    spp_ref = _option(parser, "--spp-ref")
    if spp_ref is not None:
        assert spp_ref.type is int, command
    assert _option(parser, "--input") is None, f"{command}: sequences are --data"
    # ssr-seq data is --data, an output folder --out: the only positionals are a foreign
    # renderer's dump (ssr import SRC) and a harness's name (ssr bench <harness>, a subparsers action)
    positionals = [a.dest for a in parser._actions if _is_positional(a)]
    assert positionals == ALLOWED_POSITIONALS.get(command, []), (
        f"ssr {command}: positional argument(s) {positionals}; take sequences as --data, outputs as --out")
    skip = _option(parser, "--skip-incomplete")
    if skip is not None:  # a switch: leave out sequences still being written
        assert skip.nargs == 0 and "not all written yet" in skip.help, command
    if (command in LONG_RUNNING and not sub) or command in LONG_RUNNING_HARNESSES:
        assert _option(parser, "--no-progress") is not None, f"ssr {command} lacks --no-progress"


@pytest.mark.parametrize("args", [["bench", "pack", "--runs", "x"], ["bench", "training", "--data", "x"],
                                  ["bench", "fps", "--runs", "x"], ["bench", "quality", "--presets", "tiny"],
                                  ["bench", "--sizes", "8x8"]])
def test_a_flag_of_another_harness_is_refused(args: list[str], capsys) -> None:
    """Each `ssr bench` harness takes only its own flags: a misapplied one exits 2 and says so."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments" in err or "required" in err or "invalid choice" in err


def test_existing_run_is_bad_input_exit_2_without_traceback(tmp_path: Path, capsys) -> None:
    from ssr.data_tools.synthetic import write_synthetic_sequence

    write_synthetic_sequence(tmp_path / "ds" / "train" / "a", width=16, height=16, frames=3)
    args = ["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "run"), "--preset", "tiny",
            "--steps", "1", "--batch", "1", "--crop", "8", "--clip", "2", "--no-progress"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "already holds a training run" in err and "Traceback" not in err
    assert main(["train", *args[1:], "--device", "not-a-device"]) == 2


@pytest.mark.parametrize("flags, message", [(["--kernel-sizes", "5,x,3"], "--kernel-sizes"),
                                            (["--kernel-sizes", "5,4,3"], "kernel_sizes"),
                                            (["--recipe", "paper", "--layout", "fast", "--arch", "rae"], "layout"),
                                            (["--arch", "rae"], "arch=\"rae\" is the RAE baseline")])
def test_bad_model_flags_exit_2_naming_the_flag(tmp_path: Path, capsys, flags: list[str], message: str) -> None:
    args = ["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "run"), "--no-progress", *flags]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_train_layout_flags_reach_the_saved_config(tmp_path: Path) -> None:
    import json

    from ssr.data_tools.synthetic import write_synthetic_sequence

    write_synthetic_sequence(tmp_path / "ds" / "train" / "a", width=16, height=16, frames=3)
    args = ["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "run"), "--preset", "fast",
            "--layout", "fast", "--accumulation", "linear", "--output", "kernel", "--kernel-sizes", "5,3,1",
            "--steps", "1", "--batch", "1", "--crop", "8", "--clip", "2", "--no-progress"]
    assert main(args) == 0
    model = json.loads((tmp_path / "run" / "config.json").read_text())["model"]
    assert model["layout"] == "fast" and model["kernel_sizes"] == [5, 3, 1] and model["width"] == "fast"
