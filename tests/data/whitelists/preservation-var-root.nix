{ config, lib, ... }:
lib.mkIf (config.system.devices.preservedState != null) {
  preservation = {
    enable = true;
    preserveAt = {
      ${config.system.devices.preservedState} = {
        directories = [
          "/var/lib/nixos"
          { directory = "/var/lib/private"; mode = "0700"; }
        ];
        files = [
          { file = "/etc/machine-id"; inInitrd = true; }
          { file = "/etc/ssh/ssh_host_ed25519_key"; mode = "0600"; how = "symlink"; }
        ];
      };
    };
  };
}
