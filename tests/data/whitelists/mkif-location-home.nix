{
  lib,
  config,
  username,
  ...
}:

let
  inherit (lib) mkIf mkEnableOption;
  cfg = config.my.impermanence;
in
{
  options = {
    my = {
      impermanence = {
        enable = mkEnableOption "keep chosen paths across reboots";
      };
    };
  };

  config = mkIf cfg.enable {
    environment = {
      persistence = {
        "/persistent" = lib.mkIf (builtins.pathExists "/") {
          directories = [
            "/etc/ssh"
            "/var/log"
            "/home/${username}/.cache"
          ];

          files = [
            "/etc/machine-id"
          ];

          users = {
            ${username} = {
              directories = [
                "Documents"
                ".gnupg"
              ];

              files = [
                ".bashrc"
              ];
            };
          };
        };
      };
    };
  };
}
