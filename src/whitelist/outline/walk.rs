//! The walk over the syntax tree that fills an [`Outline`].

use rnix::ast::{self, HasEntry};

use super::lists::list_def;
use super::{Block, Construct, Entry, ListDef, Location, Module, Name, Outline, UserDef, Val};
use crate::nix::{attr_name, syntax};

/// Walks the whole file.
pub(super) fn walk(root: &ast::Root, text: &str) -> Outline {
    let mut w = Walker {
        text,
        out: Outline::default(),
        roots: 0,
    };
    if let Some(expr) = root.expr() {
        w.module(expr, None);
    }
    w.out
}

/// Where in a persistence option an attribute path points.
enum Place<'p> {
    /// The option itself.
    Option(Module),
    /// A location.
    Location(Module, &'p Name),
    /// Something inside a location.
    Inside(Module, &'p Name, &'p [Name]),
}

/// The path without a leading `config`.
fn rel(path: &[Name]) -> &[Name] {
    match path.split_first() {
        Some((first, rest)) if first.is("config") => rest,
        _ => path,
    }
}

fn place(rel: &[Name]) -> Option<Place<'_>> {
    for m in Module::ALL {
        let [a, b] = m.option();
        if rel.len() >= 2 && rel[0].is(a) && rel[1].is(b) {
            return Some(match &rel[2..] {
                [] => Place::Option(m),
                [key] => Place::Location(m, key),
                [key, rest @ ..] => Place::Inside(m, key, rest),
            });
        }
    }
    None
}

/// Returns true if and only if `rel` leads to an option (a proper prefix of
/// one, the module root included).
fn above_option(rel: &[Name]) -> bool {
    Module::ALL.iter().any(|m| {
        let opt = m.option();
        rel.len() < opt.len() && rel.iter().zip(opt).all(|(n, o)| n.is(o))
    })
}

/// The module context of the walk.
#[derive(Clone)]
struct Ctx {
    root: usize,
    hm_user: Option<Name>,
}

struct Walker<'t> {
    /// The file.
    text: &'t str,
    out: Outline,
    roots: usize,
}

pub(super) fn start(node: &rnix::SyntaxNode) -> usize {
    usize::from(node.text_range().start())
}

pub(super) fn end(node: &rnix::SyntaxNode) -> usize {
    usize::from(node.text_range().end())
}

