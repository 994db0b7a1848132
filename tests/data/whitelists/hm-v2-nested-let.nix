{ pkgs, lib, ... }:
let
  # Tidy the state directory before the session starts.
  cleanup = pkgs.writeShellScript "cleanup" ''
    rm -rf "$HOME/.local/state/old"
    find "$HOME/.cache" -mtime +30 -delete
  '';
in
{
  home = {
    packages = [ pkgs.steam ];
    sessionVariables.CLEANUP = "${cleanup}";
    persistence = {
      "/persist".directories = [
        "Documents"
        "Downloads"
        ".local/share/Steam"
        ".config/unity3d"
      ];
    };
  };
}
