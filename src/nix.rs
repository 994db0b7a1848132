//! A literal-value view of Nix files, parsed with rnix: enough to read and
//! rewrite whitelist modules (attribute sets, lists, strings, booleans), with
//! anything else kept as its source text. Also Nix string quoting.
//!
//! This never evaluates: `lib.mkIf`, `let`, interpolation and the like stay
//! [`Value::Raw`], and a reader that needs a literal there reports it.

use std::fmt::Write as _;

use rnix::ast::{self, HasEntry};

/// A Nix value as written in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string without interpolation, unescaped.
    Str(String),
    /// An absolute or relative path literal (`/persist`), as written.
    Path(String),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A list literal.
    List(Vec<Value>),
    /// A non-recursive attribute set with static names; dotted paths merged.
    Set(Attrs),
    /// Anything else, as its source text (numbers, function calls, `let`, ...).
    Raw(String),
}

/// Attributes in the order they were first written; names are unique.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs(pub Vec<(String, Value)>);

/// A whole file: `{ ... }` or `ARGS: { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// The function header (`{ config, lib, ... }:`) when the file is a function.
    pub header: Option<String>,
    /// The attribute set the file is (or returns).
    pub body: Attrs,
    /// Comments before the expression (`# ...` or `/* ... */`), as written.
    pub leading_comments: Vec<String>,
}

impl Attrs {
    /// The value of attribute `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The value at a dotted path of names, through nested sets.
    pub fn get_path(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let v = self.get(first)?;
        if rest.is_empty() {
            return Some(v);
        }
        match v {
            Value::Set(inner) => inner.get_path(rest),
            _ => None,
        }
    }

    /// Removes and returns the value at a dotted path; emptied parents are removed.
    pub fn take_path(&mut self, path: &[&str]) -> Option<Value> {
        let (first, rest) = path.split_first()?;
        let at = self.0.iter().position(|(k, _)| k == first)?;
        if rest.is_empty() {
            return Some(self.0.remove(at).1);
        }
        let Value::Set(inner) = &mut self.0[at].1 else {
            return None;
        };
        let taken = inner.take_path(rest);
        if inner.0.is_empty() {
            self.0.remove(at);
        }
        taken
    }

    /// Inserts `value` at a dotted path, merging sets as Nix does for
    /// `a.b = 1; a.c = 2;`; a name defined twice is an error.
    fn insert_path(&mut self, path: &[String], value: Value) -> Result<(), String> {
        let Some((first, rest)) = path.split_first() else {
            return Err("empty attribute path".into());
        };
        let existing = self.0.iter_mut().find(|(k, _)| k == first);
        match (existing, rest.is_empty()) {
            (None, true) => self.0.push((first.clone(), value)),
            (None, false) => {
                let mut inner = Attrs::default();
                inner.insert_path(rest, value)?;
                self.0.push((first.clone(), Value::Set(inner)));
            }
            (Some((_, Value::Set(inner))), false) => inner.insert_path(rest, value)?,
            (Some((_, Value::Set(inner))), true) => match value {
                Value::Set(more) => {
                    for (k, v) in more.0 {
                        inner.insert_path(&[k], v)?;
                    }
                }
                _ => return Err(format!("attribute '{first}' is defined twice")),
            },
            (Some(_), _) => return Err(format!("attribute '{first}' is defined twice")),
        }
        Ok(())
    }
}

/// Parses a Nix file into its literal view; the error names the line and column.
pub fn parse_module(text: &str) -> Result<Module, String> {
    let parse = rnix::Root::parse(text);
    if let Some(err) = parse.errors().first() {
        return Err(describe_parse_error(text, err));
    }
    let root = parse.tree();
    let leading_comments = syntax(&root)
        .children_with_tokens()
        .map_while(|el| el.into_token())
        .filter(|t| t.kind() == rnix::SyntaxKind::TOKEN_COMMENT)
        .map(|t| t.text().to_string())
        .collect();
    let Some(mut expr) = root.expr() else {
        return Err("the file is empty".into());
    };
    let mut header = None;
    if let ast::Expr::Lambda(lambda) = &expr {
        let Some(body) = lambda.body() else {
            return Err("the function has no body".into());
        };
        let start = usize::from(syntax(lambda).text_range().start());
        let body_start = usize::from(syntax(&body).text_range().start());
        header = Some(text[start..body_start].trim().to_string());
        expr = body;
    }
    match value_of(&expr)? {
        Value::Set(body) => Ok(Module {
            header,
            body,
            leading_comments,
        }),
        _ => Err(
            "the file must be an attribute set `{ ... }` (optionally inside `{ ... }:`), \
                  without let, with or rec around it"
                .into(),
        ),
    }
}

