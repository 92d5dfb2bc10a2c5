"""Source layout rules (issue 15), checked on the files themselves (standard library only).

1. No import cycles between the files of a crate. For each crate under crates/, the graph has one
   node per .rs file under src/ and an edge A -> B when A names a module that lives in B:
   - `crate::a::b::..` paths (in `use` items, grouped `use crate::{a, b::{c}}` trees included, and
     inline in code) go to the file of the longest existing module prefix: `a/b.rs` or `a/b/mod.rs`,
     else `a.rs` or `a/mod.rs`, else the crate root (lib.rs / main.rs);
   - `super::` and `self::` paths likewise, relative to the file's own module;
   - a path that starts with a child module the file declares (`mod llama;` ... `llama::load`) goes
     to that child: a parent that uses its children and a child that uses its parent is a cycle.
   `mod x;` declarations alone are not edges (declaring is not using). Comments, doc comments and
   string literals are ignored. Test code is left out: `#[cfg(test)] mod tests { .. }` blocks are
   removed before reading paths, and files declared under `#[cfg(test)]` (`#[cfg(test)] mod tests;`
   -> tests.rs) are not nodes, since a test module importing its parent is not a dependency of
   the parent. Edges from a file to itself are dropped.
2. No hand-written .rs / .js / .mjs source file (tracked by git, outside node_modules, target, build,
   .venv) is longer than 650 lines. Files whose first lines say they are GENERATED are not hand-written.

"""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CRATES = ROOT / "crates"
MAX_LINES = 650


# ---------------------------------------------------------------- reading Rust


