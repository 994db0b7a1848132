//! The findings about entries: `nested`, `duplicate`, `home-owner`,
//! `needed-at-boot` and `shadows-nix`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::fd::AsFd;

use rustix::fs::ResolveFlags;

use super::items::{Item, Module, distinct};
use super::storage::{amount, count_in_root, examples, meta_in_root};
use super::walk;
use super::{Ctx, Finding, Kind, join};
use crate::paths::{is_under, parent};
use crate::resolve::Ending;
use crate::scan::Kind as FileKind;
use crate::text::escape_bytes;

/// The name of the list an item is in.
fn list_name(item: &Item) -> &'static str {
    match item.is_file {
        Some(true) => "files",
        _ => "directories",
    }
}

/// The origin of an item's entry, or how the live system shows it.
fn origin(item: &Item) -> String {
    match &item.entry {
        Some(e) => crate::text::escape_str(&e.origin),
        None => "a bind mount from storage".to_string(),
    }
}

/// `nested`: an entry inside another (directory) entry.
pub fn nested(ctx: &Ctx<'_>) -> Vec<Finding> {
    let items = distinct(&ctx.items);
    let dirs: HashMap<&[u8], &Item> = items
        .iter()
        .filter(|i| i.is_file != Some(true))
        .map(|i| (i.path.as_slice(), *i))
        .collect();
    let mut out = Vec::new();
    for b in &items {
        // The closest directory entry above b.
        let mut p = b.path.as_slice();
        let outer = loop {
            if p == b"/" {
                break None;
            }
            p = parent(p);
            if let Some(a) = dirs.get(p) {
                break Some(*a);
            }
        };
        let Some(a) = outer else {
            continue;
        };
        let shown_b = escape_bytes(&b.path);
        let shown_a = escape_bytes(&a.path);
        // Where A keeps B's path, and where B keeps it: two copies when
        // they differ (another storage root, or a source elsewhere).
        let (message, fix, bytes) = match (a.copy_of(&b.path), b.source.clone()) {
            (Some(hidden), Some(own)) if hidden != own => {
                let held = meta_in_root(ctx, &hidden).map(|m| {
                    if m.kind == Some(FileKind::Dir) {
                        count_in_root(ctx, &hidden).unwrap_or_default()
                    } else {
                        walk::Count {
                            entries: 1,
                            bytes: m.size,
                            ..walk::Count::default()
                        }
                    }
                });
                let what = match &held {
                    Some(c) => format!(
                        "{} holds {}",
                        escape_bytes(&hidden),
                        amount(c.entries, c.bytes)
                    ),
                    None => format!("{} does not exist", escape_bytes(&hidden)),
                };
                (
                    format!(
                        "{shown_b} lies inside {shown_a}, which {} persists, but it is persisted from {}: its mount covers {shown_a}'s copy ({what}), and which copy {shown_b} shows depends on the order of the mounts",
                        origin(a),
                        escape_bytes(&own),
                    ),
                    format!(
                        "keep one copy: merge {} into {} and remove one of the two entries",
                        ctx.host(&hidden),
                        ctx.host(&own),
                    ),
                    held.map_or(0, |c| c.bytes),
                )
            }
            _ => (
                format!(
                    "{shown_b} lies inside {shown_a}, which {} already persists: the same data is mounted twice, and the two entries' owners, modes and order of setup can disagree at every boot",
                    origin(a)
                ),
                format!("remove this entry: {shown_a} already keeps {shown_b}"),
                0,
            ),
        };
        out.push(Finding {
            kind: Kind::Nested,
            path: b.path.clone(),
            entry: b.entry.clone(),
            bytes,
            message,
            fix,
        });
    }
    out
}

/// `duplicate`: a path listed more than once in the configs.
pub fn duplicate(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut first: HashMap<&[u8], &Item> = HashMap::new();
    let mut out = Vec::new();
    for item in ctx.items.iter().filter(|i| i.module != Module::Live) {
        let Some(a) = first.get(item.path.as_slice()) else {
            first.insert(&item.path, item);
            continue;
        };
        let mut differs = Vec::new();
        if a.is_file != item.is_file {
            differs.push("once as a file, once as a directory".to_string());
        }
        if a.storage != item.storage {
            differs.push(format!(
                "in storage {} and {}",
                a.storage.as_deref().map_or_else(String::new, escape_bytes),
                item.storage
                    .as_deref()
                    .map_or_else(String::new, escape_bytes)
            ));
        }
        if a.symlink != item.symlink {
            differs.push("once as a symlink, once as a bind mount".to_string());
        }
        let differs = if differs.is_empty() {
            String::new()
        } else {
            format!(" ({})", differs.join("; "))
        };
        out.push(Finding {
            kind: Kind::Duplicate,
            path: item.path.clone(),
            entry: item.entry.clone(),
            bytes: 0,
            message: format!(
                "{} is listed twice: also by {}{differs}; impermanence refuses duplicate targets when the system is built, and two mounts of one path conflict",
                escape_bytes(&item.path),
                origin(a)
            ),
            fix: format!("remove this entry and keep {}", origin(a)),
        });
    }
    out
}

