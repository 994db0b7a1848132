//! Which classification rule decided a verdict: one byte per path, so that
//! `darlings explain` can show the evidence behind a reason (the config
//! entry, the mount, the link chain, the `/etc/static` entry) without
//! classifying again. The names are those of `docs/explain.md`.

/// The rule that decided a path's class (the reason says it in words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ClassRule {
    /// A persistent storage root itself.
    Storage,
    /// Inside a persistent storage root.
    InStorage,
    /// A whitelisted path the live system backs (a bind mount or a symlink from storage).
    Kept,
    /// Inside a [`ClassRule::Kept`] path.
    InKept,
    /// A whitelisted path nothing backs yet: persisted, with a warning.
    Listed,
    /// Inside a [`ClassRule::Listed`] path.
    InListed,
    /// `/nix` (the store, the database and the profiles).
    Nix,
    /// Under `/nix`.
    UnderNix,
    /// The mount point of another file system, not wiped with the root.
    SeparateFs,
    /// A tmpfs or pseudo file system mount, recreated at boot.
    VolatileMount,
    /// A symlink loop (not followed).
    LinkLoop,
    /// A symlink that resolves into persistent storage.
    LinkIntoStorage,
    /// A store link activation or stage 2 recreates at a fixed place (`/bin/sh`).
    RecreatedLink,
    /// The ELF loader link (`environment.ldso`, nix-ld).
    LoaderLink,
    /// The link systemd makes to a `DynamicUser=` service's `private/` directory.
    DynamicUserLink,
    /// A symlink a systemd-tmpfiles `L` rule makes at every boot.
    TmpfilesLink,
    /// A home-manager link in a home.
    HomeManagerLink,
    /// home-manager's link to its current generation.
    HomeManagerGeneration,
    /// An `/etc` link into the store through `/etc/static`.
    EtcStaticLink,
    /// A store link nothing recreates (stray).
    StoreLink,
    /// A password file userborn keeps its allocated ids in (stray).
    Userborn,
    /// An account file activation merges into with `users.mutableUsers =
    /// true`: what `passwd` changed lives only there (stray).
    MutableAccounts,
    /// A file activation copies into `/etc`, listed in `/etc/.clean`.
    EtcClean,
    /// `/etc/REL` whose `/etc/static/REL` exists.
    EtcStatic,
    /// A file activation or stage 2 regenerates at every boot (`/etc/passwd`).
    Regenerated,
    /// A directory stage 2 creates at every boot (`/var`, `/etc`).
    BootDir,
    /// A directory that holds persisted or Nix-managed paths, recreated to hold them.
    Holds,
    /// No rule matched: stray.
    NoRule,
}

impl ClassRule {
    /// Every rule, in the order classification tries them.
    pub const ALL: [ClassRule; 28] = [
        ClassRule::Storage,
        ClassRule::InStorage,
        ClassRule::Kept,
        ClassRule::InKept,
        ClassRule::Listed,
        ClassRule::InListed,
        ClassRule::Nix,
        ClassRule::UnderNix,
        ClassRule::SeparateFs,
        ClassRule::VolatileMount,
        ClassRule::LinkLoop,
        ClassRule::LinkIntoStorage,
        ClassRule::RecreatedLink,
        ClassRule::LoaderLink,
        ClassRule::DynamicUserLink,
        ClassRule::TmpfilesLink,
        ClassRule::HomeManagerLink,
        ClassRule::HomeManagerGeneration,
        ClassRule::EtcStaticLink,
        ClassRule::StoreLink,
        ClassRule::Userborn,
        ClassRule::MutableAccounts,
        ClassRule::EtcClean,
        ClassRule::EtcStatic,
        ClassRule::Regenerated,
        ClassRule::BootDir,
        ClassRule::Holds,
        ClassRule::NoRule,
    ];