def strip_rust(src: str) -> str:
    """`src` with comments, string and char literals blanked out (newlines kept)."""
    out = []
    i, n = 0, len(src)

    def blank(s):
        return "".join(c if c == "\n" else " " for c in s)

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(src[i:j]))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(src[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', src[i:])) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            end = '"' + m.group(1)
            j = src.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(blank(src[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append(blank(src[i : j + 1]))
            i = j + 1
        elif c == "'" and (m := re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'\n])'", src[i:])):
            out.append(blank(m.group(0)))
            i += m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


TEST_MOD = re.compile(
    r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*([{;])"
)
MOD_DECL = re.compile(r"(?:^|[;{}\]\s])(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;")


def remove_test_modules(code: str):
    """(code without `#[cfg(test)] mod x { .. }` blocks, names of `#[cfg(test)] mod x;` files)."""
    test_files = set()
    while True:
        m = TEST_MOD.search(code)
        if not m:
            return code, test_files
        if m.group(2) == ";":
            test_files.add(m.group(1))
            code = code[: m.start()] + " " * (m.end() - m.start()) + code[m.end() :]
            continue
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        code = code[: m.start()] + "".join(ch if ch == "\n" else " " for ch in code[m.start() : j]) + code[j:]


def split_top(s: str):
    """Splits a use-tree list on top-level commas."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def expand_use(tree: str, prefix=()):
    """Every path a use tree names, as tuples of segments (`self` leaves name their prefix)."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)
    if "{" in tree:
        head, _, rest = tree.partition("{")
        head_segs = tuple(s for s in head.split("::") if s)
        inner = rest[: rest.rfind("}")]
        out = []
        for part in split_top(inner):
            out.extend(expand_use(part, prefix + head_segs))
        return out
    segs = tuple(s for s in tree.split("::") if s and s != "*")
    if segs and segs[-1] == "self":
        segs = segs[:-1]
    return [prefix + segs]


USE_ITEM = re.compile(r"\buse\s+([^;]*);")
INLINE_PATH = re.compile(r"(?<![\w$:])((?:crate|super|self)(?:::(?:super|\w+))+|\w+(?:::\w+)+)")


def module_of(rel: Path):
    """Module path (tuple) of a file relative to src/."""
    parts = list(rel.with_suffix("").parts)
    if parts in (["lib"], ["main"]):
        return ()
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


class Crate:
    def __init__(self, src: Path):
        self.src = src
        self.files = {}  # module path -> file (relative)
        for p in sorted(src.rglob("*.rs")):
            rel = p.relative_to(src)
            self.files.setdefault(module_of(rel), rel)
        self.code = {}
        self.test_files = set()
        self.children = {}
        for mod, rel in self.files.items():
            code, tests = remove_test_modules(strip_rust((src / rel).read_text()))
            self.code[mod] = code
            self.children[mod] = {c for c in MOD_DECL.findall(code)}
            for t in tests:
                self.test_files.add(mod + (t,))
        # Modules below a test module are test code too.
        self.nodes = {
            m for m in self.files if not any(m[: len(t)] == t for t in self.test_files)
        }

    def resolve(self, segs):
        """The module file a full path (from the crate root) lands in: its longest module prefix."""
        for k in range(len(segs), -1, -1):
            if segs[:k] in self.files:
                return segs[:k]
        return ()

    def absolute(self, mod, segs):
        """`segs` as written in module `mod`, from the crate root (None: an external path)."""
        if not segs:
            return None
        if segs[0] == "crate":
            return segs[1:]
        if segs[0] in ("super", "self"):
            base = list(mod)
            i = 0
            while i < len(segs) and segs[i] in ("super", "self"):
                if segs[i] == "super":
                    if not base:
                        return None
                    base.pop()
                i += 1
            return tuple(base) + segs[i:]
        if segs[0] in self.children.get(mod, ()):
            return mod + segs
        return None

    def edges(self, mod):
        code = self.code[mod]
        paths = []
        for m in USE_ITEM.finditer(code):
            paths.extend(expand_use(m.group(1)))
        without_uses = USE_ITEM.sub(" ", code)
        for m in INLINE_PATH.finditer(without_uses):
            paths.append(tuple(m.group(1).split("::")))
        out = set()
        for segs in paths:
            full = self.absolute(mod, segs)
            if full is None:
                continue
            target = self.resolve(full)
            if target != mod and target in self.nodes:
                out.add(target)
        return out

    def graph(self):
        return {m: sorted(self.edges(m)) for m in self.nodes}

    def name(self, mod):
        return str(self.files[mod])


def find_cycle(graph):
    """One cycle of `graph` as a list of nodes (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {n: WHITE for n in graph}
    stack = []

    def visit(n):
        colour[n] = GREY
        stack.append(n)
        for m in graph.get(n, ()):
            if colour.get(m, BLACK) == GREY:
                return stack[stack.index(m) :] + [m]
            if colour.get(m) == WHITE:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        colour[n] = BLACK
        return None

    for n in sorted(graph):
        if colour[n] == WHITE:
            found = visit(n)
            if found:
                return found
    return None


def crate_dirs():
    return sorted(p.parent.name for p in CRATES.glob("*/src"))


@pytest.mark.parametrize("crate", crate_dirs())
def test_no_import_cycles(crate):
    c = Crate(CRATES / crate / "src")
    cycle = find_cycle(c.graph())
    assert cycle is None, f"crates/{crate}/src has an import cycle: " + " -> ".join(c.name(m) for m in cycle)


def test_cycle_finder_sees_cycles(tmp_path):
    """The reader on a small made-up crate: grouped uses, super::, inline paths, child modules, tests."""
    src = tmp_path / "src"
    (src / "models").mkdir(parents=True)
    (src / "lib.rs").write_text("mod a;\nmod models;\npub use a::X;\n")
    (src / "a.rs").write_text(
        "use crate::{error::E, models::{llama::{self, L}}};\n// crate::b::Y in a comment\n"
        'const S: &str = "crate::b::Y";\n#[cfg(test)]\nmod tests {\n    use crate::b::Y;\n}\n'
    )
    (src / "b.rs").write_text("fn f() { let _ = crate::a::X; }\n")
    (src / "error.rs").write_text("pub struct E;\n")
    (src / "models" / "mod.rs").write_text("pub mod llama;\n#[cfg(test)]\nmod tests;\nfn f() { llama::go() }\n")
    (src / "models" / "llama.rs").write_text("use super::super::error::E;\nfn g() { super::f() }\n")
    (src / "models" / "tests.rs").write_text("use super::*;\nuse crate::a::X;\n")
    c = Crate(src)
    g = c.graph()
    assert g[("a",)] == [("error",), ("models", "llama")]
    assert g[("b",)] == [("a",)]
    assert ("models", "tests") not in g
    assert g[()] == [("a",)]
    assert find_cycle({k: v for k, v in g.items() if k != ("models",)}) is None
    cycle = find_cycle(g)
    assert cycle and {c.name(m) for m in cycle} == {"models/mod.rs", "models/llama.rs"}, cycle


# ---------------------------------------------------------------- file sizes


def tracked_sources():
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.rs", "*.js", "*.mjs"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.split()
        files = [ROOT / f for f in out]
    except (OSError, subprocess.CalledProcessError):
        files = [p for ext in ("rs", "js", "mjs") for p in ROOT.rglob(f"*.{ext}")]
    skip = {"node_modules", "target", "build", ".venv", ".git"}
    return [f for f in files if f.is_file() and not skip & set(f.relative_to(ROOT).parts)]


def group_of(path: Path):
    parts = path.relative_to(ROOT).parts
    return parts[1] if parts[0] == "crates" and len(parts) > 1 else parts[0]


def hand_written(path: Path):
    with open(path, errors="replace") as f:
        head = "".join(f.readline() for _ in range(3))
    return "GENERATED" not in head and "@generated" not in head


def too_long(group):
    out = []
    for f in tracked_sources():
        if group_of(f) != group or not hand_written(f):
            continue
        with open(f, errors="replace") as fh:
            n = sum(1 for _ in fh)
        if n > MAX_LINES:
            out.append(f"{f.relative_to(ROOT)}: {n} lines")
    return sorted(out)


def line_groups():
    return sorted({group_of(f) for f in tracked_sources()} | set(crate_dirs()))


@pytest.mark.parametrize("group", line_groups())
def test_source_files_are_short(group):
    long = too_long(group)
    assert not long, f"hand-written sources over {MAX_LINES} lines:\n" + "\n".join(long)
