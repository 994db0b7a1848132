//! The text of the edits: new items in an existing list, in the list's own
//! layout (one per line or inline, at the sorted position when the list is
//! sorted, after the last item otherwise, never inside a comment), or a new
//! attribute next to its siblings.

use std::cmp::Reverse;

use super::Cx;
use super::choose::{Placement, Refusal};
use crate::nix;
use crate::whitelist::doc::{Item as NewItem, set_pairs};
use crate::whitelist::outline::{ListNode, Name, SetShape};
use crate::whitelist::style::{
    dominant, end_of_line_after, indent_unit, is_comment_line, leading_indent, line_indent,
    line_start,
};

/// How an item is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `"/var/lib/docker"`.
    Str,
    /// `{ directory = "/var/lib/docker"; mode = "0700"; }`.
    Set,
    /// The same, one attribute per line.
    Lines,
}

fn field(files: bool) -> &'static str {
    if files { "file" } else { "directory" }
}

/// `item` in `form`; a multi-line set is indented by `indent`, its
/// attributes by `indent` + `inner`.
fn show(item: &NewItem, files: bool, form: Form, indent: &str, inner: &str) -> String {
    match form {
        Form::Str => nix::quote(&item.path),
        Form::Set => {
            let body: Vec<String> = set_pairs(field(files), item)
                .iter()
                .map(|(k, v)| format!("{k} = {v};"))
                .collect();
            format!("{{ {} }}", body.join(" "))
        }
        Form::Lines => {
            let mut s = String::from("{\n");
            for (k, v) in set_pairs(field(files), item) {
                s.push_str(&format!("{indent}{inner}{k} = {v};\n"));
            }
            s.push_str(indent);
            s.push('}');
            s
        }
    }
}

/// The edits for every placement, in file order (equal offsets keep the
/// order of the placements); placements that turn out to have no safe place
/// are moved to `refused`.
pub(super) fn render(
    cx: &Cx,
    placed: &[Placement],
    refused: &mut Vec<Refusal>,
) -> Vec<(usize, String)> {
    let unit = indent_unit(cx.text);
    let mut lists: Vec<((usize, usize), Vec<&Placement>)> = Vec::new();
    let mut attrs: Vec<Vec<&Placement>> = Vec::new();
    for p in placed {
        match (p.loc, p.list) {
            (Some(l), Some(d)) => match lists.iter_mut().find(|(k, _)| *k == (l, d)) {
                Some((_, ps)) => ps.push(p),
                None => lists.push(((l, d), vec![p])),
            },
            _ => {
                let same = |q: &&Placement| {
                    q.loc == p.loc
                        && q.module == p.module
                        && q.key.same(&p.key)
                        && q.files == p.files
                        && match (&q.user, &p.user) {
                            (None, None) => true,
                            (Some(a), Some(b)) => a.same(b),
                            _ => false,
                        }
                };
                match attrs.iter_mut().find(|ps| ps.first().is_some_and(same)) {
                    Some(ps) => ps.push(p),
                    None => attrs.push(vec![p]),
                }
            }
        }
    }
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for ((l, d), ps) in &lists {
        let Some(node) = &cx.outline.locations[*l].lists[*d].target else {
            continue;
        };
        for (at, s) in into_list(cx.text, node, ps, &unit) {
            edits.push((at, edits.len(), s));
        }
    }
    for ps in &attrs {
        match new_attr(cx, ps, &unit) {
            Ok((at, s)) => edits.push((at, edits.len(), s)),
            Err(problem) => refused.extend(ps.iter().map(|p| Refusal {
                path: p.path.clone(),
                problem: problem.clone(),
                display: p.display.clone(),
                line: p.line.clone(),
            })),
        }
    }
    edits.sort_by_key(|(at, seq, _)| (*at, *seq));
    edits.into_iter().map(|(at, _, s)| (at, s)).collect()
}

