{ config, ... }:
{
  age.identityPaths = [ "/nix/state/etc/ssh/ssh_host_ed25519_key" ];

  environment.persistence."/nix/state" = {
    directories = [
      "/var/lib/fwupd"
      {
        directory = "/var/lib/hqplayer";
        user = "hqplayer";
        group = "hqplayer";
      }
      "/var/lib/iwd"
      "/var/lib/nixos"
      {
        directory = "/var/lib/roon-server";
        inherit (config.services.roon-server) user group;
      }
      "/var/log"
    ];
    files = [
      "/etc/machine-id"
      "/etc/ssh/ssh_host_ed25519_key"
      "/etc/ssh/ssh_host_ed25519_key.pub"
    ];
    users.alice = {
      directories = [
        ".cache/nix"
        ".config/beets"
        ".local/share/atuin"
        "src"
        {
          directory = ".ssh";
          mode = "0700";
        }
      ];
    };
  };
}