/// `home-owner`: a path in a person's home listed without that person as owner.
pub fn home_owner(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let people: Vec<_> = ctx
        .users
        .accounts()
        .iter()
        .filter(|a| a.is_person() && a.uid != 0)
        .collect();
    for item in ctx.items.iter().filter(|i| i.module != Module::Live) {
        let Some(acct) = people.iter().find(|a| {
            use std::os::unix::ffi::OsStrExt;
            is_under(&item.path, a.home.as_os_str().as_bytes())
        }) else {
            continue;
        };
        let name = acct.name.as_str();
        if item.user.as_deref() == Some(name) || item.home_user.as_deref() == Some(name) {
            continue;
        }
        let group = ctx.users.group(acct.gid);
        let home = {
            use std::os::unix::ffi::OsStrExt;
            acct.home.as_os_str().as_bytes().to_vec()
        };
        let rel = item.path[home.len()..]
            .strip_prefix(b"/")
            .unwrap_or_default();
        let dest = item.source.clone();
        let seen = dest.as_ref().and_then(|d| {
            let m = meta_in_root(ctx, d)?;
            (m.uid != acct.uid).then(|| {
                format!(
                    "; {} is owned by {} already",
                    escape_bytes(d),
                    crate::text::escape_str(&ctx.users.user(m.uid))
                )
            })
        });
        let option = match item.module {
            Module::Preservation => "preservation.preserveAt",
            _ => "environment.persistence",
        };
        let storage = item
            .storage
            .as_deref()
            .map_or_else(|| "/persist".to_string(), escape_bytes);
        let mut fix = if rel.is_empty() {
            format!("give the entry user = \"{name}\"; group = \"{group}\";")
        } else {
            format!(
                "list it under its owner: {option}.\"{storage}\".users.{name}.{} = [ \"{}\" ], or give the entry user = \"{name}\"; group = \"{group}\";",
                list_name(item),
                escape_bytes(rel)
            )
        };
        if let (Some(d), Some(_)) = (&dest, &seen) {
            fix.push_str(&format!(
                " then give back what exists: `chown {name}:{group} {}` (and the directories between it and {})",
                ctx.host(d),
                ctx.host(&join(item.storage.as_deref().unwrap_or(b"/"), &home))
            ));
        }
        out.push(Finding {
            kind: Kind::HomeOwner,
            path: item.path.clone(),
            entry: item.entry.clone(),
            bytes: 0,
            message: format!(
                "{} is in {name}'s home but listed without {name} as owner: its storage copy and the missing directories above it are created owned by root, so {name}'s programs cannot write there{}",
                escape_bytes(&item.path),
                seen.unwrap_or_default()
            ),
            fix,
        });
    }
    out
}

/// A path read before the persistence mounts are up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Early {
    MachineId,
    NixosState,
    SshHostKeys,
}

impl Early {
    fn why(self, secrets: Option<&Secrets>) -> String {
        match self {
            Early::MachineId => {
                "systemd reads the machine id as it starts, and the journal names its directory after it"
                    .into()
            }
            Early::NixosState => {
                "activation's users step reads the uid and gid maps there, and gives users new ids without them"
                    .into()
            }
            Early::SshHostKeys => match secrets {
                Some(s) => format!(
                    "{} decrypts secrets with the ssh host key during activation ({})",
                    s.tool, s.evidence
                ),
                None => "secrets are decrypted with the ssh host key during activation".into(),
            },
        }
    }
}

/// Which of the early paths an item keeps.
fn early_of(item: &Item) -> Option<(Early, Vec<u8>)> {
    let p = item.path.as_slice();
    let is_dir = item.is_file != Some(true);
    let covers = |b: &[u8]| p == b || (is_dir && is_under(b, p));
    if covers(b"/etc/machine-id") {
        return Some((Early::MachineId, b"/etc/machine-id".to_vec()));
    }
    if covers(b"/var/lib/nixos") {
        return Some((Early::NixosState, b"/var/lib/nixos".to_vec()));
    }
    let name = p.rsplit(|&b| b == b'/').next().unwrap_or_default();
    if (parent(p) == b"/etc/ssh" && name.starts_with(b"ssh_host_") && name.ends_with(b"_key"))
        || covers(b"/etc/ssh/ssh_host_ed25519_key")
    {
        let key = if is_dir {
            b"/etc/ssh/ssh_host_ed25519_key".to_vec()
        } else {
            p.to_vec()
        };
        return Some((Early::SshHostKeys, key));
    }
    None
}

