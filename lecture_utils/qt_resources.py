"""Files inside a Qt resource file (.rcc), the form in which GCompris (Debian's
`gcompris-qt-data`) ships its photos: the unit atlas reads them from there.

The format (Qt's rcc, versions 1-3): a header ("qres", version, then the offsets of the tree,
the data and the names, big-endian), a tree of nodes (a name, flags, and either children or a
data offset), names as UTF-16 with a length, data as a length and bytes, zlib-compressed when
the node's flag says so.
"""

from pathlib import Path
import struct
import zlib

COMPRESSED, DIRECTORY, ZSTD = 0x01, 0x02, 0x04


def read_resources(path, suffixes=None):
    """{name: bytes} of the files in the .rcc file at `path` ("/folder/file.webp"), only those
    whose name ends with one of `suffixes` if given. ValueError for a file that is not one."""
    data = Path(path).read_bytes()
    if data[:4] != b"qres":
        raise ValueError(f"{path} is not a Qt resource file (it does not start with 'qres')")
    version, tree, start, names = struct.unpack(">IIII", data[4:20])
    node_size = 22 if version >= 2 else 14  # version 2 added a modification time per node

    def name(offset):
        (length,) = struct.unpack(">H", data[names + offset:names + offset + 2])
        return data[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    found, pending = {}, [(0, "")]
    while pending:
        index, folder = pending.pop()
        at = tree + index * node_size
        name_offset, flags = struct.unpack(">IH", data[at:at + 6])
        path_here = folder + "/" + name(name_offset) if index else ""
        if flags & DIRECTORY:
            count, first = struct.unpack(">II", data[at + 6:at + 14])
            pending.extend((first + i, path_here) for i in range(count))
            continue
        if suffixes and not path_here.lower().endswith(tuple(suffixes)):
            continue
        (offset,) = struct.unpack(">I", data[at + 10:at + 14])
        (size,) = struct.unpack(">I", data[start + offset:start + offset + 4])
        blob = data[start + offset + 4:start + offset + 4 + size]
        if flags & ZSTD:
            raise ValueError(f"{path}: {path_here} is zstd-compressed, which this reader does not read")
        found[path_here] = zlib.decompress(blob[4:]) if flags & COMPRESSED else blob  # 4 bytes: unpacked size
    return dict(sorted(found.items()))