/// The syntax node under a typed node; a generic bound is what makes rowan's
/// `AstNode::syntax` callable without depending on rowan directly.
pub(crate) fn syntax<N: ast::AstNode>(node: &N) -> &rnix::SyntaxNode {
    node.syntax()
}

pub(crate) fn describe_parse_error(text: &str, err: &rnix::ParseError) -> String {
    use rnix::ParseError as P;
    let at = match err {
        P::Unexpected(r)
        | P::UnexpectedExtra(r)
        | P::UnexpectedDoubleBind(r)
        | P::DuplicatedArgs(r, _) => Some(usize::from(r.start())),
        P::UnexpectedWanted(_, r, _) => Some(usize::from(r.start())),
        _ => None,
    };
    let what = match err {
        P::Unexpected(_) => "unexpected input".to_string(),
        P::UnexpectedExtra(_) => "unexpected text after the end of the expression".to_string(),
        P::UnexpectedWanted(got, _, _) => format!("unexpected {got:?}"),
        P::UnexpectedEOF | P::UnexpectedEOFWanted(_) => "unexpected end of file".to_string(),
        other => other.to_string(),
    };
    match at {
        Some(offset) => {
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("Nix syntax error at line {line}, column {col}: {what}")
        }
        None => format!("Nix syntax error: {what}"),
    }
}

fn value_of(expr: &ast::Expr) -> Result<Value, String> {
    let raw = || Value::Raw(syntax(expr).text().to_string().trim().to_string());
    Ok(match expr {
        ast::Expr::Str(s) => {
            let mut out = String::new();
            for part in s.normalized_parts() {
                match part {
                    ast::InterpolPart::Literal(lit) => out.push_str(&lit),
                    ast::InterpolPart::Interpolation(_) => return Ok(raw()),
                }
            }
            Value::Str(out)
        }
        ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) => {
            Value::Path(syntax(expr).text().to_string())
        }
        ast::Expr::Ident(id) => match id.ident_token().as_ref().map(|t| t.text()) {
            Some("true") => Value::Bool(true),
            Some("false") => Value::Bool(false),
            Some("null") => Value::Null,
            _ => raw(),
        },
        ast::Expr::Paren(p) => match p.expr() {
            Some(inner) => value_of(&inner)?,
            None => raw(),
        },
        ast::Expr::List(list) => Value::List(
            list.items()
                .map(|e| value_of(&e))
                .collect::<Result<_, _>>()?,
        ),
        ast::Expr::AttrSet(set) => {
            if set.rec_token().is_some() || set.inherits().next().is_some() {
                return Ok(raw());
            }
            let mut attrs = Attrs::default();
            for entry in set.attrpath_values() {
                let Some(names) = entry
                    .attrpath()
                    .map(|p| p.attrs().map(|a| attr_name(&a)).collect::<Option<Vec<_>>>())
                else {
                    return Ok(raw());
                };
                let (Some(names), Some(value)) = (names, entry.value()) else {
                    // A dynamic name (`${x} = ...`): not a literal set.
                    return Ok(raw());
                };
                attrs.insert_path(&names, value_of(&value)?)?;
            }
            Value::Set(attrs)
        }
        _ => raw(),
    })
}

pub(crate) fn attr_name(attr: &ast::Attr) -> Option<String> {
    match attr {
        ast::Attr::Ident(id) => id.ident_token().map(|t| t.text().to_string()),
        ast::Attr::Str(s) => {
            let mut out = String::new();
            for part in s.normalized_parts() {
                match part {
                    ast::InterpolPart::Literal(lit) => out.push_str(&lit),
                    ast::InterpolPart::Interpolation(_) => return None,
                }
            }
            Some(out)
        }
        ast::Attr::Dynamic(_) => None,
    }
}

/// A Nix double-quoted string literal for `s`: `"`, `\` and `${` escaped, and
/// control characters spelled out so the file stays one entry per line.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `${` would start an interpolation; a lone `$` is literal.
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An attribute name as Nix accepts it: bare when it is an identifier, else quoted.
pub fn attr_key(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or",
    ];
    let mut chars = name.chars();
    let ident = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'));
    if ident && !KEYWORDS.contains(&name) {
        name.to_string()
    } else {
        quote(name)
    }
}

