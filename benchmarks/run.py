"""Speed and scale of ``exporter``, measured side by side with pandoc and bare WeasyPrint (issue 15).

Run from anywhere, with the project installed (``pip install -e .``) and the
benchmark's own requirements, best in a virtual environment of their own::

    python3 -m venv .venv && . .venv/bin/activate
    pip install -e . -r benchmarks/requirements.txt
    python benchmarks/run.py

Every command runs as a real subprocess, so interpreter start-up and imports
count, and is timed with :func:`time.perf_counter`; peak memory is the child's
``ru_maxrss`` as returned by ``wait4`` (it covers the child and the processes
it waited for, e.g. the ``weasyprint`` that pandoc starts).  Commands that are
compared run interleaved, one round at a time, so drift in machine load hits
both sides alike; single-article commands run once untimed first, and before
each round the benchmark waits (briefly) for other processes to go quiet, and
records how busy the machine was during every run.  The table printed at
the end is also written to ``benchmarks/results.md``, and the growth plot to
``benchmarks/growth.png``.  Nothing outside a temporary folder and those two
files is written.  It is not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
#: The checkout whose ``exporter`` package is measured (``--tree``), and its seed article.
TREE = ROOT
SEED = TREE / "content" / "pokrovsk.md"
RESULTS_MD = HERE / "results.md"
GROWTH_PNG = HERE / "growth.png"

#: Modules that ``exporter --help`` must not import (issue 7, item 2).
HEAVY_MODULES = ("weasyprint", "ebooklib", "markdown", "lxml", "nh3", "PIL", "yaml")

# --------------------------------------------------------------------------- running commands


@dataclass(frozen=True)
class Sample:
    """One timed run of one command."""

    seconds: float
    max_rss_kib: int
    #: User plus system CPU seconds of the child and its children (less disturbed by other load).
    cpu: float = 0.0
    #: Share of all CPUs that other processes used during the run (None where /proc/stat is missing).
    other_load: float | None = None


@dataclass
class Case:
    """A measured command: its samples and what it is compared with."""

    name: str
    samples: list[Sample] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def peak_mib(self) -> float:
        return max(s.max_rss_kib for s in self.samples) / 1024

    @property
    def other_load(self) -> str:
        loads = [s.other_load for s in self.samples if s.other_load is not None]
        return f"{statistics.median(loads):.0%}" if loads else "?"


class CommandFailed(RuntimeError):
    pass


CORES = os.cpu_count() or 1
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_busy_seconds() -> float | None:
    """CPU seconds that all processes together have spent busy since boot (None without /proc/stat)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal (guest time is already inside user)
    values = [int(v) for v in first[1:9]]
    return (sum(values) - values[3] - values[4]) / _TICKS


def startup_hooks() -> str:
    """The ``.pth`` files of this interpreter's site folders that run code at every start.

    They count in every Python command measured (exporter's and WeasyPrint's), not in
    pandoc; a sandbox's hook that imports certifi, say, costs 20 ms or more each time.
    """
    import site

    folders = [*site.getsitepackages(), site.getusersitepackages()]
    hooks = sorted({path.name for folder in folders if Path(folder).is_dir()
                    for path in Path(folder).glob("*.pth")
                    if any(line.startswith(("import ", "import\t"))
                           for line in path.read_text(errors="replace").splitlines())})
    return ", ".join(hooks) if hooks else "none"


def wait_until_quiet(limit: float, patience: float) -> None:
    """Wait (at most *patience* seconds) until other processes use under *limit* of all CPUs."""
    waited, announced = 0.0, False
    while True:
        before, start = cpu_busy_seconds(), time.perf_counter()
        time.sleep(0.3)
        after = cpu_busy_seconds()
        if before is None or after is None:
            return
        load = (after - before) / ((time.perf_counter() - start) * CORES)
        if load <= limit:
            return
        if waited >= patience:
            progress(f"  machine still busy ({load:.0%} of {CORES} CPUs); measuring anyway")
            return
        if not announced:
            progress(f"  other processes use {load:.0%} of {CORES} CPUs; waiting up to {patience:.0f} s")
            announced = True
        time.sleep(2)
        waited += 2.3


#: Set from the command line: wait for other load below this share of the CPUs, for this long.
QUIET = {"limit": 0.15, "patience": 30.0}


