{ lib, config, ... }:
let
  inherit (lib) optionals;
in
{
  # Caches: lost without harm, kept for speed.
  home.persistence."/state".directories = [
    ".cache/nix"
    ".local/state/wireplumber" # audio device choices
  ]
  ++ optionals config.networking.wireless.iwd.enable [
    ".local/share/iwctl"
  ];
  home.persistence."/state".files = optionals config.boot.isContainer [
    ".local/share/recently-used.xbel"
  ];

  # Data.
  home.persistence."/persist".directories = [
    "projects"
    ".ssh"
  ];
}
