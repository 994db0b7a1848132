_: {
  flake.homeModules.spotify =
    {
      osConfig,
      pkgs,
      lib,
      ...
    }:
    {
      config = lib.mkMerge [
        (lib.mkIf (osConfig.home.username == "alice") {
          home.persistence."/persist/" = {
            directories = [
              ".cache/spotify-player"
              ".config/spotifyd"
            ];
          };

          services.spotifyd.enable = true;
        })

        (lib.mkIf false {
          home.packages = [
            pkgs.steam
          ];
        })
      ];
    };
}
