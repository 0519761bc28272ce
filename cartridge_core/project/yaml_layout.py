"""Adding YAML to a file's text in the file's own layout, without touching a byte already there.

`Layout` is how a file indents (read from the file, not imposed); `TextEditor` collects additions at
positions found by yamlio.yaml_positions and splices them in as whole new lines (or, inside a flow
collection, as new entries after the last). Nothing is re-emitted, so nothing a person wrote can change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cartridge_core.project.yamlio import YamlNode, dump_fragment, pair_end


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """How a file indents: a sequence's dash under its key, the dash's width, a mapping under its key."""

    offset: int = 2  # columns from a key to the dashes of its sequence
    dash: int = 2  # columns from a dash to its item's content ("- ")
    mapping: int = 2  # columns from a key to the keys of its mapping

    @classmethod
    def of(cls, text: str, root: YamlNode) -> Layout:
        """The layout most of the file uses; dbt Labs' (2, 2, 2) where the file does not say."""
        offsets: Counter[int] = Counter()
        dashes: Counter[int] = Counter()
        mappings: Counter[int] = Counter()
        for node in _walk(root):
            if node.kind == "seq" and not node.flow and node.items:
                first = node.items[0]
                if "\n" not in text[node.start : first.start]:
                    dashes[first.column - node.column] += 1
            if node.kind != "map" or node.flow:
                continue
            for key, value in node.pairs:
                if value.flow or value.anchor:  # an anchor is where such a node's position starts
                    continue
                if value.kind == "seq" and value.items:
                    offsets[value.column - key.column] += 1
                elif value.kind == "map":
                    mappings[value.column - key.column] += 1
        offset = _most_common(offsets, 2)
        dash = _most_common(dashes, 2)
        return cls(offset=offset, dash=dash, mapping=_most_common(mappings, offset or dash))

    def render(self, data: Any) -> list[str]:
        """`data` as block YAML lines in this layout, starting at column 0."""
        sequence = self.offset + self.dash
        text = dump_fragment(data, mapping=self.mapping, sequence=sequence, offset=self.offset)
        return text.rstrip("\n").split("\n")

    def items(self, items: Sequence[Any], column: int, dash: str) -> list[list[str]]:
        """Each item as block sequence lines with its dash (`dash`, e.g. "- ") at `column`."""
        content = self.offset + self.dash  # where the dumped item's content starts
        rendered = []
        for item in items:
            first, *rest = self.render([item])
            lines = [" " * column + dash + first[content:]]
            lines += [_indented(line[content:], column + len(dash)) for line in rest]
            rendered.append(lines)
        return rendered


def _most_common(counts: Counter[int], default: int) -> int:
    positive = [(value, n) for value, n in counts.most_common() if value >= 0]
    return positive[0][0] if positive else default


def _indented(line: str, column: int) -> str:
    return " " * column + line if line.strip() else ""


def _walk(node: YamlNode) -> Iterator[YamlNode]:
    yield node
    for item in node.items:
        yield from _walk(item)
    for _, value in node.pairs:
        yield from _walk(value)


