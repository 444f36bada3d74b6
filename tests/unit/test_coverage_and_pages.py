"""Coverage reports merged with the repository's paths, and rendered pages cut with a note: what the pipeline
shows of them, without a workspace."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from dbcicd.results.collect import ResultFile
from dbcicd.results.coverage import is_cobertura, merge, write_cobertura
from dbcicd.results.rendered import RenderedPage, _bounded
from dbcicd_localworkspace.render.export_page import decode_model, export_document, notebook_model


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


def exported(outputs: list[str]) -> str:
    """A runs/export page as Databricks makes it (the local workspace's), one printed output a cell."""
    cells = [{"language": "python", "source": f"print({n})", "outputs": [{"kind": "stdout", "text": text}]}
             for n, text in enumerate(outputs)]  # fmt: skip
    return export_document("nb", notebook_model("nb", cells))


def model_of(page: str) -> dict:
    return decode_model(re.search(r"__DATABRICKS_NOTEBOOK_MODEL = '([^']*)'", page).group(1))


def test_a_page_over_its_share_loses_its_largest_outputs_and_opens_with_the_note() -> None:
    """The model stays whole and decodable: the largest output is replaced by a line saying so, the others and all
    code stay, and the note is the first cell; so the page's script still renders it."""
    content = exported(["a" * 3000, "b" * 6000, "c" * 200])
    full = len(content.encode())
    limit = full - 4000
    page = _bounded(RenderedPage("t", 1, "nb"), content, limit, "https://example/run/1")

    assert page.cut and page.full_bytes == full and page.kept_bytes == len(page.content.encode()) <= limit
    note, *cells = model_of(page.content)["commands"]
    assert note["command"].startswith("%md\n**This page was cut**") and "(https://example/run/1)" in note["command"]
    assert "1 largest outputs were left out" in note["command"]
    assert [c["command"] for c in cells] == ["print(0)", "print(1)", "print(2)"]
    texts = [c["results"]["data"][0]["data"] if c["results"]["type"] == "listResults" else "" for c in cells]
    assert texts[0] == "a" * 3000 and texts[2] == "c" * 200
    assert cells[1]["results"]["data"].startswith("(This output, ")
    assert note["position"] < min(c["position"] for c in cells)


def test_a_page_that_cannot_be_cut_becomes_a_page_linking_the_run() -> None:
    """No model (not an export), or code alone over the limit: a small page of its own with the run's link."""
    static = "<html><body>" + "<p>" + "x" * 5000 + "</p></body></html>"
    for content in (static, exported(["tiny"]).replace("print(0)", "print(0)" + "#" * 5000)):
        page = _bounded(RenderedPage("t", 1, "nb"), content, 1000, "https://example/run/1")
        assert page.cut and page.kept_bytes <= 1000
        assert "This page was cut" in page.content and 'href="https://example/run/1"' in page.content
    small = _bounded(RenderedPage("t", 1, "n"), "<p>short</p>", 1000, "")
    assert not small.cut and small.content == "<p>short</p>"
