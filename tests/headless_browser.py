"""A real browser for tests of pages: Debian's `chromium`, headless, driven from its command line (`--dump-dom`
gives the document after its scripts ran, `--screenshot` a PNG of what a person would see), and a reader of the DOM
it dumps. Screenshots are kept under build/test-artifacts/ (ignored by git) for a person to look at."""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "build" / "test-artifacts"
BROWSER_TIMEOUT_S = 60
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})


class Browser:
    def __init__(self, executable: str) -> None:
        self.executable = executable

    def _run(self, url: str, *flags: str) -> str:
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            command = [
                self.executable,
                "--headless",
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",  # let the page's own script (a redirect) finish first
                # The pages are the test's own; root, and CI containers without user namespaces, have no sandbox.
                "--no-sandbox",
                *flags,
                url,
            ]
            done = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False)
        if done.returncode != 0:
            pytest.fail(f"chromium failed ({done.returncode}) on {url}:\n{done.stderr[-2000:]}")
        return done.stdout

    def dom(self, url: str) -> Dom:
        """The document as the browser built it, its scripts run."""
        return Dom.parse(self._run(url, "--dump-dom"))

    def screenshot(self, url: str, name: str, width: int = 1280, height: int = 2400) -> Path:
        """A PNG of the page, kept as build/test-artifacts/<name>."""
        target = ARTIFACTS / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        self._run(url, f"--screenshot={target}", f"--window-size={width},{height}", "--hide-scrollbars")
        assert png_size(target.read_bytes())[0] > 0, f"the screenshot {target} is empty"
        return target


def find_browser() -> Browser:
    """The browser, or a skip saying why the browser tests cannot run."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed: the browser tests need it (.ci/run installs Debian's chromium)")
    return Browser(found)


class Element:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element] = []
        self.parts: list[str | Element] = []

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [e for e in self.iter() if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)]


class Dom(HTMLParser):
    """The elements of a dumped document as a tree (attributes, text), for assertions on what a person sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self._open = self.root

    @classmethod
    def parse(cls, text: str) -> Dom:
        dom = cls()
        dom.feed(text)
        dom.close()
        return dom

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self._open)
        self._open.children.append(element)
        self._open.parts.append(element)
        if tag not in VOID:
            self._open = element

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self._open
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self._open = node.parent

    def handle_data(self, data: str) -> None:
        self._open.parts.append(data)

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return self.root.find_all(tag, cls)

    @property
    def title(self) -> str:
        titles = self.find_all("title")
        return titles[0].text if titles else ""


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (IHDR); (0, 0) for anything that is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return 0, 0
    return struct.unpack(">II", data[16:24])


def data_uri_png_size(uri: str) -> tuple[int, int]:
    prefix = "data:image/png;base64,"
    return png_size(base64.b64decode(uri[len(prefix) :])) if uri.startswith(prefix) else (0, 0)