    /// The name `darlings explain --json` writes (`docs/explain.md`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClassRule::Storage => "storage",
            ClassRule::InStorage => "inside-storage",
            ClassRule::Kept => "kept",
            ClassRule::InKept => "inside-kept",
            ClassRule::Listed => "listed",
            ClassRule::InListed => "inside-listed",
            ClassRule::Nix => "nix",
            ClassRule::UnderNix => "under-nix",
            ClassRule::SeparateFs => "separate-file-system",
            ClassRule::VolatileMount => "volatile-mount",
            ClassRule::LinkLoop => "symlink-loop",
            ClassRule::LinkIntoStorage => "symlink-into-storage",
            ClassRule::RecreatedLink => "recreated-link",
            ClassRule::LoaderLink => "loader-link",
            ClassRule::DynamicUserLink => "dynamic-user-link",
            ClassRule::TmpfilesLink => "tmpfiles-link",
            ClassRule::HomeManagerLink => "home-manager-link",
            ClassRule::HomeManagerGeneration => "home-manager-generation",
            ClassRule::EtcStaticLink => "etc-static-link",
            ClassRule::StoreLink => "store-link",
            ClassRule::Userborn => "userborn",
            ClassRule::MutableAccounts => "mutable-accounts",
            ClassRule::EtcClean => "etc-clean",
            ClassRule::EtcStatic => "etc-static",
            ClassRule::Regenerated => "regenerated",
            ClassRule::BootDir => "boot-directory",
            ClassRule::Holds => "holds-kept-paths",
            ClassRule::NoRule => "no-rule",
        }
    }

    /// What the rule says, in words (`darlings explain`).
    pub fn describe(self) -> &'static str {
        match self {
            ClassRule::Storage => "a persistent storage root: its contents survive the wipe",
            ClassRule::InStorage => "inside a persistent storage root",
            ClassRule::Kept => "a whitelisted path the live system backs from storage",
            ClassRule::InKept => "inside a whitelisted path the live system backs from storage",
            ClassRule::Listed => {
                "a whitelisted path nothing backs yet: persisted once the whitelist is active"
            }
            ClassRule::InListed => "inside a whitelisted path nothing backs yet",
            ClassRule::Nix => "/nix: the Nix store, its database and the profiles",
            ClassRule::UnderNix => "under /nix",
            ClassRule::SeparateFs => {
                "the mount point of another file system, which the wipe of the root does not touch"
            }
            ClassRule::VolatileMount => "a tmpfs or pseudo file system, mounted again at boot",
            ClassRule::LinkLoop => "a symlink loop: not followed, and nothing recreates it",
            ClassRule::LinkIntoStorage => "a symlink that resolves into persistent storage",
            ClassRule::RecreatedLink => "a store link activation or stage 2 makes at a fixed place",
            ClassRule::LoaderLink => "the ELF loader link activation makes",
            ClassRule::DynamicUserLink => {
                "the link systemd makes to a DynamicUser= service's private directory"
            }
            ClassRule::TmpfilesLink => "a symlink a systemd-tmpfiles L rule makes at every boot",
            ClassRule::HomeManagerLink => "a home-manager link, made again at every activation",
            ClassRule::HomeManagerGeneration => "home-manager's link to its current generation",
            ClassRule::EtcStaticLink => "an /etc link into the Nix store through /etc/static",
            ClassRule::StoreLink => "a link through the Nix store that nothing recreates",
            ClassRule::Userborn => "a password file userborn keeps its allocated ids in",
            ClassRule::MutableAccounts => {
                "an account file activation merges into with users.mutableUsers = true"
            }
            ClassRule::EtcClean => "a file activation copies into /etc (listed in /etc/.clean)",
            ClassRule::EtcStatic => "an /etc path this generation's /etc/static declares",
            ClassRule::Regenerated => "a file activation or stage 2 writes again at every boot",
            ClassRule::BootDir => "a directory stage 2 creates at every boot",
            ClassRule::Holds => {
                "a directory holding persisted or Nix-managed paths, recreated to hold them"
            }
            ClassRule::NoRule => "nothing keeps or recreates it",
        }
    }

    /// The rule of the paths below a path this region rule decided.
    pub fn inside(self) -> ClassRule {
        match self {
            ClassRule::Storage => ClassRule::InStorage,
            ClassRule::Kept => ClassRule::InKept,
            ClassRule::Listed => ClassRule::InListed,
            ClassRule::Nix => ClassRule::UnderNix,
            other => other,
        }
    }

    /// For a rule inherited from an ancestor, the rule of that ancestor.
    pub fn covered_by(self) -> Option<ClassRule> {
        match self {
            ClassRule::InStorage => Some(ClassRule::Storage),
            ClassRule::InKept => Some(ClassRule::Kept),
            ClassRule::InListed => Some(ClassRule::Listed),
            ClassRule::UnderNix => Some(ClassRule::Nix),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rule_costs_a_verdict_no_bytes() {
        // Five u32 fields and three bytes before the rule: it fills the padding.
        assert_eq!(std::mem::size_of::<super::super::Verdict>(), 24);
        // The knowledge-base rule kept per path costs four bytes.
        assert_eq!(std::mem::size_of::<Option<crate::knowledge::RuleId>>(), 4);
    }
}
