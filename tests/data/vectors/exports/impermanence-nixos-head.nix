# Sample NixOS config for nix-community/impermanence HEAD (post-rewrite, 7b1d382).
# users.users stands in for the real NixOS users; bob's home is deliberately NOT /home/bob.
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
      { file = "/etc/adjtime"; method = "symlink"; }
    ];
    users.alice = {
      directories = [
        "Documents"
        "Downloads"
        { directory = ".ssh"; mode = "0700"; }
        { directory = ".local/share/keyrings"; mode = "0700"; }
      ];
      files = [ ".screenrc" { file = ".config/monitors.xml"; method = "symlink"; } ];
    };
    users.bob = {
      directories = [ "projects" { directory = ".gnupg"; mode = "0700"; } ];
      files = [ ".bash_history" ];
    };
  };

  # A location whose attribute name is not its storage path (allowed since impermanence PR #134).
  environment.persistence.cache = {
    persistentStoragePath = "/persist/cache";
    hideMounts = false;
    directories = [ "/var/cache/fwupd" ];
    users.alice.directories = [ ".cache/nix" ];
  };
}