/// A short, one-line quote of an expression: the function of a call, else
/// its first 40 characters.
pub(super) fn quote_expr(expr: &ast::Expr) -> String {
    if let ast::Expr::Apply(_) = expr
        && let Some((head, _)) = call(expr)
    {
        return syntax(&head).text().to_string();
    }
    let text = syntax(expr).text().to_string();
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 40 {
        let cut: String = one_line.chars().take(37).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}

pub(super) fn construct(expr: &ast::Expr) -> Construct {
    Construct {
        text: quote_expr(expr),
        at: start(syntax(expr)),
    }
}

/// A function call as its head and arguments (`lib.mkIf c x` → `lib.mkIf`, [c, x]).
pub(super) fn call(expr: &ast::Expr) -> Option<(ast::Expr, Vec<ast::Expr>)> {
    let mut args = Vec::new();
    let mut e = expr.clone();
    while let ast::Expr::Apply(a) = &e {
        args.push(a.argument()?);
        e = a.lambda()?;
    }
    if args.is_empty() {
        return None;
    }
    args.reverse();
    Some((e, args))
}

/// The last name of a function (`lib.mkIf` → `mkIf`).
pub(super) fn function_name(head: &ast::Expr) -> Option<String> {
    match head {
        ast::Expr::Ident(id) => id.ident_token().map(|t| t.text().to_string()),
        ast::Expr::Select(s) if s.default_expr().is_none() => {
            s.attrpath()?.attrs().last().and_then(|a| attr_name(&a))
        }
        _ => None,
    }
}

/// What a call does to the definition it wraps.
pub(super) enum Wrap {
    /// The definition is the argument (`mkIf c x`, `mkDefault x`).
    Pass(ast::Expr),
    /// Each item of the list is a definition (`mkMerge [ … ]`).
    Merge(ast::List),
}

pub(super) fn wrapper(expr: &ast::Expr) -> Option<Wrap> {
    let (head, mut args) = call(expr)?;
    let name = function_name(&head)?;
    let arity = match name.as_str() {
        "mkMerge" | "mkDefault" | "mkForce" | "mkBefore" | "mkAfter" => 1,
        "mkIf" | "mkOverride" | "mkOrder" => 2,
        _ => return None,
    };
    if args.len() != arity {
        return None;
    }
    let last = args.pop()?;
    if name == "mkMerge" {
        match unparen(last) {
            ast::Expr::List(l) => Some(Wrap::Merge(l)),
            _ => None,
        }
    } else {
        Some(Wrap::Pass(last))
    }
}

/// Returns true if and only if a function body is an attribute set (through
/// `let` and parentheses): a module.
fn returns_set(body: &ast::Expr) -> bool {
    match unparen(body.clone()) {
        ast::Expr::AttrSet(_) => true,
        ast::Expr::LetIn(l) => l.body().is_some_and(|b| returns_set(&b)),
        _ => false,
    }
}

pub(super) fn unparen(mut expr: ast::Expr) -> ast::Expr {
    while let ast::Expr::Paren(p) = &expr {
        match p.expr() {
            Some(inner) => expr = inner,
            None => break,
        }
    }
    expr
}

pub(super) fn names_of(path: &ast::Attrpath) -> Vec<Name> {
    path.attrs()
        .map(|a| Name {
            lit: attr_name(&a),
            text: syntax(&a).text().to_string(),
        })
        .collect()
}

/// A string without interpolation, or a path literal.
pub(super) fn literal(expr: &ast::Expr) -> Option<String> {
    match expr {
        ast::Expr::Str(s) => {
            let mut out = String::new();
            for part in s.normalized_parts() {
                match part {
                    ast::InterpolPart::Literal(lit) => out.push_str(&lit),
                    ast::InterpolPart::Interpolation(_) => return None,
                }
            }
            Some(out)
        }
        ast::Expr::PathAbs(_) => Some(syntax(expr).text().to_string()),
        ast::Expr::Paren(p) => literal(&p.expr()?),
        _ => None,
    }
}

fn val(expr: &ast::Expr) -> Val {
    let e = unparen(expr.clone());
    if let Some(s) = literal(&e) {
        return Val::Str(s);
    }
    if let ast::Expr::Ident(id) = &e {
        match id.ident_token().as_ref().map(|t| t.text()) {
            Some("true") => return Val::Bool(true),
            Some("false") => return Val::Bool(false),
            _ => {}
        }
    }
    Val::Expr(construct(expr))
}

impl Walker<'_> {
    fn module(&mut self, expr: ast::Expr, hm_user: Option<Name>) {
        let ctx = Ctx {
            root: self.roots,
            hm_user,
        };
        self.roots += 1;
        self.value(expr, &ctx, &mut Vec::new());
    }

    fn location(&mut self, m: Module, key: &Name, ctx: &Ctx, at: usize) -> &mut Location {
        let same_user = |l: &Location| match (&l.hm_user, &ctx.hm_user) {
            (Some(a), Some(b)) => a.same(b),
            (None, None) => true,
            _ => false,
        };
        let i = match self
            .out
            .locations
            .iter()
            .position(|l| l.module == m && l.key.same(key) && same_user(l))
        {
            Some(i) => i,
            None => {
                self.out.locations.push(Location {
                    module: m,
                    key: key.clone(),
                    hm_user: ctx.hm_user.clone(),
                    roots: Vec::new(),
                    at,
                    storage_path: None,
                    enable: None,
                    hm_v1: false,
                    remove_prefix: None,
                    lists: Vec::new(),
                    users: Vec::new(),
                    computed: None,
                    users_computed: None,
                });
                self.out.locations.len() - 1
            }
        };
        let loc = &mut self.out.locations[i];
        if !loc.roots.contains(&ctx.root) {
            loc.roots.push(ctx.root);
        }
        loc
    }

    fn user<'l>(loc: &'l mut Location, name: &Name) -> &'l mut UserDef {
        let i = match loc.users.iter().position(|u| u.name.same(name)) {
            Some(i) => i,
            None => {
                loc.users.push(UserDef {
                    name: name.clone(),
                    home: None,
                    computed: None,
                });
                loc.users.len() - 1
            }
        };
        &mut loc.users[i]
    }

    /// A definition whose value darlings reads directly (a list, a storage
    /// path, `enable`, ...); returns false when `path` is not one.
    fn leaf(&mut self, expr: &ast::Expr, ctx: &Ctx, path: &[Name]) -> bool {
        let Some(Place::Inside(m, key, rest)) = place(rel(path)) else {
            return false;
        };
        let at = start(syntax(expr));
        let files = |n: &Name| {
            if n.is("directories") {
                Some(false)
            } else if n.is("files") {
                Some(true)
            } else {
                None
            }
        };
        let users = |u: &Name| m != Module::HomeManager && u.is("users");
        let (user, files) = match rest {
            [l] if files(l).is_some() => (None, files(l) == Some(true)),
            [u, name, l] if users(u) && files(l).is_some() => (Some(name), files(l) == Some(true)),
            [u, name, h] if users(u) && h.is("home") => {
                let v = val(expr);
                let loc = self.location(m, key, ctx, at);
                Self::user(loc, name).home = Some(v);
                return true;
            }
            [k] => {
                let v = val(expr);
                let opt = k.lit.clone().unwrap_or_default();
                if !matches!(
                    opt.as_str(),
                    "persistentStoragePath"
                        | "enable"
                        | "removePrefixDirectory"
                        | "allowOther"
                        | "defaultDirectoryMethod"
                ) {
                    return false;
                }
                let loc = self.location(m, key, ctx, at);
                match opt.as_str() {
                    "persistentStoragePath" => loc.storage_path = Some(v),
                    "enable" => loc.enable = Some(v),
                    "removePrefixDirectory" => {
                        loc.hm_v1 = true;
                        loc.remove_prefix = Some(v);
                    }
                    _ => loc.hm_v1 = true,
                }
                return true;
            }
            _ => return false,
        };
        let mut def = list_def(expr, self.text);
        def.user = user.cloned();
        def.files = files;
        let loc = self.location(m, key, ctx, at);
        if let Some(u) = user {
            Self::user(loc, u);
        }
        loc.lists.push(def);
        true
    }

    fn value(&mut self, expr: ast::Expr, ctx: &Ctx, path: &mut Vec<Name>) {
        let r = rel(path);
        // `home-manager.users.NAME` holds a Home Manager module.
        if r.len() == 3 && r[0].is("home-manager") && r[1].is("users") {
            let user = r[2].clone();
            self.module(expr, Some(user));
            return;
        }
        if self.leaf(&expr, ctx, path) {
            return;
        }
        match &expr {
            ast::Expr::Paren(p) => {
                if let Some(e) = p.expr() {
                    self.value(e, ctx, path);
                }
            }
            ast::Expr::LetIn(l) => {
                if let Some(e) = l.body() {
                    self.value(e, ctx, path);
                }
            }
            ast::Expr::With(w) => {
                if let Some(e) = w.body() {
                    self.value(e, ctx, path);
                }
            }
            ast::Expr::Assert(a) => {
                if let Some(e) = a.body() {
                    self.value(e, ctx, path);
                }
            }
            ast::Expr::Lambda(l) => match l.body() {
                Some(body) if path.is_empty() => self.value(body, ctx, path),
                // A function returning a module, somewhere in the file
                // (`flake.homeModules.x = { … }: { … }`).
                Some(body) if returns_set(&body) => self.module(body, ctx.hm_user.clone()),
                _ => {}
            },
            ast::Expr::AttrSet(set) => self.attrset(set, ctx, path),
            ast::Expr::Apply(_) => match wrapper(&expr) {
                Some(Wrap::Pass(inner)) => self.value(inner, ctx, path),
                Some(Wrap::Merge(list)) => {
                    for item in list.items() {
                        self.value(item, ctx, path);
                    }
                }
                None => self.opaque(&expr, ctx, path),
            },
            _ => self.opaque(&expr, ctx, path),
        }
    }

    /// A value darlings cannot look into, at `path`.
    fn opaque(&mut self, expr: &ast::Expr, ctx: &Ctx, path: &[Name]) {
        let c = construct(expr);
        let at = c.at;
        match place(rel(path)) {
            Some(Place::Option(m)) => self.out.computed.push((m, c)),
            Some(Place::Location(m, key)) => {
                let loc = self.location(m, key, ctx, at);
                loc.computed.get_or_insert(c);
            }
            Some(Place::Inside(m, key, rest)) => match rest {
                [u] if u.is("users") && m != Module::HomeManager => {
                    let loc = self.location(m, key, ctx, at);
                    loc.users_computed.get_or_insert(c);
                }
                [u, name] if u.is("users") && m != Module::HomeManager => {
                    let loc = self.location(m, key, ctx, at);
                    Self::user(loc, name).computed.get_or_insert(c);
                }
                _ => {}
            },
            None if above_option(rel(path)) => self.out.hidden.push(c),
            None => {}
        }
    }

    fn attrset(&mut self, set: &ast::AttrSet, ctx: &Ctx, path: &mut Vec<Name>) {
        let r = rel(path);
        let keep = above_option(r)
            || match place(r) {
                Some(Place::Option(_) | Place::Location(..)) => true,
                Some(Place::Inside(m, _, rest)) => {
                    m != Module::HomeManager
                        && rest.first().is_some_and(|u| u.is("users"))
                        && rest.len() <= 2
                }
                None => false,
            };
        // A location (or `users.NAME`) given as a set exists even when it is
        // empty (`"/persist-games" = { };`).
        match place(r) {
            Some(Place::Location(m, key)) => {
                let key = key.clone();
                self.location(m, &key, ctx, start(syntax(set)));
            }
            Some(Place::Inside(m, key, [u, name])) if m != Module::HomeManager && u.is("users") => {
                let (key, name) = (key.clone(), name.clone());
                let loc = self.location(m, &key, ctx, start(syntax(set)));
                Self::user(loc, &name);
            }
            _ => {}
        }
        let mut entries = Vec::new();
        let base = path.len();
        for entry in set.entries() {
            match entry {
                ast::Entry::AttrpathValue(av) => {
                    let (Some(attrpath), Some(value)) = (av.attrpath(), av.value()) else {
                        continue;
                    };
                    path.extend(names_of(&attrpath));
                    if keep {
                        entries.push(Entry {
                            start: start(syntax(&av)),
                            end: end(syntax(&av)),
                            names: rel(path).to_vec(),
                        });
                    }
                    // (An option's declaration, `options.x.directories`, is
                    // not a list of its own.)
                    if place(rel(path)).is_none()
                        && !path.first().is_some_and(|n| n.is("options"))
                        && path
                            .last()
                            .is_some_and(|n| n.is("directories") || n.is("files"))
                        && !above_option(rel(path))
                    {
                        self.out.strays.push(Construct {
                            text: path
                                .iter()
                                .map(|n| n.text.as_str())
                                .collect::<Vec<_>>()
                                .join("."),
                            at: start(syntax(&av)),
                        });
                    }
                    self.value(value, ctx, path);
                    path.truncate(base);
                }
                ast::Entry::Inherit(inherit) => {
                    for attr in inherit.attrs() {
                        let name = Name {
                            lit: attr_name(&attr),
                            text: syntax(&attr).text().to_string(),
                        };
                        path.push(name);
                        self.inherited(&inherit, ctx, path);
                        path.truncate(base);
                    }
                }
            }
        }
        if keep && let (Some(l), Some(r)) = (set.l_curly_token(), set.r_curly_token()) {
            let r_path = rel(path).to_vec();
            self.out.blocks.push(Block {
                root: ctx.root,
                full_form: path.is_empty()
                    && set.entries().any(|e| match e {
                        ast::Entry::AttrpathValue(av) => av
                            .attrpath()
                            .and_then(|p| p.attrs().next())
                            .and_then(|a| attr_name(&a))
                            .is_some_and(|n| n == "config" || n == "options"),
                        ast::Entry::Inherit(_) => false,
                    }),
                depth: path.len(),
                path: r_path,
                open: usize::from(l.text_range().end()),
                close: usize::from(r.text_range().start()),
                entries,
            });
        }
    }

    /// `inherit (x) directories;` where darlings needs a literal.
    fn inherited(&mut self, inherit: &ast::Inherit, ctx: &Ctx, path: &[Name]) {
        let Some(Place::Inside(m, key, rest)) = place(rel(path)) else {
            return;
        };
        let c = Construct {
            text: syntax(inherit)
                .text()
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            at: start(syntax(inherit)),
        };
        let at = c.at;
        let loc = self.location(m, key, ctx, at);
        let list = |n: &Name| n.is("directories") || n.is("files");
        match rest {
            [l] if list(l) => loc.lists.push(ListDef {
                user: None,
                files: l.is("files"),
                at,
                target: None,
                listed: Vec::new(),
                computed: Some(c),
            }),
            [k] if k.is("persistentStoragePath") => loc.storage_path = Some(Val::Expr(c)),
            [k] if k.is("enable") => loc.enable = Some(Val::Expr(c)),
            [u, name, l] if u.is("users") && list(l) => {
                let name = name.clone();
                Self::user(loc, &name);
                loc.lists.push(ListDef {
                    user: Some(name),
                    files: l.is("files"),
                    at,
                    target: None,
                    listed: Vec::new(),
                    computed: Some(c),
                });
            }
            _ => {}
        }
    }
}
