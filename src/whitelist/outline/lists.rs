//! Reading one definition of a `directories` or `files` list: the literal
//! list new items go into, its items and their layout, and every path it
//! lists.

use rnix::ast::{self, HasEntry};

use super::walk::{
    Wrap, call, construct, end, function_name, literal, names_of, start, unparen, wrapper,
};
use super::{Item, ListDef, ListNode, SetShape};
use crate::nix::syntax;

/// Reads one definition of a list.
pub(super) fn list_def(expr: &ast::Expr, text: &str) -> ListDef {
    let mut def = ListDef {
        user: None,
        files: false,
        at: start(syntax(expr)),
        target: None,
        listed: Vec::new(),
        computed: None,
    };
    collect_listed(expr, &mut def.listed);
    let e = unparen(expr.clone());
    match &e {
        ast::Expr::List(l) => def.target = Some(list_node(l, text)),
        ast::Expr::BinOp(b) if b.operator() == Some(ast::BinOpKind::Concat) => {
            let mut operands = Vec::new();
            concat_operands(&e, &mut operands);
            def.target = operands.iter().find_map(|o| match unparen(o.clone()) {
                ast::Expr::List(l) => Some(list_node(&l, text)),
                _ => None,
            });
            if def.target.is_none() {
                def.computed = operands.first().map(construct);
            }
        }
        ast::Expr::Apply(_) => match wrapper(&e) {
            // Order and priority do not change what is listed.
            Some(Wrap::Pass(inner))
                if call(&e)
                    .and_then(|(h, _)| function_name(&h))
                    .is_some_and(|n| n != "mkIf") =>
            {
                let inner_def = list_def(&inner, text);
                def.target = inner_def.target;
                def.computed = inner_def.computed;
            }
            _ => def.computed = Some(construct(&e)),
        },
        _ => def.computed = Some(construct(&e)),
    }
    def
}

fn concat_operands(expr: &ast::Expr, out: &mut Vec<ast::Expr>) {
    match unparen(expr.clone()) {
        ast::Expr::BinOp(b) if b.operator() == Some(ast::BinOpKind::Concat) => {
            if let Some(l) = b.lhs() {
                concat_operands(&l, out);
            }
            if let Some(r) = b.rhs() {
                concat_operands(&r, out);
            }
        }
        _ => out.push(expr.clone()),
    }
}

/// Functions whose result lists the items of their arguments unchanged.
const KEEPS_ITEMS: &[&str] = &[
    "optionals",
    "optional",
    "mkIf",
    "mkBefore",
    "mkAfter",
    "mkDefault",
    "mkForce",
    "mkOrder",
    "mkOverride",
    "unique",
    "flatten",
    "concatLists",
];

/// Every literal path of a list definition: items of literal lists, also
/// inside `++`, `lib.optionals c [ … ]`, `lib.mkIf c "…"` and the like.
fn collect_listed(expr: &ast::Expr, out: &mut Vec<(String, usize)>) {
    match unparen(expr.clone()) {
        ast::Expr::List(l) => {
            for item in l.items() {
                let item = unparen(item);
                match item_path(&item) {
                    Some(p) => out.push((p, start(syntax(&item)))),
                    None => collect_listed(&item, out),
                }
            }
        }
        ast::Expr::BinOp(b) if b.operator() == Some(ast::BinOpKind::Concat) => {
            for side in [b.lhs(), b.rhs()].into_iter().flatten() {
                collect_listed(&side, out);
            }
        }
        e @ ast::Expr::Apply(_) => {
            // Only through calls that keep the items as they are
            // (`lib.optionals c [ … ]`, `lib.unique`, `lib.mkIf c "…"`):
            // `map (x: ".config/" + x) [ "a" ]` does not list "a".
            if let Some((head, args)) = call(&e)
                && function_name(&head).is_some_and(|n| KEEPS_ITEMS.contains(&n.as_str()))
            {
                for a in args {
                    match item_path(&unparen(a.clone())) {
                        Some(p) => out.push((p, start(syntax(&a)))),
                        None => collect_listed(&a, out),
                    }
                }
            }
        }
        _ => {}
    }
}

/// The path of a list item: a literal string or path, or an attribute set
/// with a literal `directory` or `file`.
fn item_path(item: &ast::Expr) -> Option<String> {
    match item {
        ast::Expr::AttrSet(set) => set.attrpath_values().find_map(|av| {
            let names = names_of(&av.attrpath()?);
            match names.as_slice() {
                [n] if n.is("directory") || n.is("file") => literal(&av.value()?),
                _ => None,
            }
        }),
        e => literal(e),
    }
}

fn list_node(list: &ast::List, text: &str) -> ListNode {
    let node = syntax(list);
    let open = list
        .l_brack_token()
        .map_or(start(node), |t| usize::from(t.text_range().end()));
    let close = list
        .r_brack_token()
        .map_or(end(node), |t| usize::from(t.text_range().start()));
    let items = list
        .items()
        .map(|item| {
            let n = syntax(&item);
            let inner = unparen(item.clone());
            let set = match &inner {
                ast::Expr::AttrSet(s) => Some(set_shape(s, text)),
                _ => None,
            };
            Item {
                start: start(n),
                end: end(n),
                path: item_path(&inner),
                set,
            }
        })
        .collect();
    ListNode { open, close, items }
}

fn set_shape(set: &ast::AttrSet, text: &str) -> SetShape {
    let node = syntax(set);
    let own = &text[start(node)..end(node)];
    let mut inner = String::new();
    let multiline = own.contains('\n');
    if multiline {
        // The first attribute's indentation beyond that of the line of `{`.
        let line = &text[crate::whitelist::style::line_start(text, start(node))..];
        let outer = crate::whitelist::style::indent_of(line);
        if let Some(second) = own.lines().nth(1)
            && let Some(rest) = crate::whitelist::style::indent_of(second).strip_prefix(outer)
        {
            inner = rest.to_string();
        }
    }
    SetShape { multiline, inner }
}