class TextEditor:
    """Additions to one file's text, applied all at once; the text between them is kept byte for byte."""

    def __init__(self, text: str, layout: Layout) -> None:
        self.original = text
        first_break = text.find("\n")
        self.newline = "\r\n" if first_break > 0 and text[first_break - 1] == "\r" else "\n"
        self.final_newline = text.endswith("\n")
        # Work on text that ends with a line break, so every line has one to insert after.
        self.text = text if self.final_newline else text + self.newline
        self.layout = layout
        self._edits: list[tuple[int, int, str]] = []

    def result(self) -> str:
        """The text with every addition made; the original itself when there are none."""
        if not self._edits:
            return self.original
        parts = []
        done = 0
        for start, end, insert in sorted(self._edits, key=lambda edit: edit[0]):  # stable: order kept
            parts += [self.text[done:start], insert]
            done = max(done, end)
        parts.append(self.text[done:])
        text = "".join(parts)
        return text if self.final_newline else text.removesuffix(self.newline)

    # --- Additions ---

    def add_pairs(
        self,
        mapping: YamlNode,
        pairs: Mapping[str, Any],
        *,
        after: tuple[YamlNode, YamlNode] | None = None,
        blank_line: bool = False,
    ) -> None:
        """Add keys to a mapping, after the pair `after` or at its end."""
        if mapping.flow:
            flow = _flow(dict(pairs))[1:-1]
            if not mapping.pairs:
                self._insert(mapping.start + 1, flow)
            else:
                self._insert(pair_end(*(after or mapping.pairs[-1])), ", " + flow)
            return
        end = pair_end(*after) if after is not None else mapping.end
        lines = [_indented(line, mapping.column) for line in self.layout.render(dict(pairs))]
        self._insert_lines(self._after(end, mapping.column), [""] * blank_line + lines)

    def add_items(self, seq: YamlNode, items: Sequence[Any], *, after: int | None) -> None:
        """Add items to a sequence that has some: after item `after`, or before the first when None."""
        if seq.flow:
            flow = ", ".join(_flow([item])[1:-1] for item in items)
            if after is None:
                self._insert(seq.items[0].start, flow + ", ")
            else:
                self._insert(seq.items[after].end, ", " + flow)
            return
        rendered = self.layout.items(items, seq.column, self._dash(seq))
        blank = self._blank_separated(seq)
        lines: list[str] = []
        for item in rendered:
            lines += [""] * (blank and (bool(lines) or after is not None)) + item
        if after is None:
            at = self._comments_above(self._line_start(seq.start))
            self._insert_lines(at, lines + [""] * blank)
        else:
            self._insert_lines(self._after(seq.items[after].end, seq.column), lines)

    def fill(self, mapping: YamlNode, key: YamlNode, value: YamlNode, data: list[Any]) -> None:
        """Give a key left empty (`columns:`, `~`, `[]`) its first items, as block lines under it."""
        if mapping.flow:
            if _left_empty(value):
                self._insert(self.text.index(":", key.end) + 1, " " + _flow(data))
            else:
                self._edits.append((value.start, value.end, _flow(data)))
            return
        end = key.end
        if not _left_empty(value):  # `~`, `null` or `[]` gives way
            colon = self.text.index(":", key.end)
            self._edits.append((colon + 1, value.end, ""))
            end = value.end
        column = key.column + self.layout.offset
        dash = "-" + " " * (self.layout.dash - 1)
        lines = [line for item in self.layout.items(data, column, dash) for line in item]
        self._insert_lines(self._after(end, key.column), lines)

    # --- Positions in the text ---

    def _insert(self, at: int, text: str) -> None:
        self._edits.append((at, at, text))

    def _insert_lines(self, at: int, lines: list[str]) -> None:
        self._insert(at, "".join(line + self.newline for line in lines))

    def _line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def _line_end(self, index: int) -> int:
        """Just past the line break of the line holding the character before `index`."""
        if index > 0 and self.text[index - 1] == "\n":
            return index
        return self.text.index("\n", index) + 1

    def _after(self, end: int, column: int) -> int:
        """Where to add lines after content ending at `end`: past its line, and past the comment lines
        indented deeper than `column` that follow (they belong to it, e.g. a commented-out test)."""
        at = self._line_end(end)
        while at < len(self.text):
            line = self.text[at : self.text.index("\n", at)]
            stripped = line.lstrip()
            if not stripped.startswith("#") or len(line) - len(stripped) <= column:
                break
            at += len(line) + 1
        return at

    def _comments_above(self, line_start: int) -> int:
        """The start of the comment lines right above a line (they belong to it)."""
        while line_start > 0:
            previous = self._line_start(line_start - 1)
            if not self.text[previous:line_start].lstrip().startswith("#"):
                break
            line_start = previous
        return line_start

    def _dash(self, seq: YamlNode) -> str:
        """The first item's dash and the spaces after it, e.g. "- " or "-   "."""
        between = self.text[seq.start : seq.items[0].start]
        if between.startswith("-") and not between.strip(" -\t"):
            return between
        return "-" + " " * (self.layout.dash - 1)

    def _blank_separated(self, seq: YamlNode) -> bool:
        """Whether the file puts a blank line between this sequence's items (looking at the last two)."""
        if len(seq.items) < 2:
            return False
        dash_line = self._line_start(seq.items[-1].start)
        previous = self._line_start(dash_line - 1)
        return not self.text[previous:dash_line].strip()


def _left_empty(value: YamlNode) -> bool:
    """A value with no text at all (`key:`), as opposed to `~`, `null` or `[]`."""
    return value.kind == "scalar" and value.style is None and value.value == ""


def _flow(data: Any) -> str:
    """`data` as a one-line flow collection, e.g. `{name: x}` or `[unique]`."""
    return dump_fragment(data, flow=True).strip()
