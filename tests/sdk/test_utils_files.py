"""The original's file helpers in `plugit.utils`: `md5Checksum` and `add_unique_postfix`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from plugit.utils import add_unique_postfix, md5Checksum


def test_md5_of_a_file(tmp_path: Path) -> None:
    data = os.urandom(200_000) + b"end"  # more than one chunk
    target = tmp_path / "data.bin"
    target.write_bytes(data)

    assert md5Checksum(str(target)) == hashlib.md5(data).hexdigest()
    assert md5Checksum(target) == hashlib.md5(data).hexdigest()


def test_md5_of_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    assert md5Checksum(tmp_path / "empty") == "d41d8cd98f00b204e9800998ecf8427e"


def test_a_free_name_is_kept(tmp_path: Path) -> None:
    name = str(tmp_path / "report.pdf")
    assert add_unique_postfix(name) == name


def test_a_taken_name_gets_the_first_free_number(tmp_path: Path) -> None:
    for taken in ("report.pdf", "report_1.pdf", "report_3.pdf"):
        (tmp_path / taken).write_text("x")

    assert add_unique_postfix(str(tmp_path / "report.pdf")) == str(tmp_path / "report_2.pdf")


def test_names_without_extension_and_with_dots(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("x")
    (tmp_path / "archive.tar.gz").write_text("x")
    (tmp_path / "folder").mkdir()

    assert add_unique_postfix(str(tmp_path / "README")) == str(tmp_path / "README_1")
    assert add_unique_postfix(str(tmp_path / "archive.tar.gz")) == str(
        tmp_path / "archive.tar_1.gz"
    )
    assert add_unique_postfix(str(tmp_path / "folder")) == str(tmp_path / "folder_1")


def test_a_dangling_link_takes_its_name(tmp_path: Path) -> None:
    (tmp_path / "link.txt").symlink_to(tmp_path / "nowhere")
    assert add_unique_postfix(str(tmp_path / "link.txt")) == str(tmp_path / "link_1.txt")
