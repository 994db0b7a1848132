{ config, lib, pkgs, ... }:
let
  dataDir = "/storage/photos";
in
{
  services.photoprism = {
    enable = true;
    originalsPath = dataDir;
    settings = {
      PHOTOPRISM_READONLY = "true";
      PHOTOPRISM_ORIGINALS_LIMIT = "10000";
    };
  };

  systemd.services.photoprism.serviceConfig.ReadWritePaths = [ dataDir ];

  environment.persistence."/persist".directories = [
    {
      directory = "/var/lib/private/photoprism";
      mode = "0700";
    }
  ];

  environment.persistence."/storage".directories = [
    {
      directory = "/storage/photos";
      user = "photoprism";
      group = "photoprism";
      mode = "0750";
    }
  ];
}
