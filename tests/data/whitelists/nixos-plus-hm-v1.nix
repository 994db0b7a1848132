{
  config,
  lib,
  impermanence,
  ...
}: {
  imports = [
    "${impermanence}/nixos.nix"
  ];

  environment.persistence."/persist/system" = {
    directories = [
      "/etc/NetworkManager/system-connections"
      "/srv"
      "/var/log"
    ];

    files = [];
  };

  programs.fuse.userAllowOther = true; # for allowOther
  home-manager.users.alice = {
    imports = [
      "${impermanence}/home-manager.nix"
    ];

    home.persistence."/persist/alice" = {
      removePrefixDirectory = true;
      allowOther = true;

      directories = [
        "books/books"
        "gpg/.gnupg"
        "ssh/.ssh"
      ];

      files = [
        "bash/.bash_history"
      ];
    };
  };

  fileSystems."/persist".neededForBoot = true;
}
