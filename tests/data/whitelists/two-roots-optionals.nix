{
  config,
  lib,
  ...
}:
let
  inherit (lib)
    optionals
    ;
in
{
  # Where agenix finds the host key before the bind mounts exist.
  age.identityPaths = [ "/persist/etc/ssh/ssh_host_ed25519_key" ];

  # Kept across reboots, never backed up.
  fileSystems."/state".neededForBoot = true;
  environment.persistence."/state" = {
    hideMounts = true;
    directories = [
      "/var/lib/systemd"
      "/var/log"
      #{ directory = "/var/tmp"; mode = "1777"; }
    ]
    ++ optionals config.networking.wireless.iwd.enable [
      {
        directory = "/var/lib/iwd";
        mode = "0700";
      }
    ];
  };

  # Kept forever, and backed up.
  fileSystems."/persist".neededForBoot = true;
  environment.persistence."/persist" = {
    hideMounts = true;
    files = [
      # a container gets its machine id from its uuid
      (lib.mkIf (!config.boot.isContainer) "/etc/machine-id")
      "/etc/ssh/ssh_host_ed25519_key"
      "/etc/ssh/ssh_host_ed25519_key.pub"
    ];
    directories = [
      "/var/lib/nixos"
    ]
    ++ optionals config.services.postgresql.enable [
      {
        directory = "/var/lib/postgresql";
        user = "postgres";
        group = "postgres";
        mode = "0700";
      }
    ];
  };
}
