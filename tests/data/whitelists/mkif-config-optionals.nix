{ lib, pkgs, config, ... }:

with lib;

let
  cfg = config.my.impermanence;
in {
  config = mkIf cfg.enable {
    environment.persistence = {
      "/persist" = {
        hideMounts = true;
        directories = [
          "/var/lib/bluetooth"
          "/var/lib/nixos"
          "/var/lib/systemd/timers"
          #"/var/log"
        ]
        ++ optionals config.services.printing.enable [
          "/var/lib/cups"
        ]
        ++ optionals config.services.postgresql.enable [
          config.services.docker-registry.storagePath
        ];
        files = [
          "/etc/machine-id"
          #"/etc/nix/id_rsa"
          { file = "/etc/nix/netrc"; parentDirectory = { mode = "0700"; }; }
        ];
      };
    };

    # Earlier attempts, kept for reference:
    #
    # environment.etc."ssh/ssh_host_rsa_key".source = "/persist/etc/ssh/ssh_host_rsa_key";
    # systemd.tmpfiles.rules = [ "L /var/lib/x - - - - /persist/var/lib/x" ];
  };
}
