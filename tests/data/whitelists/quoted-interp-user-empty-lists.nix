{ myvars, ... }:
{
  environment.persistence."/persistent" = {
    hideMounts = true;
    directories = [
      "/etc/NetworkManager/system-connections"
      "/var/lib"
      "/var/log"
    ];
    files = [ ];

    users."${myvars.userName}" = {
      directories = [
        # media
        "Music"
        "Pictures"

        # dev
        "code"
        { directory = ".ssh"; mode = "0700"; }
      ];
      files = [ ];
    };
  };
}
