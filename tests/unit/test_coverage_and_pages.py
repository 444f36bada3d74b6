"""Coverage reports merged with the repository's paths, and rendered pages cut with a note: what the pipeline
shows of them, without a workspace."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from dbcicd.results.collect import ResultFile
from dbcicd.results.coverage import is_cobertura, merge, write_cobertura
from dbcicd.results.rendered import RenderedPage, _bounded


def cobertura(source: str, filename: str, lines: dict[int, int]) -> ResultFile:
    body = "".join(f'<line number="{n}" hits="{h}"/>' for n, h in lines.items())
    xml = (
        f'<?xml version="1.0" ?><coverage line-rate="0"><sources><source>{source}</source></sources><packages>'
        f'<package name="p"><classes><class name="x" filename="{filename}"><lines>{body}</lines></class>'
        "</classes></package></packages></coverage>"
    )
    return ResultFile("task", "/Workspace/r/coverage.xml", xml.encode())


def test_cobertura_is_told_from_junit_by_its_root() -> None:
    assert is_cobertura(cobertura("/s", "a.py", {1: 1}))
    assert not is_cobertura(ResultFile("t", "p.xml", b"<testsuites><testsuite/></testsuites>"))
    assert not is_cobertura(ResultFile("t", "p.xml", b"not xml"))


def test_reports_merge_by_repository_path_and_sum_hits(tmp_path: Path) -> None:
    """The Git folder's path leads to the repository path, whether the notebook saw /Workspace/Repos/... or a disk
    folder holding the Git folder; hits of one line add up."""
    folder = "/Repos/ci/tmp-1"
    files = [
        cobertura("/Workspace/Repos/ci/tmp-1/pkg", "ops.py", {1: 1, 2: 0, 3: 1}),
        cobertura("/local/disk/workspace/Repos/ci/tmp-1/pkg", "ops.py", {1: 1, 2: 2, 4: 0}),
    ]
    merged = merge(files, folder, tmp_path)

    assert merged.unmapped == [] and merged.reports == 2
    assert {n: line.hits for n, line in merged.files["pkg/ops.py"].items()} == {1: 2, 2: 2, 3: 1, 4: 0}
    assert (merged.lines_covered, merged.lines_valid) == (3, 4)
    root = ET.parse(write_cobertura(merged, tmp_path, tmp_path / "out" / "coverage.xml")).getroot()
    assert [s.text for s in root.iter("source")] == [str(tmp_path)]
    assert [c.get("filename") for c in root.iter("class")] == ["pkg/ops.py"]
    assert root.get("line-rate") == "0.7500"


def test_without_a_git_folder_the_checkout_places_the_file(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ops.py").write_text("x = 1\n")
    merged = merge([cobertura("/Workspace/Users/me/somewhere/pkg", "ops.py", {1: 1})], "", tmp_path)
    assert list(merged.files) == ["pkg/ops.py"]

    elsewhere = merge([cobertura("/opt/lib/other", "mod.py", {1: 1})], "/Repos/ci/tmp-1", tmp_path)
    assert elsewhere.unmapped == ["/opt/lib/other/mod.py"]


def test_a_page_over_its_share_is_cut_with_a_note_after_its_body_tag() -> None:
    content = "<html><head><title>t</title></head><body>" + "<p>" + "x" * 5000 + "</p>" * 3 + "</body></html>"
    page = _bounded(RenderedPage("t", 1, "n"), content, 1000, "https://example/run/1")

    assert page.cut and page.full_bytes == len(content) and page.kept_bytes <= 1000
    assert page.content.startswith('<html><head><title>t</title></head><body><div class="dbcicd-cut"')
    assert 'The whole run: <a href="https://example/run/1">' in page.content
    small = _bounded(RenderedPage("t", 1, "n"), "<p>short</p>", 1000, "")
    assert not small.cut and small.content == "<p>short</p>"
