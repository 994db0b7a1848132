{ config, lib, ... }:
let
  cfg = config.my.impermanence;
  mkDirs = map (d: if builtins.isString d then { directory = d; } else d);
in
{
  preservation.preserveAt."/nix/persistent" = {
    commonMountOptions = [ "x-gvfs-hide" ];
    directories = mkDirs (lib.unique ([ "/var/lib/nixos" "/var/log" ] ++ cfg.extraDirectories));
    files = lib.unique cfg.extraFiles;
  };
}
