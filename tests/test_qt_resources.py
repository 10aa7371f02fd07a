"""The Qt resource reader (GCompris ships its photos in .rcc files): a file written here in
the format's version 1, a plain and a compressed entry in a folder, and the installed files."""

import struct
import zlib
from pathlib import Path

import pytest

from lecture_utils.qt_resources import read_resources


def write_rcc(path, folder, files, version=1):
    """A .rcc of `version` holding /folder/NAME for each {NAME: (bytes, compress)}: version 2
    adds a modification time to every node, version 3 a flags word to the header."""
    names, data = b"", b""

    def add_name(text):
        nonlocal names
        offset = len(names)
        encoded = text.encode("utf-16-be")
        names += struct.pack(">HI", len(text), 0) + encoded
        return offset

    modified = struct.pack(">Q", 1_700_000_000_000) if version >= 2 else b""
    tree = struct.pack(">IHII", 0, 2, 1, 1) + modified  # the root: one child, node 1
    tree += struct.pack(">IHII", add_name(folder), 2, len(files), 2) + modified  # the folder: nodes 2..
    for name, (blob, compress) in files.items():
        stored = struct.pack(">I", len(blob)) + zlib.compress(blob) if compress else blob
        tree += struct.pack(">IHHHI", add_name(name), 1 if compress else 0, 0, 0, len(data)) + modified
        data += struct.pack(">I", len(stored)) + stored
    header_size = 24 if version >= 3 else 20
    tree_at, names_at = header_size, header_size + len(tree)
    data_at = names_at + len(names)
    header = b"qres" + struct.pack(">IIII", version, tree_at, data_at, names_at)
    header += struct.pack(">I", 0) if version >= 3 else b""
    Path(path).write_bytes(header + tree + names + data)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_plain_and_compressed_entries_read_back_and_suffixes_filter(tmp_path, version):
    path = tmp_path / "activity.rcc"
    write_rcc(path, "images", {"a.webp": (b"plain bytes", False), "b.jpg": (b"squeezed " * 50, True),
                               "notes.txt": (b"text", False)}, version)
    assert read_resources(path) == {"/images/a.webp": b"plain bytes", "/images/b.jpg": b"squeezed " * 50,
                                    "/images/notes.txt": b"text"}
    assert list(read_resources(path, (".jpg", ".webp"))) == ["/images/a.webp", "/images/b.jpg"]


def test_a_file_that_is_not_a_resource_file_is_refused(tmp_path):
    path = tmp_path / "photo.rcc"
    path.write_bytes(b"\xff\xd8\xff\xe0 a jpeg")
    with pytest.raises(ValueError, match="not a Qt resource file"):
        read_resources(path)


def test_gcomprises_installed_photos_decode():
    from lecture_utils.datasets import GCOMPRIS
    from lecture_utils.images import load_image

    path = GCOMPRIS / "erase.rcc"
    if not path.exists():
        pytest.skip("GCompris's photos are not installed: sudo apt-get install gcompris-qt-data")
    photos = read_resources(path, (".webp", ".jpg"))
    assert len(photos) >= 30
    image = load_image(photos["/gcompris/src/activities/erase/resource/giraffe.webp"])
    assert image.shape[1] == 3 and min(image.shape[-2:]) >= 200