/// New items in a literal list.
fn into_list(text: &str, node: &ListNode, ps: &[&Placement], unit: &str) -> Vec<(usize, String)> {
    let files = ps.first().is_some_and(|p| p.files);
    let items = &node.items;
    let inline = !text[node.open..node.close].contains('\n');
    let sets: Vec<&SetShape> = items.iter().filter_map(|i| i.set.as_ref()).collect();
    let all_sets = !items.is_empty() && sets.len() == items.len();
    let multi: Vec<&SetShape> = sets.iter().copied().filter(|s| s.multiline).collect();
    let lines = !inline && !sets.is_empty() && multi.len() * 2 > sets.len();
    let inner = multi
        .iter()
        .map(|s| s.inner.as_str())
        .find(|s| !s.is_empty())
        .unwrap_or(unit);
    let form = |item: &NewItem| {
        if item.attrs.0.is_empty() && !all_sets {
            Form::Str
        } else if lines {
            Form::Lines
        } else {
            Form::Set
        }
    };
    if inline {
        let mut s = String::new();
        for p in ps {
            s.push(' ');
            let f = match form(&p.item) {
                Form::Lines => Form::Set,
                f => f,
            };
            s.push_str(&show(&p.item, files, f, "", ""));
        }
        return match items.last() {
            Some(last) => vec![(last.end, s)],
            None => {
                if text[node.open..node.close].is_empty() {
                    s.push(' ');
                }
                vec![(node.open, s)]
            }
        };
    }
    let indent = dominant(items.iter().filter_map(|i| leading_indent(text, i.start)))
        .map(str::to_string)
        .or_else(|| {
            // An empty list: its comments say where items go.
            let body = &text[node.open..node.close];
            dominant(
                body.lines()
                    .skip(1)
                    .filter(|l| is_comment_line(l))
                    .map(crate::whitelist::style::indent_of),
            )
            .map(str::to_string)
        })
        .unwrap_or_else(|| format!("{}{unit}", line_indent(text, node.close)));
    // Blank lines or comment lines between the items group them by topic:
    // such a list is not kept sorted, even when its items happen to be.
    let grouped = match (items.first(), items.last()) {
        (Some(a), Some(b)) => text[a.start..b.end]
            .lines()
            .any(|l| l.trim().is_empty() || is_comment_line(l)),
        _ => false,
    };
    let mut out = Vec::new();
    for p in ps {
        let f = form(&p.item);
        let shown = show(&p.item, files, f, &indent, inner);
        let is_set = f != Form::Str;
        let group: Vec<&crate::whitelist::outline::Item> = items
            .iter()
            .filter(|i| i.path.is_some() && i.set.is_some() == is_set)
            .collect();
        let sorted =
            !grouped && group.len() >= 3 && group.windows(2).all(|w| w[0].path <= w[1].path);
        let mut anchor = items.last();
        if sorted {
            let new = Some(p.item.path.clone());
            match group.iter().find(|i| i.path > new) {
                Some(before) if leading_indent(text, before.start).is_some() => {
                    let at = line_start(text, before.start);
                    out.push((at, format!("{indent}{shown}\n")));
                    continue;
                }
                Some(_) => {}
                None => anchor = group.last().copied(),
            }
        }
        out.push(match anchor {
            Some(a) => match end_of_line_after(text, a.end) {
                Some(at) => (at, format!("{indent}{shown}\n")),
                None => (a.end, format!("\n{indent}{shown}")),
            },
            None if leading_indent(text, node.close).is_some() => {
                (line_start(text, node.close), format!("{indent}{shown}\n"))
            }
            None => (node.close, format!(" {shown} ")),
        });
    }
    out
}

fn lit(s: &str) -> Name {
    Name {
        lit: Some(s.to_string()),
        text: s.to_string(),
    }
}

