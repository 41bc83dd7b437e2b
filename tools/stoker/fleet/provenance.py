"""Where each node of an assembled Butane document came from.

A VM's Butane document is merged from `butane/*.bu` fragments and the part
stoker generates from `vms/<vm>.yaml`. Every finding about the document (a
transpiler error, an Ignition warning) is reported at the line of the file the
operator edits, never at a line of the generated `build/<vm>.bu`. Paths are
tuples of keys and list indexes of the Butane document; a position is
(file, line, column), 1-based.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Where = tuple[str, int, int]


@dataclass
class Origins:
    values: dict[tuple, Where] = field(default_factory=dict)  # node path -> where its value is written
    keys: dict[tuple, Where] = field(default_factory=dict)    # node path -> where its key is written

    def locate(self, path: tuple | None, *, key: bool = False) -> Where | None:
        """The position of `path`, or of its nearest ancestor that has one; None
        when not even its top-level section has one."""
        if path is None:
            return None
        path = tuple(path)
        if key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return None

    def merged(self, child: "Origins", transcript: dict) -> "Origins":
        """The origins of a merge result, given `self` for the parent, `child`
        for the child, and the merge's transcript (result path -> (side, path on
        that side), see stoker.butane.merge)."""
        from ..butane.merge import PARENT

        out = Origins()
        for result_path, (side, side_path) in transcript.items():
            source = self if side == PARENT else child
            if side_path in source.values:
                out.values[result_path] = source.values[side_path]
            if side_path in source.keys:
                out.keys[result_path] = source.keys[side_path]
        return out