def run_once(cmd: Sequence[str], env: dict[str, str]) -> Sample:
    """Run *cmd* to completion in the measured tree; its wall time and peak resident memory."""
    with tempfile.TemporaryFile() as err:
        busy = cpu_busy_seconds()
        start = time.perf_counter()
        # A session of its own, so an interrupted benchmark can stop the whole command.
        proc = subprocess.Popen(list(cmd), cwd=TREE, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise
        elapsed = time.perf_counter() - start
        busy_after = cpu_busy_seconds()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace")[-2000:]
            raise CommandFailed(f"exit {proc.returncode}: {' '.join(cmd)}\n{tail}")
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    cpu = usage.ru_utime + usage.ru_stime
    other = None
    if busy is not None and busy_after is not None:
        other = max(0.0, (busy_after - busy - cpu) / (elapsed * CORES))
    return Sample(elapsed, rss, cpu, other)


CommandFactory = Callable[[int], Sequence[str]]


def measure(cases: dict[str, CommandFactory], reps: int, env: Callable[[], dict[str, str]],
            warmup: bool = True, label: str = "") -> dict[str, Case]:
    """Run each command *reps* times, round-robin (the order rotating each round).

    *env* is called for every run, so each run can get its own empty cache folder.
    """
    results = {name: Case(name) for name in cases}
    names = list(cases)
    if warmup:
        for name in names:
            run_once(cases[name](-1), env())
    for rep in range(reps):
        wait_until_quiet(**QUIET)
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            results[name].samples.append(run_once(cases[name](rep), env()))
        last = [results[n].samples[-1] for n in names]
        times = ", ".join(f"{s.seconds:.2f}" for s in last)
        other = max((s.other_load or 0.0) for s in last)
        progress(f"  {label} round {rep + 1}/{reps}: {times} s (other load up to {other:.0%})")
    return results


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- tools


@dataclass(frozen=True)
class Tools:
    exporter: tuple[str, ...]
    weasyprint: tuple[str, ...]
    pandoc: str
    env: dict[str, str]


def find_tools() -> Tools:
    """The real console scripts of this interpreter (not a pyenv/asdf shim) and pandoc."""
    bindir = Path(sys.executable).parent
    exporter: tuple[str, ...] = (str(bindir / "exporter"),) if (bindir / "exporter").is_file() \
        else (sys.executable, "-m", "exporter")
    weasyprint: tuple[str, ...] = (str(bindir / "weasyprint"),) if (bindir / "weasyprint").is_file() \
        else (sys.executable, "-m", "weasyprint")
    try:
        import pypandoc  # only to locate the binary of pypandoc-binary

        pandoc = pypandoc.get_pandoc_path()
    except (ImportError, OSError):
        pandoc = shutil.which("pandoc") or ""
    if not pandoc:
        sys.exit("pandoc not found: pip install -r benchmarks/requirements.txt")
    env = dict(os.environ)
    # pandoc runs `weasyprint` from PATH: make it the same one, without shims in front.
    env["PATH"] = os.pathsep.join([str(bindir), str(Path(pandoc).parent), env.get("PATH", "")])
    env.pop("SOURCE_DATE_EPOCH", None)
    # Measure this tree's package even if another copy of exporter is installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TREE), env.get("PYTHONPATH", "")) if p)
    return Tools(exporter, weasyprint, pandoc, env)


def with_bytecode_cache(env: dict[str, str], folder: Path) -> dict[str, str]:
    """Let Python cache bytecode, as in an ordinary installation, but in *folder*, not the checkout.

    With PYTHONDONTWRITEBYTECODE set (as in some containers) an editable install would
    recompile the package's modules at every start; the untimed first runs fill this cache.
    """
    env = {**env, "PYTHONPYCACHEPREFIX": str(folder)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# --------------------------------------------------------------------------- inputs


def split_seed() -> tuple[str, str, str]:
    """The seed as (front matter, lead paragraphs, body sections)."""
    text = SEED.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?\n)---\n(.*)", text, re.S)
    if not match:
        raise SystemExit(f"{SEED} has no front matter")
    front, body = match.groups()
    first = body.index("\n## ")
    return front, body[:first], body[first:]


def lengthened(times: int) -> str:
    """The seed with its body sections repeated *times* (headings numbered so ids stay distinct)."""
    front, lead, sections = split_seed()
    parts = [lead]
    for k in range(1, times + 1):
        parts.append(sections if times == 1 else
                     re.sub(r"^(## .*)$", lambda m, k=k: f"{m.group(1)} (part {k})", sections, flags=re.M))
    return f"---\n{front}---\n{''.join(parts)}"


def batch_article(number: int, total: int) -> str:
    """A copy of the seed with small changes: its title, date and a closing line."""
    front, lead, sections = split_seed()
    front = re.sub(r'^title: "', f'title: "No. {number}: ', front, flags=re.M)
    front = re.sub(r"^date: \d{4}-\d{2}-\d{2}", f"date: 2025-11-{1 + number % 28:02d}", front, flags=re.M)
    closing = f"\nThis is dispatch {number} of {total} in the benchmark batch.\n"
    return f"---\n{front}---\n{lead}{sections}{closing}"


def pdf_pages(path: Path) -> int | None:
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    return len(PdfReader(path).pages)


# --------------------------------------------------------------------------- the benchmark


@dataclass
class Target:
    name: str
    measured: float
    limit: float
    unit: str = "×"
    detail: str = ""
    #: The same ratio of CPU seconds, for ratio targets.
    cpu: float | None = None

    @property
    def ok(self) -> bool:
        return self.measured <= self.limit

    def cells(self) -> list[str]:
        fmt = "{:.2f}" if self.unit in {"×", "s"} else "{:.0f}"
        if self.name.startswith("rebuild"):
            fmt = "{:.3f}"
        cpu = "" if self.cpu is None else fmt.format(self.cpu) + " ×"
        return [self.name, fmt.format(self.measured) + f" {self.unit}",
                f"≤ {self.limit:g} {self.unit}", "PASS" if self.ok else "FAIL", cpu, self.detail]


def ratio_target(name: str, mine: Case, other: Case, limit: float) -> Target:
    """A target on the ratio of two medians, *mine* over *other*."""
    cpu = mine.cpu_median / other.cpu_median if other.cpu_median else None
    return Target(name, mine.median / other.median, limit, cpu=cpu,
                  detail=f"{mine.median:.2f} s vs {other.median:.2f} s")


@dataclass
class GrowthPoint:
    label: str
    times: int
    source_kib: float
    pages: int | None
    case: Case


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tools = find_tools()
        self.tmp = Path(tempfile.mkdtemp(prefix="exporter-bench-"))
        env = with_bytecode_cache(self.tools.env, self.tmp / "pycache")
        self.tools = replace(self.tools, env=env)
        self.load_start = os.getloadavg()
        self.counter = 0
        self.sections: list[tuple[str, list[Case], dict[str, str]]] = []
        self.targets: list[Target] = []
        self.growth: list[GrowthPoint] = []
        self.notes: list[str] = []

    def fresh(self, name: str) -> Path:
        """A new empty folder, so no run can reuse an earlier run's output."""
        self.counter += 1
        path = self.tmp / f"{name}-{self.counter}"
        path.mkdir()
        return path

    def cold_env(self) -> dict[str, str]:
        """The environment with an empty cache home, so a future user-level cache stays cold.

        Fontconfig's own user cache, if there is one, stays shared: it is the system's, not exporter's.
        """
        home = self.fresh("cache")
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        if (base / "fontconfig").is_dir():
            (home / "fontconfig").symlink_to(base / "fontconfig")
        return {**self.tools.env, "XDG_CACHE_HOME": str(home)}

    def exporter(self, *args: str) -> list[str]:
        return [*self.tools.exporter, *args]

    # ------------------------------------------------------------------ cases

    def single(self) -> None:
        reps, t = self.args.reps, self.tools
        progress(f"[1/7] one article, all editions, cold ({reps} runs each)")
        html_dir = self.fresh("html")
        run_once(self.exporter("build", "-f", "html", str(SEED), "-o", str(html_dir)), t.env)
        self.html = html_dir / f"{SEED.stem}.html"
        out = self.fresh("single")
        cases = measure({
            "exporter build --force (html+epub+pdf), new process":
                lambda _: self.exporter("build", "--force", str(SEED), "-o", str(self.fresh("all"))),
            "weasyprint on exporter's HTML (floor)":
                lambda _: [*t.weasyprint, str(self.html), str(out / "floor.pdf")],
            "pandoc md → pdf via weasyprint":
                lambda _: [t.pandoc, str(SEED), "-o", str(out / "pandoc.pdf"), "--pdf-engine=weasyprint"],
            "exporter build -f pdf (for reference)":
                lambda _: self.exporter("build", "-f", "pdf", str(SEED), "-o", str(self.fresh("pdf"))),
        }, reps, self.cold_env, label="single")
        a, floor, pan, pdf_only = cases.values()
        self.floor = floor
        pdf_only.note = f"{pdf_only.median / floor.median:.2f} × the floor"
        pan.note = "for comparison (pandoc's PDF has no tags, running heads or page numbers)"
        self.sections.append(("One article, all editions, cold", [a, floor, pan, pdf_only], {
            floor.name: f"{a.median / floor.median:.2f}", pan.name: f"{a.median / pan.median:.2f}"}))
        self.targets.append(ratio_target("cold build, all editions / weasyprint command", a, floor, 1.2))

    def warm(self) -> None:
        reps = self.args.reps
        progress(f"[2/7] warm builds in one process ({reps} builds after a first)")
        script = (
            "import json, sys, time\nimport exporter\nfrom exporter.session import Session\n"
            "session = Session()\nseconds = []\n"
            "for n in range(int(sys.argv[3]) + 1):\n"
            "    start = time.perf_counter()\n"
            "    exporter.build(sys.argv[1], f'{sys.argv[2]}/{n}', session=session, reuse=False)\n"
            "    seconds.append(time.perf_counter() - start)\n"
            "print(json.dumps(seconds[1:]))\n")
        out = self.fresh("warm")
        result = subprocess.run([sys.executable, "-c", script, str(SEED), str(out), str(reps)],
                                cwd=TREE, env=self.cold_env(), capture_output=True, text=True,
                                check=True)
        case = Case("exporter.build() again in one process, one Session (as --watch does)")
        case.samples = [Sample(seconds, 0) for seconds in json.loads(result.stdout)]
        case.note = "in-process time of each build after the first; no start-up"
        self.sections.append(("Warm builds", [case, self.floor],
                              {self.floor.name: f"{case.median / self.floor.median:.2f}"}))
        target = Target("warm build, all editions / weasyprint command",
                        case.median / self.floor.median, 0.5,
                        detail=f"{case.median:.2f} s vs {self.floor.median:.2f} s")
        self.targets.append(target)

    def epub(self) -> None:
        reps, t = self.args.reps, self.tools
        progress(f"[3/7] EPUB only, cold ({reps} runs each)")
        out = self.fresh("epub")
        cases = measure({
            # (pandoc's EPUB has no page list: ours is left out too, which spares the layout)
            "exporter build --force -f epub --no-page-list, new process":
                lambda _: self.exporter("build", "--force", "-f", "epub", "--no-page-list",
                                        str(SEED), "-o", str(self.fresh("e"))),
            "pandoc md → epub": lambda _: [t.pandoc, str(SEED), "-o", str(out / "pandoc.epub")],
        }, reps, self.cold_env, label="epub")
        e, pan = cases.values()
        self.sections.append(("EPUB only, cold", [e, pan], {pan.name: f"{e.median / pan.median:.2f}"}))
        self.targets.append(ratio_target("cold build, EPUB only / pandoc EPUB", e, pan, 2.0))

    def startup(self) -> None:
        reps = self.args.reps
        progress(f"[4/7] start-up ({reps} runs each)")
        cases = measure({
            "exporter --help": lambda _: self.exporter("--help"),
            "python -c pass (interpreter alone)": lambda _: [sys.executable, "-c", "pass"],
        }, reps, lambda: self.tools.env, label="start-up")
        help_case = cases["exporter --help"]
        # Which heavy libraries are in sys.modules once `--help` has been printed?
        probe = ("import sys\nfrom exporter.cli import main\n"
                 "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
                 f"print('HEAVY:' + ' '.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", probe], cwd=TREE, env=self.tools.env,
                             capture_output=True, text=True, check=True).stdout
        heavy = out.rsplit("HEAVY:", 1)[-1].split()
        help_case.note = "heavy imports: " + (", ".join(heavy) if heavy else "none")
        self.sections.append(("Start-up", list(cases.values()), {}))
        self.targets.append(Target("`exporter --help` start-up", help_case.median, 0.15, unit="s",
                                   detail=help_case.note))

    def rebuild(self) -> None:
        reps = self.args.reps
        progress(f"[5/7] rebuild with nothing changed ({reps} pairs)")
        cold = Case("cold build into an empty folder (new process)")
        warm = Case("same build again, same folder: Up to date")
        for rep in range(reps):
            wait_until_quiet(**QUIET)
            env, out = self.cold_env(), self.fresh("rebuild")
            cmd = self.exporter("build", str(SEED), "-o", str(out))
            cold.samples.append(run_once(cmd, env))
            warm.samples.append(run_once(cmd, env))
            progress(f"  rebuild pair {rep + 1}/{reps}: {cold.samples[-1].seconds:.2f}, "
                     f"{warm.samples[-1].seconds:.2f} s")
        ratio = warm.median / cold.median
        self.sections.append(("Rebuild, nothing changed", [warm, cold], {cold.name: f"{ratio:.3f}"}))
        self.targets.append(ratio_target("rebuild unchanged / cold build", warm, cold, 0.15))

    def batch(self) -> None:
        n, reps, t = self.args.batch_size, self.args.heavy_reps, self.tools
        progress(f"[6/7] batch of {n} articles ({reps} runs each)")
        src = self.tmp / "batch-src"
        src.mkdir()
        for i in range(1, n + 1):
            (src / f"article-{i:03d}.md").write_text(batch_article(i, n), encoding="utf-8")
        loop = ('set -e\nfor f in "$1"/*.md; do\n  n=$(basename "$f" .md)\n'
                '  "$3" "$f" -o "$2/$n.epub"\n  "$3" "$f" -o "$2/$n.pdf" --pdf-engine=weasyprint\ndone\n')
        cases = measure({
            f"exporter build FOLDER ({n} articles, 3 editions)":
                lambda _: self.exporter("build", str(src), "-o", str(self.fresh("bx"))),
            f"shell loop of pandoc ({n} × epub + pdf)":
                lambda _: ["bash", "-c", loop, "loop", str(src), str(self.fresh("bp")), t.pandoc],
        }, reps, self.cold_env, warmup=False, label="batch")
        e, pan = cases.values()
        e.note = f"{e.median / n:.3f} s per article"
        pan.note = f"{pan.median / n:.3f} s per article"
        self.sections.append((f"Batch of {n} articles", [e, pan], {pan.name: f"{e.median / pan.median:.2f}"}))
        self.targets.append(ratio_target(f"batch of {n} / pandoc loop", e, pan, 0.25))

    def grow(self) -> None:
        reps, heavy = self.args.reps, self.args.heavy_reps
        progress(f"[7/7] growth: 1×, 10× ({reps} runs), 100× and ~300 pages ({heavy} runs)")
        folder = self.tmp / "growth"
        folder.mkdir()

        def point(times: int, runs: int, label: str) -> GrowthPoint:
            source = folder / f"pokrovsk-{times}x.md"
            source.write_text(lengthened(times), encoding="utf-8")
            outs: list[Path] = []

            def cmd(_: int) -> list[str]:
                outs.append(self.fresh(f"g{times}"))
                # In one process, so that time and peak memory are the whole build's.
                return self.exporter("build", str(source), "-o", str(outs[-1]))

            case = measure({f"{times}× {label}".strip(): cmd}, runs, self.cold_env, warmup=times == 1,
                           label=f"growth {times}×")
            pages = pdf_pages(outs[-1] / f"{source.stem}.pdf")
            gp = GrowthPoint(label, times, source.stat().st_size / 1024, pages, next(iter(case.values())))
            self.growth.append(gp)
            return gp

        one = point(1, reps, "")
        ten = point(10, reps, "")
        hundred = point(100, heavy, "")
        per_x = (hundred.pages or 176) / 100
        big = math.ceil(300 / per_x * 1.02)
        three = point(big, heavy, "≈300 pages")
        self.targets += [
            ratio_target("10× content: time 10× / 1×", ten.case, one.case, 10.5),
            ratio_target("10× content: time 100× / 10×", hundred.case, ten.case, 10.5),
            Target(f"peak memory, {three.pages or '?'}-page PDF", three.case.peak_mib, 1024, unit="MiB",
                   detail=f"{big}× the seed, {three.case.median:.1f} s"),
        ]
        self.notes.append(f"Growth: 100× and {big}× (≈300 pages) {heavy} runs each; 1× and 10× {reps}.")

    # ------------------------------------------------------------------ report

    def machine(self) -> list[tuple[str, str]]:
        cpu = "unknown"
        mem = "unknown"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        except OSError:
            cpu = platform.processor() or cpu
        pandoc = subprocess.run([self.tools.pandoc, "--version"], capture_output=True, text=True,
                                check=False).stdout.splitlines()[:1]
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=TREE, capture_output=True,
                                text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "exporter", "styles"], cwd=TREE,
                               capture_output=True, text=True, check=False).stdout.strip()
        if TREE != ROOT:
            git = f"tree {TREE}" + (f", git {commit}" if commit else "")
        else:
            git = f"git {commit or '?'}" + (", uncommitted changes" if dirty else "")

        def version(dist: str) -> str:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                return "not installed"

        venv = ("a virtual environment" if sys.prefix != sys.base_prefix
                else "the interpreter itself (no virtual environment)")
        load = " / ".join(f"{x:.2f}" for x in self.load_start)
        load_end = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        return [
            ("CPU", cpu), ("cores", str(os.cpu_count())), ("memory", mem),
            ("OS", f"{platform.system()} {platform.release()}"),
            ("Python", platform.python_version()),
            ("Python environment", f"{venv}; code run at every start by .pth files: "
                                   f"{startup_hooks()}"),
            ("exporter", f"{version('exporter')} ({git})"),
            ("WeasyPrint", version("weasyprint")), ("pandoc", pandoc[0] if pandoc else "?"),
            ("libharfbuzz-subset", _harfbuzz_subset()),
            ("ebooklib", version("ebooklib")), ("Markdown", version("markdown")),
            ("load average at start, end (1/5/15 min)", f"{load}; {load_end}"),
            ("other processes' CPU use during timed runs", self.other_load_summary()),
        ]

    def other_load_summary(self) -> str:
        cases = [c for _, group, _ in self.sections for c in group] + \
            [g.case for g in self.growth]
        loads = [s.other_load for c in cases for s in c.samples if s.other_load is not None]
        if not loads:
            return "unknown"
        busy = sum(load > QUIET["limit"] for load in loads)
        return (f"median {statistics.median(loads):.0%}, max {max(loads):.0%} of all CPUs; "
                f"{busy} of {len(loads)} runs above {QUIET['limit']:.0%}")

    def report(self, elapsed: float) -> str:
        lines = ["# exporter benchmark results", "",
                 f"Produced by `python benchmarks/run.py` in {elapsed / 60:.1f} minutes on "
                 f"{time.strftime('%Y-%m-%d %H:%M %Z')}. Times are medians of wall-clock seconds for a "
                 "whole subprocess (start-up included); peak memory is the largest resident set of any run.",
                 "", "## Machine", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in self.machine()]
        lines += ["", "## Targets (issue 15)", "",
                  "| target | measured (wall) | limit | result | CPU-time ratio | detail |",
                  "|---|---|---|---|---|---|"]
        lines += ["| " + " | ".join(t.cells()) + " |" for t in self.targets]
        lines += ["", "## Measurements", "",
                  "| case | command | runs | median s | min–max s | ratio | CPU s | CPU ratio | peak MiB "
                  "| other load | note |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for title, cases, ratios in self.sections:
            cpu_ratios = {c.name: f"{cases[0].cpu_median / c.cpu_median:.2f}" for c in cases[1:]
                          if c.name in ratios and c.cpu_median and cases[0].cpu_median}
            for case in cases:
                times = [s.seconds for s in case.samples]
                lines.append(f"| {title} | {case.name} | {len(times)} | {case.median:.3f} | "
                             f"{min(times):.3f}–{max(times):.3f} | {ratios.get(case.name, '')} | "
                             f"{case.cpu_median:.3f} | "
                             f"{cpu_ratios.get(case.name, '')} | "
                             f"{case.peak_mib:.0f} | {case.other_load} | "
                             f"{case.note} |")
        lines += ["", "Ratios are exporter's median over the row's median (wall clock; the CPU ratio "
                  "uses user+system CPU seconds, which other load on the machine disturbs less). "
                  "*Other load* is the median share of all CPUs that other processes used while a "
                  "command of the row ran. The warm builds are timed inside their process (no CPU "
                  "or memory columns).", "",
                  "## Growth (all three editions of the seed with its body sections repeated)", "",
                  f"![time and peak memory against length]({GROWTH_PNG.name})", "",
                  "| length | source KiB | PDF pages | runs | median s | s/page | × previous | peak MiB "
                  "| other load |",
                  "|---|---|---|---|---|---|---|---|---|"]
        previous: GrowthPoint | None = None
        for gp in self.growth:
            per_page = f"{gp.case.median / gp.pages:.3f}" if gp.pages else "?"
            step = f"{gp.case.median / previous.case.median:.2f}" if previous else ""
            lines.append(f"| {gp.times}× {gp.label} | {gp.source_kib:.0f} | {gp.pages or '?'} | "
                         f"{len(gp.case.samples)} | {gp.case.median:.2f} | {per_page} | {step} | "
                         f"{gp.case.peak_mib:.0f} | {gp.case.other_load} |")
            previous = gp
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def plot(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        pts = [gp for gp in self.growth if gp.pages]
        if len(pts) < 2:
            return
        pages = [gp.pages or 0 for gp in pts]
        secs = [gp.case.median for gp in pts]
        mib = [gp.case.peak_mib for gp in pts]
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
        for axis, values, unit, title in ((left, secs, "s", "Build time (html+epub+pdf)"),
                                          (right, mib, "MiB", "Peak memory")):
            slope, intercept = _fit(pages, values)
            axis.plot(pages, values, "o", color="tab:blue")
            xs = [0, max(pages) * 1.05]
            axis.plot(xs, [intercept + slope * x for x in xs], "--", color="tab:gray",
                      label=f"linear fit: {intercept:.2f} {unit} + {slope * 1000:.1f} m{unit}/page"
                      if unit == "s" else f"linear fit: {intercept:.0f} + {slope:.2f} MiB/page")
            for gp, x, y in zip(pts, pages, values, strict=True):
                axis.annotate(f"{gp.times}×", (x, y), textcoords="offset points", xytext=(5, -12))
            axis.set_xlabel("PDF pages")
            axis.set_ylabel(unit)
            axis.set_title(title)
            axis.set_xlim(left=0)
            axis.set_ylim(bottom=0)
            axis.grid(alpha=0.3)
            axis.legend(loc="upper left")
        fig.suptitle("exporter: growth with document length (median of runs)")
        fig.tight_layout()
        fig.savefig(GROWTH_PNG, dpi=110)
        plt.close(fig)


def _harfbuzz_subset() -> str:
    """Whether WeasyPrint finds libharfbuzz-subset here: the `weasyprint` command's subsetter.

    exporter subsets with fontTools either way (the same bytes on every machine); the
    command compared with subsets with HarfBuzz when it can, which is faster.
    """
    probe = "import weasyprint.pdf.fonts as f; print(f.harfbuzz_subset is not None)"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           check=False).stdout.strip()
    return {"True": "loadable: the `weasyprint` command subsets with HarfBuzz",
            "False": "absent (as on a fresh machine): the `weasyprint` command subsets with "
                     "fontTools"}.get(found, "unknown")


def _fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / \
        sum((x - mean_x) ** 2 for x in xs)
    return slope, mean_y - slope * mean_x


def print_table(bench: Bench) -> None:
    width = max(len(c.name) for _, cases, _ in bench.sections for c in cases)
    print()
    for title, cases, ratios in bench.sections:
        print(title)
        for case in cases:
            ratio = ratios.get(case.name, "")
            cpu = f"{case.cpu_median:7.3f} s"
            print(f"  {case.name:<{width}}  {case.median:8.3f} s  (cpu {cpu})  "
                  f"n={len(case.samples):<2} {'ratio ' + ratio if ratio else '':<11} "
                  f"{case.peak_mib:6.0f} MiB  other load {case.other_load:>4}  {case.note}")
    print("\nGrowth")
    for gp in bench.growth:
        print(f"  {gp.times:>4}×  {gp.source_kib:7.0f} KiB  {gp.pages or '?':>4} pages  "
              f"{gp.case.median:7.2f} s  n={len(gp.case.samples)}  {gp.case.peak_mib:5.0f} MiB  "
              f"other load {gp.case.other_load:>4}")
    print("\nTargets")
    width = max(len(t.name) for t in bench.targets)
    for t in bench.targets:
        name, measured, limit, verdict, cpu, detail = t.cells()
        cpu = f"cpu {cpu}" if cpu else ""
        print(f"  {verdict}  {name:<{width}}  {measured:>10}  (limit {limit:<12}) {cpu:<11} {detail}")
    print()
    for note in bench.notes:
        print(f"Note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7,
                        help="runs of each single-article command (at least 5; default 7)")
    parser.add_argument("--heavy-reps", type=int, default=5,
                        help="runs of the batch and the 100×/300-page builds (at least 5; default 5)")
    parser.add_argument("--batch-size", type=int, default=20, help="articles in the batch (default 20)")
    parser.add_argument("--quiet-below", type=float, default=0.15, metavar="SHARE",
                        help="before each round, wait until other processes use less than this share "
                             "of all CPUs (default 0.15; 1 disables the wait)")
    parser.add_argument("--patience", type=float, default=30, metavar="SECONDS",
                        help="longest wait for a quiet machine before a round (default 30)")
    parser.add_argument("--tree", type=Path, default=ROOT,
                        help="measure the exporter package (and content/) of this copy of the project, "
                             "e.g. a `git archive HEAD` snapshot; default: this checkout")
    args = parser.parse_args()
    global TREE, SEED
    QUIET.update(limit=args.quiet_below, patience=args.patience)
    TREE = args.tree.resolve()
    SEED = TREE / "content" / "pokrovsk.md"
    if not (TREE / "exporter" / "__init__.py").is_file() or not SEED.is_file():
        parser.error(f"{TREE} holds no exporter/ package and content/pokrovsk.md")
    if args.reps < 5:
        parser.error("--reps must be at least 5")
    if args.heavy_reps < 5:
        parser.error("--heavy-reps must be at least 5 (issue 7 asks for medians of 5 runs or more)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("benchmark stopped"))
    started = time.perf_counter()
    bench = Bench(args)
    progress(f"exporter: {' '.join(bench.tools.exporter)}\npandoc: {bench.tools.pandoc}\n"
             f"scratch: {bench.tmp}")
    if bench.load_start[0] > (os.cpu_count() or 1):
        progress(f"warning: load average {bench.load_start[0]:.1f} on {os.cpu_count()} cores; "
                 "wall-clock times will be inflated (see the CPU columns)")
    bench.notes.append(f"Single-article cases (one article, EPUB, start-up, rebuild, 1× and 10× growth): "
                       f"{args.reps} runs each, after one untimed run.")
    bench.notes.append("The floor renders the HTML edition written by `exporter build -f html` (the same "
                       "file as dist/pokrovsk.html, written to a scratch folder) with the plain `weasyprint` "
                       "command; exporter's own PDF is tagged PDF/UA-1 and uses the paged stylesheet.")
    bench.notes.append("Every `exporter build` row is a new process that imports what it needs and "
                       "builds (`--force` where a cached result could otherwise answer); nothing keeps "
                       "running between commands. The warm row is `exporter.build()` called again in "
                       "one Python process with one `Session`, as `--watch` and batch workers do.")
    try:
        bench.single()
        bench.warm()
        bench.epub()
        bench.startup()
        bench.rebuild()
        bench.batch()
        bench.grow()
    finally:
        shutil.rmtree(bench.tmp, ignore_errors=True)
    bench.plot()
    text = bench.report(time.perf_counter() - started)
    RESULTS_MD.write_text(text, encoding="utf-8")
    print_table(bench)
    print(f"\nWrote {RESULTS_MD.relative_to(ROOT)} and {GROWTH_PNG.relative_to(ROOT)} "
          f"in {(time.perf_counter() - started) / 60:.1f} minutes")


if __name__ == "__main__":
    main()
