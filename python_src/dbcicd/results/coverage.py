"""Code coverage the notebooks measured, as one Cobertura report of the repository's own files.

A notebook that runs `pytest --cov=<package> --cov-report=xml:<dbcicd_results_dir>/coverage.xml` (pytest-cov)
writes Cobertura XML beside its JUnit files; the step reads every `*.xml` there (collect.py) and tells the two apart
by their root element: `coverage` is Cobertura, the rest is JUnit.

Paths: coverage.py names each file relative to a `<source>` folder as the notebook saw it — the Git folder
(`/Workspace/Repos/ci/<folder>/...`), an uploaded folder (`/Workspace/Users/<me>/dbcicd-temp/<folder>/...`), or a
folder of the cluster's disk. The Code Coverage tab finds a file's source under the report's `<sources>`
(ReportGenerator, which PublishCodeCoverageResults runs, joins each `<source>` with the file name), so the merged
report has one source, the agent's checkout (`Build.SourcesDirectory`), and names each file by its path in the
repository: what follows the Git folder's path in the notebook's path, else the longest end of it that is a file of
the checkout. A file found in neither way keeps its path and is counted in a note. Paths come from notebooks: they
reach the report and its page through the trust boundary (dbcicd.untrusted).

Several reports (one per notebook, or one per pytest run) are merged: hits of the same line of the same file are
summed, so a line covered by any notebook counts as covered.
"""

from __future__ import annotations

import html
import io
import posixpath
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from ..untrusted import untrusted_text
from .collect import ResultFile

COBERTURA_ROOT = "coverage"


@dataclass
class _Line:
    hits: int = 0
    branch: bool = False
    conditions: tuple[int, int] = (0, 0)  # (covered, total) of the best report


@dataclass
class Coverage:
    """The merged report: repository path -> line number -> what is known of that line."""

    files: dict[str, dict[int, _Line]] = field(default_factory=dict)
    reports: int = 0
    unmapped: list[str] = field(default_factory=list)  # paths that are in neither the Git folder nor the checkout
    problems: list[str] = field(default_factory=list)

    @property
    def lines_valid(self) -> int:
        return sum(len(lines) for lines in self.files.values())

    @property
    def lines_covered(self) -> int:
        return sum(1 for lines in self.files.values() for line in lines.values() if line.hits)

    @property
    def line_rate(self) -> float:
        return self.lines_covered / self.lines_valid if self.lines_valid else 0.0


def is_cobertura(file: ResultFile) -> bool:
    """Whether a result file is a Cobertura report (its root element is `coverage`), read as cheaply as can be."""
    if file.content is None:
        return False
    try:
        for _, element in ET.iterparse(io.BytesIO(file.content), events=("start",)):
            return element.tag == COBERTURA_ROOT
    except ET.ParseError:
        return False
    return False


def merge(files: list[ResultFile], git_folder: str, checkout: Path) -> Coverage:
    """One report of every Cobertura file, its paths those of the repository."""
    merged = Coverage()
    marker = git_folder.removeprefix("/Workspace").rstrip("/")
    for file in files:
        try:
            root = ET.fromstring(file.content or b"")
        except ET.ParseError as err:
            merged.problems.append(f"{file.task_key}: {file.path} is not valid Cobertura XML: {err}")
            continue
        merged.reports += 1
        sources = [(s.text or "").strip() for s in root.iter("source") if (s.text or "").strip()]
        for cls in root.iter("class"):
            name = cls.get("filename") or ""
            if not name:
                continue
            path = _repository_path(name, sources, marker, checkout)
            if path is None:
                path = posixpath.join(sources[0], name) if sources and not name.startswith("/") else name
                if path not in merged.unmapped:
                    merged.unmapped.append(path)
            lines = merged.files.setdefault(path, {})
            for line in cls.iter("line"):
                _add_line(lines, line)
    return merged


def _add_line(lines: dict[int, _Line], element: ET.Element) -> None:
    try:
        number, hits = int(element.get("number", "")), int(element.get("hits", "0"))
    except ValueError:
        return
    line = lines.setdefault(number, _Line())
    line.hits += hits
    if element.get("branch") == "true":
        line.branch = True
        covered, total = _conditions(element.get("condition-coverage", ""))
        if covered > line.conditions[0] or total > line.conditions[1]:
            line.conditions = (max(covered, line.conditions[0]), max(total, line.conditions[1]))


def _conditions(text: str) -> tuple[int, int]:
    """`50% (1/2)` -> (1, 2)."""
    inside = text.partition("(")[2].partition(")")[0]
    covered, _, total = inside.partition("/")
    try:
        return int(covered), int(total)
    except ValueError:
        return 0, 0


