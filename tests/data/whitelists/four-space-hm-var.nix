{ config, lib, ... }:
let
    persistenceHomePath = "/persist${config.home.homeDirectory}";
in
{
    home.persistence."${persistenceHomePath}" = {
        allowOther = true;
        directories = [
            "Documents"
            ".ssh"
        ];
        files = [
            ".zsh_history"
        ];
    };
}
