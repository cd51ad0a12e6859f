"""Reading export files: folders and zip archives member by member, JSON whole or streamed.

Every failure becomes an ImportFormatError whose message names the file and the position, so
`pulse import` can stop with one clear line instead of a traceback.

Memory stays bounded whatever the input. A parser builds what it reads before Pulse can look at
it (ijson's C backend builds a whole item, and keeps a path string per nesting level, so its
memory grows with the square of the depth), so the limits are checked on the bytes before any
parser sees them: JsonGuard follows the nesting of every chunk read (a byte scan at C speed)
and stops a document nested too deep or holding one value too large; zip members are counted
as they are decompressed, against a size and a compression ratio; a file read whole has a size
limit. Real exports stay far below every limit (see docs/importing.md).
"""

from __future__ import annotations

import contextlib
import itertools
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import ijson
import orjson

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError)
MiB = 1024 * 1024

# The limits. Real exports nest under 20 levels, hold messages of a few KB, day files of a few MB
# and compress about 10:1.
MAX_DEPTH = 128  # nesting levels of a JSON document
MAX_VALUE_BYTES = 8 * MiB  # one streamed value: a message, a user, a channel, a header object
MAX_WHOLE_BYTES = 4 * MiB  # larger JSON files are streamed value by value, not parsed whole
MAX_DAY_FILE_BYTES = 256 * MiB  # one Slack day file
MAX_MEMBER_BYTES = 4096 * MiB  # one zip member, decompressed
MAX_RATIO = 250  # decompressed bytes per compressed byte of a zip member...
RATIO_FROM = 8 * MiB  # ...once a member has decompressed to this much
_READ_SIZE = 256 * 1024


class ImportFormatError(Exception):
    """An export that cannot be read: the message names the file and where it went wrong."""


class ImportLimitError(ImportFormatError):
    """An export beyond one of the limits that keep an import's memory bounded."""


def limit_note(what: str) -> str:
    """WHAT went past a limit, with a word on why Pulse has it (for ImportLimitError)."""
    return f"{what} (Pulse's limit, which keeps memory bounded; real exports stay far below it)"


class JsonGuard:
    """Follows a JSON document's nesting chunk by chunk, before a parser builds anything of it.

    It raises ImportLimitError when the document nests deeper than MAX_DEPTH or when one value
    below BASE levels (a streamed item) runs past MAX_VALUE_BYTES. Only quotes, backslashes and
    brackets matter, so a chunk is reduced to those with C-speed byte operations; the sizes are
    exact to within a chunk. For invalid JSON the count may be off, but the parser stops there.
    """

    def __init__(self, base: int = 1) -> None:
        self.base = base
        self.depth = 0
        self.position = 0  # bytes checked
        self.first: int | None = None  # the first bracket outside strings, if any
        self._in_string = False
        self._escape = False
        self._value = 0  # bytes since a value at BASE levels or fewer began or ended

    def check(self, chunk: bytes) -> None:
        """Account for CHUNK, the next bytes of the document; raise when it passes a limit."""
        size = len(chunk)
        self.position += size
        if self._escape and chunk:
            chunk = chunk[1:]
            self._escape = False
        if b"\\" in chunk:
            # Every escape goes, left to right (an escaped backslash, an escaped quote...); a
            # backslash left at the end escapes the next chunk's first byte.
            chunk = _ESCAPE.sub(b"", chunk)
            if chunk.endswith(b"\\"):
                self._escape = True
        residue = chunk.translate(None, _NOT_STRUCTURE)
        if b'"' in residue:
            parts = residue.split(b'"')
            brackets = b"".join(parts[1::2] if self._in_string else parts[::2])
            if len(parts) % 2 == 0:
                self._in_string = not self._in_string
        else:
            brackets = b"" if self._in_string else residue
        if brackets:
            if self.first is None:
                self.first = brackets[0]
            run = list(itertools.accumulate(map(_STEP.__getitem__, brackets), initial=self.depth))
            deepest, self.depth = max(run), run[-1]
            if deepest > MAX_DEPTH:
                raise ImportLimitError(
                    limit_note(
                        f"nested deeper than {MAX_DEPTH} levels, within its first "
                        f"{self.position:,} bytes"
                    )
                )
            ended = min(run) <= self.base
        else:
            ended = bool(residue) and self.depth <= self.base
        if ended:
            self._value = 0
            return
        self._value += size
        if self._value > MAX_VALUE_BYTES:
            raise ImportLimitError(
                limit_note(
                    f"one value larger than {MAX_VALUE_BYTES // MiB} MiB, "
                    f"within its first {self.position:,} bytes"
                )
            )

    def take(self, chunk: bytes) -> tuple[bytes, ImportLimitError | None]:
        """The part of CHUNK within the limits, and the error just past it (or None).

        A parser given that part builds everything before the offending bytes (the messages
        before a bad one are imported) and nothing of them.
        """
        state = dict(self.__dict__)
        try:
            self.check(chunk)
        except ImportLimitError:
            self.__dict__.update(state)
        else:
            return chunk, None
        # Rare (a document past a limit): find the place again in pieces too small to matter.
        for start in range(0, len(chunk), _PIECE):
            try:
                self.check(chunk[start : start + _PIECE])
            except ImportLimitError as exc:
                return chunk[:start], exc
        return chunk, None


