//! The fixtures of `tests/whitelist.rs` and what promoting into each must give.

use darlings::whitelist::{Flavor, Promotion};

use Expect::{Added, Refused};

/// A promotion: a directory owned by root, 0755, unless said.
#[derive(Clone, Copy)]
pub struct P {
    pub path: &'static str,
    pub dir: bool,
    pub owner: &'static str,
    pub mode: u32,
}

pub const fn d(path: &'static str) -> P {
    P {
        path,
        dir: true,
        owner: "root",
        mode: 0o755,
    }
}

pub const fn f(path: &'static str) -> P {
    P {
        path,
        dir: false,
        owner: "root",
        mode: 0o644,
    }
}

/// A directory in alice's home, hers, 0755.
pub const fn h(path: &'static str) -> P {
    P {
        path,
        dir: true,
        owner: "alice",
        mode: 0o755,
    }
}

/// A file in alice's home, hers, 0644.
pub const fn hf(path: &'static str) -> P {
    P {
        path,
        dir: false,
        owner: "alice",
        mode: 0o644,
    }
}

impl P {
    pub const fn mode(self, mode: u32) -> P {
        P { mode, ..self }
    }

    pub fn promotion(self) -> Promotion {
        let group = if self.owner == "root" {
            "root"
        } else {
            "users"
        };
        Promotion {
            path: self.path.into(),
            is_dir: self.dir,
            user: self.owner.into(),
            group: group.into(),
            mode: self.mode,
        }
    }
}

/// What promoting into a file must give.
pub enum Expect {
    /// The entries the evaluation gains, flattened as `flatten` in
    /// whitelist.rs does; with
    /// `inline`, a list on one line gained an item on that line (else only
    /// whole lines are added).
    Added {
        added: &'static [&'static str],
        inline: bool,
    },
    /// No safe place: the refusal says this.
    Refused(&'static str),
}

/// One promote into one fixture.
pub struct Case {
    pub file: &'static str,
    pub promote: &'static [P],
    pub expect: Expect,
    /// Paths the file already keeps.
    pub listed: &'static [P],
    /// A `--storage` that is not one of the file's.
    pub foreign_storage: &'static str,
    /// A `--flavor` the file does not use.
    pub foreign_flavor: Option<Flavor>,
}

pub const IMP: Option<Flavor> = Some(Flavor::Impermanence);
pub const PRES: Option<Flavor> = Some(Flavor::Preservation);

