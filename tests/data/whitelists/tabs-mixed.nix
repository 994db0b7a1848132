{ ... }:

{
  environment.persistence."/persistent" = {
    directories = [
      "/var/log"
      "/var/lib/nixos"
    ];
    users.admin = {
      directories = [
        ".android"
        ".cmake"
	{ directory = ".config"; user = "admin"; group = "wheel"; mode = "0755"; }
	{ directory = ".cache"; user = "admin"; group = "wheel"; mode = "0755"; }
        ".docker"
        "Documents"
      ];
      files = [
        ".bash_history"
        ".gitconfig"
      ];
    };
  };
}