/// A secrets tool the system runs during activation, and the evidence.
struct Secrets {
    tool: &'static str,
    evidence: String,
}

/// Looks for sops-nix or agenix in ROOT's activation script and units.
fn secrets_tool(ctx: &Ctx<'_>) -> Option<Secrets> {
    let root = &ctx.audit.cur().root;
    for script in [
        "/run/current-system/activate",
        "/nix/var/nix/profiles/system/activate",
    ] {
        let Ok(text) = crate::safe_open::read_in_root(root, script.as_bytes(), 16 << 20) else {
            continue;
        };
        let has = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
        for (needle, tool) in [
            (&b"sops-install-secrets"[..], "sops-nix"),
            (&b"agenix"[..], "agenix"),
        ] {
            if has(needle) {
                return Some(Secrets {
                    tool,
                    evidence: format!("{script} runs {}", String::from_utf8_lossy(needle)),
                });
            }
        }
    }
    let unit = b"/etc/systemd/system/sops-install-secrets.service";
    if ctx.res.resolve(unit).ending == Ending::Exists {
        return Some(Secrets {
            tool: "sops-nix",
            evidence: "unit sops-install-secrets.service".into(),
        });
    }
    None
}

/// impermanence bind-mounts these (and their contents) in the initrd too.
const NEEDED_FOR_BOOT: &[&[u8]] = &[b"/var", b"/var/lib", b"/var/lib/nixos", b"/etc"];

/// `needed-at-boot`: early paths persisted in a way that comes too late.
pub fn needed_at_boot(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let secrets = std::cell::OnceCell::new();
    // preservation makes its inInitrd links with the initrd's own tmpfiles
    // rules, which the root does not show: on such a system a link nothing
    // lists may well be one of them.
    let preservation = ctx
        .res
        .resolve(super::items::PRESERVATION_TMPFILES.as_bytes())
        .ending
        == Ending::Exists;
    for item in distinct(&ctx.items) {
        let Some((early, path)) = early_of(item) else {
            continue;
        };
        if item.module == Module::Live && preservation {
            continue;
        }
        let dest = item.copy_of(&path);
        let dest_shown = dest
            .as_deref()
            .map_or_else(|| "its storage copy".to_string(), escape_bytes);
        let late: Option<(String, String)> = match (early, item.module) {
            (Early::SshHostKeys, module) => {
                let Some(s) = secrets.get_or_init(|| secrets_tool(ctx)) else {
                    continue;
                };
                if module == Module::Preservation && item.in_initrd {
                    continue;
                }
                let option = match s.tool {
                    "sops-nix" => "sops.age.sshKeyPaths",
                    _ => "age.identityPaths",
                };
                let alt = if module == Module::Preservation {
                    ", or set inInitrd = true on this entry"
                } else {
                    ""
                };
                Some((
                    match module {
                        Module::Preservation => "preservation mounts it after activation (no inInitrd = true)".to_string(),
                        _ => "impermanence makes it available too late for that: the secrets tool must read the key from its storage path".to_string(),
                    },
                    format!(
                        "read the key from storage: {option} = [ \"{dest_shown}\" ], with the storage file system marked neededForBoot{alt}"
                    ),
                ))
            }
            (_, Module::Preservation) if !item.in_initrd => Some((
                "preservation sets it up after that, at preservation.target (no inInitrd = true)"
                    .to_string(),
                format!(
                    "set inInitrd = true on this entry: {{ {} = \"{}\"; inInitrd = true; }}",
                    if item.is_file == Some(true) {
                        "file"
                    } else {
                        "directory"
                    },
                    escape_bytes(&item.path)
                ),
            )),
            (Early::NixosState, Module::Impermanence)
                if NEEDED_FOR_BOOT.contains(&item.path.as_slice()) =>
            {
                None
            }
            // preservation's link made in the initrd leads into storage
            // mounted there: early enough.
            (_, _) if item.symlink && item.module != Module::Preservation => Some((
                format!(
                    "it is a symlink into {dest_shown}, which leads nowhere until storage is mounted and the link made{}",
                    if early == Early::MachineId {
                        ": systemd writes a new machine id through it and commits it a boot late"
                    } else {
                        ""
                    }
                ),
                match item.module {
                    Module::Live => format!(
                        "make sure {dest_shown} exists before the next boot, so that impermanence bind-mounts it instead of linking"
                    ),
                    _ => "persist it as a bind mount: drop method = \"symlink\" from this entry"
                        .to_string(),
                },
            )),
            _ => None,
        };
        let Some((how, fix)) = late else {
            continue;
        };
        let why = early.why(secrets.get().and_then(Option::as_ref));
        out.push(Finding {
            kind: Kind::NeededAtBoot,
            path: item.path.clone(),
            entry: item.entry.clone(),
            bytes: 0,
            message: format!(
                "{} is needed early in boot: {why}; but {how}",
                escape_bytes(&path)
            ),
            fix,
        });
    }
    out
}

