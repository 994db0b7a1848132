{ config, lib, ... }:
let
  inherit (lib) mkIf;
  cfg = config.my.impermanence;
in {
  config = mkIf cfg.enable {
    # home.persistence."/persist/home/alice" = {};
    environment.persistence."/persist" = {
      directories =
        [
          "/etc/nixos"
          "/var/db/sudo"
          "/var/lib/nixos"
        ]
        ++ [config.programs.ccache.cacheDir];

      files = [
        # important state
        "/etc/machine-id"
        # ssh
        /*
        "/etc/ssh/ssh_host_ed25519_key"
        "/etc/ssh/ssh_host_ed25519_key.pub"
        */
        # later: /var/lib/${lxd, docker}
      ];

      # builtins.concatMap (key: [key.path (key.path + ".pub")]) config.services.openssh.hostKeys
    };
  };
}
