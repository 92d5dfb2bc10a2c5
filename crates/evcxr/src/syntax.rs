//! `is_complete` for Rust cells: a small lexer that tracks brackets, strings, raw strings,
//! char literals (told apart from lifetimes) and nested block comments.

use exformer_kernel::Completeness;

pub fn rust_completeness(code: &str) -> Completeness {
    let mut stack: Vec<char> = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        match c {
            '/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            '/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < b.len() && depth > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                if depth > 0 {
                    return incomplete(&stack);
                }
                continue;
            }
            'r' | 'b' if is_raw_string_start(b, i) => {
                let mut j = i + 1;
                if b[i] == b'b' {
                    j += 1; // br"..."
                }
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                j += 1; // opening quote
                loop {
                    if j >= b.len() {
                        return incomplete(&stack);
                    }
                    if b[j] == b'"'
                        && b.len() >= j + 1 + hashes
                        && b[j + 1..j + 1 + hashes].iter().all(|&h| h == b'#')
                    {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                i = j;
                continue;
            }
            '"' => {
                let mut j = i + 1;
                loop {
                    if j >= b.len() {
                        return incomplete(&stack);
                    }
                    match b[j] {
                        b'\\' => j += 2,
                        b'"' => break,
                        _ => j += 1,
                    }
                }
                i = j + 1;
                continue;
            }
            '\'' => {
                // Char literal ('a', '\n', '\u{1F600}') or a lifetime ('a, 'static).
                if let Some(end) = char_literal_end(b, i) {
                    i = end;
                    continue;
                }
            }
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return Completeness::Invalid;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if !stack.is_empty() {
        return incomplete(&stack);
    }
    let trimmed = code.trim_end();
    let dangling = [
        "=", "+", "-", "*", "/", "&&", "||", ",", ".", "->", "=>", "::", "|", "&",
    ];
    if !trimmed.starts_with(':')
        && dangling.iter().any(|d| trimmed.ends_with(d))
        && !trimmed.ends_with("..")
    {
        return incomplete(&stack);
    }
    Completeness::Complete
}

fn incomplete(stack: &[char]) -> Completeness {
    Completeness::Incomplete {
        indent: "    ".repeat(stack.len().max(1)),
    }
}

fn is_raw_string_start(b: &[u8], i: usize) -> bool {
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
        return false;
    }
    let mut j = i + 1;
    if b[i] == b'b' {
        if b.get(j) != Some(&b'r') {
            return false;
        }
        j += 1;
    }
    while b.get(j) == Some(&b'#') {
        j += 1;
    }
    b.get(j) == Some(&b'"')
}

fn char_literal_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j) == Some(&b'\\') {
        j += 1;
        if b.get(j) == Some(&b'u') {
            while j < b.len() && b[j] != b'}' {
                j += 1;
            }
        }
        j += 1;
    } else {
        // One UTF-8 scalar.
        let s = std::str::from_utf8(&b[j..]).ok()?;
        j += s.chars().next()?.len_utf8();
    }
    (b.get(j) == Some(&b'\'')).then_some(j + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_complete(s: &str) -> bool {
        rust_completeness(s) == Completeness::Complete
    }
    fn is_incomplete(s: &str) -> bool {
        matches!(rust_completeness(s), Completeness::Incomplete { .. })
    }

    #[test]
    fn complete_incomplete_invalid() {
        assert!(is_complete("let x = 1;"));
        assert!(is_complete("fn f() { if true { 1 } else { 2 }; }"));
        assert!(is_complete("let s = \"a { ( [\";"));
        assert!(is_complete("let s = r#\"a \" { \"#;"));
        assert!(is_complete("fn f<'a>(x: &'a str) -> char { '{' }"));
        assert!(is_complete("// { open in comment\n1"));
        assert!(is_complete("/* { /* nested */ } */ 2"));
        assert!(is_complete(":dep serde = \"1\""));
        assert!(is_incomplete("fn f() {"));
        assert!(is_incomplete("let v = vec![1, 2,"));
        assert!(is_incomplete("let s = \"unterminated"));
        assert!(is_incomplete("/* open"));
        assert!(is_incomplete("let x = 1 +"));
        assert_eq!(rust_completeness("fn f() { ) }"), Completeness::Invalid);
        assert_eq!(rust_completeness("}"), Completeness::Invalid);
    }
}
