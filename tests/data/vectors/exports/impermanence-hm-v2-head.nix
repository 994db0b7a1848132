# Sample for nix-community/impermanence HEAD (7b1d382): the Home Manager "v2" interface.
# home.persistence.<storage root> is keyed by the STORAGE ROOT (not /persist/home/<user>) and its
# paths are relative to the user's home. The NixOS module injects the HM module through
# home-manager.sharedModules (auto-import since f868c97, 2026-01); users.users.* stands in for NixOS.
{
  users.users.alice = { isNormalUser = true; home = "/home/alice"; group = "users"; };
  users.users.bob = { isNormalUser = true; home = "/srv/bob"; group = "bob"; };
  fileSystems."/persist" = { device = "/dev/disk/by-label/persist"; neededForBoot = true; };

  # The NixOS side, so that the system also has a whitelist.
  environment.persistence."/persist" = {
    hideMounts = true;
    directories = [ "/var/log" "/var/lib/nixos" ];
    files = [ "/etc/machine-id" ];
  };

  home-manager.users.alice = {
    home.persistence."/persist" = {
      directories = [
        "Documents"
        "Music"
        { directory = ".ssh"; mode = "0700"; }
        { directory = ".local/share/keyrings"; mode = "0700"; }
        ".local/share/direnv"
        ".mozilla"
      ];
      files = [
        ".bash_history"
        { file = ".config/monitors.xml"; method = "symlink"; }
      ];
    };
    # A second storage root, named by attribute, with a different persistentStoragePath.
    home.persistence.cache = {
      persistentStoragePath = "/persist/cache";
      hideMounts = true;
      directories = [ ".cache/nix" ".cache/mozilla" ];
    };
  };

  home-manager.users.bob = {
    home.persistence."/persist" = {
      directories = [ "projects" { directory = ".gnupg"; mode = "0700"; } ];
      files = [ ".zsh_history" ];
    };
  };
}
