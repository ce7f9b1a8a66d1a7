"""The ``boundbook`` command: list, run, sweep, ledger, mutate, new, build.

Every option is validated before any computation; a bad value exits with status 2 and one
line naming the parameter, the value and what is allowed. A chapter that raises makes the
command exit with status 1, naming the chapter and the failing cell.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from boundbook.core import paths
from boundbook.core.params import DEVICES, MODES, ParameterError, check_seed


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = re.sub(r"^argument [^:]+: (?=invalid --)", "", message)
        self.exit(2, f"{self.prog}: {message}\n")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid --seed {text!r}: allowed an integer in [0, 2**32)") from None
    try:
        return check_seed(value)
    except ParameterError as err:
        raise argparse.ArgumentTypeError(f"invalid --seed {text!r}: allowed {err.allowed}") \
            from None


def _choice(name: str, allowed: Sequence[str]):
    def parse(text: str) -> str:
        if text not in allowed:
            raise argparse.ArgumentTypeError(
                f"invalid {name} {text!r}: allowed {', '.join(allowed)}")
        return text
    parse.__name__ = name
    return parse


def _out_dir(text: str) -> Path:
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"invalid --out {text!r}: allowed a directory path")
    return p


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"invalid --timeout {text!r}: allowed a positive number of seconds")
    return value


def _override_file(text: str) -> Path:
    p = Path(text)
    if not p.is_file():
        raise argparse.ArgumentTypeError(f"invalid -f {text!r}: allowed a YAML or JSON file of "
                                         "settings")
    return p


def _key_value(text: str) -> str:
    key, eq, _ = text.partition("=")
    if not eq or not key.strip():
        raise argparse.ArgumentTypeError(
            f"invalid -p {text!r}: allowed key=value (see `boundbook list --params CHAPTER`)")
    return text


def read_overrides(pairs: Sequence[str] | None, file: Path | None) -> dict[str, object]:
    """``-f FILE`` (a YAML/JSON mapping) then ``-p key=value`` pairs (strings, typed later
    against the chapter's settings)."""
    out: dict[str, object] = {}
    if file is not None:
        import yaml

        try:
            data = yaml.safe_load(file.read_text())
        except yaml.YAMLError as err:
            raise ParameterError("-f", str(file), f"a YAML mapping of settings ({err})".replace(
                "\n", " ")) from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ParameterError("-f", str(file), "a YAML mapping of settings")
        out.update({str(k): v for k, v in data.items()})
    for pair in pairs or ():
        key, _, value = pair.partition("=")
        out[key.strip()] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="boundbook", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ls = sub.add_parser("list", help="chapters and their claims (id, family, statement)",
                        description="List every chapter and its claims; with --params, a "
                        "chapter's settings (what -p can override), their defaults and meaning.")
    ls.add_argument("--params", metavar="CHAPTER", default=None,
                    help="print this chapter's settings instead")

    r = sub.add_parser("run", help="execute chapters with papermill",
                       description="Execute chapters. Only quick mode with seed 0 and default "
                       "settings refreshes the committed notebooks and ledger; any other run "
                       "writes to its run folder _build/runs/<chapter>/<mode>-seed<N>[-<hash>] "
                       "(or --out).")
    r.add_argument("chapters", nargs="*", metavar="CHAPTER",
                   help="chapter slugs (default: all; see `boundbook list`)")
    r.add_argument("--mode", type=_choice("--mode", MODES), default="quick",
                   help="quick (CPU, < 1 min a chapter) or full (larger sweeps)")
    r.add_argument("--device", type=_choice("--device", DEVICES), default="auto",
                   help="auto picks cuda when a GPU is present")
    r.add_argument("--seed", type=_seed, default=0, help="non-negative integer seed")
    r.add_argument("--out", type=_out_dir, default=None,
                   help="folder for the executed notebooks and records (default: the run "
                   "folder; in place only for the default quick run)")
    r.add_argument("-p", dest="params", action="append", type=_key_value, metavar="KEY=VALUE",
                   help="override a setting (repeatable; lists comma-separated)")
    r.add_argument("-f", dest="params_file", type=_override_file, metavar="FILE",
                   help="a YAML file of settings to override")
    r.add_argument("--timeout", type=_timeout, default=None,
                   help="seconds the whole chapter may run (default: the chapter's limit)")
    r.add_argument("--force", action="store_true",
                   help="execute even when the cache says the committed outputs are current")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")

    sw = sub.add_parser("sweep", help="run a chapter over seeds and settings on Dask",
                        description="Execute one chapter for every (seed, settings) of a grid "
                        "on Dask distributed (a LocalCluster on 127.0.0.1, or --scheduler), "
                        "each run into its own folder; then print the combined ledger.")
    sw.add_argument("chapter", metavar="CHAPTER")
    sw.add_argument("--seeds", default="0", help="e.g. 0-31 or 0,3,7 (default 0)")
    sw.add_argument("-p", dest="params", action="append", type=_key_value,
                    metavar="KEY=V1,V2", help="alternatives of a setting (repeatable; for a "
                    "list-valued setting separate alternatives with ';')")
    sw.add_argument("-f", dest="params_file", type=_override_file, metavar="FILE",
                    help="a YAML file of settings fixed for every task")
    sw.add_argument("--mode", type=_choice("--mode", MODES), default="quick")
    sw.add_argument("--device", type=_choice("--device", DEVICES), default="auto")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, default=2,
                       help="local worker processes, one thread each (default 2)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    sw.add_argument("--timeout", type=_timeout, default=None,
                    help="seconds each run may take (default: the chapter's limit)")
    sw.add_argument("--retries", type=_nonneg_int, default=1,
                    help="restarts of a task whose worker died (default 1)")
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")

    led = sub.add_parser("ledger", help="every claim's record; rewrites book/ledger.md",
                         description="Print the ledger and rewrite book/ledger.md; with --runs, "
                         "read run folders instead and combine their verdicts over seeds.")
    led.add_argument("--json", action="store_true", help="print the records as JSON")
    led.add_argument("--runs", nargs="+", type=Path, metavar="DIR", default=None,
                     help="run folders (or folders of them, e.g. _build/runs/gd_quadratic)")

    m = sub.add_parser("mutate", help="re-decide claims under mutated bounds",
                       description="Re-decide every claim under each registered mutation of "
                       "its bound, from the cached records, and report which were caught.")
    m.add_argument("chapters", nargs="*", metavar="CHAPTER")

    n = sub.add_parser("new", help="scaffold a draft chapter (package, notebook, tests)",
                       description="Scaffold a chapter: its package under "
                       "lib/boundbook/chapters/, its notebook with the contract cells and its "
                       "test file. It is a draft (`boundbook run SLUG` executes it; the book, "
                       "ledger and tests ignore it) until added to boundbook.chapters.BOOK.")
    n.add_argument("slug", metavar="SLUG", help="a lowercase Python identifier, e.g. sgd_noise")
    n.add_argument("title", metavar="TITLE", help="the chapter's title")
    n.add_argument("arxiv", metavar="ARXIV_ID", help="e.g. 2103.00065 or 2103.00065v3")

    b = sub.add_parser("build", help="run every chapter (quick) and build the HTML book",
                       description="What `make book` calls: execute every chapter in quick "
                       "mode, write the ledger, build _build/html with jupyter-book.")
    b.add_argument("--skip-run", action="store_true",
                   help="build from the committed notebooks without executing them")
    b.add_argument("--force", action="store_true",
                   help="execute every chapter even when cached (see boundbook.core.cache)")
    b.add_argument("--seed", type=_seed, default=0)
    b.add_argument("--device", type=_choice("--device", DEVICES), default="auto")
    return p


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"invalid --workers {text!r}: allowed an integer >= 1")
    return int(text)


