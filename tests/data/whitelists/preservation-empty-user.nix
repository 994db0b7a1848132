{ config, ... }:
let
  username = config.username;
in
{
  preservation = {
    enable = true;
    preserveAt."/persist" = {
      directories = [
        # {
        #   directory = "/var/lib/old";
        #   mode = "0700";
        # }
        "/var/log"
        {
          directory = "/var/lib/private";
          user = username;
          mode = "0700";
        }
      ];
      users.${username} = {};
    };
  };
}
