{vars, ...}: {
  systemd.suppressedSystemUnits = ["systemd-machine-id-commit.service"];
  preservation = {
    enable = true;
    preserveAt."/preserve" = {
      directories = [
        "/var/log"
        "/var/lib/systemd/timers"
        {
          directory = "/var/lib/nixos";
          inInitrd = true;
        }
      ];
      files = [
        {
          file = "/etc/machine-id";
          inInitrd = true;
        }
        {
          file = "/etc/ssh/ssh_host_ed25519_key";
          how = "symlink";
          configureParent = true;
        }
      ];
      users.${vars.username} = {
        commonMountOptions = ["x-gvfs-hide"];
        files = [".config/nushell/history.txt"];
        directories = [
          "music"
          "pictures"
          {
            directory = ".ssh";
            mode = "0700";
          }
          ".local/share/Steam"
        ];
      };
    };
  };
}
