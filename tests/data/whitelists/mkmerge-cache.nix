# SPDX-FileCopyrightText: the darlings authors
# SPDX-License-Identifier: MIT OR Apache-2.0
{
  config,
  pkgs,
  lib,
  ...
}:
let
  port = 6333;
in
{
  services.qdrant = {
    enable = true;
    settings.service.http_port = port;
  };

  environment.persistence = lib.mkMerge [
    {
      "/persistent/cache" = {
        directories = [
          "/var/lib/qdrant"
        ];
      };
    }
  ];
}
