# Sample NixOS config for nix-community/impermanence BEFORE the 2025 rewrite
# (evaluated at c64bed1, 2025-01-12, and at 5f42ef6, committed 2025-02-25: the master tip until the rewrite landed on 2025-09-20).
# Differences from the HEAD sample: no `method` on files (added in 4a07d84, May 2025), and
# users.bob.home must be given: before the rewrite the module did not read users.users.bob.home,
# its own `users.<name>.home` option defaulted to "/home/<name>".
{
  users.users.alice = { isNormalUser = true; home = "/home/alice"; group = "users"; };
  users.users.bob = { isNormalUser = true; home = "/srv/bob"; group = "bob"; };
  users.users.colord = { isSystemUser = true; group = "colord"; };
  fileSystems."/persist" = { device = "/dev/disk/by-label/persist"; neededForBoot = true; };

  environment.persistence."/persist" = {
    hideMounts = true;
    directories = [
      "/var/log"
      "/var/lib/nixos"
      "/var/lib/systemd/coredump"
      "/etc/NetworkManager/system-connections"
      { directory = "/var/lib/colord"; user = "colord"; group = "colord"; mode = "u=rwx,g=rx,o="; }
      { directory = "/var/lib/private"; mode = "0700"; }
    ];
    files = [
      "/etc/machine-id"
      "/etc/ssh/ssh_host_ed25519_key"
      { file = "/etc/nix/id_rsa"; parentDirectory = { mode = "u=rwx,g=,o="; }; }
      "/etc/adjtime"
    ];
    users.alice = {
      directories = [
        "Documents"
        "Downloads"
        { directory = ".ssh"; mode = "0700"; }
        { directory = ".local/share/keyrings"; mode = "0700"; }
      ];
      files = [ ".screenrc" ".config/monitors.xml" ];
    };
    users.bob = {
      home = "/srv/bob";
      directories = [ "projects" { directory = ".gnupg"; mode = "0700"; } ];
      files = [ ".bash_history" ];
    };
  };

  environment.persistence.cache = {
    persistentStoragePath = "/persist/cache";
    hideMounts = false;
    directories = [ "/var/cache/fwupd" ];
    users.alice.directories = [ ".cache/nix" ];
  };
}