/// A new attribute holding the items of `ps` (one list of one location),
/// in the deepest attribute set of the file on its way.
fn new_attr(cx: &Cx, ps: &[&Placement], unit: &str) -> Result<(usize, String), String> {
    let text = cx.text;
    let Some(p0) = ps.first() else {
        return Err("nothing to add".into());
    };
    let mut t: Vec<Name> = p0.module.option().iter().map(|s| lit(s)).collect();
    t.push(p0.key.clone());
    if let Some(u) = &p0.user {
        t.push(lit("users"));
        t.push(u.clone());
    }
    let list = if p0.files { "files" } else { "directories" };
    t.push(lit(list));
    let loc = p0.loc.map(|l| &cx.outline.locations[l]);
    let prefix_same = |names: &[Name], n: usize| {
        names.len() >= n && names[..n].iter().zip(&t).all(|(a, b)| a.same(b))
    };
    let (bi, b) = cx
        .outline
        .blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| {
            let root_ok = loc.map_or(b.root == 0, |l| l.roots.contains(&b.root));
            root_ok
                && b.path.len() < t.len()
                && prefix_same(&b.path, b.path.len())
                && (loc.is_none()
                    || b.path.len() >= 3
                    || b.entries.iter().any(|e| prefix_same(&e.names, 3)))
        })
        .max_by_key(|(i, b)| (b.path.len(), b.depth, Reverse(*i)))
        .ok_or_else(|| {
            format!(
                "no attribute set of the file holds {}: adding {list} would mean restructuring it",
                p0.display
            )
        })?;
    let _ = bi;
    let names = &t[b.path.len()..];
    // An attribute of the set already defining part of the new path with
    // something else than a literal set would make Nix refuse the file.
    if let Some(e) = b.entries.iter().find(|e| {
        let own = e.names.get(b.path.len()..).unwrap_or(&[]);
        !own.is_empty() && own.len() <= names.len() && own.iter().zip(names).all(|(a, c)| a.same(c))
    }) {
        return Err(format!(
            "{} is already defined at line {} by an expression darlings does not edit",
            e.names
                .iter()
                .map(|n| n.text.as_str())
                .collect::<Vec<_>>()
                .join("."),
            cx.line(e.start)
        ));
    }
    let mut parts: Vec<String> = Vec::new();
    if b.full_form && b.path.is_empty() {
        parts.push("config".into());
    }
    for n in names {
        match &n.lit {
            Some(l) => parts.push(nix::attr_key(l)),
            None => {
                return Err(format!(
                    "a new {list} list would have to repeat the computed name `{}` that the \
                     file defines elsewhere, and Nix refuses a dynamic attribute defined twice",
                    n.text
                ));
            }
        }
    }
    let name = parts.join(".");
    let home_line = p0.user_home.as_ref().map(|h| {
        let mut hp = parts.clone();
        hp.pop();
        hp.push("home".into());
        format!("{} = {};", hp.join("."), nix::quote(h))
    });
    let shown: Vec<String> = ps
        .iter()
        .map(|p| {
            show(
                &p.item,
                p.files,
                if p.item.attrs.0.is_empty() {
                    Form::Str
                } else {
                    Form::Set
                },
                "",
                "",
            )
        })
        .collect();
    // After the sibling list of the same scope, else after the last
    // definition of the location, else after the last definition.
    let scope = &t[..t.len() - 1];
    let sibling = b.entries.iter().rev().find(|e| {
        e.names.len() == t.len()
            && prefix_same(&e.names, scope.len())
            && (e.names[t.len() - 1].is("directories") || e.names[t.len() - 1].is("files"))
    });
    let anchor = sibling
        .or_else(|| b.entries.iter().rev().find(|e| prefix_same(&e.names, 3)))
        .or_else(|| b.entries.last());
    let block_inline = !text[b.open..b.close].contains('\n');
    let placement = match anchor {
        Some(a) => match (
            leading_indent(text, a.start),
            end_of_line_after(text, a.end),
        ) {
            (Some(ind), Some(at)) if !block_inline => Some((at, ind.to_string())),
            _ => None,
        }
        .ok_or(a.end),
        None if !block_inline && leading_indent(text, b.close).is_some() => Ok((
            line_start(text, b.close),
            format!("{}{unit}", line_indent(text, b.close)),
        )),
        None => Err(b.open),
    };
    match placement {
        Ok((at, ind)) => {
            let mut s = String::new();
            if let Some(h) = &home_line {
                s.push_str(&format!("{ind}{h}\n"));
            }
            if shown.len() == 1 {
                s.push_str(&format!("{ind}{name} = [ {} ];\n", shown[0]));
            } else {
                s.push_str(&format!("{ind}{name} = [\n"));
                for e in &shown {
                    s.push_str(&format!("{ind}{unit}{e}\n"));
                }
                s.push_str(&format!("{ind}];\n"));
            }
            Ok((at, s))
        }
        Err(at) => {
            let mut s = String::new();
            if let Some(h) = &home_line {
                s.push_str(&format!(" {h}"));
            }
            s.push_str(&format!(" {name} = [ {} ];", shown.join(" ")));
            if at == b.open && text[b.open..b.close].is_empty() {
                s.push(' ');
            }
            Ok((at, s))
        }
    }
}
