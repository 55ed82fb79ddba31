"""The upload spool: request bodies land there; what a killed server left is removed."""

from __future__ import annotations

import os

from web.uploads import purge_spool, upload_spool


def test_purge_removes_left_over_files_and_keeps_the_private_directory(tmp_path):
    spool = upload_spool(tmp_path)
    assert spool.stat().st_mode & 0o777 == 0o700
    (spool / "upload-1.part").write_bytes(b"\x89PNG half a certificate")
    (spool / "upload-2.part").write_bytes(b"")
    os.symlink(tmp_path / "elsewhere", spool / "dangling")
    assert purge_spool(tmp_path) == 3
    assert list(spool.iterdir()) == [] and spool.is_dir()
    assert purge_spool(tmp_path) == 0