def _nonneg_int(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid --retries {text!r}: allowed an integer >= 0")
    return int(text)


def _chapters(names: Sequence[str]):
    from boundbook.core.chapter import get, registry

    if not names:
        return list(registry().values())
    return [get(n) for n in names]


def cmd_list(args: argparse.Namespace) -> int:
    from boundbook.core.chapter import get, registry

    if getattr(args, "params", None):
        from boundbook.core.settings_doc import describe_settings

        print(describe_settings(get(args.params)))
        return 0
    for ch in registry().values():
        where = "  [CPU only]" if ch.cpu_only else ""
        print(f"{ch.slug}  ({ch.title}, arXiv:{ch.paper}){where}")
        for c in ch.claims:
            print(f"  {c.id:<28} {c.family:<14} {c.title}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from boundbook.core.runner import ChapterFailed, execute

    chapters = _chapters(args.chapters)
    overrides = read_overrides(getattr(args, "params", None), getattr(args, "params_file", None))
    if overrides and len(chapters) != 1:
        raise ParameterError("-p", ", ".join(overrides), "overrides for one chapter at a time")
    runs = [(ch, ch.start(args.mode, args.device, args.seed, overrides)) for ch in chapters]
    results = []
    bar = tqdm(runs, desc="chapters", unit="chapter", disable=args.no_progress, file=sys.stderr)
    for ch, run in bar:
        bar.set_postfix_str(ch.slug)
        try:
            results.append(execute(ch, run, out=args.out, timeout=getattr(args, "timeout", None),
                                   force=getattr(args, "force", False)))
        except ChapterFailed as err:
            bar.close()
            print(f"boundbook run: {err}", file=sys.stderr)
            return 1
    bar.close()
    for res in results:
        if res.cached:
            print(f"{res.chapter}: not executed ({res.cached}); {len(res.verdicts)} claims")
            continue
        counts: dict[str, int] = {}
        for v in res.verdicts.values():
            counts[v] = counts.get(v, 0) + 1
        summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        print(f"{res.chapter}: {res.seconds:.1f} s, {len(res.verdicts)} claims ({summary}) "
              f"-> {res.notebook}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from boundbook.core.chapter import get
    from boundbook.core.runs import combine, find_records, runs_table
    from boundbook.core.sweep import describe_failure, parse_grid, parse_seeds, run_sweep, tasks

    chapter = get(args.chapter)
    seeds = parse_seeds(args.seeds)
    factory = chapter.settings_factory()
    defaults = factory(args.mode, 0) if factory else None
    grid = parse_grid(args.params or (), defaults)
    fixed = read_overrides(None, args.params_file)
    task_list = tasks(chapter, args.mode, args.device, seeds, grid, fixed)  # validates all
    where = args.scheduler or f"a LocalCluster of {args.workers} workers on 127.0.0.1"
    print(f"sweep {chapter.slug}: {len(task_list)} runs on {where}", file=sys.stderr)
    res = run_sweep(chapter, task_list, args.mode, args.device, workers=args.workers,
                    scheduler=args.scheduler, timeout=args.timeout, retries=args.retries,
                    progress=not args.no_progress)
    for task, text in res.failed:
        print(describe_failure(chapter.slug, task, text), file=sys.stderr)
    folders = [f for f in res.folders() if f.is_dir()]
    if folders:
        print(runs_table(combine(find_records(folders))))
    print(f"{len(res.done)} ran, {len(res.skipped)} already complete (skipped), "
          f"{len(res.failed)} failed; run folders under {paths.runs() / chapter.slug}")
    return 1 if res.failed else 0


def cmd_ledger(args: argparse.Namespace) -> int:
    from boundbook.core.ledger import write_ledger

    if getattr(args, "runs", None):
        from boundbook.core.runs import combine, find_records, runs_table

        try:
            claims = combine(find_records(args.runs))
        except (FileNotFoundError, ValueError) as err:
            print(f"boundbook ledger: {err}", file=sys.stderr)
            return 2
        if not claims:
            print("boundbook ledger: no records under " + ", ".join(map(str, args.runs)),
                  file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps([c.to_dict() for c in claims], indent=1))
        else:
            print(runs_table(claims))
        return 0

    records = write_ledger()
    if args.json:
        print(json.dumps(records, indent=1))
        return 0
    for r in records:
        print(f"{r['id']:<28} {r['verdict']:<12} predicted {r['predicted']!s:<10} "
              f"measured {r['measured']!s:<10} control {r['negative_control']['outcome']:<26} "
              f"mutations {r['mutation_score']}")
    print(f"{len(records)} claims; book/ledger.md rewritten", file=sys.stderr)
    return 0


def cmd_mutate(args: argparse.Namespace) -> int:
    from boundbook.core.claims import mutate
    from boundbook.core.ledger import load_records

    records = {r["id"]: r for r in load_records()}
    caught = total = 0
    uncaught_unexempt = []
    for ch in _chapters(args.chapters):
        for c in ch.claims:
            rec = records.get(c.id)
            if rec is None:
                print(f"{c.id}: no record yet (run the chapter first)")
                continue
            for res in mutate(c, rec["measurements"]):
                total += 1
                caught += res.caught
                mark = "caught" if res.caught else "SURVIVED"
                print(f"{c.id:<28} {res.mutation.name:<30} -> {res.verdict.value:<12} {mark}")
                if not res.caught and not c.mutation_exempt:
                    uncaught_unexempt.append(f"{c.id}: {res.mutation.name}")
    print(f"mutations caught: {caught}/{total}")
    if uncaught_unexempt:
        print("survived without a written exemption: " + "; ".join(uncaught_unexempt))
        return 1
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from boundbook.core.scaffold import scaffold

    written = scaffold(args.slug, args.title, args.arxiv)
    root = paths.root()
    for p in written:
        print(f"wrote {p.relative_to(root)}")
    print(f"draft chapter {args.slug}: `boundbook run {args.slug}` executes it; add it to "
          "boundbook.chapters.BOOK and _toc.yml to put it in the book (see CONTRIBUTING.md)")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from boundbook.core.ledger import write_ledger

    t0 = time.perf_counter()
    if not args.skip_run:
        rc = cmd_run(argparse.Namespace(chapters=[], mode="quick", device=args.device,
                                        seed=args.seed, out=None, no_progress=False,
                                        params=None, params_file=None, timeout=None,
                                        force=getattr(args, "force", False)))
        if rc:
            return rc
    write_ledger()
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(paths.root()),
           "--warningiserror", "--keep-going"]
    proc = subprocess.run(cmd, cwd=paths.root())
    if proc.returncode:
        print(f"boundbook build: jupyter-book failed with status {proc.returncode}",
              file=sys.stderr)
        return 1
    index = paths.root() / "_build" / "html" / "index.html"
    print(f"book built in {time.perf_counter() - t0:.0f} s: {index}")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # a killed run cleans up like Ctrl-C
    handlers = {"list": cmd_list, "run": cmd_run, "sweep": cmd_sweep, "ledger": cmd_ledger,
                "mutate": cmd_mutate, "new": cmd_new, "build": cmd_build}
    try:
        return handlers[args.command](args)
    except ParameterError as err:
        print(f"boundbook {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"boundbook {args.command}: interrupted; committed notebooks and ledger unchanged",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
