# Sample NixOS config for nix-community/preservation HEAD (93416f4, 2025-09-09).
# users.users.* stands in for the NixOS users; bob's home is deliberately /srv/bob.
{
  users.users.root = { home = "/root"; group = "root"; };
  users.users.alice = { isNormalUser = true; home = "/home/alice"; group = "users"; };
  users.users.bob = { isNormalUser = true; home = "/srv/bob"; group = "bob"; };
  users.users.colord = { isSystemUser = true; group = "colord"; };
  boot.initrd.systemd.enable = true;

  preservation.enable = true;
  preservation.preserveAt."/persistent" = {
    commonMountOptions = [ "x-gvfs-hide" ];
    directories = [
      "/var/log"
      "/var/lib/systemd/coredump"
      { directory = "/var/lib/nixos"; inInitrd = true; }
      { directory = "/var/lib/colord"; user = "colord"; group = "colord"; mode = "u=rwx,g=rx,o="; }
      { directory = "/etc/NetworkManager/system-connections"; mode = "0700"; }
    ];
    files = [
      { file = "/etc/machine-id"; inInitrd = true; how = "symlink"; }
      { file = "/etc/ssh/ssh_host_ed25519_key"; how = "symlink"; configureParent = true; }
      { file = "/etc/ssh/ssh_host_ed25519_key.pub"; how = "symlink"; configureParent = true; }
      "/etc/adjtime"
    ];
    users.alice = {
      commonMountOptions = [ "x-gvfs-trash" ];
      directories = [
        "Documents"
        { directory = ".ssh"; mode = "0700"; }
        { directory = ".local/share/Steam"; how = "symlink"; }
      ];
      files = [
        ".bash_history"
        { file = ".config/monitors.xml"; how = "symlink"; configureParent = true; }
      ];
    };
    users.bob = {
      directories = [ "projects" { directory = ".gnupg"; mode = "0700"; } ];
      files = [ ".zsh_history" ];
    };
    users.root = {
      directories = [ { directory = ".ssh"; mode = "0700"; } ];
    };
  };

  # A second storage root whose attribute name differs from its path.
  preservation.preserveAt.cache = {
    persistentStoragePath = "/persistent/cache";
    directories = [ "/var/cache/fwupd" ];
    users.alice.directories = [ ".cache/nix" ];
  };
}