/// `value` on one line (sets and lists included), as Nix source.
pub fn inline(value: &Value) -> String {
    match value {
        Value::Str(s) => quote(s),
        Value::Path(p) | Value::Raw(p) => p.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::List(items) if items.is_empty() => "[ ]".into(),
        Value::List(items) => {
            let parts: Vec<String> = items.iter().map(inline).collect();
            format!("[ {} ]", parts.join(" "))
        }
        Value::Set(attrs) if attrs.0.is_empty() => "{ }".into(),
        Value::Set(attrs) => {
            let mut out = String::from("{ ");
            for (k, v) in &attrs.0 {
                let _ = write!(out, "{} = {}; ", attr_key(k), inline(v));
            }
            out.push('}');
            out
        }
    }
}

/// Appends `attrs` as `a.b.c = value;` lines (nested sets flattened into
/// dotted names), each prefixed by `indent`.
pub fn write_dotted(out: &mut String, indent: &str, prefix: &str, attrs: &Attrs) {
    for (k, v) in &attrs.0 {
        let name = if prefix.is_empty() {
            attr_key(k)
        } else {
            format!("{prefix}.{}", attr_key(k))
        };
        match v {
            Value::Set(inner) if !inner.0.is_empty() => write_dotted(out, indent, &name, inner),
            _ => {
                let _ = writeln!(out, "{indent}{name} = {};", inline(v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Attrs {
        parse_module(text).expect("parses").body
    }

    #[test]
    fn dotted_and_nested_attributes_merge() {
        let a = body(r#"{ a.b = "x"; a = { c = true; }; "q d".e = [ "1" null ]; }"#);
        assert_eq!(a.get_path(&["a", "b"]), Some(&Value::Str("x".into())));
        assert_eq!(a.get_path(&["a", "c"]), Some(&Value::Bool(true)));
        assert_eq!(
            a.get_path(&["q d", "e"]),
            Some(&Value::List(vec![Value::Str("1".into()), Value::Null]))
        );
    }

    #[test]
    fn non_literals_are_kept_as_source() {
        let a = body("{ x = lib.mkForce 3; y = \"${p}/a\"; z = rec { q = 1; }; p = /persist; }");
        assert_eq!(a.get("x"), Some(&Value::Raw("lib.mkForce 3".into())));
        assert_eq!(a.get("y"), Some(&Value::Raw("\"${p}/a\"".into())));
        assert_eq!(a.get("z"), Some(&Value::Raw("rec { q = 1; }".into())));
        assert_eq!(a.get("p"), Some(&Value::Path("/persist".into())));
    }

    #[test]
    fn function_header_and_leading_comments_are_kept() {
        let m = parse_module("# one\n/* two */\n{ config, lib, ... }:\n# not leading\n{ a = 1; }")
            .expect("parses");
        assert_eq!(m.leading_comments, ["# one", "/* two */"]);
        // A comment between the arguments and the body stays with the header.
        assert_eq!(
            m.header.as_deref(),
            Some("{ config, lib, ... }:\n# not leading")
        );
        assert_eq!(m.body.get("a"), Some(&Value::Raw("1".into())));
    }

    #[test]
    fn errors_name_line_and_column_or_the_conflict() {
        let err = parse_module("{\n  a = [ \"x\" ;\n}").expect_err("syntax error");
        assert!(err.starts_with("Nix syntax error at line 2"), "{err}");
        let err = parse_module("{ a = 1; a = 2; }").expect_err("duplicate");
        assert!(err.contains("'a' is defined twice"), "{err}");
        assert!(parse_module("let x = 1; in { }").is_err());
        assert!(parse_module("").is_err());
    }

    #[test]
    fn quoting_round_trips_through_rnix() {
        for s in [
            "plain",
            "with \"quotes\"",
            "back\\slash",
            "${HOME}/x",
            "$x $ {",
            "tab\tnl\n",
            "é",
        ] {
            let text = format!("{{ s = {}; }}", quote(s));
            assert_eq!(
                body(&text).get("s"),
                Some(&Value::Str(s.to_string())),
                "{text}"
            );
        }
        assert_eq!(quote("${a}"), r#""\${a}""#);
    }

    #[test]
    fn printed_values_parse_back_to_themselves() {
        let a =
            body(r#"{ x.y."a b" = [ "1" { k = false; "if" = null; } ]; z = lib.mkDefault true; }"#);
        let mut out = String::from("{\n");
        write_dotted(&mut out, "  ", "", &a);
        out.push('}');
        assert_eq!(body(&out), a, "{out}");
        assert_eq!(attr_key("if"), "\"if\"");
        assert_eq!(attr_key("/persist"), "\"/persist\"");
        assert_eq!(attr_key("hideMounts"), "hideMounts");
    }
}