def _repository_path(name: str, sources: list[str], marker: str, checkout: Path) -> str | None:
    """The file's path in the repository, or None when neither the Git folder nor the checkout places it."""
    candidates = [name] if name.startswith("/") or not sources else [posixpath.join(s, name) for s in sources]
    root = f"{checkout.as_posix().rstrip('/')}/"
    for full in candidates:
        full = posixpath.normpath(full.replace("\\", "/"))
        if marker and f"{marker}/" in full:
            return full.split(f"{marker}/", 1)[1]
        if full.startswith(root):  # a report in the checkout's paths: one this step's job published earlier
            return full[len(root) :]
    for full in candidates:
        parts = [p for p in posixpath.normpath(full.replace("\\", "/")).split("/") if p]
        for start in range(len(parts)):
            if (checkout.joinpath(*parts[start:])).is_file():
                return "/".join(parts[start:])
    return None


def write_cobertura(coverage: Coverage, checkout: Path, target: Path) -> Path:
    """The merged report as Cobertura XML, its one source the checkout; returns the file."""
    rate = f"{coverage.line_rate:.4f}"
    root = ET.Element(
        "coverage",
        {
            "version": "dbcicd",
            "timestamp": str(int(time.time() * 1000)),
            "lines-valid": str(coverage.lines_valid),
            "lines-covered": str(coverage.lines_covered),
            "line-rate": rate,
            **_branch_attributes(coverage.files.values()),
            "complexity": "0",
        },
    )
    ET.SubElement(ET.SubElement(root, "sources"), "source").text = str(checkout)
    packages = ET.SubElement(root, "packages")
    by_package: dict[str, list[str]] = {}
    for path in sorted(coverage.files):
        by_package.setdefault(posixpath.dirname(path).replace("/", ".") or ".", []).append(path)
    for package, paths in by_package.items():
        package_lines = [coverage.files[path] for path in paths]
        element = ET.SubElement(
            packages,
            "package",
            {"name": untrusted_text(package), "line-rate": _rate(package_lines), **_branch_attributes(package_lines)},
        )
        classes = ET.SubElement(element, "classes")
        for path in paths:
            lines = coverage.files[path]
            cls = ET.SubElement(
                classes,
                "class",
                {
                    "name": untrusted_text(posixpath.basename(path)),
                    "filename": untrusted_text(path),
                    "line-rate": _rate([lines]),
                    **_branch_attributes([lines]),
                    "complexity": "0",
                },
            )
            ET.SubElement(cls, "methods")
            lines_element = ET.SubElement(cls, "lines")
            for number in sorted(lines):
                line = lines[number]
                attributes = {"number": str(number), "hits": str(line.hits)}
                if line.branch:
                    covered, total = line.conditions
                    percent = round(100 * covered / total) if total else 0
                    attributes.update({"branch": "true", "condition-coverage": f"{percent}% ({covered}/{total})"})
                ET.SubElement(lines_element, "line", attributes)
    target.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
    return target.resolve()


def _rate(groups: list[dict[int, _Line]]) -> str:
    valid = sum(len(lines) for lines in groups)
    covered = sum(1 for lines in groups for line in lines.values() if line.hits)
    return f"{covered / valid:.4f}" if valid else "0"


def _branch_attributes(groups) -> dict[str, str]:
    covered = sum(line.conditions[0] for lines in groups for line in lines.values() if line.branch)
    valid = sum(line.conditions[1] for lines in groups for line in lines.values() if line.branch)
    rate = f"{covered / valid:.4f}" if valid else "0"
    return {"branches-covered": str(covered), "branches-valid": str(valid), "branch-rate": rate}


def write_index(coverage: Coverage, target: Path) -> Path:
    """A plain page of the report (the Code Coverage tab shows a report folder's index.html): per file, lines
    covered of lines measured, and the lines never run."""
    rows = []
    for path in sorted(coverage.files):
        lines = coverage.files[path]
        missed = [number for number in sorted(lines) if not lines[number].hits]
        covered = len(lines) - len(missed)
        percent = 100 * covered / len(lines) if lines else 0.0
        rows.append(
            f"<tr><td>{html.escape(untrusted_text(path))}</td><td>{covered}</td><td>{len(lines)}</td><td>{percent:.1f}%</td>"
            f"<td>{html.escape(_ranges(missed))}</td></tr>"
        )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Code coverage</title>'
        "<style>body{font:14px sans-serif;margin:16px}table{border-collapse:collapse}"
        "td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>Code coverage</h1><p>{coverage.lines_covered} of {coverage.lines_valid} lines covered "
        f"({100 * coverage.line_rate:.1f}%), {len(coverage.files)} files, from {coverage.reports} report(s).</p>"
        "<table><tr><th>File</th><th>Covered</th><th>Lines</th><th>Rate</th><th>Lines not run</th></tr>"
        + "".join(rows)
        + "</table></body></html>\n"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    parts: list[str] = []
    for number in numbers:
        if parts and parts[-1].split("-")[-1] == str(number - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{number}"
        else:
            parts.append(str(number))
    return ", ".join(parts)