/// Names of the in-root directory `path` (links in it resolved inside ROOT).
fn names_in_root(ctx: &Ctx<'_>, path: &[u8]) -> Vec<(Vec<u8>, bool)> {
    let Ok(fd) = walk::open_at_path(ctx.root_fd.as_fd(), path, true, ResolveFlags::IN_ROOT) else {
        return Vec::new();
    };
    walk::names(&fd)
        .unwrap_or_default()
        .into_iter()
        .map(|n| {
            let is_dir = walk::meta_at(&fd, &n).is_ok_and(|m| m.kind == Some(FileKind::Dir));
            (n, is_dir)
        })
        .collect()
}

/// Where the home-manager generation of the person whose home holds `path`
/// keeps its files (`home-files`), and that home.
fn home_files(ctx: &Ctx<'_>, path: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    use std::os::unix::ffi::OsStrExt;
    let acct = ctx
        .users
        .accounts()
        .iter()
        .filter(|a| a.is_person())
        .find(|a| is_under(path, a.home.as_os_str().as_bytes()))?;
    let home = acct.home.as_os_str().as_bytes().to_vec();
    let candidates = [
        join(&home, b"/.local/state/nix/profiles/home-manager/home-files"),
        join(
            &home,
            b"/.local/state/home-manager/gcroots/current-home/home-files",
        ),
        format!(
            "/nix/var/nix/profiles/per-user/{}/home-manager/home-files",
            acct.name
        )
        .into_bytes(),
    ];
    candidates.into_iter().find_map(|c| {
        let r = ctx.res.resolve(&c);
        (r.ending == Ending::Exists).then(|| (r.path, home.clone()))
    })
}

