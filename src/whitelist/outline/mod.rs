//! An outline of where a Nix file defines persistence, read from rnix's
//! lossless syntax tree without evaluating anything: the locations of the
//! three modules (`environment.persistence`, Home Manager's
//! `home.persistence`, `preservation.preserveAt`), their storage paths,
//! their `directories` / `files` / `users.NAME` lists with the byte ranges
//! of every item, and the attribute sets a new attribute could go into.
//!
//! The walk sees through what does not change where a definition lands:
//! `let … in`, `with`, `assert`, the module's function header, `lib.mkIf`,
//! `lib.mkMerge [ … ]`, `mkDefault`/`mkForce`/`mkOverride`/`mkBefore`/
//! `mkAfter`, nested modules (`home-manager.users.NAME`, a function returning
//! a module), dotted and nested attribute paths. Anything else in a place
//! that matters (a list built by `map`, a location named by a variable) is
//! recorded as a [`Construct`] with its position, never guessed at.

mod lists;
mod walk;

use rnix::ast;

use super::Flavor;

/// A module whose option darlings edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Module {
    /// impermanence's NixOS module: `environment.persistence`.
    Nixos,
    /// impermanence's Home Manager module: `home.persistence`.
    HomeManager,
    /// preservation: `preservation.preserveAt`.
    Preservation,
}

impl Module {
    pub(super) const ALL: [Module; 3] = [Module::Nixos, Module::HomeManager, Module::Preservation];

    /// The option's attribute path.
    pub(super) fn option(self) -> [&'static str; 2] {
        match self {
            Module::Nixos => ["environment", "persistence"],
            Module::HomeManager => ["home", "persistence"],
            Module::Preservation => ["preservation", "preserveAt"],
        }
    }

    /// The `--flavor` this module belongs to.
    pub(super) fn flavor(self) -> Flavor {
        match self {
            Module::Nixos | Module::HomeManager => Flavor::Impermanence,
            Module::Preservation => Flavor::Preservation,
        }
    }

    /// The module of a flavour, as darlings writes it.
    pub(super) fn of(flavor: Flavor) -> Module {
        match flavor {
            Flavor::Impermanence => Module::Nixos,
            Flavor::Preservation => Module::Preservation,
        }
    }
}

/// An attribute name as written: its value when it is a literal, and its
/// source text (`"/persist"`, `${username}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Name {
    /// The name, when it is a literal.
    pub(super) lit: Option<String>,
    /// The source text.
    pub(super) text: String,
}

impl Name {
    pub(super) fn is(&self, s: &str) -> bool {
        self.lit.as_deref() == Some(s)
    }

    /// Returns true if and only if both name the same attribute as far as
    /// the text says: equal literals, or the same expression.
    pub(super) fn same(&self, other: &Name) -> bool {
        match (&self.lit, &other.lit) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.text == other.text,
            _ => false,
        }
    }
}

/// Something darlings cannot edit or read, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Construct {
    /// A short quote of the expression (`map`, `lib.unique`, `${persistPath}`).
    pub(super) text: String,
    /// Byte offset in the file.
    pub(super) at: usize,
}

/// A value darlings needs to know: a storage path, `enable`, a home.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Val {
    /// A string or path literal.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// Anything else.
    Expr(Construct),
}

/// How an attribute-set item of a list is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SetShape {
    /// Spread over several lines.
    pub(super) multiline: bool,
    /// For a multi-line set: the indentation of its attributes beyond the
    /// indentation of the line holding `{`.
    pub(super) inner: String,
}

/// One item of a literal list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Item {
    /// Byte range of the item.
    pub(super) start: usize,
    /// End of the item (exclusive).
    pub(super) end: usize,
    /// Its path, when it is a literal string or has a literal
    /// `directory`/`file`.
    pub(super) path: Option<String>,
    /// Set when the item is an attribute set.
    pub(super) set: Option<SetShape>,
}

/// A literal list new items can be inserted into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ListNode {
    /// Offset just after `[`.
    pub(super) open: usize,
    /// Offset of `]`.
    pub(super) close: usize,
    /// The items, in order.
    pub(super) items: Vec<Item>,
}

