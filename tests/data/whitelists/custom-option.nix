{ config, lib, ... }:
{
  environment.global-persistence = {
    enable = true;
    root = "/persist";
    user.directories = [
      ".cache/nix"
      ".local/share/direnv"
    ];
    directories = [
      "/var/lib/nixos"
    ];
  };
}
