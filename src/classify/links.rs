//! Symlinks judged by who recreates them: a store link is Nix-managed only
//! where something makes it again at boot or activation (activation's fixed
//! links, the ELF loader, systemd-tmpfiles `L` rules, the links systemd makes
//! for `DynamicUser=` services, home-manager's links in a home, `/etc`
//! through `/etc/static`); anywhere else nothing brings it back, so it is
//! stray. A link into persistent storage is persisted.

use super::{
    Advice, Class, ClassRule, ClassifyInput, Ending, Found, ResolvedDir, Resolver, Verdicts,
    etc_rule, is_under,
};

/// Symlinks into the store that activation recreates at fixed places, with who does.
const RECREATED_LINKS: &[(&str, &str)] = &[
    ("/etc/static", "activation (this generation's /etc)"),
    ("/bin/sh", "activation (environment.binsh)"),
    ("/usr/bin/env", "activation (environment.usrbinenv)"),
    ("/run/current-system", "activation"),
    ("/run/booted-system", "stage 2 at boot"),
];

/// A symlink's verdict: recreated by something (whatever it points at),
/// into persistent storage, or a store link nothing recreates.
pub(super) fn link_rule(
    v: &mut Verdicts,
    input: &ClassifyInput<'_>,
    res: &Resolver<'_>,
    (k, path): (usize, &[u8]),
    etc_static: &ResolvedDir,
) -> Option<Found> {
    let r = res.resolve_entry(k, path);
    if r.ending == Ending::Loop {
        return Found::new(
            ClassRule::LinkLoop,
            Class::Stray,
            v.intern("symlink loop (not followed)"),
        );
    }
    if let Some(s) = input.evidence.storage.iter().find(|s| is_under(&r.path, s)) {
        return Found::new(
            ClassRule::LinkIntoStorage,
            Class::Persisted,
            v.intern(&format!(
                "symlink into persistent storage {}",
                String::from_utf8_lossy(s)
            )),
        );
    }
    let store = |p: &[u8]| is_under(p, b"/nix/store");
    let into_store = store(&r.path);
    let through_store = into_store || r.via.iter().skip(1).any(|p| store(p));
    let missing = if r.ending == Ending::Missing {
        " (target missing)"
    } else {
        ""
    };
    // Recreated at fixed places, at boot by systemd-tmpfiles, or by home-manager.
    if let Some((_, who)) = RECREATED_LINKS.iter().find(|(p, _)| p.as_bytes() == path) {
        return Found::new(
            ClassRule::RecreatedLink,
            Class::NixManaged,
            v.intern(&format!(
                "symlink into /nix/store{missing}, recreated by {who}"
            )),
        );
    }
    if is_loader(path) {
        return Found::new(
            ClassRule::LoaderLink,
            Class::NixManaged,
            v.intern("ELF loader link, recreated by activation (environment.ldso, nix-ld)"),
        );
    }
    if let Some(unit) = input.evidence.dynamic_links.get(path)
        && r.via.len() == 1
    {
        return Found::new(
            ClassRule::DynamicUserLink,
            Class::NixManaged,
            v.intern(&format!(
                "link systemd makes when {unit} starts (DynamicUser=: its state is in private/)"
            )),
        );
    }
    if let Some(file) = input.evidence.tmpfiles_links.get(path) {
        return Found::new(
            ClassRule::TmpfilesLink,
            Class::NixManaged,
            v.intern(&format!(
                "symlink made at every boot by systemd-tmpfiles ({file})"
            )),
        );
    }
    if through_store
        && input.evidence.in_home(path)
        && r.via
            .iter()
            .skip(1)
            .chain([&r.path])
            .any(|p| is_home_manager(p))
    {
        let reason = if into_store {
            format!("home-manager link into /nix/store{missing}, recreated at every activation")
        } else {
            format!(
                "home-manager link, recreated at every activation; it leads out of the store to {}, which is judged on its own",
                crate::text::escape_bytes(&r.path)
            )
        };
        return Found::new(
            ClassRule::HomeManagerLink,
            Class::NixManaged,
            v.intern(&reason),
        );
    }
    if into_store && input.evidence.in_home(path) && is_home_manager_root(path, &r.path) {
        return Found::new(
            ClassRule::HomeManagerGeneration,
            Class::NixManaged,
            v.intern(
                "home-manager's link to its current generation, recreated at every activation",
            ),
        );
    }
    if !through_store {
        return None;
    }
    if path.starts_with(b"/etc/") {
        if r.via.iter().any(|p| p == b"/etc/static") {
            return Found::new(
                ClassRule::EtcStaticLink,
                Class::NixManaged,
                v.intern(&format!("symlink into /nix/store via /etc/static{missing}")),
            );
        }
        if let Some(found) = etc_rule(v, input, res, path, etc_static) {
            return Some(found);
        }
    }
    // Nothing recreates it: the link is lost at the wipe.
    let reason = if into_store {
        format!(
            "symlink into /nix/store{missing} that nothing recreates (not an /etc, activation, \
             systemd-tmpfiles or home-manager link)"
        )
    } else {
        format!(
            "symlink through /nix/store to {}, which nothing recreates",
            crate::text::escape_bytes(&r.path)
        )
    };
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let advice = (name == b"result" || name.starts_with(b"result-")).then(|| {
        (
            Advice::Ephemeral,
            v.intern(
                "the result link of a build (nix-build, nix build): a garbage-collector root; \
                 losing it only lets nix-collect-garbage reclaim the build",
            ),
        )
    });
    Some(Found {
        class: Class::Stray,
        reason: v.intern(&reason),
        advice,
        by: ClassRule::StoreLink,
    })
}

/// The ELF loader NixOS links for foreign binaries (`environment.ldso`,
/// `environment.ldso32`, nix-ld): `/lib64/ld-linux-x86-64.so.2`, `/lib/ld-linux.so.2`, ...
fn is_loader(path: &[u8]) -> bool {
    let dir = crate::paths::parent(path);
    let name = &path[dir.len().min(path.len())..];
    (dir == b"/lib64" || dir == b"/lib") && name.starts_with(b"/ld-")
}

/// home-manager's own links to the generation it activates: the GC root
/// `~/.local/state/home-manager/gcroots/current-home` and the profile link
/// `~/.local/state/nix/profiles/home-manager` (older `home-manager-N-link`s
/// are rollback history, not recreated). A `result` link of `home-manager
/// build` leads to a generation too, but lives elsewhere.
fn is_home_manager_root(path: &[u8], target: &[u8]) -> bool {
    let generation = crate::paths::components(target)
        .nth(2)
        .is_some_and(|name| name.ends_with(b"-home-manager-generation"));
    generation
        && (path.ends_with(b"/.local/state/home-manager/gcroots/current-home")
            || path.ends_with(b"/.local/state/nix/profiles/home-manager"))
}

/// A path inside one of home-manager's generations of home files
/// (`/nix/store/HASH-home-manager-files/...`): how home-manager itself
/// recognises the links it made.
fn is_home_manager(p: &[u8]) -> bool {
    let mut c = crate::paths::components(p);
    c.next() == Some(b"nix")
        && c.next() == Some(b"store")
        && c.next()
            .is_some_and(|name| name.ends_with(b"-home-manager-files"))
}