/// One definition of a `directories` or `files` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ListDef {
    /// `users.NAME` it belongs to (never for Home Manager).
    pub(super) user: Option<Name>,
    /// A `files` list (else `directories`).
    pub(super) files: bool,
    /// Offset of the value.
    pub(super) at: usize,
    /// The literal list new items go into: the list itself, or the first
    /// literal list of `[ … ] ++ …`.
    pub(super) target: Option<ListNode>,
    /// Every literal path anywhere in the definition (conditional parts
    /// included), with its offset.
    pub(super) listed: Vec<(String, usize)>,
    /// Why no item can be added here (`target` is `None`).
    pub(super) computed: Option<Construct>,
}

/// `users.NAME` of a location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct UserDef {
    /// The user's attribute name.
    pub(super) name: Name,
    /// `users.NAME.home`, when given.
    pub(super) home: Option<Val>,
    /// Set when `users.NAME` is an expression (`(import ./x.nix).data`).
    pub(super) computed: Option<Construct>,
}

/// One location (`environment.persistence."/persist"`), gathered from every
/// place in the file that defines part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Location {
    /// Its module.
    pub(super) module: Module,
    /// Its attribute name.
    pub(super) key: Name,
    /// The Home Manager user whose module holds it (`home-manager.users.NAME`).
    pub(super) hm_user: Option<Name>,
    /// The module roots (see [`Block::root`]) defining it.
    pub(super) roots: Vec<usize>,
    /// Offset of its first definition.
    pub(super) at: usize,
    /// `persistentStoragePath`.
    pub(super) storage_path: Option<Val>,
    /// `enable`.
    pub(super) enable: Option<Val>,
    /// Has an option of impermanence's Home Manager module before its 2025
    /// rewrite (`allowOther`, `removePrefixDirectory`, `defaultDirectoryMethod`).
    pub(super) hm_v1: bool,
    /// `removePrefixDirectory`.
    pub(super) remove_prefix: Option<Val>,
    /// Every definition of a list.
    pub(super) lists: Vec<ListDef>,
    /// Every `users.NAME` seen.
    pub(super) users: Vec<UserDef>,
    /// Set when the location itself is an expression.
    pub(super) computed: Option<Construct>,
    /// Set when `users` is an expression.
    pub(super) users_computed: Option<Construct>,
}

/// One attribute definition in a [`Block`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    /// Byte range, `;` included.
    pub(super) start: usize,
    /// End (exclusive).
    pub(super) end: usize,
    /// The whole attribute path it defines, from the module root, with a
    /// leading `config` dropped.
    pub(super) names: Vec<Name>,
}

/// A literal attribute set on the way to a persistence option, where a new
/// attribute can be added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Block {
    /// Which module (the file, or a module nested in it) it belongs to.
    pub(super) root: usize,
    /// Its attribute path from the module root, a leading `config` dropped.
    pub(super) path: Vec<Name>,
    /// The length of its path with `config`: a set under `config` is
    /// preferred to the module's top set.
    pub(super) depth: usize,
    /// The module's top set in full form (`options` / `config` defined):
    /// new definitions there need a `config.` prefix.
    pub(super) full_form: bool,
    /// Offset just after `{`.
    pub(super) open: usize,
    /// Offset of `}`.
    pub(super) close: usize,
    /// Its definitions, in order.
    pub(super) entries: Vec<Entry>,
}

/// Everything the walk found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Outline {
    /// Every location, in the order first defined.
    pub(super) locations: Vec<Location>,
    /// Attribute sets that can take a new attribute.
    pub(super) blocks: Vec<Block>,
    /// A whole persistence option defined by an expression.
    pub(super) computed: Vec<(Module, Construct)>,
    /// Expressions on the way to an option (`config = f x;`): persistence may
    /// hide there.
    pub(super) hidden: Vec<Construct>,
    /// `directories`/`files` lists under options darlings does not know
    /// (a wrapper module of the user's own).
    pub(super) strays: Vec<Construct>,
}

impl Outline {
    /// Reads the outline of a parsed file; `text` is its source.
    pub(super) fn of(root: &ast::Root, text: &str) -> Outline {
        walk::walk(root, text)
    }
}

#[cfg(test)]
mod tests;
