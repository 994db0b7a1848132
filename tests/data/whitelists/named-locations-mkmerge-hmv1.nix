{ config, lib, ... }:

let
  cfg = config.my.impermanence;
  user = config.username;
in
{
  options.my.impermanence.extraDirectories = lib.mkOption {
    default = [];
    description = ''
      More directories to keep.
    '';
  };

  config = lib.mkMerge [
    (lib.mkIf cfg.enable {
      home-manager.users.${user} = { lib, ... }:
        {
          home.persistence."/etc/nixos/dotfiles" = {
            removePrefixDirectory = true;
            allowOther = true;
            directories = [
              "emacs/.emacs.d"
            ];
          };
        };
    })

    {
      environment.persistence.main = {
        inherit (cfg) enable;
        persistentStoragePath = "/persistent";
        files = [
          "/etc/machine-id"
          "/etc/ssh/ssh_host_ed25519_key"
        ] ++ cfg.extraFiles;
        directories = [
          { directory = "/etc/nixos"; mode = "0700"; user = "alice"; group = "root"; }
          "/var/log"
          "/var/lib/nixos"
        ] ++ cfg.extraDirectories;
        users.alice = {
          directories = [
            "Documents"
            { directory = ".gnupg"; mode = "0700"; }
          ];
        };
      };

      environment.persistence.cache = {
        inherit (cfg) enable;
        persistentStoragePath = "/cache";
        users.alice = {
          directories = [
            ".cache/nix"
            ".local/share/Steam"
          ];
        };
      };
    }
  ];
}
