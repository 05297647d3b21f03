"""Concurrent users against one running dashboard.

    python bench/load.py [--sessions 8] [--data DIR] [--methods all|fast] [--settle SECONDS] [--json]
    python bench/load.py --suite [--sessions 8] [--soak MINUTES]

Starts the dashboard as ``make run`` does, on a free loopback port, and drives N browser
sessions at once (Playwright contexts in one Chromium, ``$CHROMIUM`` or /usr/bin/chromium).
Every session opens the page first; once all pages are open, each uploads a different real
image at the same moment — histopathology patches and mammogram lesion crops in turn, from
``--data`` or ``$BREASTXAI_DATA`` or ``../shared/data`` — picks its modality, selects every
explanation method and waits for every map and the agreement section. Then it checks that
the prediction it shows is the one ``core.model.classifier`` gives for its own image (the
images are chosen so that no two expected answers are alike, so a session shown another's
result fails), and that the browser asked nothing of any host but the loopback server.

Prints the number of sessions, the median and worst latency (upload to the last map
shown) and the peak resident memory of the Streamlit process (children included),
sampled every 0.2 s. The weights come from ``weights/`` or ``$BREASTXAI_WEIGHTS``.
Exit status 0 when every session succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TITLES = {"histo": "Histopathology patch (H&E)", "mammo": "Mammogram lesion"}


@dataclass(frozen=True)
class Case:
    path: Path
    modality: str
    expected: str  # "Prediction: <label> with probability <p>%", as the page words it
    label: str
    probability: float


@dataclass
class Outcome:
    case: Case
    ok: bool = False
    seconds: float = float("nan")
    prediction_s: float = float("nan")  # upload to the prediction on screen
    open_s: float = float("nan")  # the page opened to the uploader on screen, before the upload
    opacity_s: float = float("nan")  # median of 5 opacity steps to every map repainted
    shown: str = ""
    tiles: int = 0
    error: str = ""
    outbound: list[str] = field(default_factory=list)


# --- images and the answers they should get -------------------------------------------


def data_root(arg: str | None) -> Path:
    root = Path(arg or os.environ.get("BREASTXAI_DATA") or ROOT.parent / "shared" / "data")
    if not root.is_dir():
        raise SystemExit(f"error: data folder '{root}' not found (pass --data or set BREASTXAI_DATA)")
    return root


def candidates(root: Path) -> dict[str, list[Path]]:
    histo = sorted((root / "histo" / "IDC_regular_ps50_idx5").glob("*/[01]/*.png"))
    mammo = sorted((root / "mammo" / "mini_mias" / "roi").glob("*/*.png"))
    # spread over patients and classes rather than the first folder's files
    step = max(1, len(histo) // 400)
    return {"histo": histo[::step], "mammo": mammo}


def choose_cases(root: Path, n: int) -> list[Case]:
    """n images, modalities alternating, whose expected predictions are pairwise distinct."""
    from core.imaging.decode import read_image
    from core.imaging.lesion import looks_like_whole_film
    from core.imaging.preprocess import to_model_input
    from core.model.classifier import Classifier

    pools = candidates(root)
    classifiers = {m: Classifier.load(m) for m in pools if pools[m]}
    cases: list[Case] = []
    seen: set[str] = set()
    index = {m: 0 for m in pools}
    order = [m for m in ("histo", "mammo") if m in classifiers]
    if not order:
        raise SystemExit("error: no images found under the data folder")
    turn = 0
    while len(cases) < n:
        modality = order[turn % len(order)]
        turn += 1
        pool = pools[modality]
        while index[modality] < len(pool):
            path = pool[index[modality]]
            index[modality] += 1
            image = read_image(str(path))
            if modality == "mammo" and looks_like_whole_film(image.height, image.width):
                continue  # the page would ask for a region first
            p = classifiers[modality].predict_image(to_model_input(image.pixels, modality))
            expected = f"Prediction: {p.label} with probability {p.probability:.1%}"
            if expected in seen:
                continue
            seen.add(expected)
            cases.append(Case(path, modality, expected, p.label, p.probability))
            break
        else:
            if all(index[m] >= len(pools[m]) for m in order):
                raise SystemExit(f"error: only {len(cases)} images with distinct predictions found")
    return cases


# --- the server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The dashboard (``python -m ui.serve``: ``streamlit run app.py`` with its models warming
    from the start) on loopback, with its peak memory sampled in a thread."""

    def __init__(self, data: Path | None = None, log_path: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        if data is not None:
            env["BREASTXAI_DATA"] = str(data)
        self._log = open(log_path, "w", buffering=1) if log_path else None  # line by line, readable while it runs
        self.started = time.monotonic()
        self.models_ready = threading.Event()  # the server logged "models ready"
        self.models_ready_s = float("nan")  # seconds from the start to that line
        self.proc = subprocess.Popen(
            [  # as ``make run`` starts it
                sys.executable,
                "-m",
                "ui.serve",
                "--server.port",
                str(self.port),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        self.peak_rss = 0
        self.start_rss = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _read_log(self) -> None:
        """Copy the server's output to the log file (if any), noting when the models are ready."""
        for line in self.proc.stdout:
            if self._log is not None:
                self._log.write(line)
            if "models ready" in line or "models not prepared" in line:
                self.models_ready_s = time.monotonic() - self.started
                self.models_ready.set()

    def _processes(self) -> list:
        """The server's process and its children (psutil handles; empty once it has exited)."""
        import psutil

        try:
            proc = psutil.Process(self.proc.pid)
            return [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return []

    def _total(self, measure) -> float:
        import psutil

        total = 0.0
        for p in self._processes():
            try:
                total += measure(p)
            except psutil.Error:
                pass
        return total

    def rss(self) -> int:
        return int(self._total(lambda p: p.memory_info().rss))

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server's processes have used so far."""
        return self._total(lambda p: sum(p.cpu_times()[:2]))

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, self.rss())
            self._stop.wait(0.2)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        self.start_rss = self.rss()
                        self._sampler.start()
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._reader.join(timeout=5)
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> Server:
        self.wait_ready()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def is_loopback_url(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("data", "blob", "about", "chrome", "chrome-extension", "devtools"):
        return True
    return parsed.hostname in ("127.0.0.1", "localhost", "::1")


# --- one browser session ---------------------------------------------------------------


async def run_session(
    browser,
    url: str,
    case: Case,
    methods: list[str],
    timeout_ms: int,
    opacity: bool = False,
    together: asyncio.Barrier | None = None,
    at_start: Callable[[], None] | None = None,
) -> Outcome:
    """One user: open the page, upload ``case``, wait for every map; with ``together``, every
    session that shares it uploads at the same moment, once all their pages are open and
    quiet (no request for 0.5 s), and one of them calls ``at_start`` at that moment."""
    out = Outcome(case)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.on("request", lambda request: None if is_loopback_url(request.url) else out.outbound.append(request.url))
    page = await context.new_page()
    page.set_default_timeout(timeout_ms)
    step = "open the page"
    try:
        opened = time.perf_counter()
        await page.goto(url)
        await page.get_by_text("Upload a histopathology patch or a mammogram").wait_for()
        out.open_s = time.perf_counter() - opened
        if together is not None:
            step = "wait for the page to settle"
            await page.wait_for_load_state("networkidle")
            step = "wait for the other users' pages"
            if await together.wait() == 0 and at_start is not None:
                at_start()
            together = None
        start = time.perf_counter()
        step = "upload"
        await page.locator('input[type="file"]').set_input_files(str(case.path))
        radio = page.locator('[data-testid="stRadio"]').get_by_text(TITLES[case.modality], exact=True)
        step = "choose the modality"
        await radio.wait_for()
        await radio.click()
        step = "wait for the prediction"
        await page.get_by_text(re.compile(r"^Prediction: .+ with probability")).first.wait_for()
        out.prediction_s = time.perf_counter() - start
        select = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Methods").first
        step = "wait for the method list"
        await select.locator("[data-tag]").first.wait_for()  # the default methods are chosen
        box = select.locator("input").first

        async def add(labels: list[str]) -> None:
            for label in labels:
                if await select.locator(f'[data-tag][aria-label="{label}"]').count():
                    continue
                nonlocal step
                step = f"select {label}"
                await box.click()
                await box.fill(label)
                await page.get_by_role("option", name=label, exact=True).first.click()
                await page.keyboard.press("Escape")

        # The methods are chosen in a form: nothing reruns until it is sent, so a choice made
        # while the default maps are still computing cannot be lost.
        if set(methods) == set(method_labels("all")):
            step = "press All methods"
            await page.get_by_role("button", name="All methods", exact=True).click()
        elif set(methods) != set(method_labels("fast")):
            await add(methods)
            step = "press Explain"
            await page.get_by_role("button", name="Explain", exact=True).click()
        for label in methods:
            step = f"wait for the {label} map"
            tile = page.locator(
                '[data-testid="stMarkdownContainer"] strong', has_text=re.compile(f"^{re.escape(label)}$")
            )
            await tile.first.wait_for()
        await page.get_by_text("Agreement between methods").wait_for()
        await page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")
        out.seconds = time.perf_counter() - start
        if opacity:
            step = "change the opacity"
            out.opacity_s = await opacity_change(page, len(methods))
        out.shown = (await page.get_by_text(re.compile(r"^Prediction: .+ with probability")).first.inner_text()).strip()
        out.tiles = sum(
            [
                await page.locator(
                    '[data-testid="stMarkdownContainer"] strong', has_text=re.compile(f"^{re.escape(m)}$")
                ).count()
                > 0
                for m in methods
            ]
        )
        errors = await page.locator(
            '[data-testid="stException"], [data-testid="stAlertContentError"]'
        ).all_inner_texts()
        if errors:
            out.error = " | ".join(e.strip() for e in errors)[:300]
        out.ok = out.shown == case.expected and out.tiles == len(methods) and not errors and not out.outbound
        if out.shown != case.expected and not out.error:
            out.error = f"shown {out.shown!r}, expected {case.expected!r}"
    except Exception as exc:  # a timeout or a vanished element: this session failed
        out.error = f"{step}: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        if together is not None:  # failed before the upload: the others must not wait for it
            await together.abort()
    finally:
        await context.close()
    return out


MAP_PICTURES = "() => Array.from(document.querySelectorAll('[data-testid=\"stImage\"] img'), i => i.src)"


async def opacity_change(page, maps: int, steps: int = 5) -> float:
    """Median seconds from one step of the opacity slider to every map repainted and the run over.

    A repaint is seen in the page itself: each of the ``maps`` map pictures has a new source
    and Streamlit's running indicator is gone. Steps go right and left in turn, a second apart.
    """
    thumb = page.get_by_role("slider", name="Overlay opacity").first
    status = page.locator('[data-testid="stStatusWidget"]')
    times = []
    for k in range(steps):
        before = await page.evaluate(MAP_PICTURES)
        await thumb.focus()
        start = time.perf_counter()
        await page.keyboard.press("ArrowRight" if k % 2 == 0 else "ArrowLeft")
        await page.wait_for_function(
            f"([b, n]) => ({MAP_PICTURES})().filter((s, i) => s !== b[i]).length >= n",
            arg=[before, maps],
            polling="raf",
        )
        await status.wait_for(state="detached")
        times.append(time.perf_counter() - start)
        await asyncio.sleep(1.0)
    return statistics.median(times)


async def drive(
    url: str, cases: list[Case], methods: list[str], timeout_ms: int, at_start: Callable[[], None] | None = None
) -> list[Outcome]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # Every page is opened first; then all the users upload at the same moment, so what
            # is timed is the crowd's uploads, not one user's upload against the others' page loads.
            together = asyncio.Barrier(len(cases))
            sessions = (
                run_session(browser, url, c, methods, timeout_ms, together=together, at_start=at_start) for c in cases
            )
            return list(await asyncio.gather(*sessions))
        finally:
            await browser.close()


def method_labels(which: str) -> list[str]:
    from core.explain.methods import METHOD_LABELS, METHODS
    from ui.state import FAST_METHODS  # what the page runs before anything is pressed

    names = list(METHODS) if which == "all" else [m for m in FAST_METHODS if m in METHODS]
    return [METHOD_LABELS.get(m, m) for m in names]


def run(
    sessions: int = 8,
    data: str | None = None,
    which: str = "all",
    timeout_s: float = 900.0,
    log_path: Path | None = None,
    settle_s: float = 0.0,
) -> dict:
    """Run the benchmark; return the figures and every session's outcome.

    ``settle_s``: seconds to wait once the server answers before the pages open, so that
    its background warm-up has finished and only the crowd is measured.
    """
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"error: Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
    root = data_root(data)
    cases = choose_cases(root, sessions)
    methods = method_labels(which)
    with Server(root, log_path) as server:
        time.sleep(settle_s)
        outcomes = asyncio.run(drive(server.url, cases, methods, int(timeout_s * 1000)))
        peak, start = server.peak_rss, server.start_rss
    times = [o.seconds for o in outcomes if o.ok]
    return {
        "sessions": sessions,
        "succeeded": sum(o.ok for o in outcomes),
        "methods": methods,
        "median_s": statistics.median(times) if times else float("nan"),
        "worst_s": max(times) if times else float("nan"),
        "peak_rss_mb": peak / 2**20,
        "start_rss_mb": start / 2**20,
        "outbound_requests": sorted({u for o in outcomes for u in o.outbound}),
        "outcomes": [
            {
                "image": o.case.path.name,
                "modality": o.case.modality,
                "ok": o.ok,
                "seconds": round(o.seconds, 2),
                "expected": o.case.expected,
                "shown": o.shown,
                "tiles": o.tiles,
                "error": o.error,
            }
            for o in outcomes
        ],
    }


async def soak(url: str, cases: list[Case], methods: list[str], minutes: float, server: Server) -> dict:
    """``len(cases)`` users uploading their images again and again for ``minutes``; RSS every 10 s."""
    from playwright.async_api import async_playwright

    samples: list[tuple[float, float]] = []
    uploads = 0
    end = time.monotonic() + minutes * 60
    start = time.monotonic()

    async def sample() -> None:
        while time.monotonic() < end:
            samples.append((round((time.monotonic() - start) / 60, 2), server.rss() / 2**20))
            await asyncio.sleep(10)

    async def user(browser, k: int) -> None:
        nonlocal uploads
        i = k
        while time.monotonic() < end:
            await run_session(browser, url, cases[i % len(cases)], methods, 600_000)
            uploads += 1
            i += len(cases) // 2 or 1

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            await asyncio.gather(sample(), *(user(browser, k) for k in range(4)))
        finally:
            await browser.close()
    after5 = [m for t, m in samples if t >= 5] or [m for _, m in samples]
    return {
        "minutes": minutes,
        "users": 4,
        "uploads": uploads,
        "rss_mb": samples,
        "rss_at_5_min_mb": after5[0] if after5 else float("nan"),
        "rss_end_mb": samples[-1][1] if samples else float("nan"),
        "rss_max_after_5_min_mb": max(after5) if after5 else float("nan"),
    }


def suite(sessions: int = 8, data: str | None = None, soak_minutes: float = 0.0, log_path: Path | None = None) -> dict:
    """The whole load picture in one run, on one freshly started server.

    (a) the first user on the fresh server (default methods), with one opacity change;
    (b) ``sessions`` users at once with the default methods, then with all methods, once the
        server has logged that its models are ready (the time to that line is reported);
    (c) optionally a soak of 4 users uploading again and again for ``soak_minutes``.
    """
    root = data_root(data)
    cases = choose_cases(root, sessions + 1)
    first, crowd = cases[0], cases[1:]
    fast, every = method_labels("fast"), method_labels("all")
    with Server(root, log_path) as server:
        out: dict = {"sessions": sessions, "start_rss_mb": server.start_rss / 2**20}
        cold = asyncio.run(drive_one(server.url, first, fast, 900_000))
        cold_before_ready = not server.models_ready.is_set()
        # The crowds come once the server has logged that its models are ready: the first user
        # above measures a fresh server; the crowds measure sharing it, not its warm-up.
        server.models_ready.wait(timeout=300)
        out["models_ready_s"] = server.models_ready_s
        out["cold"] = {
            "before_models_ready": cold_before_ready,
            "ok": cold.ok,
            "prediction_s": cold.prediction_s,
            "panel_s": cold.seconds,
            "opacity_s": cold.opacity_s,
            "error": cold.error,
        }
        for name, methods in (("default", fast), ("all", every)):
            before = cpu_split(server)
            marks = []
            outcomes = asyncio.run(drive(server.url, crowd, methods, 900_000, lambda: marks.append(cpu_split(server))))
            after = cpu_split(server)
            times = [o.seconds for o in outcomes if o.ok]
            out[name] = {
                "cpu": cpu_delta(before, after),
                "upload_cpu": cpu_delta(marks[0], after) if marks else None,
                "methods": methods,
                "succeeded": sum(o.ok for o in outcomes),
                "median_s": statistics.median(times) if times else float("nan"),
                "worst_s": max(times) if times else float("nan"),
                "open_s": statistics.median(o.open_s for o in outcomes),
                "failures": [o.error for o in outcomes if not o.ok],
            }
        out["peak_rss_mb"] = server.peak_rss / 2**20
        if soak_minutes > 0:
            out["soak"] = asyncio.run(soak(server.url, crowd[:8], fast, soak_minutes, server))
            out["peak_rss_mb"] = server.peak_rss / 2**20
    return out


def cpu_split(server: Server) -> tuple[float, float, float]:
    """(wall clock, the server's CPU seconds, the whole machine's busy CPU seconds) now.

    The machine's figure (every core's time neither idle nor waiting on the disk) holds the
    browsers, their driver and this bench besides the server: Chromium's renderers are not
    all children this process could count.
    """
    import psutil

    t = psutil.cpu_times()
    return time.monotonic(), server.cpu_seconds(), sum(t) - t.idle - getattr(t, "iowait", 0.0)


def cpu_delta(before: tuple[float, float, float], after: tuple[float, float, float]) -> dict:
    wall, server, machine = (a - b for a, b in zip(after, before))
    return {"wall_s": wall, "server_cpu_s": server, "browser_cpu_s": machine - server, "cores": os.cpu_count() or 1}


async def drive_one(url: str, case: Case, methods: list[str], timeout_ms: int) -> Outcome:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return await run_session(browser, url, case, methods, timeout_ms, opacity=True)
        finally:
            await browser.close()


def format_suite(r: dict) -> str:
    c = r["cold"]
    lines = [
        f"first user, fresh server    prediction {c['prediction_s']:.1f} s, default panel {c['panel_s']:.1f} s"
        + ("" if c["ok"] else f"  FAILED: {c['error']}"),
        f"opacity change              {c['opacity_s']:.2f} s to repaint every map (median of 5 steps; maps from cache)",
        f"models ready                {r['models_ready_s']:.1f} s after the server started "
        f"(the first user came {'before' if c['before_models_ready'] else 'after'}; the crowds after)",
    ]
    for name in ("default", "all"):
        g = r[name]
        lines.append(
            f"{r['sessions']} users at once, {name + ' methods':<15} median {g['median_s']:.1f} s, worst {g['worst_s']:.1f} s "
            f"({g['succeeded']}/{r['sessions']} succeeded, {len(g['methods'])} methods)"
        )
        if g.get("upload_cpu"):
            c = g["upload_cpu"]
            lines.append(
                f"  CPU from the uploads to the last session's end ({c['wall_s']:.1f} s): server {c['server_cpu_s']:.1f} s, "
                f"browsers and bench {c['browser_cpu_s']:.1f} s, of {c['cores'] * c['wall_s']:.0f} core-seconds "
                f"on {c['cores']} cores"
            )
        if "open_s" in g:
            lines.append(
                f"  each page opened in {g['open_s']:.1f} s (median) before all {r['sessions']} uploaded at once"
            )
    lines.append(f"peak memory                 {r['peak_rss_mb']:.0f} MB RSS (at start {r['start_rss_mb']:.0f} MB)")
    if "soak" in r:
        s = r["soak"]
        growth = (
            (s["rss_end_mb"] - s["rss_at_5_min_mb"]) / s["rss_at_5_min_mb"] if s["rss_at_5_min_mb"] else float("nan")
        )
        lines.append(
            f"soak {s['minutes']:g} min, {s['users']} users   {s['uploads']} uploads; RSS at 5 min {s['rss_at_5_min_mb']:.0f} MB, "
            f"at the end {s['rss_end_mb']:.0f} MB ({growth:+.0%}), highest after 5 min {s['rss_max_after_5_min_mb']:.0f} MB"
        )
    return "\n".join(lines)


def format_report(r: dict) -> str:
    lines = [
        f"sessions            {r['sessions']} concurrent ({r['succeeded']} succeeded), {len(r['methods'])} methods each",
        f"latency median      {r['median_s']:.1f} s (upload to the last map shown)",
        f"latency worst       {r['worst_s']:.1f} s",
        f"peak memory         {r['peak_rss_mb']:.0f} MB RSS of the Streamlit process (at start {r['start_rss_mb']:.0f} MB)",
        f"outbound requests   {len(r['outbound_requests'])}",
    ]
    for o in r["outcomes"]:
        mark = "ok  " if o["ok"] else "FAIL"
        lines.append(f"  {mark} {o['modality']:<5} {o['image']:<40} {o['seconds']:>6.1f} s  {o['shown'] or o['error']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python bench/load.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--data", default=None, help="data folder (default: $BREASTXAI_DATA or ../shared/data)")
    ap.add_argument("--methods", default="all", choices=["all", "fast"])
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds each session may take")
    ap.add_argument("--log", default=None, help="write the server's output to this file")
    ap.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds to wait after the server starts before the pages open (its warm-up then done)",
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--suite",
        action="store_true",
        help="the whole picture on one fresh server: first user, an opacity change, "
        "--sessions users with the default and with all methods",
    )
    ap.add_argument(
        "--soak", type=float, default=0.0, help="with --suite: minutes of 4 users uploading again and again"
    )
    args = ap.parse_args(argv)
    if args.suite:
        result = suite(args.sessions, args.data, args.soak, Path(args.log) if args.log else None)
        print(json.dumps(result, indent=1) if args.json else format_suite(result))
        ok = result["cold"]["ok"] and all(result[g]["succeeded"] == args.sessions for g in ("default", "all"))
        return 0 if ok else 1
    result = run(
        args.sessions, args.data, args.methods, args.timeout, Path(args.log) if args.log else None, args.settle
    )
    print(json.dumps(result, indent=1) if args.json else format_report(result))
    return 0 if result["succeeded"] == result["sessions"] and not result["outbound_requests"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