pub const CASES: &[Case] = &[
    Case {
        file: "two-roots-optionals.nix",
        promote: &[d("/var/lib/docker"), f("/etc/adjtime"), d("/var/spool")],
        expect: Added {
            added: &[
                // A tie on /var/lib: the first storage root of the file.
                r#"nixos "/state" directories "/var/lib/docker""#,
                // /etc is only under /persist.
                r#"nixos "/persist" files "/etc/adjtime""#,
                r#"nixos "/state" directories "/var/spool""#,
            ],
            inline: false,
        },
        listed: &[
            d("/var/log/journal"),
            f("/etc/machine-id"),
            d("/var/lib/iwd"),
        ],
        foreign_storage: "/persistent",
        foreign_flavor: PRES,
    },
    Case {
        file: "hm-v2-dotted-optionals.nix",
        promote: &[h("/home/alice/.cache/mesa"), h("/home/alice/Music")],
        expect: Added {
            added: &[
                r#"home-manager "/state" directories ".cache/mesa""#,
                // Both roots hold paths of the home alone: a tie, the first wins.
                r#"home-manager "/state" directories "Music""#,
            ],
            inline: false,
        },
        listed: &[h("/home/alice/.ssh"), h("/home/alice/.local/share/iwctl")],
        foreign_storage: "/persistent",
        foreign_flavor: PRES,
    },
    Case {
        file: "hm-v2-dotted-optionals.nix",
        promote: &[hf("/home/alice/.local/share/recently-used.xbel.old")],
        expect: Refused("home.persistence.\"/state\".files is built by `optionals` (line 14)"),
        listed: &[],
        foreign_storage: "/persistent",
        foreign_flavor: PRES,
    },
    Case {
        file: "service-module-dotted.nix",
        promote: &[d("/var/lib/private/immich"), f("/etc/photoprism.yml")],
        expect: Added {
            added: &[
                r#"nixos "/persist" directories {"directory":"/var/lib/private/immich"}"#,
                r#"nixos "/persist" files "/etc/photoprism.yml""#,
            ],
            inline: false,
        },
        listed: &[d("/storage/photos/2024")],
        foreign_storage: "/persistent",
        foreign_flavor: PRES,
    },
    Case {
        file: "nested-files-first.nix",
        promote: &[
            d("/var/lib/bluetooth"),
            f("/etc/adjtime"),
            h("/home/alice/.ssh").mode(0o700),
        ],
        expect: Added {
            added: &[
                r#"nixos "/persist" directories "/var/lib/bluetooth""#,
                r#"nixos "/persist" files "/etc/adjtime""#,
                r#"nixos "/persist" users.alice directories {"directory":".ssh","group":"users","mode":"0700","user":"alice"}"#,
            ],
            inline: false,
        },
        listed: &[d("/srv/www")],
        foreign_storage: "/nix/persist",
        foreign_flavor: PRES,
    },
    Case {
        file: "hm-v2-nested-let.nix",
        promote: &[h("/home/alice/.mozilla")],
        expect: Added {
            added: &[r#"home-manager "/persist" directories ".mozilla""#],
            inline: false,
        },
        listed: &[h("/home/alice/Documents/taxes")],
        foreign_storage: "/state",
        foreign_flavor: PRES,
    },
    Case {
        file: "preservation-users-let.nix",
        promote: &[
            d("/var/lib/bluetooth"),
            f("/etc/adjtime"),
            h("/home/alice/Music"),
            hf("/home/alice/.histfile"),
        ],
        expect: Added {
            added: &[
                r#"preservation "/persistent" directories "/var/lib/bluetooth""#,
                r#"preservation "/persistent" files {"file":"/etc/adjtime"}"#,
                r#"preservation "/persistent" users.alice directories "Music""#,
                r#"preservation "/persistent" users.alice files {"file":".histfile"}"#,
            ],
            inline: false,
        },
        listed: &[d("/etc/ssh/keys"), h("/home/alice/Desktop")],
        foreign_storage: "/persist",
        foreign_flavor: IMP,
    },
    Case {
        file: "preservation-var-root.nix",
        promote: &[d("/var/lib/bluetooth")],
        expect: Refused(
            "the storage root of preservation.preserveAt.${config.system.devices.preservedState} is `${config.system.devices.preservedState}` (line 6)",
        ),
        listed: &[d("/var/lib/nixos/uid-map")],
        foreign_storage: "/persist",
        foreign_flavor: IMP,
    },
    Case {
        file: "computed-lists.nix",
        promote: &[d("/var/lib/bluetooth")],
        expect: Refused(
            "preservation.preserveAt.\"/nix/persistent\".directories is built by `mkDirs` (line 9)",
        ),
        listed: &[d("/var/log/journal")],
        foreign_storage: "/persist",
        foreign_flavor: IMP,
    },
    Case {
        file: "mkif-config-optionals.nix",
        promote: &[d("/var/lib/fprint"), f("/etc/adjtime")],
        expect: Added {
            added: &[
                r#"nixos "/persist" directories "/var/lib/fprint""#,
                r#"nixos "/persist" files "/etc/adjtime""#,
            ],
            inline: false,
        },
        listed: &[d("/var/lib/cups/ppd"), f("/etc/nix/netrc")],
        foreign_storage: "/state",
        foreign_flavor: PRES,
    },
    Case {
        file: "tabs-mixed.nix",
        promote: &[
            P {
                owner: "admin",
                ..h("/home/admin/.wine")
            },
            f("/etc/machine-id"),
        ],
        expect: Added {
            added: &[
                r#"nixos "/persistent" users.admin directories ".wine""#,
                r#"nixos "/persistent" files "/etc/machine-id""#,
            ],
            inline: false,
        },
        listed: &[P {
            owner: "admin",
            ..h("/home/admin/.config/nvim")
        }],
        foreign_storage: "/persist",
        foreign_flavor: PRES,
    },
    Case {
        file: "preservation-inline-user.nix",
        promote: &[
            hf("/home/alice/.config/fish/fish_history"),
            h("/home/alice/videos"),
        ],
        expect: Added {
            added: &[
                r#"preservation "/preserve" users.alice files ".config/fish/fish_history""#,
                r#"preservation "/preserve" users.alice directories "videos""#,
            ],
            inline: true,
        },
        listed: &[h("/home/alice/music/2024")],
        foreign_storage: "/persist",
        foreign_flavor: IMP,
    },
    Case {
        file: "preservation-empty-user.nix",
        promote: &[h("/home/alice/Music"), d("/var/lib/bluetooth")],
        expect: Added {
            added: &[
                r#"preservation "/persist" users.alice directories "Music""#,
                r#"preservation "/persist" directories "/var/lib/bluetooth""#,
            ],
            inline: true,
        },
        listed: &[d("/var/log/nginx")],
        foreign_storage: "/persistent",
        foreign_flavor: IMP,
    },
    Case {
        file: "mkif-location-home.nix",
        promote: &[d("/var/lib/bluetooth"), h("/home/alice/Music")],
        expect: Added {
            added: &[
                r#"nixos "/persistent" directories "/var/lib/bluetooth""#,
                r#"nixos "/persistent" users.alice directories "Music""#,
            ],
            inline: false,
        },
        listed: &[f("/etc/ssh/ssh_host_rsa_key")],
        foreign_storage: "/persist",
        foreign_flavor: PRES,
    },
    Case {
        file: "four-space-hm-var.nix",
        promote: &[h("/home/alice/Music")],
        expect: Refused(
            "the storage root of home.persistence.\"${persistenceHomePath}\" is `\"${persistenceHomePath}\"` (line 6)",
        ),
        listed: &[h("/home/alice/.ssh/config")],
        foreign_storage: "/persist",
        foreign_flavor: PRES,
    },
    Case {
        file: "dotted-users-dot.nix",
        promote: &[d("/var/lib/bluetooth"), h("/home/alice/Videos")],
        expect: Added {
            added: &[
                r#"nixos "/persist" directories "/var/lib/bluetooth""#,
                r#"nixos "/persist" users.alice directories "Videos""#,
            ],
            inline: false,
        },
        listed: &[P {
            owner: "guest",
            ..h("/home/guest/anything")
        }],
        foreign_storage: "/persistent",
        foreign_flavor: PRES,
    },
    Case {
        file: "quoted-interp-user-empty-lists.nix",
        promote: &[f("/etc/machine-id"), h("/home/alice/Documents")],
        expect: Added {
            added: &[
                r#"nixos "/persistent" files "/etc/machine-id""#,
                r#"nixos "/persistent" users.alice directories "Documents""#,
            ],
            inline: true,
        },
        listed: &[d("/var/lib/docker")],
        foreign_storage: "/persist",
        foreign_flavor: PRES,
    },
    Case {
        file: "hm-v1-inline-attrsets.nix",
        promote: &[
            h("/home/alice/.local/share/lutris"),
            hf("/home/alice/.python_history"),
        ],
        expect: Added {
            added: &[
                r#"home-manager "/persist/home/alice" directories ".local/share/lutris""#,
                r#"home-manager "/persist/home/alice" files ".python_history""#,
            ],
            inline: true,
        },
        listed: &[h("/home/alice/Music/flac")],
        foreign_storage: "/persistent",
        foreign_flavor: PRES,
    },
    Case {
        file: "hm-v1-commented.nix",
        promote: &[h("/home/alice/Music"), hf("/home/alice/.screenrc")],
        expect: Added {
            added: &[
                r#"home-manager "/persist/home/alice" directories "Music""#,
                r#"home-manager "/persist/home/alice" files ".screenrc""#,
            ],
            inline: false,
        },
        listed: &[h("/home/alice/.ssh/keys")],
        foreign_storage: "/state",
        foreign_flavor: PRES,
    },
    Case {
        file: "mkmerge-cache.nix",
        promote: &[d("/var/cache/fwupd"), f("/etc/qdrant.yaml")],
        expect: Added {
            added: &[
                r#"nixos "/persistent/cache" directories "/var/cache/fwupd""#,
                r#"nixos "/persistent/cache" files "/etc/qdrant.yaml""#,
            ],
            inline: false,
        },
        listed: &[d("/var/lib/qdrant/snapshots")],
        foreign_storage: "/persistent",
        foreign_flavor: PRES,
    },
    Case {
        file: "named-locations-mkmerge-hmv1.nix",
        promote: &[
            d("/var/lib/bluetooth"),
            f("/etc/adjtime"),
            h("/home/alice/Music"),
            h("/home/alice/.cache/mesa"),
        ],
        expect: Added {
            added: &[
                r#"nixos main directories "/var/lib/bluetooth""#,
                r#"nixos main files "/etc/adjtime""#,
                r#"nixos main users.alice directories "Music""#,
                r#"nixos cache users.alice directories ".cache/mesa""#,
            ],
            inline: false,
        },
        listed: &[d("/var/lib/nixos/uid-map"), h("/home/alice/.cache/nix/x")],
        foreign_storage: "/persist",
        foreign_flavor: PRES,
    },
    Case {
        file: "block-comment-in-list.nix",
        promote: &[f("/etc/adjtime"), d("/var/lib/bluetooth")],
        expect: Added {
            added: &[
                r#"nixos "/persist" files "/etc/adjtime""#,
                r#"nixos "/persist" directories "/var/lib/bluetooth""#,
            ],
            inline: false,
        },
        listed: &[d("/var/db/sudo/lectured")],
        foreign_storage: "/state",
        foreign_flavor: PRES,
    },
    Case {
        file: "sorted-inherit.nix",
        promote: &[
            d("/var/lib/docker"),
            f("/etc/adjtime"),
            h("/home/alice/.config/atuin"),
        ],
        expect: Added {
            added: &[
                r#"nixos "/nix/state" directories "/var/lib/docker""#,
                r#"nixos "/nix/state" files "/etc/adjtime""#,
                r#"nixos "/nix/state" users.alice directories ".config/atuin""#,
            ],
            inline: false,
        },
        listed: &[d("/var/lib/roon-server/db")],
        foreign_storage: "/persist",
        foreign_flavor: PRES,
    },
    Case {
        file: "fully-dotted-users.nix",
        promote: &[d("/var/log"), h("/home/alice/Music")],
        expect: Added {
            added: &[
                r#"nixos "/persist" directories "/var/log""#,
                r#"nixos "/persist" users.alice directories "Music""#,
            ],
            inline: false,
        },
        listed: &[h("/home/alice/Code/darlings")],
        foreign_storage: "/persistent",
        foreign_flavor: PRES,
    },
    Case {
        file: "fully-dotted-users.nix",
        promote: &[hf("/home/alice/.histfile")],
        expect: Refused("would have to repeat the computed name `${sysargs.username}`"),
        listed: &[],
        foreign_storage: "/persistent",
        foreign_flavor: PRES,
    },
    Case {
        file: "nixos-plus-hm-v1.nix",
        promote: &[d("/var/lib/bluetooth"), f("/etc/machine-id")],
        expect: Added {
            added: &[
                r#"nixos "/persist/system" directories "/var/lib/bluetooth""#,
                r#"nixos "/persist/system" files "/etc/machine-id""#,
            ],
            inline: true,
        },
        listed: &[d("/srv/http")],
        foreign_storage: "/persistent",
        foreign_flavor: PRES,
    },
    Case {
        file: "nixos-plus-hm-v1.nix",
        // The Home Manager location uses removePrefixDirectory, which takes
        // no new path: the system location's users.alice does.
        promote: &[h("/home/alice/.mozilla")],
        expect: Added {
            added: &[r#"nixos "/persist/system" users.alice directories ".mozilla""#],
            inline: false,
        },
        listed: &[h("/home/alice/.gnupg/private-keys-v1.d")],
        foreign_storage: "/persistent",
        foreign_flavor: PRES,
    },
    Case {
        file: "hm-v2-flake-module-mkmerge.nix",
        promote: &[h("/home/alice/.config/spotify")],
        expect: Added {
            added: &[r#"flake-home-modules.spotify "/persist/" directories ".config/spotify""#],
            inline: false,
        },
        listed: &[h("/home/alice/.config/spotifyd/cache")],
        foreign_storage: "/state",
        foreign_flavor: PRES,
    },
    Case {
        file: "custom-option.nix",
        promote: &[d("/var/lib/bluetooth")],
        expect: Refused("`environment.global-persistence.user.directories` (line 6)"),
        listed: &[],
        foreign_storage: "/persist",
        foreign_flavor: None,
    },
];