/// `shadows-nix`: an entry over paths NixOS or home-manager generate.
pub fn shadows_nix(ctx: &Ctx<'_>) -> Vec<Finding> {
    let tree = ctx.audit.cur();
    let mut out = Vec::new();
    for item in distinct(&ctx.items) {
        let p = item.path.as_slice();
        // Generated paths inside the entry, relative to it, and who generates them.
        let mut managed: BTreeSet<Vec<u8>> = BTreeSet::new();
        let mut by: BTreeSet<&str> = BTreeSet::new();
        let mut itself: Option<String> = None;
        // NixOS's /etc: what /etc/static declares.
        if is_under(p, b"/etc") && !is_under(p, b"/etc/static") {
            let stat = join(b"/etc/static", &p[4..]);
            let r = ctx.res.resolve(&stat);
            if r.ending == Ending::Exists {
                if ctx
                    .res
                    .lookup(&r.path)
                    .is_some_and(|k| tree.entries[k].kind != FileKind::Dir)
                    || item.is_file == Some(true)
                {
                    itself = Some(format!(
                        "NixOS declares it in environment.etc ({} exists)",
                        escape_bytes(&stat)
                    ));
                } else {
                    for (n, _) in names_in_root(ctx, &r.path) {
                        managed.insert(n);
                    }
                    by.insert("NixOS's environment.etc");
                }
            }
            for c in &ctx.ev.etc_clean {
                if is_under(c, p) && c.as_slice() != p {
                    managed.insert(c[p.len() + 1..].to_vec());
                    by.insert("NixOS's environment.etc");
                }
            }
        }
        // home-manager: what its generation links.
        if let Some((files, home)) = home_files(ctx, p)
            && p != home.as_slice()
        {
            let hf = join(&files, &p[home.len()..]);
            let r = ctx.res.resolve(&hf);
            if r.ending == Ending::Exists {
                if item.is_file == Some(true) {
                    itself = Some(format!(
                        "home-manager links it ({} exists)",
                        escape_bytes(&hf)
                    ));
                } else {
                    for (n, _) in names_in_root(ctx, &r.path) {
                        managed.insert(n);
                    }
                    by.insert("home-manager");
                }
            }
        }
        // On ROOT, when nothing is mounted there yet: home-manager's links
        // (other links into the store, a `result` of nix-build, are not
        // recreated by anything).
        if let Some(k) = ctx.res.lookup(p)
            && !tree.entries[k].is_mount
            && tree.entries[k].kind == FileKind::Dir
        {
            let end = tree.entries[k].end as usize;
            for j in k + 1..end {
                if tree.entries[j].kind != FileKind::Symlink {
                    continue;
                }
                let jp = tree.path(j);
                let r = ctx.res.resolve(&jp);
                if is_under(&r.path, b"/nix/store")
                    && r.path.windows(20).any(|w| w == b"-home-manager-files/")
                {
                    managed.insert(jp[p.len() + 1..].to_vec());
                    by.insert("home-manager");
                }
            }
        }
        let shown = escape_bytes(p);
        if let Some(why) = itself {
            let rel = escape_bytes(p.strip_prefix(b"/etc/").unwrap_or(p));
            out.push(Finding {
                kind: Kind::ShadowsNix,
                path: p.to_vec(),
                entry: item.entry.clone(),
                bytes: 0,
                message: format!(
                    "{shown} is generated: {why}; persisting it puts a stale copy over the one every activation writes"
                ),
                fix: format!(
                    "remove it from the whitelist and set it in your configuration instead (environment.etc.\"{rel}\" or home.file)"
                ),
            });
            continue;
        }
        if managed.is_empty() {
            continue;
        }
        let samples: Vec<Vec<u8>> = managed.iter().take(3).cloned().collect();
        let (they, them) = if managed.len() == 1 {
            ("it is", "it")
        } else {
            ("they are", "them")
        };
        let over = if item.symlink {
            format!("the symlink at {shown} replaces the directory {they} written into")
        } else {
            format!("the mount over {shown} hides {them}, or catches {them} in storage")
        };
        let by: Vec<&str> = by.into_iter().collect();
        out.push(Finding {
            kind: Kind::ShadowsNix,
            path: p.to_vec(),
            entry: item.entry.clone(),
            bytes: 0,
            message: format!(
                "{} inside {shown} {} generated by {}{}: {over}, so what reads {them} sees stale or missing files",
                if managed.len() == 1 { "1 path".to_string() } else { format!("{} paths", managed.len()) },
                if managed.len() == 1 { "is" } else { "are" },
                by.join(" and "),
                examples(&samples, managed.len() > samples.len()),
            ),
            fix: state_instead(ctx, item, &managed),
        });
    }
    out
}

/// The fix of `shadows-nix`: the entries to list instead of the directory,
/// from what it holds (on ROOT and in storage) that nothing generates.
fn state_instead(ctx: &Ctx<'_>, item: &Item, managed: &BTreeSet<Vec<u8>>) -> String {
    let tree = ctx.audit.cur();
    let p = item.path.as_slice();
    let mut state: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
    if let Some(k) = ctx.res.lookup(p)
        && !tree.entries[k].is_mount
    {
        for c in tree.children(Some(k)) {
            state.insert(tree.name(c).to_vec(), tree.entries[c].kind == FileKind::Dir);
        }
    }
    if let Some(src) = &item.source {
        for (n, is_dir) in names_in_root(ctx, src) {
            state.entry(n).or_insert(is_dir);
        }
    }
    let keep: Vec<(String, bool)> = state
        .into_iter()
        // A child holding a generated path would shadow it in turn.
        .filter(|(n, _)| {
            !managed
                .iter()
                .any(|m| m == n || (m.starts_with(n) && m.get(n.len()) == Some(&b'/')))
        })
        .map(|(n, is_dir)| {
            (
                escape_bytes(&join(p, &[b"/", n.as_slice()].concat())),
                is_dir,
            )
        })
        .collect();
    let shown = escape_bytes(p);
    if keep.is_empty() {
        return format!(
            "remove {shown} from the whitelist and list only the paths inside it that hold state"
        );
    }
    let list = |dirs: bool| {
        let names: Vec<String> = keep
            .iter()
            .filter(|(_, d)| *d == dirs)
            .map(|(n, _)| format!("\"{n}\""))
            .collect();
        match names.len() {
            0 => None,
            n if n > 8 => Some(format!("{} … ({n} in all)", names[..8].join(" "))),
            _ => Some(names.join(" ")),
        }
    };
    let mut parts = Vec::new();
    if let Some(f) = list(false) {
        parts.push(format!("files = [ {f} ]"));
    }
    if let Some(d) = list(true) {
        parts.push(format!("directories = [ {d} ]"));
    }
    format!(
        "persist what holds state instead of the whole directory: {}, and remove {shown}",
        parts.join("; ")
    )
}
