"""``ssr <command>``: the one command line of SSR engine.

Each command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs, so
``ssr check`` never pays for importing torch or Mitsuba.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("ssr.runtime.demo", "render the built-in scene, denoise it with the bundled model, write images + metrics"),
    "check": ("ssr.data_tools.check", "validate ssr-seq sequences or datasets and print a summary"),
    "import": ("ssr.data_tools.importers.cli", "convert Blender / Mitsuba / SSR-paper / OIDN / custom-mapped dumps into ssr-seq"),
    "preview": ("ssr.data_tools.preview", "write PNG contact sheets (colour, reference, albedo, normals, depth, motion)"),
    "render": ("ssr.data_tools.render.cli", "render an ssr-seq sequence with Mitsuba 3"),
    "make-dataset": ("ssr.data_tools.render.dataset", "render a training/validation dataset from a config"),
    "compact": ("ssr.data_tools.compact", "write a compact float16 copy of a dataset for training elsewhere"),
    "train": ("ssr.train.cli", "train an SSR network on ssr-seq data"),
    "eval": ("ssr.runtime.evaluate_cli", "evaluate a model: PSNR/SSIM/RMSE/FLIP/temporal error per sequence"),
    "denoise": ("ssr.runtime.denoise", "denoise an ssr-seq sequence frame by frame"),
    "export": ("ssr.export.cli", "export a model's frame step to ONNX (or a TensorRT engine)"),
    "bench": ("ssr.bench.cli", "harnesses: packing speed, network speed per width, quality vs Intel OIDN"),
}

EPILOG = """\
examples:
  ssr demo --out demo_out                    # render + denoise the built-in scene
  ssr check --data data/my_sequence          # validate a sequence (exit 1 if invalid)
  ssr import --from blender renders/shot --out data/shot   # your renderer's EXRs -> ssr-seq
  ssr render --scene builtin --out seq --width 128 --height 128 --frames 8 --spp-ref 64
  ssr train --data data/ssr-default --out runs/small
  ssr denoise --data seq --out denoised --png
  ssr eval --model runs/small/model --data data/ssr-default --split val
  ssr export --out model.onnx --height 1024 --width 2048   # bundled model -> ONNX (+ parity check)

Run `ssr <command> --help` for the flags of a command. The on-disk format is
described in docs/format.md.
"""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command (arguments added lazily)."""
    parser = argparse.ArgumentParser(
        prog="ssr",
        description="SSR engine: real-time Monte Carlo denoising by subpixel sampling reconstruction.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ssr import __version__

    parser.add_argument("--version", action="version", version=f"ssr-engine {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ssr`` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not args_list or args_list[0] not in COMMANDS:
        if args_list and not args_list[0].startswith("-"):
            parser.error(f"unknown command '{args_list[0]}' (choose from {', '.join(COMMANDS)})")
        args = parser.parse_args(args_list)
        parser.print_help()
        return 0 if args_list else 2
    name = args_list[0]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    command_parser = argparse.ArgumentParser(
        prog=f"ssr {name}",
        description=(module.__doc__ or help_text).strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(command_parser)
    args = command_parser.parse_args(args_list[1:])
    from ssr.data_tools.format import FormatError

    try:
        return int(module.run(args) or 0)
    except (FormatError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        # bad input: a message naming the file and the problem, no traceback, status 2
        print(f"ssr {name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ssr {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