_PIECE = 64
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = [0] * 256
for _open, _close in (b"[]", b"{}"):
    _STEP[_open], _STEP[_close] = 1, -1


def not_utf8(label: str, data: bytes) -> ImportFormatError | None:
    """The error to raise when DATA is not UTF-8 text, naming its line and byte; else None."""
    if data[:2] in _UTF16_BOMS:
        return ImportFormatError(
            f"{label}: the file is UTF-16 encoded; exports are UTF-8 (re-save it as UTF-8)"
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return ImportFormatError(
            f"{label}: not UTF-8 text at line {line}, byte {exc.start:,} "
            "(wrong encoding? exports are UTF-8)"
        )
    return None


def loads(label: str, data: bytes):
    """Parse a whole JSON document (a small file), naming line, column and byte on failure."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    try:
        JsonGuard().check(data)
    except ImportLimitError as exc:
        raise ImportLimitError(f"{label}: {exc}") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        bad_encoding = not_utf8(label, data)
        if bad_encoding is not None:
            raise bad_encoding from None
        if exc.pos >= len(data.rstrip()):
            where = f"the file ends early, at byte {exc.pos:,} (truncated?)"
        else:
            where = f"line {exc.lineno}, column {exc.colno} (byte {exc.pos:,}): {exc.msg}"
        raise ImportFormatError(f"{label}: not valid JSON: {where}") from None


class CountingReader:
    """A binary stream that counts the bytes read through it and skips a UTF-8 BOM.

    Every chunk passes its JsonGuard before the parser gets it (see stream_items for BASE).
    """

    def __init__(self, raw: BinaryIO, base: int = 1) -> None:
        self._raw = raw
        self.position = 0
        self._first = True
        self.guard = JsonGuard(base)
        self._error: ImportLimitError | None = None

    def read(self, size: int = -1) -> bytes:
        """Read up to SIZE bytes (at most 256 KiB: the guard checks each read whole)."""
        if self._error is not None:
            raise self._error
        if size == 0:  # ijson asks for nothing first, to tell bytes from text
            return b""
        data = self._raw.read(_READ_SIZE if size < 0 or size > _READ_SIZE else size)
        if self._first and data:
            self._first = False
            if data[:2] in _UTF16_BOMS:
                raise ImportFormatError("the file is UTF-16 encoded; exports are UTF-8")
            if data.startswith(UTF8_BOM):
                self.position += len(UTF8_BOM)
                data = data[len(UTF8_BOM) :]
        self.position += len(data)
        data, self._error = self.guard.take(data)
        if not data and self._error is not None:
            raise self._error
        return data


def describe_json_stream_error(exc: Exception) -> str:
    """A short, human reason for an ijson failure (its own message spans several lines)."""
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text (wrong encoding? exports are UTF-8)"
    text = str(exc)
    if "premature EOF" in text or "Incomplete JSON" in text:
        return "the file ends in the middle of the JSON (truncated?)"
    if "UTF8" in text or "UTF-8" in text:
        return "not UTF-8 text (wrong encoding? exports are UTF-8)"
    # yajl's message is the repr of bytes with escaped newlines: keep its first line.
    first = text.removeprefix("b'").split("\\n")[0].split("\n")[0].strip()
    return f"not valid JSON ({first or type(exc).__name__})"


def stream_items(stream: CountingReader, prefix: str) -> Iterator:
    """Objects under PREFIX of a JSON document, parsed incrementally (ijson's C backend).

    Each object is held to MAX_VALUE_BYTES: the guard measures values below PREFIX's level.
    """
    stream.guard.base = prefix.count(".") + 1
    return ijson.items(stream, prefix, use_float=True, buf_size=_READ_SIZE)


# ijson lets a decoding error through as it is.
JSON_STREAM_ERRORS = (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError)


class BoundedReader:
    """A member's bytes, stopped with ImportLimitError past LIMIT or, zipped, past MAX_RATIO."""

    def __init__(
        self,
        raw: BinaryIO,
        label: str,
        limit: int,
        compressed: int | None = None,
        expected: int = _READ_SIZE,
    ) -> None:
        self._raw = raw
        self._label = label
        self._limit = limit
        self._compressed = compressed
        self._expected = expected  # the size the header or the folder gives: not trusted
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        """Read up to SIZE bytes (all that is left when SIZE is negative)."""
        if size is None or size < 0:
            parts = []
            want = self._expected + 1  # most often all there is, in one read
            while data := self.read(want):
                parts.append(data)
                want = _READ_SIZE
            return b"".join(parts)
        # One byte past the limit tells a file that ends there from one that goes on.
        data = self._raw.read(min(size, self._limit + 1 - self.position))
        self.position += len(data)
        if self.position > self._limit:
            raise ImportLimitError(
                f"{self._label}: " + limit_note(f"larger than {_size(self._limit)} unpacked")
            )
        if (
            self._compressed is not None
            and self.position > RATIO_FROM
            and self.position > MAX_RATIO * max(self._compressed, 1)
        ):
            raise ImportLimitError(
                f"{self._label}: "
                + limit_note(
                    f"unpacks to more than {MAX_RATIO} times its packed size "
                    f"({self._compressed:,} bytes), as a zip bomb does"
                )
            )
        return data

    def close(self) -> None:
        """Close the underlying stream."""
        self._raw.close()

    def __enter__(self) -> BoundedReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _size(limit: int) -> str:
    return f"{limit // MiB:,} MiB" if limit % MiB == 0 else f"{limit:,} bytes"


class ExportSource:
    """A folder or a zip archive holding an export, read one member at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._sizes: dict[str, int] = {}
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file():
                    self._sizes[file.relative_to(path).as_posix()] = file.stat().st_size
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except _ZIP_ERRORS as exc:
                raise ImportFormatError(
                    f"{path}: not a readable zip archive ({exc}); a truncated download "
                    "loses the archive's index at its end: download the export again"
                ) from None
            except OSError as exc:
                raise ImportFormatError(f"{path}: cannot be read: {exc.strerror}") from None
            for info in self._zip.infolist():
                if not info.is_dir():
                    self._sizes[info.filename] = info.file_size
        else:
            raise ImportFormatError(f"{path}: no such file or folder")

    def close(self) -> None:
        """Close the archive, if one is open."""
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> ExportSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def names(self) -> list[str]:
        """Every file inside, as POSIX paths relative to the export."""
        return list(self._sizes)

    def size(self, name: str) -> int:
        """A member's size in bytes (uncompressed)."""
        return self._sizes[name]

    def label(self, name: str) -> str:
        """How a member is named in messages: the archive or folder, then the member."""
        return f"{self.path}:{name}" if self._zip is not None else str(self.path / name)

    def read(self, name: str, limit: int = MAX_WHOLE_BYTES) -> bytes:
        """A whole member of at most LIMIT bytes (the small files: channel lists, day files)."""
        with self.open(name, limit) as stream, self._reading(name):
            return stream.read()

    def open(self, name: str, limit: int = MAX_MEMBER_BYTES) -> BoundedReader:
        """A member as a binary stream that stops with ImportLimitError past LIMIT bytes.

        A zip member is also held to MAX_RATIO. Both are counted as it is decompressed, whatever
        its header says; a header that admits to more than LIMIT fails at once.
        """
        label = self.label(name)
        if self._sizes[name] > limit:  # what the header or the folder says: fail before reading
            raise ImportLimitError(
                f"{label}: " + limit_note(f"larger than {_size(limit)} unpacked")
            )
        with self._reading(name):
            if self._zip is not None:
                info = self._zip.getinfo(name)
                raw = self._zip.open(info)
                return BoundedReader(raw, label, limit, info.compress_size, info.file_size)
            raw = (self.path / PurePosixPath(name)).open("rb")
            return BoundedReader(raw, label, limit, expected=self._sizes[name])

    @contextlib.contextmanager
    def _reading(self, name: str) -> Iterator[None]:
        """Turn a damaged archive or an unreadable file into an error naming the member."""
        try:
            yield
        except _ZIP_ERRORS as exc:
            raise ImportFormatError(
                f"{self.label(name)}: the archive is damaged here ({exc})"
            ) from None
        except OSError as exc:
            raise ImportFormatError(f"{self.label(name)}: cannot be read: {exc}") from None

    def stream_json(
        self, name: str, prefix: str, limit: int = MAX_MEMBER_BYTES, *, of: str = ""
    ) -> Iterator:
        """Stream the objects under PREFIX of a member, with errors naming member and byte.

        With OF (say "messages") the document must be a list: anything else is an unknown layout.
        """
        label = self.label(name)
        with self.open(name, limit) as raw:
            reader = CountingReader(raw)
            index = 0
            try:
                for index, item in enumerate(stream_items(reader, prefix), 1):  # noqa: B007
                    yield item
            except ImportFormatError as exc:
                if str(exc).startswith(label):
                    raise
                raise type(exc)(f"{label}: {exc}") from None
            except JSON_STREAM_ERRORS as exc:
                raise ImportFormatError(
                    f"{label}: {describe_json_stream_error(exc)}, after item {index:,}, "
                    f"within its first {reader.position:,} bytes"
                ) from None
            except _ZIP_ERRORS as exc:
                raise ImportFormatError(f"{label}: the archive is damaged here ({exc})") from None
            if of and reader.guard.first != ord("["):
                found = "an object" if reader.guard.first == ord("{") else "no list"
                raise ImportFormatError(
                    f"{label}: expected a list of {of}, found {found} (unknown layout)"
                )
