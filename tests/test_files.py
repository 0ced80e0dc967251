"""`files.read_regular`: only regular files, of a bounded size, never a blocking open."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

import pytest

from syndicator.files import read_regular

from .conftest import within


def test_a_regular_file_and_a_link_to_one_are_read(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_bytes(b"limit = 5\n")
    (tmp_path / "link.toml").symlink_to("a.toml")
    assert read_regular(tmp_path / "a.toml") == b"limit = 5\n"
    assert read_regular(tmp_path / "link.toml") == b"limit = 5\n"


def test_a_fifo_is_refused_at_once_without_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "x.toml"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file: a FIFO") as caught:
        within(10, lambda: read_regular(fifo))
    assert caught.value.errno == errno.EINVAL and caught.value.filename == str(fifo)


def test_a_socket_a_device_and_a_folder_are_refused_by_what_they_are(tmp_path: Path) -> None:
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(tmp_path / "s.toml"))
    listening.listen()
    try:
        with pytest.raises(OSError, match="not a regular file: a socket"):
            within(10, lambda: read_regular(tmp_path / "s.toml"))
    finally:
        listening.close()
    (tmp_path / "zero.toml").symlink_to("/dev/zero")  # it never ends
    with pytest.raises(OSError, match="not a regular file: a character device"):
        within(10, lambda: read_regular(tmp_path / "zero.toml"))
    with pytest.raises(OSError, match="not a regular file: a folder"):
        read_regular(tmp_path)


def test_a_file_over_the_limit_is_refused_saying_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * 1001)
    with pytest.raises(OSError, match="larger than the 1,000-byte limit") as caught:
        read_regular(big, 1000)
    assert caught.value.errno == errno.EFBIG
    assert read_regular(big, 1001) == b"#" * 1001


def test_a_missing_file_is_the_usual_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "nope.toml")
