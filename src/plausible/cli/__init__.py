"""The `plausible` command. Heavy libraries load inside each command, so `--help` is instant.
"""
from __future__ import annotations

import sys
import warnings

from .files import _check_paths
from .parser import _parser
from .restore import restore_command
from .series import _backtest, _forecast
from .tables import _compare, _datasets, _demo, _evaluate, _fit, _impute, _models, _sample, _score

HANDLERS = {"fit": _fit, "sample": _sample, "impute": _impute, "score": _score, "evaluate": _evaluate,
            "compare": _compare, "models": _models,
            "datasets": _datasets, "demo": _demo, "forecast": _forecast, "backtest": _backtest,
            "restore": restore_command}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    for old, new in (getattr(args, "deprecated", None) or {}).items():   # once per flag, however often given
        print(f"plausible {args.command}: warning: {old} is deprecated: use {new}", file=sys.stderr)
    try:
        with warnings.catch_warnings():          # "plausible impute: warning: ...", not a source line
            warnings.showwarning = lambda message, category, *_, **__: print(
                f"plausible {args.command}: warning: {message}", file=sys.stderr)
            _check_paths(args)
            message = HANDLERS[args.command](args)
    except KeyboardInterrupt:
        print("plausible: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, NotImplementedError, RuntimeError) as error:
        text = " ".join(line.strip() for line in str(error).splitlines() if line.strip()) or type(error).__name__
        print(f"plausible {args.command}: error: {text}", file=sys.stderr)     # always one line
        return 2
    except MemoryError:
        print(f"plausible {args.command}: error: not enough memory for this request (ask for fewer rows, paths "
              "or draws, or split the work)", file=sys.stderr)
        return 2
    if message:
        print(message)
    return 0
