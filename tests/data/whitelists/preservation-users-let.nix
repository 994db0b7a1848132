{
  lib,
  pkgs,
  myvars,
  ...
}:
let
  inherit (myvars) username;
in
{
  preservation.enable = true;
  # preservation needs the systemd initrd.
  boot.initrd.systemd.enable = true;

  # Everything below lives in /persistent; copy existing data there first!
  preservation.preserveAt."/persistent" = {
    directories = [
      "/etc/NetworkManager/system-connections"
      "/etc/ssh"
      "/etc/secureboot" # lanzaboote

      "/var/log"

      # system core
      "/var/lib/nixos"
      {
        directory = "/var/lib/private";
        mode = "0700";
        inInitrd = true;
      }
    ];
    files = [
      # the machine id, early
      {
        file = "/etc/machine-id";
        inInitrd = true;
      }
    ];

    # relative to /home/$USER
    users.${username} = {
      commonMountOptions = [
        "x-gvfs-hide"
      ];
      directories = [
        # ======================================
        # XDG directories
        # ======================================
        "Desktop"
        "Documents"
        "Downloads"

        # input method
        ".config/mozc" # fcitx5-mozc

        {
          directory = ".ssh";
          mode = "0700";
        }
      ];
      files = [
        {
          file = ".wakatime.cfg";
          how = "symlink";
        }
        {
          file = ".config/zoomus.conf";
          how = "bindmount";
        }
      ];
    };
  };

  systemd.tmpfiles.settings.preservation = {
    "/home/${username}/.config".d = {
      user = username;
      group = "users";
      mode = "0755";
    };
  };
}
